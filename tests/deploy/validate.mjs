// Why: `helm lint` checks templates, not what the API server will accept. Every document that
// `helm template` renders, and each Cloud Run manifest, is validated here against the Kubernetes,
// KEDA, prometheus-operator and Knative Serving schemas (npm kubernetes-models and friends: their
// validate() is the OpenAPI schema compiled by ajv). A document whose apiVersion/kind has no schema here is an error, so nothing passes
// unvalidated. Those validators ignore unknown fields (a misspelt `livenesProbe` would pass and
// be dropped by the API server), so every field is also checked against the models' TypeScript
// types, read with the TypeScript compiler: an unknown field anywhere is an error, as with
// `kubectl --validate=strict`. Names and labels are checked against the API server's rules.
//
//   node tests/deploy/validate.mjs RENDERED.yaml...     exit 0 when every document is valid
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import ts from 'typescript';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// apiVersion -> module holding one model class per kind.
const MODULES = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'batch/v1': 'kubernetes-models/batch/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'policy/v1': 'kubernetes-models/policy/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'rbac.authorization.k8s.io/v1': 'kubernetes-models/rbac.authorization.k8s.io/v1',
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
  // Cloud Run's service format is Knative Serving's (deploy/cloudrun/).
  'serving.knative.dev/v1': '@kubernetes-models/knative/serving.knative.dev/v1',
};

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
// Kinds whose name becomes a DNS label (63) or a label value; CronJob names get 11 characters
// appended for their Jobs, so they are capped at 52.
const NAME_MAX = { Service: 63, CronJob: 52, Pod: 63, Job: 63, Deployment: 63 };

async function modelFor(apiVersion, kind) {
  const mod = MODULES[apiVersion];
  if (!mod) return null;
  const m = await import(mod);
  return m[kind] || null;
}

function checkMeta(doc, where, errors) {
  const md = doc.metadata || {};
  const name = md.name || '';
  const max = NAME_MAX[doc.kind] || 253;
  const re = NAME_MAX[doc.kind] ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
  if (!name) errors.push(`${where}: metadata.name is empty`);
  else if (name.length > max || !re.test(name)) errors.push(`${where}: metadata.name "${name}" is not a valid ${doc.kind} name (max ${max})`);
  for (const [k, v] of Object.entries(md.labels || {})) {
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) errors.push(`${where}: label ${k}="${v}" is not a valid label value`);
  }
  for (const [k, v] of Object.entries(md.annotations || {})) {
    if (typeof v !== 'string') errors.push(`${where}: annotation ${k} is not a string`);
  }
}

// One TypeScript program whose entry declares one value per model class; its type checker then
// gives the fields each object may have, recursively.
function strictChecker(kinds) {
  const entry = join(dirname(fileURLToPath(import.meta.url)), '__validate_entry.mts');
  const lines = [];
  kinds.forEach(([apiVersion, kind], i) => {
    lines.push(`import { ${kind} as M${i} } from ${JSON.stringify(MODULES[apiVersion])};`);
    lines.push(`export declare const t${i}: M${i};`);
  });
  const options = {
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022, strict: false, noEmit: true, skipLibCheck: true, types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (f, lang, ...rest) => (f === entry ? ts.createSourceFile(f, lines.join('\n'), lang) : getSourceFile(f, lang, ...rest));
  host.fileExists = (f) => f === entry || fileExists(f);
  const program = ts.createProgram([entry], options, host);
  const diags = ts.getPreEmitDiagnostics(program);
  if (diags.length) throw new Error('model types did not load: ' + ts.flattenDiagnosticMessageText(diags[0].messageText, ' '));
  const checker = program.getTypeChecker();
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)));
  const types = new Map();
  kinds.forEach(([apiVersion, kind], i) => {
    types.set(`${apiVersion}/${kind}`, checker.getTypeOfSymbol(exports.find((e) => e.name === `t${i}`)));
  });
  return { checker, types };
}

