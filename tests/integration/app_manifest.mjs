// Why: app.yml must be a manifest GitHub accepts, and ask for exactly what the product needs
// (DESIGN.md section 12): validated against the documented manifest parameters
// (app_manifest.schema.json) with permission names and levels taken from GitHub's OpenAPI
// description (@octokit/openapi, app-permissions). Usage: node app_manifest.mjs MANIFEST.json
// (app.yml turned into JSON by the caller, or the manifest register put in its form).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';

const here = path.dirname(fileURLToPath(import.meta.url));
const spec = JSON.parse(fs.readFileSync(path.join(here, '..', 'node_modules', '@octokit', 'openapi',
  'generated', 'api.github.com.json'), 'utf8'));
const schema = JSON.parse(fs.readFileSync(path.join(here, 'app_manifest.schema.json'), 'utf8'));
const perms = spec.components.schemas['app-permissions'].properties;
schema.properties.default_permissions = {
  type: 'object', additionalProperties: false,
  properties: Object.fromEntries(Object.entries(perms).map(([k, v]) => [k, { type: 'string', enum: v.enum }])),
};
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat('uri', /^https?:\/\/[^\s/]+/i);
const validate = ajv.compile(schema);
const manifest = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
let bad = 0;
const check = (ok, what) => { console.log(`${ok ? 'ok' : 'not ok'} - ${what}`); bad += ok ? 0 : 1; };
check(validate(manifest), `the manifest matches GitHub's parameters${validate.errors ? ': ' + ajv.errorsText(validate.errors) : ''}`);
check(JSON.stringify(manifest.default_permissions) === JSON.stringify(
  { checks: 'write', contents: 'read', metadata: 'read', pull_requests: 'read' }),
  `exactly the permissions the product needs (${JSON.stringify(manifest.default_permissions)})`);
check(JSON.stringify([...(manifest.default_events || [])].sort()) ===
  JSON.stringify(['check_run', 'check_suite', 'pull_request', 'push']),
  `exactly the events the ingress routes (${JSON.stringify(manifest.default_events)})`);
check(manifest.public === false, 'public: false');
process.exit(bad ? 1 : 0);
