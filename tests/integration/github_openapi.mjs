// Why: the check-run request bodies the worker's GitHub client sends must be what GitHub's own
// OpenAPI description accepts, not just what our simulator accepts. This validates every recorded
// check-run create (POST) and update (PATCH) body against the request-body schemas in
// @octokit/openapi, with ajv. Usage: node github_openapi.mjs RECORD.jsonl
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';

const here = path.dirname(fileURLToPath(import.meta.url));
const specPath = path.join(here, '..', 'node_modules', '@octokit', 'openapi', 'generated', 'api.github.com.deref.json');
const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'));
const schemaOf = (p, m) => spec.paths[p][m].requestBody.content['application/json'].schema;

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
ajv.addFormat('uri', /^[a-z][a-z0-9+.-]*:/i);
const create = ajv.compile(schemaOf('/repos/{owner}/{repo}/check-runs', 'post'));
const update = ajv.compile(schemaOf('/repos/{owner}/{repo}/check-runs/{check_run_id}', 'patch'));

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
