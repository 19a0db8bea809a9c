// Why: schema validation says the manifests are well-formed; this says they do what matters.
// Workers scale on analysis_queue (KEDA redis or redis-sentinel trigger, or the External metric
// analysis_queue_length), both binaries reach Redis with the same settings and KEDA the way they
// do (sentinels, TLS, CA, passwords), PgBouncer sits between the workers and PostgreSQL in
// transaction mode when asked, the migration Job is a pre-install/pre-upgrade hook whose Secret exists
// before it, every pod is non-root with a read-only root and /tmp as its only writable path,
// probes hit /healthz and /readyz on the right ports, workers get more time to stop than
// SHUTDOWN_GRACE_S, and every reference (Secret keys, Services, scale targets) points at something
// that is rendered.
//
//   node tests/deploy/chart-assert.mjs SCENARIO RENDERED.yaml...
//   SCENARIO: one of the renders of chart.sh (default, keda, keda-forced, hpa, none, everything,
//   existing-secret, existing-secret-address, redis-auth, netpol, preset-development,
//   preset-high-load, cron, single-ingress, sentinel, sentinel-tls, tls-ca, tls-insecure,
//   pgbouncer, existing-secret-ha), or cloudrun for deploy/cloudrun/*.yaml
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { parser as promql } from '@prometheus-io/lezer-promql';

const [scenario, ...files] = process.argv.slice(2);
if (!scenario || !files.length) {
  console.error('usage: node chart-assert.mjs SCENARIO RENDERED.yaml...');
  process.exit(2);
}
const docs = files.flatMap((file) => YAML.parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS()).filter(Boolean));

let passed = 0;
const failures = [];
function check(name, cond, detail = '') {
  if (cond) passed++;
  else failures.push(`${name}${detail ? ': ' + detail : ''}`);
}
// True when PromQL text parses (Prometheus's own lezer grammar); Grafana's variables are replaced
// by what they stand for first.
function promqlOk(q) {
  const text = String(q).replace(/\$__rate_interval/g, '5m').replace(/\$namespace/g, '.*');
  let ok = text.trim() !== '';
  promql.parse(text).iterate({ enter: (n) => { if (n.type.isError) ok = false; } });
  return ok;
}
const all = (kind) => docs.filter((d) => d.kind === kind);
const one = (kind, pred = () => true) => docs.find((d) => d.kind === kind && pred(d));
const component = (c) => (d) => d.metadata?.labels?.['app.kubernetes.io/component'] === c;
const hooks = (d) => (d.metadata?.annotations?.['helm.sh/hook'] || '').split(',').map((s) => s.trim()).filter(Boolean);
const envOf = (c) => Object.fromEntries((c.env || []).map((e) => [e.name, e]));

// Every pod template in the release, with where it came from.
function podSpecs() {
  const out = [];
  for (const d of docs) {
    const where = `${d.kind}/${d.metadata.name}`;
    if (d.kind === 'Deployment' || d.kind === 'Job') out.push([where, d.spec.template.spec, d]);
    else if (d.kind === 'CronJob') out.push([where, d.spec.jobTemplate.spec.template.spec, d]);
    else if (d.kind === 'Pod') out.push([where, d.spec, d]);
  }
  return out;
}

const b64 = (s) => Buffer.from(s || '', 'base64').toString();
const sameLabels = (sel, labels) => Object.entries(sel || {}).every(([k, v]) => (labels || {})[k] === v);

// ---- Cloud Run: the ingress scales to zero behind Knative, the GKE worker drains in time
if (scenario === 'cloudrun') {
  const ks = one('Service', (d) => d.apiVersion === 'serving.knative.dev/v1');
  const tpl = ks?.spec.template;
  check('Knative Service for the ingress', !!ks);
  check('ingress scales to zero', tpl?.metadata.annotations?.['autoscaling.knative.dev/minScale'] === '0');
  const c = tpl?.spec.containers[0];
  const env = envOf(c || {});
  check('ingress listens on its containerPort 4000 (Cloud Run sets PORT)', c?.ports?.[0]?.containerPort === 4000 && !env.PORT);
  check('ingress drains within Cloud Run\'s 10 s after SIGTERM', Number(env.SHUTDOWN_GRACE_S?.value) < 10);
  check('ingress /metrics off the public port', env.METRICS_PORT?.value === '9090');
  check('webhook secret and Redis URL from Secret Manager', !!env.WEBHOOK_SECRET?.valueFrom?.secretKeyRef && !!env.REDIS_URL?.valueFrom?.secretKeyRef);
  check('ingress liveness GET /healthz', c?.livenessProbe?.httpGet?.path === '/healthz');
  const w = one('Deployment', component('worker'));
  const wc = w?.spec.template.spec.containers[0];
  const wenv = envOf(wc || {});
  check('GKE worker Deployment', !!w);
  check('worker grace above SHUTDOWN_GRACE_S', w?.spec.template.spec.terminationGracePeriodSeconds > Number(wenv.SHUTDOWN_GRACE_S?.value));
  const so = one('ScaledObject');
  const redis = so?.spec.triggers.find((t) => t.type === 'redis');
  check('worker scaled by KEDA on analysis_queue above 50', redis?.metadata.listName === 'analysis_queue' && redis.metadata.listLength === '50' && redis.metricType === 'Value');
  check('KEDA reads address and password from the Secret', !!one('TriggerAuthentication', (t) => t.metadata.name === redis?.authenticationRef?.name));
  const beh = so?.spec.advanced?.horizontalPodAutoscalerConfig?.behavior;
  check('+2 pods up, -1 down', beh?.scaleUp?.policies?.[0]?.value === 2 && beh?.scaleDown?.policies?.[0]?.value === 1);
  check('CPU trigger at 20%', so?.spec.triggers.some((t) => t.type === 'cpu' && t.metadata.value === '20'));
  for (const f of failures) console.log('not ok - ' + f);
  console.log(`chart-assert ${scenario}: ${passed} checks passed, ${failures.length} failed`);
  process.exit(failures.length ? 1 : 0);
}

const secrets = new Map(all('Secret').map((s) => [s.metadata.name, s]));
const existingSecret = scenario.startsWith('existing-secret') ? 'singularity-credentials' : null;
const kedaApi = !['default', 'keda-forced', 'preset-development', 'preset-high-load', 'single-ingress'].includes(scenario);

