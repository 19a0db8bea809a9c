// Why: the chart README's values table must say exactly what values.yaml holds. This generator
// reads every key that carries a "# --" comment in values.yaml, takes its default from the parsed
// YAML and its type from values.schema.json, and writes the table between the README's
// <!-- values:start --> and <!-- values:end --> markers. `--check` exits 1 when the README is
// out of date (the deploy test runs that), so the two cannot drift apart.
//
//   node tests/deploy/values-doc.mjs [--check] [CHART_DIR]
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const check = args.includes('--check');
const chart = args.find((a) => !a.startsWith('--')) || join(here, '..', '..', 'helm', 'singularity');

const valuesText = readFileSync(join(chart, 'values.yaml'), 'utf8');
const values = YAML.parse(valuesText);
const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8'));

// Walks values.yaml line by line: indentation gives each key's path; a "# --" line (and any
// "#" lines right after it) documents the next key.
function documentedKeys(text) {
  const rows = [];
  const stack = []; // [{indent, key}]
  let doc = null;
  for (const line of text.split('\n')) {
    const comment = line.match(/^\s*# ?(.*)$/);
    if (comment) {
      const body = comment[1];
      if (body.startsWith('-- ')) doc = body.slice(3).trim();
      else if (doc !== null && body.trim() !== '') doc += ' ' + body.trim();
      continue;
    }
    const m = line.match(/^( *)([A-Za-z0-9_.-]+):(\s|$)/);
    if (!m) {
      if (line.trim() === '') continue;
      continue; // list items and continuation lines belong to the key above
    }
    const indent = m[1].length;
    while (stack.length && stack[stack.length - 1].indent >= indent) stack.pop();
    stack.push({ indent, key: m[2] });
    if (doc !== null) {
      rows.push({ path: stack.map((s) => s.key), doc });
      doc = null;
    }
  }
  return rows;
}

function lookup(obj, path) {
  return path.reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

function schemaType(path) {
  let s = schema;
  for (const k of path) {
    if (!s || !s.properties || !s.properties[k]) return '';
    s = s.properties[k];
  }
  const t = Array.isArray(s.type) ? s.type.join(' or ') : s.type || '';
  return s.enum ? `${t} (${s.enum.join(', ')})` : t;
}

function cell(text) {
  return String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

const rows = documentedKeys(valuesText);
const missing = rows.filter((r) => lookup(values, r.path) === undefined);
if (missing.length) {
  console.error('values-doc: documented keys missing from parsed values: ' + missing.map((r) => r.path.join('.')).join(', '));
  process.exit(2);
}
const untyped = rows.filter((r) => schemaType(r.path) === '');
if (untyped.length) {
  console.error('values-doc: keys without a type in values.schema.json: ' + untyped.map((r) => r.path.join('.')).join(', '));
  process.exit(2);
}
// Every leaf of values.yaml must sit under a documented key, or the table would be incomplete.
const documented = new Set(rows.map((r) => r.path.join('.')));
const undocumented = [];
(function walk(v, path) {
  if (path.length && documented.has(path.join('.'))) return;
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) {
    for (const k of Object.keys(v)) walk(v[k], [...path, k]);
  } else {
    undocumented.push(path.join('.'));
  }
})(values, []);
if (undocumented.length) {
  console.error('values-doc: keys without a "# --" comment in values.yaml: ' + undocumented.join(', '));
  process.exit(2);
}
const table = [
  '| Key | Type | Default | Description |',
  '|-----|------|---------|-------------|',
  ...rows.map((r) => {
    const v = lookup(values, r.path);
    const def = v === '' ? '`""`' : '`' + cell(JSON.stringify(v)) + '`';
    return `| \`${r.path.join('.')}\` | ${cell(schemaType(r.path))} | ${def} | ${cell(r.doc)} |`;
  }),
].join('\n');

const readmePath = join(chart, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const start = '<!-- values:start -->';
const end = '<!-- values:end -->';
const i = readme.indexOf(start);
const j = readme.indexOf(end);
if (i < 0 || j < i) {
  console.error(`values-doc: ${readmePath} lacks the ${start} / ${end} markers`);
  process.exit(2);
}
const updated = readme.slice(0, i + start.length) + '\n' + table + '\n' + readme.slice(j);
if (check) {
  if (updated !== readme) {
    console.error('values-doc: helm/singularity/README.md is out of date with values.yaml; run: node tests/deploy/values-doc.mjs');
    process.exit(1);
  }
  console.log(`values-doc: README documents all ${rows.length} values`);
} else {
  writeFileSync(readmePath, updated);
  console.log(`values-doc: wrote ${rows.length} rows to ${readmePath}`);
}
