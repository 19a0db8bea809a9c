// Why: cfn-lint and actionlint say the ECS template and the release workflow are well-formed; this
// says they do what the deployment needs. ECS: the ingress behind the ALB with /readyz health
// checks, the worker's stopTimeout above its SHUTDOWN_GRACE_S, credentials from Secrets Manager,
// analysis_queue_length published by the CloudWatch agent's Prometheus scrape and the seed's step
// policy (+2 above the queue threshold, -1 under the CPU threshold). Workflow: a v* tag builds
// both images for amd64 and arm64 and pushes them to GHCR.
//
//   node tests/deploy/platform-assert.mjs ecs deploy/ecs/singularity.yaml
//   node tests/deploy/platform-assert.mjs workflow .github/workflows/release.yml
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

const [what, file] = process.argv.slice(2);
let passed = 0;
const failures = [];
const check = (name, cond, detail = '') => { if (cond) passed++; else failures.push(`${name}${detail ? ': ' + detail : ''}`); };

// CloudFormation's short-form functions as plain objects ({Ref: x}, {'Fn::Sub': x}, ...).
const cfnTags = ['Ref', 'Sub', 'GetAtt', 'FindInMap', 'Join', 'Select', 'If', 'Equals', 'Not', 'GetAZs', 'Split', 'ImportValue', 'Base64']
  .flatMap((n) => ['scalar', 'seq', 'map'].map((kind) => ({
    tag: `!${n}`, collection: kind === 'scalar' ? undefined : kind,
    resolve: (v) => ({ [n === 'Ref' ? 'Ref' : `Fn::${n}`]: v?.toJSON ? v.toJSON() : v }),
  })));

if (what === 'ecs') {
  const t = YAML.parse(readFileSync(file, 'utf8'), { customTags: cfnTags });
  const R = t.Resources;
  const byType = (type) => Object.entries(R).filter(([, r]) => r.Type === type);
  const tg = R.IngressTargetGroup?.Properties || {};
  check('ALB target group health check GET /readyz', tg.HealthCheckPath === '/readyz' && tg.Port === 4000);
  check('ingress service behind the target group', R.IngressService?.Properties.LoadBalancers?.[0]?.TargetGroupArn?.Ref === 'IngressTargetGroup');
  const container = (td, name) => R[td]?.Properties.ContainerDefinitions.find((c) => c.Name === name);
  const env = (c) => Object.fromEntries((c?.Environment || []).map((e) => [e.Name, e.Value]));
  const w = container('WorkerTaskDefinition', 'worker');
  const i = container('IngressTaskDefinition', 'ingress');
  check('worker stopTimeout above SHUTDOWN_GRACE_S', w?.StopTimeout > Number(env(w).SHUTDOWN_GRACE_S), `${w?.StopTimeout} vs ${env(w).SHUTDOWN_GRACE_S}`);
  check('ingress /metrics off the load-balanced port', env(i).METRICS_PORT === '9090' && env(i).PORT === '4000');
  check('ingress stopTimeout above its drain', i?.StopTimeout > Number(env(i).SHUTDOWN_GRACE_S), `${i?.StopTimeout} vs ${env(i).SHUTDOWN_GRACE_S}`);
  check('ALB deregistration shorter than the ingress drain', Number(tg.TargetGroupAttributes?.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value) < Number(env(i).SHUTDOWN_GRACE_S));
  const secretNames = (c) => (c?.Secrets || []).map((s) => s.Name).sort().join(',');
  check('worker secrets from Secrets Manager', secretNames(w) === 'DATABASE_URL,PRIVATE_KEY,REDIS_URL', secretNames(w));
  check('ingress secrets from Secrets Manager', secretNames(i) === 'REDIS_URL,WEBHOOK_SECRET', secretNames(i));
  check('no credential in plain environment', ![...(w?.Environment || []), ...(i?.Environment || [])].some((e) => /SECRET|PRIVATE_KEY$|_URL$/.test(e.Name) && e.Name !== 'GITHUB_API_URL'));
  const agent = container('WorkerTaskDefinition', 'cloudwatch-agent');
  const prom = env(agent).PROMETHEUS_CONFIG_CONTENT?.['Fn::Sub'] || '';
  const cw = env(agent).CW_CONFIG_CONTENT?.['Fn::Sub'] || '';
  check('CloudWatch agent scrapes the worker /metrics', /localhost:9090/.test(prom) && /metrics_path: \/metrics/.test(prom));
  check('CloudWatch agent publishes analysis_queue_length', /\^analysis_queue_length\$/.test(cw) && /"metric_namespace": "Singularity"/.test(cw));
  const alarms = Object.fromEntries(byType('AWS::CloudWatch::Alarm'));
  const policy = (name) => R[name]?.Properties.StepScalingPolicyConfiguration;
  const up = Object.values(alarms).find((a) => a.Properties.MetricName === 'analysis_queue_length');
  check('queue alarm > threshold (default 50)', up?.Properties.ComparisonOperator === 'GreaterThanThreshold' && t.Parameters.ScaleUpQueueLength.Default === 50);
  const upPolicy = up?.Properties.AlarmActions?.[0]?.Ref;
  check('queue alarm adds 2 workers', policy(upPolicy)?.StepAdjustments?.[0]?.ScalingAdjustment === 2 && policy(upPolicy)?.AdjustmentType === 'ChangeInCapacity');
  const down = Object.values(alarms).find((a) => a.Properties.MetricName === 'CPUUtilization');
  check('CPU alarm < threshold (default 20) for 10 minutes', down?.Properties.ComparisonOperator === 'LessThanThreshold' && t.Parameters.ScaleDownCpuPercent.Default === 20 &&
    down.Properties.Period * down.Properties.EvaluationPeriods >= 600);
  check('CPU alarm removes 1 worker', policy(down?.Properties.AlarmActions?.[0]?.Ref)?.StepAdjustments?.[0]?.ScalingAdjustment === -1);
  const sizes = t.Mappings.WorkerSizes;
  check('three size presets', sizes.development.ContainerMemory === 256 && sizes.production.ContainerMemory === 512 && sizes['high-load'].ContainerMemory === 1024);
  for (const [n, c] of [['ingress', i], ['worker', w]]) check(`${n} read-only root`, c?.ReadonlyRootFilesystem === true);
} else if (what === 'workflow') {
  const wf = YAML.parse(readFileSync(file, 'utf8'));
  check('runs on v* tags', (wf.on?.push?.tags || []).includes('v*'));
  const job = wf.jobs?.images;
  check('builds ingress and worker', JSON.stringify([...(job?.strategy?.matrix?.component || [])].sort()) === '["ingress","worker"]');
  check('may write packages', job?.permissions?.packages === 'write');
  const step = (u) => (job?.steps || []).find((s) => (s.uses || '').split('@')[0] === u);
  const b = step('docker/build-push-action')?.with || {};
  check('amd64 and arm64', b.platforms === 'linux/amd64,linux/arm64', b.platforms);
  check('pushes', b.push === true);
  check('from Dockerfile.<component>', b.file === 'Dockerfile.${{ matrix.component }}');
  check('QEMU for the foreign architecture', !!step('docker/setup-qemu-action'));
  check('logs in to ghcr.io', step('docker/login-action')?.with?.registry === 'ghcr.io');
} else {
  console.error('usage: node platform-assert.mjs ecs|workflow FILE');
  process.exit(2);
}
for (const f of failures) console.log('not ok - ' + f);
console.log(`platform-assert ${what}: ${passed} checks passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