// ---- every pod: non-root, read-only root, no capabilities, seccomp, /tmp emptyDir, secrets exist
for (const [where, spec, d] of podSpecs()) {
  const psc = spec.securityContext || {};
  check(`${where} pod runAsNonRoot`, psc.runAsNonRoot === true);
  check(`${where} pod runAsUser non-zero`, Number.isInteger(psc.runAsUser) && psc.runAsUser > 0, String(psc.runAsUser));
  check(`${where} automountServiceAccountToken false`, spec.automountServiceAccountToken === false);
  const vols = Object.fromEntries((spec.volumes || []).map((v) => [v.name, v]));
  for (const c of spec.containers) {
    const sc = c.securityContext || {};
    const w = `${where} container ${c.name}`;
    check(`${w} readOnlyRootFilesystem`, sc.readOnlyRootFilesystem === true);
    check(`${w} allowPrivilegeEscalation false`, sc.allowPrivilegeEscalation === false);
    check(`${w} runAsNonRoot`, sc.runAsNonRoot === true || psc.runAsNonRoot === true);
    check(`${w} drops ALL capabilities`, (sc.capabilities?.drop || []).includes('ALL'));
    check(`${w} adds no capabilities`, !(sc.capabilities?.add || []).length);
    const seccomp = sc.seccompProfile?.type || psc.seccompProfile?.type;
    check(`${w} seccomp RuntimeDefault`, seccomp === 'RuntimeDefault', seccomp);
    check(`${w} has resource requests`, !!c.resources?.requests?.memory && !!c.resources?.requests?.cpu);
    check(`${w} has a memory limit`, !!c.resources?.limits?.memory);
    if (d.kind !== 'Pod') {
      const tmp = (c.volumeMounts || []).find((m) => m.mountPath === '/tmp');
      check(`${w} mounts /tmp`, !!tmp);
      check(`${w} /tmp is an emptyDir`, !!tmp && !!vols[tmp.name]?.emptyDir);
    }
    for (const e of c.env || []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) continue;
      if (existingSecret) {
        check(`${w} env ${e.name} reads existingSecret`, ref.name === existingSecret, ref.name);
      } else {
        const s = secrets.get(ref.name);
        check(`${w} env ${e.name} Secret ${ref.name} is rendered`, !!s);
        check(`${w} env ${e.name} Secret has key ${ref.key}`, !!s && ref.key in (s.data || {}));
        if (s && hooks(d).length) {
          // A hook pod runs before the release's own resources: its Secret must be a hook too, created earlier.
          const sw = Number(s.metadata.annotations?.['helm.sh/weight'] ?? s.metadata.annotations?.['helm.sh/hook-weight'] ?? 0);
          const dw = Number(d.metadata.annotations?.['helm.sh/hook-weight'] ?? 0);
          if (!hooks(d).includes('test')) {
            check(`${w} Secret ${ref.name} is a hook created before it`, hooks(s).length > 0 && sw < dw, `${hooks(s)} ${sw} vs ${dw}`);
          }
        }
      }
    }
    // *_FILE / *_PATH variables must name a file inside a mounted Secret volume that carries it
    // (the Redis CA, which is public, may come from a ConfigMap).
    for (const e of c.env || []) {
      if (!/(_FILE|KEY_PATH)$/.test(e.name)) continue;
      const m = (c.volumeMounts || []).find((vm) => e.value.startsWith(vm.mountPath + '/'));
      check(`${w} ${e.name} is under a mount`, !!m, e.value);
      if (!m) continue;
      const v = vols[m.name];
      const src = v?.secret || (e.name === 'REDIS_TLS_CA_FILE' ? v?.configMap : undefined);
      const rel = e.value.slice(m.mountPath.length + 1);
      check(`${w} ${e.name} comes from a Secret${e.name === 'REDIS_TLS_CA_FILE' ? ' or ConfigMap' : ''} volume`, !!src);
      check(`${w} ${e.name} file ${rel} is projected`, !!src && (src.items || []).some((it) => it.path === rel));
    }
    // Every key a volume projects from the chart's own Secret or ConfigMap exists in it.
    for (const m of c.volumeMounts || []) {
      const v = vols[m.name] || {};
      const sources = [...(v.projected?.sources || []), v].flatMap((x) => [
        x.secret && ['Secret', x.secret.secretName || x.secret.name, x.secret.items],
        x.configMap && ['ConfigMap', x.configMap.name, x.configMap.items]].filter(Boolean));
      for (const [kind, name, items] of sources) {
        const obj = one(kind, (o) => o.metadata.name === name);
        if (!obj) {
          if (kind === 'Secret' && !existingSecret && m.name !== 'redis-tls') check(`${w} volume ${m.name}: Secret ${name} is rendered`, false);
          continue; // the operator's own (existingSecret, redis.tls.caFrom)
        }
        for (const it of items || []) check(`${w} volume ${m.name}: ${kind} ${name} has key ${it.key}`, it.key in (obj.data || {}));
      }
    }
  }
}