// Reports every field of value that its type does not declare.
function unknownFields(checker, value, type, path, out) {
  if (value === null || typeof value !== 'object' || !type) return;
  if (type.isUnion()) {
    const objs = type.types.filter((t) => t.flags & ts.TypeFlags.Object);
    if (objs.length === 1) unknownFields(checker, value, objs[0], path, out);
    else if (objs.length > 1) {
      // Keep the member that explains the most fields.
      let best = null;
      let bestMiss = Infinity;
      for (const t of objs) {
        const miss = [];
        unknownFields(checker, value, t, path, miss);
        if (miss.length < bestMiss) { best = miss; bestMiss = miss.length; }
      }
      out.push(...best);
    }
    return;
  }
  if (Array.isArray(value)) {
    if (checker.isArrayType(type)) {
      const elem = checker.getTypeArguments(type)[0];
      value.forEach((v, i) => unknownFields(checker, v, elem, `${path}[${i}]`, out));
    }
    return;
  }
  const index = type.getStringIndexType();
  const props = checker.getPropertiesOfType(type);
  if (!props.length && !index) return; // unknown/any/object: free-form
  for (const [k, v] of Object.entries(value)) {
    const prop = props.find((p) => p.name === k);
    if (prop) unknownFields(checker, v, checker.getTypeOfSymbol(prop), `${path}.${k}`, out);
    else if (index) unknownFields(checker, v, index, `${path}.${k}`, out);
    else out.push(`${path}.${k}`);
  }
}

const files = process.argv.slice(2);
if (!files.length) {
  console.error('usage: node validate.mjs RENDERED.yaml...');
  process.exit(2);
}
let count = 0;
const errors = [];
const parsed = [];
for (const file of files) {
  const seen = new Set();
  const docs = YAML.parseAllDocuments(readFileSync(file, 'utf8'));
  for (const d of docs) {
    if (d.errors.length) {
      errors.push(`${file}: YAML error: ${d.errors[0].message}`);
      continue;
    }
    const doc = d.toJS();
    if (doc == null) continue;
    const where = `${file}: ${doc.kind}/${doc.metadata && doc.metadata.name}`;
    const key = `${doc.apiVersion}/${doc.kind}/${doc.metadata && doc.metadata.namespace}/${doc.metadata && doc.metadata.name}`;
    if (seen.has(key)) errors.push(`${where}: rendered twice`);
    seen.add(key);
    const Model = await modelFor(doc.apiVersion, doc.kind);
    if (!Model) {
      errors.push(`${where}: no schema for apiVersion ${doc.apiVersion} kind ${doc.kind}`);
      continue;
    }
    try {
      new Model(doc).validate();
    } catch (e) {
      errors.push(`${where}: ${e.message}`);
    }
    parsed.push({ doc, where });
    checkMeta(doc, where, errors);
    count++;
  }
}
// Schema errors first: the unknown-field pass (a few seconds to load the types) only runs on
// documents that are otherwise valid.
const kinds = errors.length ? [] : [...new Map(parsed.map(({ doc }) => [`${doc.apiVersion}/${doc.kind}`, [doc.apiVersion, doc.kind]])).values()];
if (kinds.length) {
  const { checker, types } = strictChecker(kinds);
  for (const { doc, where } of parsed) {
    const unknown = [];
    unknownFields(checker, doc, types.get(`${doc.apiVersion}/${doc.kind}`), '', unknown);
    for (const u of unknown) errors.push(`${where}: unknown field ${u.slice(1)}`);
  }
}
if (errors.length) {
  for (const e of errors) console.error('INVALID ' + e);
  console.error(`validate: ${errors.length} problem(s) in ${count} document(s)`);
  process.exit(1);
}
console.log(`validate: ${count} document(s) valid against Kubernetes/KEDA/prometheus-operator/Knative schemas, no unknown fields`);
