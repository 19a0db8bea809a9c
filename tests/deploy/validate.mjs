// Why: `helm lint` checks templates, not what the API server will accept. Every document that
// `helm template` renders is validated here against the Kubernetes, KEDA and prometheus-operator
// schemas (npm kubernetes-models and friends: their validate() is the OpenAPI schema compiled by
// ajv). A document whose apiVersion/kind has no schema here is an error, so nothing passes
// unvalidated. Names and labels are also checked against the API server's length/charset rules.
//
//   node tests/deploy/validate.mjs RENDERED.yaml...     exit 0 when every document is valid
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

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

const files = process.argv.slice(2);
if (!files.length) {
  console.error('usage: node validate.mjs RENDERED.yaml...');
  process.exit(2);
}
let count = 0;
const errors = [];
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
    checkMeta(doc, where, errors);
    count++;
  }
}
if (errors.length) {
  for (const e of errors) console.error('INVALID ' + e);
  console.error(`validate: ${errors.length} problem(s) in ${count} document(s)`);
  process.exit(1);
}
console.log(`validate: ${count} document(s) valid against Kubernetes/KEDA/prometheus-operator schemas`);