// ---- ingress
const ingress = one('Deployment', component('ingress'));
check('ingress Deployment rendered', !!ingress);
if (ingress) {
  const c = ingress.spec.template.spec.containers[0];
  const env = envOf(c);
  const port = c.ports.find((p) => p.name === 'http');
  check('ingress PORT matches its containerPort', env.PORT?.value === String(port?.containerPort), env.PORT?.value);
  check('ingress liveness GET /healthz on http', c.livenessProbe?.httpGet?.path === '/healthz' && c.livenessProbe.httpGet.port === 'http');
  check('ingress startupProbe GET /healthz', c.startupProbe?.httpGet?.path === '/healthz');
  const mport = c.ports.find((p) => p.name === 'metrics');
  check('ingress METRICS_PORT 9090 on a port of its own', env.METRICS_PORT?.value === '9090' && mport?.containerPort === 9090);
  const preStop = Number(c.lifecycle?.preStop?.exec?.command?.[1] || 0);
  const drain = Number(env.SHUTDOWN_GRACE_S?.value);
  const igrace = ingress.spec.template.spec.terminationGracePeriodSeconds;
  check('ingress preStop + drain + 5 s margin within its grace period', preStop > 0 && drain > 0 && preStop + drain + 5 <= igrace, `${preStop}+${drain} vs ${igrace}`);
  check('ingress readiness GET /readyz on http', c.readinessProbe?.httpGet?.path === '/readyz' && c.readinessProbe.httpGet.port === 'http');
  for (const n of ['REDIS_URL', 'WEBHOOK_SECRET_FILE', 'WEBHOOK_PATH', 'HOST']) check(`ingress env ${n}`, !!env[n]);
  check('ingress gets no DATABASE_URL (it never links libpq)', !env.DATABASE_URL);
  const svc = one('Service', component('ingress'));
  check('ingress Service selects the ingress pods', !!svc && Object.entries(svc.spec.selector).every(([k, v]) => ingress.spec.template.metadata.labels[k] === v));
  check('ingress Service targets port http', svc?.spec.ports[0].targetPort === 'http');
  const pub = one('Service', (d) => d.metadata.name === ingress.metadata.name);
  check('public ingress Service carries no metrics port', !!pub && pub.spec.ports.every((p) => p.targetPort !== 'metrics' && p.port !== 9090));
  const msvc = one('Service', (d) => d.metadata.name === `${ingress.metadata.name}-metrics`);
  check('ingress metrics Service on the metrics port', msvc?.spec.ports[0].targetPort === 'metrics' && msvc.spec.type === 'ClusterIP');
  const hpa = one('HorizontalPodAutoscaler', (h) => h.spec.scaleTargetRef.name === ingress.metadata.name);
  if (scenario === 'none') {
    check('ingress has no HPA when disabled', !hpa);
    check('ingress replicas fixed when HPA disabled', ingress.spec.replicas === 3, String(ingress.spec.replicas));
  } else if (scenario === 'single-ingress') {
    check('one ingress replica', ingress.spec.replicas === 1 && !hpa);
  } else {
    check('ingress HPA rendered', !!hpa);
    const cpu = hpa?.spec.metrics.find((m) => m.type === 'Resource' && m.resource.name === 'cpu');
    check('ingress HPA on CPU 70%', cpu?.resource.target.averageUtilization === 70);
    check('ingress HPA 2..10', hpa?.spec.minReplicas === 2 && hpa?.spec.maxReplicas === 10);
    check('ingress Deployment leaves replicas to the HPA', ingress.spec.replicas === undefined);
  }
  const ipdb = one('PodDisruptionBudget', component('ingress'));
  if (scenario === 'single-ingress') {
    check('no ingress PDB with one replica (it would block node drains)', !ipdb);
  } else {
    check('ingress PDB rendered', !!ipdb);
    check('ingress PDB uses maxUnavailable 1', ipdb?.spec.maxUnavailable === 1 && ipdb.spec.minAvailable === undefined);
  }
}

