// Why: the check-run request bodies the worker's GitHub client sends must be what GitHub's own
// OpenAPI description accepts, not just what our simulator accepts. This validates every recorded
// check-run create (POST) and update (PATCH) body against the request-body schemas in
// @octokit/openapi, with ajv. Usage: node github_openapi.mjs RECORD.jsonl
// With --responses DIR it instead checks the simulator's answers saved by github_sim.sh
// (DIR/<name>.json) against the response schemas of the same operations, so the simulator's JSON
// shapes stay GitHub's.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';

const here = path.dirname(fileURLToPath(import.meta.url));
const specPath = path.join(here, '..', 'node_modules', '@octokit', 'openapi', 'generated', 'api.github.com.deref.json');
const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'));
// OpenAPI 3.0's `nullable` is not JSON Schema: turn it into a type list or an anyOf with null.
function jsonSchema(x) {
  if (Array.isArray(x)) return x.map(jsonSchema);
  if (!x || typeof x !== 'object') return x;
  const o = {};
  for (const [k, v] of Object.entries(x)) if (k !== 'nullable' && k !== 'example' && k !== 'examples') o[k] = jsonSchema(v);
  if (x.nullable === true) {
    if (typeof o.type === 'string') {
      o.type = [o.type, 'null'];
      if (o.enum && !o.enum.includes(null)) o.enum = [...o.enum, null];
    } else return { anyOf: [o, { type: 'null' }] };
  }
  return o;
}
const schemaOf = (p, m) => jsonSchema(spec.paths[p][m].requestBody.content['application/json'].schema);

const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
for (const f of ['int32', 'int64', 'email', 'uri-template', 'date', 'binary']) ajv.addFormat(f, () => true);
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
ajv.addFormat('uri', /^[a-z][a-z0-9+.-]*:/i);
const create = ajv.compile(schemaOf('/repos/{owner}/{repo}/check-runs', 'post'));
const update = ajv.compile(schemaOf('/repos/{owner}/{repo}/check-runs/{check_run_id}', 'patch'));

if (process.argv[2] === '--responses') {
  const dir = process.argv[3];
  const respOf = (p, m, code) => jsonSchema(spec.paths[p][m].responses[code].content['application/json'].schema);
  const ops = {
    'token': ['/app/installations/{installation_id}/access_tokens', 'post', '201'],
    'installation': ['/app/installations/{installation_id}', 'get', '200'],
    'checkrun-create': ['/repos/{owner}/{repo}/check-runs', 'post', '201'],
    'checkrun-update': ['/repos/{owner}/{repo}/check-runs/{check_run_id}', 'patch', '200'],
    'checkrun-get': ['/repos/{owner}/{repo}/check-runs/{check_run_id}', 'get', '200'],
    'deliveries': ['/app/hook/deliveries', 'get', '200'],
    'manifest-conversion': ['/app-manifests/{code}/conversions', 'post', '201'],
    'app': ['/app', 'get', '200'],
    'compare': ['/repos/{owner}/{repo}/compare/{basehead}', 'get', '200'],
  };
  let bad = 0, n = 0;
  for (const [name, [p, m, code]] of Object.entries(ops)) {
    const file = path.join(dir, name + '.json');
    if (!fs.existsSync(file)) continue; // each test saves the answers it is about
    const v = ajv.compile(respOf(p, m, code));
    const body = JSON.parse(fs.readFileSync(file, 'utf8'));
    n++;
    if (!v(body)) { bad++; console.error(`not ok - ${name}: ${ajv.errorsText(v.errors)}`); }
  }
  console.log(`validated ${n} simulator answers, ${bad} invalid`);
  process.exit(bad || n === 0 ? 1 : 0);
}

const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean);
let nCreate = 0, nUpdate = 0, nAnn = 0, bad = 0;
for (const line of lines) {
  const r = JSON.parse(line);
  // only what our client sent (the simulator's own test sends invalid bodies on purpose)
  if (!(r.headers && r.headers['User-Agent'] || '').startsWith('singularity')) continue;
  let v = null;
  if (r.method === 'POST' && /^\/repos\/[^/]+\/[^/]+\/check-runs$/.test(r.path)) { v = create; nCreate++; }
  else if (r.method === 'PATCH' && /^\/repos\/[^/]+\/[^/]+\/check-runs\/\d+$/.test(r.path)) { v = update; nUpdate++; }
  else continue;
  nAnn += r.body?.output?.annotations?.length ?? 0;
  if (!v(r.body)) {
    bad++;
    console.error(`not ok - ${r.method} ${r.path}: ${ajv.errorsText(v.errors)}`);
  }
}
console.log(`validated ${nCreate} create and ${nUpdate} update bodies (${nAnn} annotations), ${bad} invalid`);
if (bad || nCreate === 0 || nUpdate === 0 || nAnn === 0) process.exit(1);