// ---- worker
const worker = one('Deployment', component('worker'));
check('worker Deployment rendered', !!worker);
if (worker) {
  const spec = worker.spec.template.spec;
  const c = spec.containers[0];
  const env = envOf(c);
  const grace = Number(env.SHUTDOWN_GRACE_S?.value);
  check('worker SHUTDOWN_GRACE_S set', Number.isInteger(grace) && grace > 0, env.SHUTDOWN_GRACE_S?.value);
  check('worker terminationGracePeriodSeconds > SHUTDOWN_GRACE_S', spec.terminationGracePeriodSeconds > grace, `${spec.terminationGracePeriodSeconds} vs ${grace}`);
  const mport = c.ports.find((p) => p.name === 'metrics');
  check('worker METRICS_PORT matches its metrics port', env.METRICS_PORT?.value === String(mport?.containerPort));
  check('worker liveness GET /healthz on metrics', c.livenessProbe?.httpGet?.path === '/healthz' && c.livenessProbe.httpGet.port === 'metrics');
  for (const n of ['REDIS_URL', 'DATABASE_URL', 'APP_ID', 'PRIVATE_KEY_PATH', 'GITHUB_API_URL']) check(`worker env ${n}`, !!env[n]);
  check('APP_ID in digits', /^[0-9]+$/.test(env.APP_ID?.value || ''), env.APP_ID?.value);
  if (scenario !== 'everything') check('APP_ID 1234567 from a values file', env.APP_ID?.value === '1234567', env.APP_ID?.value);
  check('worker startupProbe GET /healthz on metrics', c.startupProbe?.httpGet?.path === '/healthz' && c.startupProbe.httpGet.port === 'metrics');
  const preset = { 'preset-development': ['256Mi', '250m'], 'preset-high-load': ['1Gi', '1'] }[scenario] || ['512Mi', '500m'];
  check(`worker resources from the preset ${preset}`, c.resources?.requests?.memory === preset[0] && String(c.resources?.requests?.cpu) === preset[1] &&
    c.resources?.limits?.memory === preset[0], JSON.stringify(c.resources));
  check('worker runs the default command (no args)', !c.args && !c.command);
  check('worker PDB rendered', !!one('PodDisruptionBudget', component('worker')));
  const so = one('ScaledObject');
  const hpa = one('HorizontalPodAutoscaler', (h) => h.spec.scaleTargetRef.name === worker.metadata.name);
  const mode = { hpa: 'hpa', none: 'none' }[scenario] || (kedaApi || scenario === 'keda-forced' ? 'keda' : 'keda-absent');
  if (mode === 'keda-absent') {
    check('no KEDA object where the API is absent', !so && !one('TriggerAuthentication'));
    check('no worker HPA either', !hpa);
    check('workers fixed at replicaCount without KEDA', worker.spec.replicas === 2, String(worker.spec.replicas));
  } else if (mode === 'keda') {
    check('ScaledObject rendered', !!so);
    check('no worker HPA besides KEDA', !hpa);
    check('ScaledObject targets the worker Deployment', so?.spec.scaleTargetRef.name === worker.metadata.name);
    const redis = so?.spec.triggers.find((t) => t.type === 'redis' || t.type === 'redis-sentinel');
    check('ScaledObject has a redis or redis-sentinel trigger', !!redis);
    check('redis trigger watches analysis_queue', redis?.metadata.listName === 'analysis_queue', redis?.metadata.listName);
    check('redis trigger: the whole queue above 50 (metricType Value)', redis?.metadata.listLength === '50' && redis?.metricType === 'Value', redis?.metadata.listLength);
    const ta = one('TriggerAuthentication');
    const params = Object.fromEntries((ta?.spec.secretTargetRef || []).map((r) => [r.parameter, r]));
    check('redis trigger has host:port (metadata or TriggerAuthentication), or the sentinels\'', /^[^:/]+:\d+$/.test(redis?.metadata.address || '') || !!params.address ||
      (redis?.type === 'redis-sentinel' && /^[^,:]+:\d+(,[^,:]+:\d+)*$/.test(redis.metadata.addresses || '')), redis?.metadata.address);
    check('authenticationRef exactly when a TriggerAuthentication exists', (!!ta) === (!!redis?.authenticationRef) && (!ta || redis.authenticationRef.name === ta.metadata.name));
    for (const r of ta?.spec.secretTargetRef || []) {
      if (existingSecret) check(`TriggerAuthentication ${r.parameter} from existingSecret`, r.name === existingSecret, r.name);
      else if (r.name === 'sg-singularity') check(`TriggerAuthentication ${r.parameter} key in the chart Secret`, r.key in (secrets.get(r.name)?.data || {}));
      else check(`TriggerAuthentication ${r.parameter}: the operator's Secret is the CA's (redis.tls.caFrom.secret)`, r.parameter === 'ca');
    }
    const cpu = so?.spec.triggers.find((t) => t.type === 'cpu');
    check('CPU trigger at 20% (seed: -1 pod under 20%)', cpu?.metricType === 'Utilization' && cpu?.metadata.value === '20');
    const beh = so?.spec.advanced?.horizontalPodAutoscalerConfig?.behavior;
    check('ScaledObject behavior +2 pods up', beh?.scaleUp?.policies?.[0]?.type === 'Pods' && beh.scaleUp.policies[0].value === 2);
    const cron = so?.spec.triggers.find((t) => t.type === 'cron');
    if (scenario === 'cron' || scenario === 'everything') {
      check('business-hours cron trigger', !!cron && cron.metadata.start === '0 8 * * 1-5' && cron.metadata.end === '0 18 * * 1-5' && cron.metadata.desiredReplicas === '3');
    } else {
      check('no cron trigger by default', !cron);
    }
    check('worker Deployment leaves replicas to KEDA', worker.spec.replicas === undefined);
    check('ScaledObject behavior scales down one pod at a time',
      so?.spec.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown?.policies?.[0]?.value === 1);
    if (scenario === 'keda') {
      check('redis address parsed from redis.url', redis?.metadata.address === 'redis-master.data.svc:6380');
      check('redis db parsed from redis.url', redis?.metadata.databaseIndex === '2');
      check('TriggerAuthentication for the redis password', !!params.password && !params.username);
      check('TriggerAuthentication reads the password key', b64(secrets.get(params.password?.name)?.data[params.password?.key]) === 's3cret');
    }
    if (scenario === 'redis-auth') {
      check('address from a rediss:// URL with user info', redis?.metadata.address === 'redis.data.svc:6380', redis?.metadata.address);
      check('database from the URL', redis?.metadata.databaseIndex === '3');
      check('password and ACL user through the TriggerAuthentication', !!params.password && !!params.username);
      const sec = secrets.get(params.password?.name)?.data || {};
      check('password percent-decoded (%2541 stays %41)', b64(sec[params.password?.key]) === 'p@ss:w%41rd', b64(sec[params.password?.key]));
      check('ACL user', b64(sec[params.username?.key]) === 'sg-user', b64(sec[params.username?.key]));
    }
    if (scenario === 'existing-secret') {
      check('no placeholder address: it comes from the Secret', !redis?.metadata.address && params.address?.key === 'redis-address');
      check('password from the Secret', params.password?.key === 'redis-password');
    }
    if (scenario === 'existing-secret-address') {
      check('explicit address in metadata', redis?.metadata.address === 'redis.data.svc:6379' && !params.address);
      check('password and user from the Secret', params.password?.key === 'redis-password' && params.username?.key === 'redis-username');
    }
    if (['default', 'keda-forced', 'cron', 'netpol'].includes(scenario)) {
      check('no TriggerAuthentication for a Redis without password', !ta);
    }
    if (scenario === 'everything') {
      const inflight = so?.spec.triggers.find((t) => t.type === 'prometheus');
      check('in-flight trigger on analysis_queue_inflight', /analysis_queue_inflight/.test(inflight?.metadata.query || ''));
      check('in-flight query is valid PromQL', promqlOk(inflight?.metadata.query || ''), inflight?.metadata.query);
      check('minReplicaCount 0 allowed', so?.spec.minReplicaCount === 0);
    } else {
      check('no in-flight trigger by default', !so?.spec.triggers.some((t) => t.type === 'prometheus'));
    }
  } else if (mode === 'hpa') {
    check('no ScaledObject in hpa mode', !so);
    check('worker HPA rendered', !!hpa);
    const ext = hpa?.spec.metrics.find((m) => m.type === 'External');
    check('worker HPA External metric analysis_queue_length', ext?.external.metric.name === 'analysis_queue_length', ext?.external.metric.name);
    check('worker HPA: the whole queue above 50 (Value)', ext?.external.target.type === 'Value' && String(ext.external.target.value) === '50');
    const cpu = hpa?.spec.metrics.find((m) => m.type === 'Resource');
    check('worker HPA CPU utilisation 20%', cpu?.resource.name === 'cpu' && cpu.resource.target.averageUtilization === 20);
    check('worker HPA minReplicas >= 1', hpa?.spec.minReplicas >= 1);
    check('worker HPA behavior from values', hpa?.spec.behavior?.scaleUp?.policies?.[0]?.value === 2);
    check('worker Deployment leaves replicas to the HPA', worker.spec.replicas === undefined);
  } else {
    check('no ScaledObject in none mode', !so);
    check('no worker HPA in none mode', !hpa);
    check('worker replicas fixed', worker.spec.replicas === 5, String(worker.spec.replicas));
  }
}

// ---- migration hook Job
const mig = one('Job', component('migrate'));
check('migration Job rendered', !!mig);
if (mig) {
  const a = mig.metadata.annotations || {};
  check('migration Job is pre-install and pre-upgrade hook', hooks(mig).includes('pre-install') && hooks(mig).includes('pre-upgrade'), a['helm.sh/hook']);
  check('migration Job has a hook weight', a['helm.sh/hook-weight'] !== undefined);
  check('migration Job delete policy', /before-hook-creation/.test(a['helm.sh/hook-delete-policy'] || ''));
  const c = mig.spec.template.spec.containers[0];
  check('migration runs `singularity-worker migrate --wait 60`', JSON.stringify(c.args) === '["migrate","--wait","60"]', JSON.stringify(c.args));
  check('migration uses the worker image', c.image === worker?.spec.template.spec.containers[0].image);
  check('migration Job never restarts in place', mig.spec.template.spec.restartPolicy === 'Never');
  check('migration Job has a deadline', mig.spec.activeDeadlineSeconds > 0);
  check('migration env DATABASE_URL', !!envOf(c).DATABASE_URL);
}

// ---- redelivery CronJob
const cron = one('CronJob');
check('redelivery CronJob rendered', !!cron);
if (cron) {
  const c = cron.spec.jobTemplate.spec.template.spec.containers[0];
  check('CronJob runs `redeliver --since 2h`', JSON.stringify(c.args) === '["redeliver","--since","2h"]', JSON.stringify(c.args));
  check('CronJob forbids overlapping runs', cron.spec.concurrencyPolicy === 'Forbid');
}

// ---- Redis: both binaries get the same settings, the Jobs none, and KEDA follows them
// What each scenario's values ask for (ci/*-values.yaml, values/*.yaml, the --set of chart.sh).
const REDIS = {
  sentinel: { sentinels: 'redis-sentinel-0.redis-sentinel.data.svc:26379,redis-sentinel-1.redis-sentinel.data.svc:26379,redis-sentinel-2.redis-sentinel.data.svc:26379',
    master: 'singularity', sentinelPassword: 'sentinel-pass', password: 'data-pass', db: '4', ack: '1', waitMs: '250', tls: false },
  'sentinel-tls': { sentinels: '10.0.0.11:26379,10.0.0.12:26379', master: 'mymaster', password: 's3cret', user: 'sg-user', db: '0',
    tls: true, ca: { kind: 'Secret', name: 'redis-ca', key: 'ca.crt' }, serverName: 'redis.data.svc' },
  'tls-ca': { address: 'redis.data.svc:6380', password: 's3cret', db: '0', tls: true, ca: { kind: 'ConfigMap', name: 'sg-singularity-redis-tls', key: 'ca.crt' } },
  'tls-insecure': { address: 'redis.data.svc:6380', db: '0', tls: true, insecure: true },
  'existing-secret-ha': { sentinels: 'sentinel-a.data.svc:26379,sentinel-b.data.svc:26379', master: 'mymaster', db: '0', tls: true,
    ca: { kind: 'ConfigMap', name: 'redis-ca-bundle', key: 'ca.pem' } },
  keda: { address: 'redis-master.data.svc:6380', password: 's3cret', db: '2' },
  everything: { address: 'redis.data.svc:6380', password: 'pw', db: '1', tls: true },
  'redis-auth': { address: 'redis.data.svc:6380', password: 'p@ss:w%41rd', user: 'sg-user', db: '3', tls: true },
}[scenario] || { tls: scenario === 'existing-secret-address' };
const redisEnvOf = (c) => (c.env || []).filter((e) => e.name.startsWith('REDIS_'));
const secretValue = (ref) => (ref && !existingSecret ? b64(secrets.get(ref.name)?.data?.[ref.key]) : undefined);
{
  const ingressC = ingress?.spec.template.spec.containers[0];
  const workerC = worker?.spec.template.spec.containers[0];
  if (ingressC && workerC) {
    check('ingress and workers get the same Redis settings (one helper)',
      JSON.stringify(redisEnvOf(ingressC)) === JSON.stringify(redisEnvOf(workerC)),
      `${redisEnvOf(ingressC).map((e) => e.name)} vs ${redisEnvOf(workerC).map((e) => e.name)}`);
  }
  for (const [where, spec, d] of podSpecs()) {
    if (d.kind === 'Job' || d.kind === 'CronJob') {
      check(`${where} gets no Redis settings (it never touches Redis)`, spec.containers.every((c) => !redisEnvOf(c).length));
    }
  }
  for (const [name, c, spec] of [['ingress', ingressC, ingress?.spec.template.spec], ['worker', workerC, worker?.spec.template.spec]]) {
    if (!c) continue;
    const env = envOf(c);
    const vols = Object.fromEntries((spec.volumes || []).map((v) => [v.name, v]));
    check(`${name} REDIS_URL from the Secret`, !!env.REDIS_URL?.valueFrom?.secretKeyRef);
    check(`${name} REDIS_SENTINELS ${REDIS.sentinels || 'unset'}`, env.REDIS_SENTINELS?.value === REDIS.sentinels, env.REDIS_SENTINELS?.value);
    check(`${name} REDIS_SENTINEL_MASTER ${REDIS.master || 'unset'}`, env.REDIS_SENTINEL_MASTER?.value === REDIS.master, env.REDIS_SENTINEL_MASTER?.value);
    const sp = env.REDIS_SENTINEL_PASSWORD?.valueFrom?.secretKeyRef;
    if (REDIS.sentinelPassword) check(`${name} REDIS_SENTINEL_PASSWORD from the Secret`, secretValue(sp) === REDIS.sentinelPassword, secretValue(sp));
    else if (existingSecret && REDIS.sentinels) check(`${name} REDIS_SENTINEL_PASSWORD optional from existingSecret`, sp?.optional === true && sp.key === 'redis-sentinel-password');
    else check(`${name} no REDIS_SENTINEL_PASSWORD`, !env.REDIS_SENTINEL_PASSWORD);
    check(`${name} REDIS_MIN_REPLICAS_ACK ${REDIS.ack || '0'}`, env.REDIS_MIN_REPLICAS_ACK?.value === (REDIS.ack || '0'), env.REDIS_MIN_REPLICAS_ACK?.value);
    check(`${name} REDIS_WAIT_TIMEOUT_MS ${REDIS.waitMs || '200'}`, env.REDIS_WAIT_TIMEOUT_MS?.value === (REDIS.waitMs || '200'), env.REDIS_WAIT_TIMEOUT_MS?.value);
    check(`${name} REDIS_TLS_SERVER_NAME ${REDIS.serverName || 'unset'}`, env.REDIS_TLS_SERVER_NAME?.value === REDIS.serverName);
    check(`${name} REDIS_TLS_INSECURE ${REDIS.insecure ? '1' : 'unset'}`, env.REDIS_TLS_INSECURE?.value === (REDIS.insecure ? '1' : undefined));
    const caMount = (c.volumeMounts || []).find((m) => env.REDIS_TLS_CA_FILE && env.REDIS_TLS_CA_FILE.value.startsWith(m.mountPath + '/'));
    const caVol = caMount && vols[caMount.name];
    const caSrc = caVol?.secret ? { kind: 'Secret', name: caVol.secret.secretName, key: caVol.secret.items?.[0]?.key }
      : caVol?.configMap ? { kind: 'ConfigMap', name: caVol.configMap.name, key: caVol.configMap.items?.[0]?.key } : undefined;
    check(`${name} the Redis CA ${REDIS.ca ? `mounted from ${REDIS.ca.kind} ${REDIS.ca.name}` : 'not set (system roots)'}`,
      JSON.stringify(caSrc) === JSON.stringify(REDIS.ca), JSON.stringify(caSrc));
    if (REDIS.ca) check(`${name} the Redis CA mount is read-only`, caMount?.readOnly === true);
    if (REDIS.ca?.kind === 'ConfigMap' && REDIS.ca.name.endsWith('-redis-tls')) {
      check(`${name} pods roll when the CA changes`, !!(name === 'ingress' ? ingress : worker).spec.template.metadata.annotations?.['checksum/redis-tls']);
    }
  }
  const cm = one('ConfigMap', (c) => c.metadata.name === 'sg-singularity-redis-tls');
  check(`the chart's Redis TLS ConfigMap ${REDIS.ca ? 'says tls: enable' : 'is not rendered'}`, REDIS.ca ? cm?.data?.tls === 'enable' : !cm);
  if (REDIS.ca?.name === 'sg-singularity-redis-tls') check('the CA in that ConfigMap is a PEM certificate', /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n?$/.test(cm?.data?.['ca.crt'] || ''));

  // KEDA: the trigger reaches Redis the way the binaries do.
  const so = one('ScaledObject');
  const trig = so?.spec.triggers.find((t) => t.type === 'redis' || t.type === 'redis-sentinel');
  if (trig) {
    const m = trig.metadata;
    const ta = one('TriggerAuthentication');
    const refs = {};
    for (const r of ta?.spec.secretTargetRef || []) refs[r.parameter] = { kind: 'Secret', name: r.name, key: r.key };
    for (const r of ta?.spec.configMapTargetRef || []) refs[r.parameter] = { kind: 'ConfigMap', name: r.name, key: r.key };
    const wenv = envOf(worker.spec.template.spec.containers[0]);
    if (REDIS.sentinels) {
      check('KEDA uses the redis-sentinel trigger', trig.type === 'redis-sentinel', trig.type);
      check('redis-sentinel addresses = the binaries\' REDIS_SENTINELS', m.addresses === wenv.REDIS_SENTINELS?.value, m.addresses);
      check('redis-sentinel sentinelMaster = REDIS_SENTINEL_MASTER', m.sentinelMaster === wenv.REDIS_SENTINEL_MASTER?.value, m.sentinelMaster);
      check('no single address with Sentinel', !m.address && !refs.address);
    } else {
      check('KEDA uses the redis trigger', trig.type === 'redis', trig.type);
      check('no sentinel metadata on the redis trigger', !m.addresses && !m.sentinelMaster);
      if (REDIS.address) check(`redis trigger address ${REDIS.address}`, m.address === REDIS.address, m.address);
    }
    if (REDIS.db) check(`databaseIndex ${REDIS.db}`, m.databaseIndex === REDIS.db, m.databaseIndex);
    if (REDIS.ca) {
      // KEDA refuses enableTLS beside the TriggerAuthentication's tls: the CA path uses tls + ca only.
      check('with a CA, no enableTLS/unsafeSsl in the metadata', m.enableTLS === undefined && m.unsafeSsl === undefined, `${m.enableTLS} ${m.unsafeSsl}`);
      const tlsRef = refs.tls;
      const tlsCm = tlsRef && one(tlsRef.kind, (o) => o.metadata.name === tlsRef.name);
      check('KEDA tls parameter reads "enable" from a rendered ConfigMap', tlsCm?.data?.[tlsRef.key] === 'enable');
      check(`KEDA ca parameter = the CA the binaries mount (${REDIS.ca.kind} ${REDIS.ca.name} ${REDIS.ca.key})`, JSON.stringify(refs.ca) === JSON.stringify(REDIS.ca), JSON.stringify(refs.ca));
    } else {
      check(`enableTLS ${REDIS.tls}`, m.enableTLS === String(!!REDIS.tls), m.enableTLS);
      check(`unsafeSsl ${!!REDIS.insecure} (REDIS_TLS_INSECURE)`, m.unsafeSsl === String(!!REDIS.insecure), m.unsafeSsl);
      check('no tls/ca parameters without a CA', !refs.tls && !refs.ca);
    }
    const val = (p) => (refs[p]?.kind === 'Secret' ? secretValue(refs[p]) : undefined);
    if (!existingSecret) {
      check(`KEDA password ${REDIS.password ? 'from the URL' : 'unset'}`, val('password') === REDIS.password, val('password'));
      check(`KEDA username ${REDIS.user ? 'from the URL' : 'unset'}`, val('username') === REDIS.user, val('username'));
      check(`KEDA sentinelPassword ${REDIS.sentinelPassword ? '= REDIS_SENTINEL_PASSWORD' : 'unset'}`, val('sentinelPassword') === REDIS.sentinelPassword &&
        (!REDIS.sentinelPassword || JSON.stringify(refs.sentinelPassword) === JSON.stringify({ kind: 'Secret', ...wenv.REDIS_SENTINEL_PASSWORD.valueFrom.secretKeyRef })));
    } else if (scenario === 'existing-secret-ha') {
      check('KEDA password and sentinelPassword from existingSecret, no address with Sentinel',
        refs.password?.key === 'redis-password' && refs.sentinelPassword?.key === 'redis-sentinel-password' && !refs.address);
    }
  }
}

// ---- PostgreSQL: PgBouncer in front (workers through it, migrations direct), the read URL
const PG = {
  pgbouncer: { host: 'pg.data.svc', port: '5433', db: 'singularity', sslmode: 'require', user: 'singularity', password: 'p@ss"word', replicas: 2,
    readUrl: 'postgres://singularity_ro:ro-pass@pg-replica.data.svc:5432/singularity', extra: 'query_wait_timeout = 60' },
  'existing-secret-ha': { host: 'pg.data.svc', port: '5432', db: 'singularity', sslmode: 'verify-full', replicas: 1 },
}[scenario];
{
  const bouncer = one('Deployment', component('pgbouncer'));
  const wenv = worker ? envOf(worker.spec.template.spec.containers[0]) : {};
  const menv = mig ? envOf(mig.spec.template.spec.containers[0]) : {};
  const cenv = cron ? envOf(cron.spec.jobTemplate.spec.template.spec.containers[0]) : {};
  const url = (ref) => { try { return new URL(secretValue(ref)); } catch { return null; } };
  check(`PgBouncer ${PG ? 'rendered' : 'not rendered'}`, !!bouncer === !!PG && !!one('Service', component('pgbouncer')) === !!PG &&
    !!one('ConfigMap', component('pgbouncer')) === !!PG);
  check('the migration connects directly (key database-url)', menv.DATABASE_URL?.valueFrom?.secretKeyRef?.key === 'database-url');
  if (PG) {
    const svc = one('Service', component('pgbouncer'));
    const c = bouncer.spec.template.spec.containers[0];
    const port = c.ports.find((p) => p.name === 'pgbouncer');
    check('PgBouncer Service selects the PgBouncer pods', Object.entries(svc.spec.selector).every(([k, v]) => bouncer.spec.template.metadata.labels[k] === v));
    check('PgBouncer Service targets its port', svc.spec.ports[0].targetPort === 'pgbouncer' && svc.spec.ports[0].port === port?.containerPort);
    check('workers\' DATABASE_URL is the PgBouncer one', wenv.DATABASE_URL?.valueFrom?.secretKeyRef?.key === 'pgbouncer-database-url');
    check('redelivery Job\'s DATABASE_URL is the PgBouncer one', cenv.DATABASE_URL?.valueFrom?.secretKeyRef?.key === 'pgbouncer-database-url');
    if (!existingSecret) {
      const w = url(wenv.DATABASE_URL.valueFrom.secretKeyRef);
      check('workers\' URL names the PgBouncer Service and port', w?.hostname === svc.metadata.name && w?.port === String(svc.spec.ports[0].port), String(w));
      check('workers\' URL keeps the user, password and database', decodeURIComponent(w?.username || '') === PG.user &&
        decodeURIComponent(w?.password || '') === PG.password && w?.pathname === `/${PG.db}`, String(w));
      check('workers\' URL leaves TLS to PgBouncer (no sslmode)', !w?.searchParams.has('sslmode'), String(w));
      const d = url(menv.DATABASE_URL.valueFrom.secretKeyRef);
      check('the migration\'s URL is PostgreSQL itself', d?.hostname === PG.host && d?.port === PG.port, String(d));
      const ul = b64(secrets.get(wenv.DATABASE_URL.valueFrom.secretKeyRef.name)?.data?.['pgbouncer-userlist.txt']);
      check('auth_file: the user and the decoded password, quotes doubled', ul === `"${PG.user}" "${PG.password.replace(/"/g, '""')}"\n`, ul);
    }
    const cm = one('ConfigMap', component('pgbouncer'));
    const ini = cm?.data?.['pgbouncer.ini'] || '';
    const setting = (k) => (ini.match(new RegExp(`^${k} = (.*)$`, 'm')) || [])[1];
    check('pool_mode = transaction', setting('pool_mode') === 'transaction' && (ini.match(/^pool_mode/mg) || []).length === 1, setting('pool_mode'));
    check(`[databases] ${PG.db} -> ${PG.host}:${PG.port}`, new RegExp(`^${PG.db} = host=${PG.host} port=${PG.port} dbname=${PG.db}$`, 'm').test(ini));
    check(`listen_port = the container port`, setting('listen_port') === String(port?.containerPort));
    check(`server_tls_sslmode = ${PG.sslmode}`, setting('server_tls_sslmode') === PG.sslmode);
    if (PG.sslmode.startsWith('verify-')) check('verify-* checks against the system CA bundle', setting('server_tls_ca_file') === '/etc/ssl/certs/ca-certificates.crt');
    check('auth_file is the projected userlist', setting('auth_file') === '/etc/pgbouncer/userlist.txt' && setting('auth_type') === 'scram-sha-256');
    if (PG.extra) check(`extra setting ${PG.extra}`, ini.includes(`\n${PG.extra}\n`));
    check('no Unix socket (read-only root)', /^unix_socket_dir =$/m.test(ini));
    const mount = (c.volumeMounts || []).find((m) => m.mountPath === '/etc/pgbouncer');
    const vol = bouncer.spec.template.spec.volumes.find((v) => v.name === mount?.name);
    const srcs = vol?.projected?.sources || [];
    check('pgbouncer.ini from the ConfigMap', srcs.some((x) => x.configMap?.name === cm?.metadata.name && x.configMap.items.some((i) => i.key === 'pgbouncer.ini' && i.path === 'pgbouncer.ini')));
    check('userlist.txt from the Secret key pgbouncer-userlist.txt', srcs.some((x) => x.secret?.name === (existingSecret || 'sg-singularity') &&
      x.secret.items.some((i) => i.key === 'pgbouncer-userlist.txt' && i.path === 'userlist.txt')));
    check('PgBouncer runs the ini it is given, as PID 1', JSON.stringify(c.command) === '["/usr/bin/pgbouncer","/etc/pgbouncer/pgbouncer.ini"]', JSON.stringify(c.command));
    check('PgBouncer probes: TCP on its port', c.readinessProbe?.tcpSocket?.port === 'pgbouncer' && c.livenessProbe?.tcpSocket?.port === 'pgbouncer');
    check('PgBouncer preStop asks for a safe shutdown (SIGINT) within its grace period', /kill -INT 1; sleep (\d+)/.test(c.lifecycle?.preStop?.exec?.command?.[2] || '') &&
      Number(c.lifecycle.preStop.exec.command[2].match(/sleep (\d+)/)[1]) < bouncer.spec.template.spec.terminationGracePeriodSeconds);
    check('PgBouncer image is pinned', /^[^:]+\/[^:]+:[0-9][^:]*$/.test(c.image), c.image);
    check(`PgBouncer replicas ${PG.replicas}`, bouncer.spec.replicas === PG.replicas);
    const pdb = one('PodDisruptionBudget', component('pgbouncer'));
    check(`PgBouncer PDB ${PG.replicas > 1 ? 'maxUnavailable 1' : 'absent with one replica'}`, PG.replicas > 1 ? pdb?.spec.maxUnavailable === 1 : !pdb);
    const np = one('NetworkPolicy', component('pgbouncer'));
    const rule = np?.spec.ingress?.find((r) => r.ports.some((p) => p.port === 'pgbouncer'));
    check('PgBouncer NetworkPolicy admits the workers', !!rule?.from?.some((p) => sameLabels(p.podSelector?.matchLabels, worker?.spec.template.metadata.labels)));
    check('PgBouncer NetworkPolicy admits nothing else but the redelivery Job', (rule?.from || []).every((p) => ['worker', 'redeliver'].includes(p.podSelector?.matchLabels?.['app.kubernetes.io/component'])));
    const wnp = one('NetworkPolicy', component('worker'));
    const open = (wnp?.spec.egress || []).some((r) => !r.to && !r.ports);
    check('workers may reach PgBouncer under their egress policy', open || (wnp?.spec.egress || []).some((r) =>
      (r.to || []).some((t) => sameLabels(t.podSelector?.matchLabels, bouncer.spec.template.metadata.labels)) && r.ports.some((p) => p.port === port?.containerPort)));
  } else {
    check('workers\' DATABASE_URL is PostgreSQL\'s (key database-url)', wenv.DATABASE_URL?.valueFrom?.secretKeyRef?.key === 'database-url');
  }
  const rr = wenv.DATABASE_READ_URL?.valueFrom?.secretKeyRef;
  if (PG?.readUrl) check('workers get DATABASE_READ_URL (report)', secretValue(rr) === PG.readUrl, secretValue(rr));
  else if (existingSecret) check('DATABASE_READ_URL optional from existingSecret', rr?.optional === true && rr.key === 'database-read-url');
  else check('no DATABASE_READ_URL without postgresql.readUrl', !rr);
  check('the migration gets no DATABASE_READ_URL', !menv.DATABASE_READ_URL);
}

// ---- helm test
const testPod = one('Pod', (p) => hooks(p).includes('test'));
check('helm test Pod rendered', !!testPod);
if (testPod) {
  const script = [...(testPod.spec.containers[0].command || []), ...(testPod.spec.containers[0].args || [])].join(' ');
  check('helm test checks /readyz', /GET \/readyz/.test(script));
  check('helm test targets the ingress Service', script.includes(ingress?.metadata.name));
}

// ---- network policies
check('NetworkPolicy for ingress and worker (and PgBouncer)', all('NetworkPolicy').length === (one('Deployment', component('pgbouncer')) ? 3 : 2));
{
  const np = one('NetworkPolicy', component('ingress'));
  const webhookRule = np?.spec.ingress.find((r) => r.ports.some((p) => p.port === 'http'));
  const peers = webhookRule?.from;
  // No `from` means anyone; otherwise one of the peers must select the helm test Pod.
  check('helm test Pod may reach the ingress under the NetworkPolicy',
    !!webhookRule && (!peers || peers.some((p) => p.podSelector && !p.namespaceSelector && sameLabels(p.podSelector.matchLabels, testPod?.metadata.labels))));
  if (scenario === 'netpol' || scenario === 'everything') check('webhook port restricted to ingressFrom', !!peers && peers.length >= 2);
  check('metrics port has a rule of its own', np?.spec.ingress.some((r) => r.ports.some((p) => p.port === 'metrics')));
}
for (const np of all('NetworkPolicy')) {
  const target = docs.find((d) => d.kind === 'Deployment' && Object.entries(np.spec.podSelector.matchLabels).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
  check(`NetworkPolicy ${np.metadata.name} selects a Deployment`, !!target);
}

// ---- Secret / existingSecret
if (existingSecret) {
  check('no chart Secret with existingSecret', all('Secret').length === 0, all('Secret').map((s) => s.metadata.name).join(','));
} else {
  check('chart Secret rendered', all('Secret').some((s) => !hooks(s).length));
}

// ---- optional monitoring
if (scenario === 'everything') {
  const sms = all('ServiceMonitor');
  check('two ServiceMonitors', sms.length === 2);
  const jobs = {};
  for (const sm of sms) {
    const svcs = docs.filter((d) => d.kind === 'Service' && sameLabels(sm.spec.selector.matchLabels, d.metadata.labels));
    check(`ServiceMonitor ${sm.metadata.name} selects exactly one Service`, svcs.length === 1, svcs.map((x) => x.metadata.name).join(','));
    const svc = svcs[0];
    check(`ServiceMonitor ${sm.metadata.name} port exists`, !!svc && svc.spec.ports.some((p) => p.name === sm.spec.endpoints[0].port));
    check(`ServiceMonitor ${sm.metadata.name} scrapes a metrics port`, sm.spec.endpoints[0].port === 'metrics' && svc?.spec.ports[0].targetPort === 'metrics');
    // prometheus-operator's job label is the Service's name.
    jobs[sm.metadata.labels['app.kubernetes.io/component']] = svc?.metadata.name;
  }
  const rule = one('PrometheusRule');
  const exprs = (rule?.spec.groups || []).flatMap((g) => g.rules);
  const byName = Object.fromEntries(exprs.map((r) => [r.alert, r.expr]));
  check('alert on queue length > 100', /analysis_queue_length.*> 100/.test(byName.SingularityQueueBacklog || ''));
  check('alert on webhook p95 latency > 0.5s', /histogram_quantile\(0\.95.*singularity_ingress_request_duration_seconds_bucket.*> 0\.5/.test(byName.SingularityWebhookLatencyHigh || ''));
  check('alert on DB pool exhaustion', /max_connections/.test(byName.SingularityDatabasePoolExhausted || ''));
  check('alert on DB errors', /singularity_db_errors_total/.test(byName.SingularityDatabaseErrors || ''));
  check('alert on dead jobs', /analysis_queue_dead/.test(byName.SingularityDeadJobs || ''));
  check('extra rule appended', 'SingularityWorkersDown' in byName);
  check('ingress-down alert on the job the ServiceMonitor produces', !!jobs.ingress && (byName.SingularityIngressDown || '').includes(`absent(up{namespace="prod", job="${jobs.ingress}"})`), byName.SingularityIngressDown);
  check('webhook 5xx alert', /singularity_ingress_requests_total\{[^}]*code=~"5\.\."/.test(byName.SingularityWebhookErrors || ''));
  for (const r of exprs.filter((x) => x.alert.startsWith('Singularity') && x.alert !== 'SingularityWorkersDown')) {
    check(`alert ${r.alert} has a runbook_url`, /^https:\/\/.+#singularity/.test(r.annotations?.runbook_url || ''));
  }
  for (const r of exprs) check(`alert ${r.alert} expr is valid PromQL`, promqlOk(r.expr), r.expr);
  const cm = one('ConfigMap', (c) => c.metadata.labels?.grafana_dashboard === '1');
  check('dashboard ConfigMap with the sidecar label', !!cm);
  let dash = null;
  try { dash = JSON.parse(Object.values(cm?.data || {})[0]); } catch { /* reported below */ }
  check('dashboard is JSON', !!dash);
  const exprsText = JSON.stringify((dash?.panels || []).flatMap((p) => (p.targets || []).map((t) => t.expr)));
  for (const m of ['analysis_queue_length', 'analysis_queue_inflight', 'analysis_queue_delayed', 'analysis_queue_dead',
    'singularity_ingress_requests_total', 'singularity_ingress_request_duration_seconds_bucket',
    'singularity_worker_jobs_total', 'singularity_github_ratelimit_remaining']) {
    check(`dashboard shows ${m}`, exprsText.includes(m));
  }
  for (const p of dash?.panels || []) {
    for (const t of p.targets || []) check(`dashboard panel "${p.title}" query is valid PromQL`, promqlOk(t.expr), t.expr);
  }
  check('webhooks per second by status', /sum by \(code\) \(rate\(singularity_ingress_requests_total/.test(exprsText));
  const ing = one('Ingress');
  check('Kubernetes Ingress exposes only the webhook path', ing?.spec.rules[0].http.paths.length === 1 && ing.spec.rules[0].http.paths[0].path === '/webhooks/github');
} else {
  check('no ServiceMonitor by default', all('ServiceMonitor').length === 0);
  check('no PrometheusRule by default', all('PrometheusRule').length === 0);
}

for (const f of failures) console.log('not ok - ' + f);
console.log(`chart-assert ${scenario}: ${passed} checks passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
