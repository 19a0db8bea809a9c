// Why: the black-box acceptance suite's Node half. It plays GitHub exactly as the independent
// acceptance tests will: every payload of @octokit/webhooks-examples, signed with
// @octokit/webhooks-methods sign(), and check-run request bodies validated against @octokit/openapi.
// Expected answers and job lines are computed here from DESIGN.md sections 2 and 3 alone, never
// from the product's code. Driven by acceptance.sh:
//
//   node acceptance.mjs ingress        # INGRESS_URL, REDIS_PORT, WEBHOOK_SECRET
//   node acceptance.mjs checkruns FILE # recorded simulator requests (JSON lines) vs OpenAPI
//   node acceptance.mjs send EVENT FILE [DELIVERY] [CTYPE]  # one signed delivery, prints "status body"
//
// Prints "ok - name" / "not ok - name: detail" and a last line "RESULT <passed> <failed>".
import { createRequire } from "node:module";
import net from "node:net";
import http from "node:http";
import fs from "node:fs";
import crypto from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const nm = path.join(here, "..", "node_modules");
const require = createRequire(path.join(nm, "x.js"));
const { sign } = await import(path.join(nm, "@octokit/webhooks-methods/dist-node/index.js"));

let passed = 0, failed = 0;
function check(name, cond, detail = "") {
  if (cond) { passed++; console.log(`ok - ${name}`); }
  else { failed++; console.log(`not ok - ${name}${detail ? ": " + detail : ""}`); }
}
function finish() { console.log(`RESULT ${passed} ${failed}`); process.exit(0); }

// ---- a minimal RESP client (no npm Redis client is installed) ----
class Redis {
  constructor(port) { this.port = port; this.buf = Buffer.alloc(0); this.waiters = []; }
  connect() {
    return new Promise((res, rej) => {
      this.sock = net.createConnection({ host: "127.0.0.1", port: this.port }, res);
      this.sock.on("error", rej);
      this.sock.on("data", (d) => { this.buf = Buffer.concat([this.buf, d]); this.drain(); });
    });
  }
  parse(buf, i) { // returns [value, nextIndex] or null when incomplete
    const nl = buf.indexOf("\r\n", i);
    if (nl < 0) return null;
    const t = String.fromCharCode(buf[i]), line = buf.toString("utf8", i + 1, nl);
    if (t === "+") return [line, nl + 2];
    if (t === "-") return [new Error(line), nl + 2];
    if (t === ":") return [Number(line), nl + 2];
    if (t === "$") {
      const n = Number(line);
      if (n < 0) return [null, nl + 2];
      if (buf.length < nl + 2 + n + 2) return null;
      return [buf.toString("utf8", nl + 2, nl + 2 + n), nl + 2 + n + 2];
    }
    if (t === "*") {
      const n = Number(line);
      if (n < 0) return [null, nl + 2];
      const out = []; let j = nl + 2;
      for (let k = 0; k < n; k++) { const r = this.parse(buf, j); if (!r) return null; out.push(r[0]); j = r[1]; }
      return [out, j];
    }
    throw new Error("bad RESP " + t);
  }
  drain() {
    while (this.waiters.length) {
      const r = this.parse(this.buf, 0);
      if (!r) return;
      this.buf = this.buf.subarray(r[1]);
      this.waiters.shift()(r[0]);
    }
  }
  cmd(...args) {
    let s = `*${args.length}\r\n`;
    for (const a of args) { const b = Buffer.from(String(a)); s += `$${b.length}\r\n${b.toString()}\r\n`; }
    return new Promise((res) => { this.waiters.push(res); this.sock.write(s); });
  }
  close() { this.sock.end(); }
}

// ---- HTTP ----
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function request(method, url, headers = {}, body = null) {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = http.request({ method, host: u.hostname, port: u.port, path: u.pathname + u.search,
      headers, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json; try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on("error", (e) => resolve({ status: 0, headers: {}, text: String(e), json: undefined }));
    if (body !== null) req.end(body); else req.end();
  });
}

// Raw bytes on a fresh connection (for bodies the server may refuse before reading them).
function rawRequest(port, head, body) {
  return new Promise((resolve) => {
    const s = net.createConnection({ host: "127.0.0.1", port });
    let data = Buffer.alloc(0);
    s.on("data", (d) => { data = Buffer.concat([data, d]); });
    s.on("error", () => {});
    s.on("close", () => {
      const t = data.toString("latin1");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(t);
      const sep = t.indexOf("\r\n\r\n");
      const headers = {};
      for (const l of t.slice(0, sep).split("\r\n").slice(1)) {
        const k = l.indexOf(":"); if (k > 0) headers[l.slice(0, k).trim().toLowerCase()] = l.slice(k + 1).trim();
      }
      const text = sep >= 0 ? data.subarray(sep + 4).toString("utf8") : "";
      let json; try { json = JSON.parse(text); } catch { json = undefined; }
      resolve({ status: m ? Number(m[1]) : 0, headers, text, json });
    });
    s.setTimeout(20000, () => s.destroy());
    s.write(head);
    if (body) s.write(body, () => s.end()); else s.end();
  });
}

const SECRET = process.env.WEBHOOK_SECRET;
const BASE = process.env.INGRESS_URL;
const HOOK = BASE + (process.env.WEBHOOK_PATH || "/webhooks/github");
const uuid = () => crypto.randomUUID();
const ZERO = "0000000000000000000000000000000000000000";

// GitHub never sends one body under two delivery ids, and the ingress answers such a replay
// "duplicate"; so each delivery here carries its own body: a field naming the delivery id (routing
// ignores it) is added to a signed JSON object, and a redelivery (same id) sends the same bytes.
function ownBody(body, delivery) {
  if (!body.startsWith("{")) return body;
  return `{"acceptance_delivery":${JSON.stringify(delivery)}` + (/^\{\s*\}/.test(body) ? "}" : "," + body.slice(1));
}
const freshBody = (p) => ownBody(JSON.stringify(p), uuid());

// exact: the bytes as given (a size at a limit).
async function deliver(event, body, { delivery = uuid(), ctype = "application/json", sig, extra = {}, exact = false } = {}) {
  if (sig === undefined && !exact && /json/i.test(ctype)) body = ownBody(body, delivery);
  const headers = { "Content-Type": ctype, "X-GitHub-Event": event, "X-GitHub-Delivery": delivery,
    "X-Hub-Signature-256": sig === undefined ? await sign(SECRET, body) : sig,
    "User-Agent": "GitHub-Hookshot/acceptance", ...extra };
  for (const k of Object.keys(headers)) if (headers[k] === null) delete headers[k];
  const r = await request("POST", HOOK, headers, Buffer.from(body, "utf8"));
  r.delivery = delivery;
  return r;
}

const isJsonCT = (r) => /^application\/json(\s*;.*)?$/i.test(r.headers["content-type"] || "");

// ---- DESIGN.md section 2 routing and section 3 job, computed independently ----
const ANALYZE_ACTIONS = {
  pull_request: ["opened", "reopened", "synchronize", "ready_for_review"],
  check_suite: ["requested", "rerequested"],
  check_run: ["rerequested"],
};
const SYNC_ACTIONS = {
  installation: ["created", "deleted", "suspend", "unsuspend", "new_permissions_accepted"],
  installation_repositories: ["added", "removed"],
};
const JOB_KEYS = ["v", "kind", "delivery", "event", "action", "installation", "repo", "sha", "ref",
  "base_sha", "pull", "force", "received_at", "attempt"].sort();

function expectation(event, p, delivery) {
  const base = { v: 1, delivery, event, action: p.action ?? null, attempt: 0 };
  if (event === "ping") return { status: 200, body: { status: "pong" } };
  if (SYNC_ACTIONS[event]) {
    if (!SYNC_ACTIONS[event].includes(p.action)) return { status: 200, body: { status: "ignored" } };
    return { status: 202, job: { ...base, kind: "sync", installation: p.installation?.id ?? null, repo: null,
      sha: null, ref: null, base_sha: null, pull: null, force: false } };
  }
  let job;
  if (event === "push") {
    if (p.deleted === true || p.after === ZERO || String(p.ref).startsWith("refs/tags/"))
      return { status: 200, body: { status: "ignored" } };
    job = { sha: p.after, ref: p.ref, base_sha: p.before === ZERO ? null : p.before, pull: null, force: false };
  } else if (ANALYZE_ACTIONS[event] && ANALYZE_ACTIONS[event].includes(p.action)) {
    if (event === "pull_request") {
      job = { sha: p.pull_request.head.sha, base_sha: p.pull_request.base.sha, pull: p.number,
        ref: `refs/pull/${p.number}/head`, force: false };
    } else if (event === "check_suite") {
      const cs = p.check_suite, br = cs.head_branch;
      job = { sha: cs.head_sha, ref: br ? `refs/heads/${br}` : null, base_sha: null,
        pull: cs.pull_requests?.length ? cs.pull_requests[0].number : null, force: p.action === "rerequested" };
    } else {
      const cr = p.check_run, br = cr.check_suite?.head_branch;
      job = { sha: cr.head_sha, ref: br ? `refs/heads/${br}` : null, base_sha: null,
        pull: cr.pull_requests?.length ? cr.pull_requests[0].number : null, force: true };
    }
  } else {
    return { status: 200, body: { status: "ignored" } };
  }
  if (p.installation?.id == null || !p.repository) return { status: 200, body: { status: "ignored" } };
  return { status: 202, job: { ...base, kind: "analyze", installation: p.installation.id,
    repo: { id: p.repository.id, full_name: p.repository.full_name }, ...job } };
}

function diffJob(exp, got, t0, t1) {
  const probs = [];
  for (const k of Object.keys(exp)) {
    if (JSON.stringify(got[k]) !== JSON.stringify(exp[k]))
      probs.push(`${k}: expected ${JSON.stringify(exp[k])}, got ${JSON.stringify(got[k])}`);
  }
  if (!(typeof got.received_at === "number" && Number.isInteger(got.received_at) &&
        got.received_at >= t0 - 5 && got.received_at <= t1 + 5))
    probs.push(`received_at ${got.received_at} not unix ms within [${t0},${t1}]`);
  return probs;
}

// Sends one payload, checks the answer and the queue; returns {ok, problems, keyProblem}.
async function roundTrip(redis, event, payload, body, ctype, label) {
  await redis.cmd("DEL", "analysis_queue");
  const delivery = uuid();
  const exp = expectation(event, payload, delivery);
  const t0 = Date.now();
  const r = await deliver(event, body, { delivery, ctype });
  const t1 = Date.now();
  const q = await redis.cmd("LRANGE", "analysis_queue", 0, -1);
  const probs = [];
  let keyProblem = null;
  if (r.status !== exp.status) probs.push(`status ${r.status} (expected ${exp.status}) body ${r.text.slice(0, 200)}`);
  if (!isJsonCT(r)) probs.push(`Content-Type ${r.headers["content-type"]}`);
  if (exp.status === 202) {
    if (!(r.json && r.json.status === "queued" && r.json.delivery === delivery))
      probs.push(`body ${r.text.slice(0, 200)} (expected {"status":"queued","delivery":"${delivery}"})`);
    if (q.length !== 1) probs.push(`queue has ${q.length} jobs, expected 1`);
    else {
      if (q[0].includes("\n")) probs.push("job is not one line");
      let job; try { job = JSON.parse(q[0]); } catch { probs.push(`job not JSON: ${q[0].slice(0, 200)}`); }
      if (job) {
        probs.push(...diffJob(exp.job, job, t0, t1));
        const keys = Object.keys(job).sort();
        if (JSON.stringify(keys) !== JSON.stringify(JOB_KEYS)) keyProblem = `keys ${keys.join(",")}`;
        if (job.repo && JSON.stringify(Object.keys(job.repo).sort()) !== '["full_name","id"]')
          keyProblem = (keyProblem || "") + ` repo keys ${Object.keys(job.repo).join(",")}`;
      }
    }
    const ttl = await redis.cmd("TTL", `webhook:delivery:${delivery}`);
    if (!(ttl > 86000 && ttl <= 86400)) probs.push(`webhook:delivery:<id> TTL ${ttl}, expected ~86400`);
  } else {
    if (!(r.json && r.json.status === exp.body.status)) probs.push(`body ${r.text.slice(0, 200)}, expected status ${exp.body.status}`);
    if (r.json && "error" in r.json) probs.push(`non-error answer carries "error": ${r.text.slice(0, 200)}`);
    if (q.length !== 0) probs.push(`queue has ${q.length} jobs, expected none: ${q[0].slice(0, 200)}`);
  }
  return { r, exp, delivery, probs, keyProblem };
}

async function ingressSuite() {
  const redis = new Redis(Number(process.env.REDIS_PORT));
  await redis.connect();
  const examples = require("@octokit/webhooks-examples");
  check("webhooks-examples loaded", Array.isArray(examples) && examples.length > 40, `${examples.length}`);

  const keyProblems = [];
  const queued = [];
  let n = 0, nQueued = 0, nIgnored = 0, nPong = 0;
  const startSigFails = await metricValue("singularity_ingress_signature_failures_total");

  // 1. every example, JSON delivery format
  for (const ev of examples) {
    ev.examples.forEach((payload, i) => { payload.__i = i; });
    for (const payload of ev.examples) {
      const i = payload.__i; delete payload.__i;
      const body = JSON.stringify(payload);
      const rt = await roundTrip(redis, ev.name, payload, body, "application/json", "json");
      n++;
      if (rt.exp.status === 202) { nQueued++; queued.push({ ev: ev.name, body, delivery: rt.delivery }); }
      else if (rt.exp.body.status === "pong") nPong++; else nIgnored++;
      const what = rt.exp.status === 202 ? `queued ${rt.exp.job.kind}` : rt.exp.body.status;
      check(`example ${ev.name}[${i}] action=${payload.action ?? "-"} json -> ${rt.exp.status} ${what}`,
        rt.probs.length === 0, rt.probs.join("; "));
      if (rt.keyProblem) keyProblems.push(`${ev.name}[${i}]: ${rt.keyProblem}`);
    }
  }
  console.log(`# ${n} examples: ${nQueued} expected queued, ${nIgnored} ignored, ${nPong} pong`);
  // GitHub Enterprise Server examples of the same package (ghes-*/index.json), those not seen above.
  {
    const seen = new Set(examples.flatMap((e) => e.examples.map((x) => JSON.stringify(x))));
    const ghesFail = [];
    let nGhes = 0;
    for (const dir of fs.readdirSync(path.join(nm, "@octokit/webhooks-examples")).filter((d) => d.startsWith("ghes-")).sort()) {
      const list = JSON.parse(fs.readFileSync(path.join(nm, "@octokit/webhooks-examples", dir, "index.json")));
      for (const ev of list) for (const [i, payload] of ev.examples.entries()) {
        const body = JSON.stringify(payload);
        if (seen.has(body)) continue;
        seen.add(body); nGhes++;
        const rt = await roundTrip(redis, ev.name, payload, body, "application/json", dir);
        if (rt.probs.length) ghesFail.push(`${dir} ${ev.name}[${i}] ${payload.action ?? "-"}: ${rt.probs.join("; ")}`);
        if (rt.keyProblem) keyProblems.push(`${dir} ${ev.name}[${i}]: ${rt.keyProblem}`);
      }
    }
    check(`all ${nGhes} further GHES examples (ghes-*/index.json) -> answer and job per DESIGN.md`, nGhes > 0 && ghesFail.length === 0,
      `${ghesFail.length} wrong, e.g. ${ghesFail.slice(0, 4).join(" | ")}`);
  }
  check("every job line has exactly the fields of DESIGN.md section 3's job (repo: id, full_name)",
    keyProblems.length === 0, keyProblems.slice(0, 3).join(" | "));

  // 2. every example, form delivery format (payload=<urlencoded JSON>; '+' for spaces as browsers do)
  let formFail = [];
  for (const ev of examples) {
    for (const [i, payload] of ev.examples.entries()) {
      const json = JSON.stringify(payload);
      const body = new URLSearchParams({ payload: json }).toString();
      const rt = await roundTrip(redis, ev.name, payload, body, "application/x-www-form-urlencoded", "form");
      if (rt.probs.length) formFail.push(`${ev.name}[${i}]: ${rt.probs.join("; ")}`);
    }
  }
  check(`form format (application/x-www-form-urlencoded payload=) gives the same answer and job for all ${n} examples`,
    formFail.length === 0, `${formFail.length} differ, e.g. ${formFail.slice(0, 3).join(" | ")}`);

  // form with %20-style encoding and a charset parameter
  {
    const ex = examples.find((e) => e.name === "pull_request").examples.find((p) => p.action === "opened" && p.installation);
    const body = "payload=" + encodeURIComponent(JSON.stringify(ex));
    const rt = await roundTrip(redis, "pull_request", ex, body, "application/x-www-form-urlencoded; charset=UTF-8", "form%");
    check("form format with %XX encoding and '; charset=UTF-8' -> 202 + job", rt.probs.length === 0, rt.probs.join("; "));
  }
  // charset parameters on JSON
  for (const ct of ["application/json; charset=utf-8", "application/json;charset=UTF-8"]) {
    const ex = examples.find((e) => e.name === "push").examples.find((p) => p.installation && !p.deleted);
    const rt = await roundTrip(redis, "push", ex, JSON.stringify(ex), ct, "charset");
    check(`Content-Type '${ct}' accepted -> 202 + job`, rt.probs.length === 0, rt.probs.join("; "));
  }

  // 3. a resend of every queued delivery: 200 duplicate, no job
  const dupFail = [];
  for (const q of queued) {
    await redis.cmd("DEL", "analysis_queue");
    const r = await deliver(q.ev, q.body, { delivery: q.delivery });
    const len = await redis.cmd("LLEN", "analysis_queue");
    if (!(r.status === 200 && r.json && r.json.status === "duplicate" && len === 0 && isJsonCT(r)))
      dupFail.push(`${q.ev} ${q.delivery}: ${r.status} ${r.text.slice(0, 120)} queue ${len}`);
  }
  check(`resending each of the ${queued.length} queued deliveries -> 200 {"status":"duplicate"}, no job`,
    dupFail.length === 0 && queued.length > 0, dupFail.slice(0, 3).join(" | "));
  // Routing comes before dedupe in section 2's list: a resent ignored or ping delivery keeps its answer.
  {
    const st = JSON.stringify({ action: "created", starred_at: null }), d1 = uuid();
    const a1 = await deliver("star", st, { delivery: d1 }), a2 = await deliver("star", st, { delivery: d1 });
    const pg = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 }), d2 = uuid();
    const b1 = await deliver("ping", pg, { delivery: d2 }), b2 = await deliver("ping", pg, { delivery: d2 });
    check("a resent ignored delivery is 'ignored' again and a resent ping 'pong' again (routing before dedupe)",
      a1.json?.status === "ignored" && a2.json?.status === "ignored" && b1.json?.status === "pong" && b2.json?.status === "pong",
      [a1, a2, b1, b2].map((r) => r.text).join(" "));
  }
  // the same delivery id in the other format is a duplicate too
  if (queued.length) {
    const q = queued[0];
    await redis.cmd("DEL", "analysis_queue");
    const r = await deliver(q.ev, new URLSearchParams({ payload: q.body }).toString(),
      { delivery: q.delivery, ctype: "application/x-www-form-urlencoded" });
    check("a seen delivery id resent in form format -> 200 duplicate, no job",
      r.status === 200 && r.json?.status === "duplicate" && (await redis.cmd("LLEN", "analysis_queue")) === 0,
      `${r.status} ${r.text}`);
  }

  // 4. routing variants the examples do not cover, built from real examples
  const pushEx = examples.find((e) => e.name === "push").examples.find((p) => p.installation && !p.deleted && p.ref.startsWith("refs/heads/"));
  const csEx = examples.find((e) => e.name === "check_suite").examples.find((p) => p.action === "requested" && p.installation);
  const crEx = examples.find((e) => e.name === "check_run").examples.find((p) => p.action === "rerequested");
  const prEx = examples.find((e) => e.name === "pull_request").examples.find((p) => p.action === "synchronize" && p.installation);
  const clone = (o) => JSON.parse(JSON.stringify(o));
  const variants = [];
  { const p = clone(pushEx); p.before = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"; variants.push(["push with a non-zero before: base_sha=before", "push", p]); }
  { const p = clone(pushEx); p.after = ZERO; variants.push(["push with after all zeros: ignored", "push", p]); }
  { const p = clone(pushEx); p.deleted = true; variants.push(["push deleted=true: ignored", "push", p]); }
  { const p = clone(pushEx); p.ref = "refs/tags/v1.0"; p.before = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"; variants.push(["push of a tag: ignored", "push", p]); }
  { const p = clone(pushEx); delete p.installation; variants.push(["push without installation: ignored", "push", p]); }
  { const p = clone(pushEx); delete p.repository; variants.push(["push without repository: ignored", "push", p]); }
  { const p = clone(prEx); delete p.installation; variants.push(["pull_request synchronize without installation: ignored", "pull_request", p]); }
  { const p = clone(csEx); p.check_suite.head_branch = null; p.check_suite.pull_requests = [{ number: 7, id: 1 }, { number: 9, id: 2 }]; variants.push(["check_suite with head_branch null: ref null, pull = first PR", "check_suite", p]); }
  { const p = clone(crEx); p.check_run.check_suite.head_branch = null; p.check_run.pull_requests = [{ number: 31 }, { number: 32 }]; variants.push(["check_run rerequested, no branch: ref null, pull = first PR, force", "check_run", p]); }
  { const p = clone(prEx); p.action = "edited"; variants.push(["pull_request edited: ignored", "pull_request", p]); }
  { const p = clone(csEx); p.action = "completed"; variants.push(["check_suite completed: ignored", "check_suite", p]); }
  { const p = clone(crEx); p.action = "created"; variants.push(["check_run created: ignored", "check_run", p]); }
  { const p = { action: "created", installation: { id: 77 }, sender: { login: "x" } }; variants.push(["installation without repositories: sync", "installation", p]); }
  { const p = { zen: "x", hook_id: 1, hook: { type: "App" } }; variants.push(["ping: pong", "ping", p]); }
  { const p = { action: "published", installation: { id: 1 }, repository: pushEx.repository }; variants.push(["unknown event 'release': ignored", "release", p]); }
  { const p = { action: "frobnicated", installation: { id: 1 }, repository: pushEx.repository }; variants.push(["made-up event 'x_unknown_event': ignored", "x_unknown_event", p]); }
  { const p = { action: "created", installation: { id: 1 } }; variants.push(["installation_repositories created (not listed): ignored", "installation_repositories", p]); }
  for (const [name, event, p] of variants) {
    const rt = await roundTrip(redis, event, p, JSON.stringify(p), "application/json", "variant");
    check(`variant: ${name}`, rt.probs.length === 0, rt.probs.join("; "));
  }
  // Unicode and escapes inside the payload reach the job intact.
  {
    const p = clone(pushEx); p.ref = "refs/heads/fe\u00e9ture/\u6f22\u5b57-\"q\"\\b";
    p.repository.full_name = "Codertocat/H\u00e9llo-\u2603";
    const rt = await roundTrip(redis, "push", p, JSON.stringify(p), "application/json", "utf8");
    check("non-ASCII and escaped characters in ref/full_name are carried exactly into the job", rt.probs.length === 0, rt.probs.join("; "));
  }
  // A 64-bit installation id and repository id survive (GitHub ids exceed 2^31).
  {
    const p = clone(pushEx); p.installation.id = 98765432101; p.repository.id = 4294967297;
    const rt = await roundTrip(redis, "push", p, JSON.stringify(p), "application/json", "bigid");
    check("ids above 2^32 are carried exactly", rt.probs.length === 0, rt.probs.join("; "));
  }

  // \uXXXX escapes (a surrogate pair included) in the raw body decode to the same string in the job.
  {
    const p = clone(pushEx);
    const raw = JSON.stringify(p).replace(/"ref":"[^"]*"/, '"ref":"refs/heads/\\ud83d\\ude00-\\u00e9\\/x"');
    p.ref = "refs/heads/\u{1F600}-\u00e9/x";
    const rt = await roundTrip(redis, "push", p, raw, "application/json", "escapes");
    check("\\uXXXX escapes (with a surrogate pair) in the body give the decoded ref in the job", rt.probs.length === 0, rt.probs.join("; "));
  }
  // Valid JSON nested deeper than a parser's comfortable depth is still valid JSON (section 2, check 5).
  {
    const p = clone(pushEx); p.after = "ab".repeat(20);
    const raw = JSON.stringify(p).replace(/^\{/, '{"deep":' + "[".repeat(100) + "]".repeat(100) + ",");
    const rt = await roundTrip(redis, "push", p, raw, "application/json", "deep");
    check("valid JSON with an extra field nested 100 deep is routed (202), not refused as invalid JSON", rt.probs.length === 0, rt.probs.join("; "));
  }
  // Media types are case-insensitive (RFC 9110 8.3.1); header names too.
  {
    const rt = await roundTrip(redis, "push", pushEx, JSON.stringify(pushEx), "Application/JSON", "ct-case");
    check("Content-Type 'Application/JSON' accepted -> 202 + job", rt.probs.length === 0, rt.probs.join("; "));
  }
  {
    await redis.cmd("DEL", "analysis_queue");
    const body = freshBody(pushEx), d = uuid();
    const head = `POST ${new URL(HOOK).pathname} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
      `x-github-event: push\r\nx-github-delivery: ${d}\r\nx-hub-signature-256: ${await sign(SECRET, body)}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
    const r = await rawRequest(Number(new URL(BASE).port), head, Buffer.from(body));
    const q = await redis.cmd("LRANGE", "analysis_queue", 0, -1);
    check("lower-case header names (as fetch/undici and HTTP/2 proxies send them) -> 202 + one job",
      r.status === 202 && r.json?.delivery === d && q.length === 1 && JSON.parse(q[0]).delivery === d, `${r.status} ${r.text} queue ${q.length}`);
  }
  {
    await redis.cmd("DEL", "analysis_queue");
    const body = freshBody(pushEx), d = uuid();
    const half = Math.floor(body.length / 2);
    const chunk = (s) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    const head = `POST ${new URL(HOOK).pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `X-GitHub-Event: push\r\nX-GitHub-Delivery: ${d}\r\nX-Hub-Signature-256: ${await sign(SECRET, body)}\r\n` +
      `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
    const r = await rawRequest(Number(new URL(BASE).port), head, Buffer.from(chunk(body.slice(0, half)) + chunk(body.slice(half)) + "0\r\n\r\n"));
    check("a chunked request body (as streaming clients send) -> 202", r.status === 202 && r.json?.delivery === d, `${r.status} ${r.text}`);
  }
  {
    const r = await rawRequest(Number(new URL(BASE).port), "HELLO\r\n\r\n", null);
    check("a malformed request -> 400 with a JSON body (no HTML error page)", r.status === 400 && r.json && r.json.status && r.json.error,
      `${r.status} ${r.text.slice(0, 200)}`);
    const port = Number(new URL(BASE).port);
    const big = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(70000)}\r\n\r\n`, null);
    check("oversized request headers -> 4xx with a JSON body", big.status >= 400 && big.status < 500 && big.json?.status && big.json?.error, `${big.status} ${big.text.slice(0, 200)}`);
    const h2 = await rawRequest(port, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", null);
    check("an HTTP/2 preface -> an error status with a JSON body", h2.status >= 400 && h2.json?.status && h2.json?.error, `${h2.status} ${h2.text.slice(0, 200)}`);
    const te = await rawRequest(port, `POST ${new URL(HOOK).pathname} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: te-1\r\n\r\n0\r\n\r\n`, null);
    check("an unsupported transfer coding -> an error status with a JSON body", te.status >= 400 && te.json?.status && te.json?.error, `${te.status} ${te.text.slice(0, 200)}`);
    const r2 = await rawRequest(Number(new URL(BASE).port), "GET /healthz HTTP/1.0\r\n\r\n", null);
    check("HTTP/1.0 GET /healthz -> 200 JSON", r2.status === 200 && r2.json?.status, `${r2.status} ${r2.text}`);
  }
  // The same delivery sent 10 times at once: one 202, nine duplicates, one job (atomic dedupe + push).
  {
    await redis.cmd("DEL", "analysis_queue");
    const body = freshBody(pushEx), d = uuid(), sig = await sign(SECRET, body);
    const par = new http.Agent({ keepAlive: false, maxSockets: 64 });
    const one = () => new Promise((resolve) => {
      const req = http.request(HOOK, { method: "POST", agent: par, headers: { "Content-Type": "application/json",
        "X-GitHub-Event": "push", "X-GitHub-Delivery": d, "X-Hub-Signature-256": sig } }, (res) => {
        let t = ""; res.on("data", (c) => (t += c)); res.on("end", () => resolve([res.statusCode, t]));
      });
      req.on("error", (e) => resolve([0, String(e)])); req.end(body);
    });
    const rs = await Promise.all(Array.from({ length: 10 }, one));
    const n202 = rs.filter((x) => x[0] === 202).length, nDup = rs.filter((x) => x[0] === 200 && JSON.parse(x[1]).status === "duplicate").length;
    const q = await redis.cmd("LLEN", "analysis_queue");
    check("one delivery id sent 10 times concurrently: exactly one 202, nine duplicates, one job", n202 === 1 && nDup === 9 && q === 1,
      `${n202} x 202, ${nDup} duplicates, ${q} jobs`);
    await redis.cmd("DEL", "analysis_queue");
    const bodies = Array.from({ length: 50 }, (_, i) => { const p = clone(pushEx); p.after = (i + 100).toString(16).padStart(40, "a"); return JSON.stringify(p); });
    const rs2 = await Promise.all(bodies.map(async (b) => {
      const s = await sign(SECRET, b);
      return new Promise((resolve) => {
        const req = http.request(HOOK, { method: "POST", agent: par, headers: { "Content-Type": "application/json",
          "X-GitHub-Event": "push", "X-GitHub-Delivery": uuid(), "X-Hub-Signature-256": s } }, (res) => {
          res.resume(); res.on("end", () => resolve(res.statusCode));
        });
        req.on("error", () => resolve(0)); req.end(b);
      });
    }));
    const jobs = (await redis.cmd("LRANGE", "analysis_queue", 0, -1)).map((l) => JSON.parse(l).sha).sort();
    const want = bodies.map((b) => JSON.parse(b).after).sort();
    check("50 distinct deliveries at once: 50 x 202 and exactly their 50 jobs", rs2.every((s) => s === 202) && JSON.stringify(jobs) === JSON.stringify(want),
      `${rs2.filter((s) => s === 202).length} x 202, ${jobs.length} jobs`);
    await redis.cmd("DEL", "analysis_queue");
  }

  // 5. error answers and their order (DESIGN.md section 2 checks 1..5)
  const good = JSON.stringify(pushEx);
  let sigFails = 0;
  const expectErr = async (name, r, status) => {
    const ok = r.status === status && r.json && typeof r.json.status === "string" &&
      typeof r.json.error === "string" && r.json.error.length > 0 && isJsonCT(r);
    check(name, ok, `got ${r.status} ${r.headers["content-type"]} ${r.text.slice(0, 200)}`);
    return r;
  };
  const noJob = async (name) => check(`${name}: no job queued`, (await redis.cmd("LLEN", "analysis_queue")) === 0);
  await redis.cmd("DEL", "analysis_queue");
  await expectErr("missing X-Hub-Signature-256 -> 401 JSON error", await deliver("push", good, { sig: null }), 401); sigFails++;
  await expectErr("wrong signature (other secret) -> 401", await deliver("push", good, { sig: await sign("not-the-secret", good) }), 401); sigFails++;
  await expectErr("signature of another body -> 401", await deliver("push", good, { sig: await sign(SECRET, good + " ") }), 401); sigFails++;
  await expectErr("sha1= prefix with the right hex -> 401", await deliver("push", good, { sig: (await sign(SECRET, good)).replace("sha256=", "sha1=") }), 401); sigFails++;
  await expectErr("only X-Hub-Signature (sha1) -> 401", await deliver("push", good, { sig: null,
    extra: { "X-Hub-Signature": "sha1=" + crypto.createHmac("sha1", SECRET).update(good).digest("hex") } }), 401); sigFails++;
  await expectErr("truncated signature -> 401", await deliver("push", good, { sig: (await sign(SECRET, good)).slice(0, 40) }), 401); sigFails++;
  await noJob("after the 401s");
  await expectErr("missing X-GitHub-Event -> 400 (before the signature check)",
    await deliver(null, good, { sig: "sha256=00" , extra: { "X-GitHub-Event": null } }), 400);
  await expectErr("missing X-GitHub-Delivery -> 400 (before the signature check)",
    await deliver("push", good, { sig: "sha256=00", extra: { "X-GitHub-Delivery": null } }), 400);
  await expectErr("bad signature + Content-Type text/plain -> 401 (signature before content type)",
    await deliver("push", "not json", { sig: "sha256=" + "0".repeat(64), ctype: "text/plain" }), 401); sigFails++;
  await expectErr("good signature + Content-Type text/plain + invalid JSON -> 415 (content type before JSON)",
    await deliver("push", "not json", { ctype: "text/plain" }), 415);
  await expectErr("good signature + no Content-Type -> 415", await deliver("push", good, { ctype: null }), 415);
  await expectErr("good signature + application/xml -> 415", await deliver("push", good, { ctype: "application/xml" }), 415);
  await expectErr("good signature + application/json + invalid JSON -> 400", await deliver("push", "{\"ref\":", {}), 400);
  await expectErr("good signature + application/json + trailing garbage -> 400", await deliver("push", good + "x", {}), 400);
  await expectErr("good signature + empty body -> 400",
    await request("POST", HOOK, { "Content-Type": "application/json", "X-GitHub-Event": "push",
      "X-GitHub-Delivery": uuid(), "X-Hub-Signature-256": "sha256=" + crypto.createHmac("sha256", SECRET).update("").digest("hex"),
      "Content-Length": "0" }, ""), 400);
  await expectErr("good signature + form body with invalid JSON in payload -> 400",
    await deliver("push", "payload=" + encodeURIComponent("{nope"), { ctype: "application/x-www-form-urlencoded" }), 400);
  await expectErr("good signature + form body without payload= -> 400",
    await deliver("push", "other=1", { ctype: "application/x-www-form-urlencoded" }), 400);
  await noJob("after the 400/415s");

  // 413 on the default MAX_BODY_BYTES (26214400): one byte over, with nothing else right -> 413;
  // exactly at the cap with everything right -> not 413.
  const port = Number(new URL(BASE).port);
  {
    const big = Buffer.alloc(26214401, 0x20);
    const head = `POST ${new URL(HOOK).pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n`;
    const r = await rawRequest(port, head, big);
    await expectErr("body of 26214401 bytes, no event/delivery/signature, text/plain -> 413 (first check wins)", r, 413);
  }
  {
    const prefix = '{"action":"created","pad":"', suffix = '"}';
    const pad = "x".repeat(26214400 - prefix.length - suffix.length);
    const body = prefix + pad + suffix;
    const r = await deliver("star", body, { exact: true });
    check("signed JSON body of exactly 26214400 bytes -> not 413 (200 ignored for event star)",
      r.status === 200 && r.json?.status === "ignored", `${r.status} ${r.text.slice(0, 200)}`);
  }

  // other routes
  {
    const h = await request("GET", BASE + "/healthz");
    check("GET /healthz -> 200 JSON with status", h.status === 200 && isJsonCT(h) && typeof h.json?.status === "string", `${h.status} ${h.headers["content-type"]} ${h.text}`);
    const rd = await request("GET", BASE + "/readyz");
    check("GET /readyz -> 200 JSON with status (Redis up)", rd.status === 200 && isJsonCT(rd) && typeof rd.json?.status === "string", `${rd.status} ${rd.text}`);
    await expectErr("GET /nope -> 404 JSON error", await request("GET", BASE + "/nope"), 404);
    await expectErr("POST /webhooks/other -> 404", await request("POST", BASE + "/webhooks/other", { "Content-Type": "application/json" }, "{}"), 404);
    await expectErr("GET /webhooks/github -> 405 JSON error", await request("GET", HOOK), 405);
    await expectErr("PUT /webhooks/github -> 405", await request("PUT", HOOK, { "Content-Type": "application/json" }, "{}"), 405);
    await expectErr("POST /healthz -> 405", await request("POST", BASE + "/healthz", { "Content-Type": "application/json" }, "{}"), 405);
    await expectErr("DELETE /metrics -> 405", await request("DELETE", BASE + "/metrics"), 405);
    await expectErr("POST /readyz -> 405", await request("POST", BASE + "/readyz", { "Content-Type": "application/json" }, "{}"), 405);
  }

  // metrics (DESIGN.md section 7)
  {
    await redis.cmd("DEL", "analysis_queue");
    await redis.cmd("LPUSH", "analysis_queue", '{"v":1}', '{"v":1}', '{"v":1}');
    await new Promise((r) => setTimeout(r, 1300)); // gauges may be cached up to ~1 s
    const m = await request("GET", BASE + "/metrics");
    const t = m.text;
    check("GET /metrics -> 200 text/plain (Prometheus text)", m.status === 200 && /^text\/plain/.test(m.headers["content-type"] || ""), `${m.status} ${m.headers["content-type"]}`);
    check("/metrics text ends with a line feed (exposition format)", t.endsWith("\n"));
    for (const name of ["analysis_queue_length", "analysis_queue_inflight", "analysis_queue_delayed", "analysis_queue_dead",
      "analysis_queue_oldest_age_seconds", "singularity_ingress_requests_total", "singularity_ingress_request_duration_seconds",
      "singularity_ingress_signature_failures_total"]) {
      check(`/metrics has # TYPE ${name}`, new RegExp(`^# TYPE ${name} \\w+`, "m").test(t));
    }
    check("analysis_queue_length is a gauge equal to LLEN analysis_queue (3)", /^# TYPE analysis_queue_length gauge$/m.test(t) && /^analysis_queue_length 3(\.0+)?$/m.test(t),
      (t.match(/^analysis_queue_length.*$/m) || ["absent"])[0]);
    check("singularity_ingress_request_duration_seconds is a histogram with _bucket{le=\"+Inf\"}, _sum, _count",
      /^# TYPE singularity_ingress_request_duration_seconds histogram$/m.test(t) &&
      /^singularity_ingress_request_duration_seconds_bucket\{.*le="\+Inf".*\} \d+/m.test(t) &&
      /^singularity_ingress_request_duration_seconds_sum/m.test(t) && /^singularity_ingress_request_duration_seconds_count/m.test(t));
    const reqLine = t.split("\n").find((l) => l.startsWith("singularity_ingress_requests_total{") && /code="202"/.test(l) && /event="push"/.test(l));
    check("singularity_ingress_requests_total{code=\"202\",event=\"push\"} counted", !!reqLine && Number(reqLine.split(" ").pop()) >= 1, reqLine || "absent");
    const counterTypes = /^# TYPE singularity_ingress_requests_total counter$/m.test(t) && /^# TYPE singularity_ingress_signature_failures_total counter$/m.test(t);
    check("requests_total and signature_failures_total are counters", counterTypes);
    await redis.cmd("DEL", "analysis_queue");
    await redis.cmd("LPUSH", "analysis_queue", JSON.stringify({ v: 1, kind: "sync", delivery: "old-1", event: "installation", action: "created",
      installation: 1, repo: null, sha: null, ref: null, base_sha: null, pull: null, force: false, received_at: Date.now() - 100000, attempt: 0 }));
    await new Promise((r) => setTimeout(r, 1300));
    const age = await metricValue("analysis_queue_oldest_age_seconds");
    check("analysis_queue_oldest_age_seconds is the age of the oldest pending job (~100 s)", age >= 99 && age <= 115, `${age}`);
    await redis.cmd("DEL", "analysis_queue");
    const endSigFails = await metricValue("singularity_ingress_signature_failures_total");
    check(`singularity_ingress_signature_failures_total rose by the ${sigFails} failed signatures sent`,
      endSigFails - startSigFails === sigFails, `before ${startSigFails}, after ${endSigFails}`);
    await redis.cmd("DEL", "analysis_queue");
  }
  redis.close();
}

async function metricValue(name) {
  const m = await request("GET", BASE + "/metrics");
  const l = m.text.split("\n").find((x) => x.startsWith(name + " ") || x.startsWith(name + "{"));
  return l ? Number(l.split(" ").pop()) : NaN;
}

// ---- recorded check-run requests vs @octokit/openapi ----
async function checkrunSuite(file) {
  const Ajv = require("ajv");
  const spec = JSON.parse(fs.readFileSync(path.join(nm, "@octokit/openapi/generated/api.github.com.deref.json")));
  const createOp = spec.paths["/repos/{owner}/{repo}/check-runs"].post;
  const updateOp = spec.paths["/repos/{owner}/{repo}/check-runs/{check_run_id}"].patch;
  check("openapi operations are checks/create and checks/update", createOp.operationId === "checks/create" && updateOp.operationId === "checks/update");
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const clean = (s) => JSON.parse(JSON.stringify(s, (k, v) => (k === "nullable" || k === "example" || k === "examples" ? undefined : v)));
  const vCreate = ajv.compile(clean(createOp.requestBody.content["application/json"].schema));
  const vUpdate = ajv.compile(clean(updateOp.requestBody.content["application/json"].schema));
  const dt = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
  const recs = fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const creates = recs.filter((r) => r.method === "POST" && /^\/repos\/[^/]+\/[^/]+\/check-runs$/.test(r.path));
  const updates = recs.filter((r) => r.method === "PATCH" && /^\/repos\/[^/]+\/[^/]+\/check-runs\/\d+$/.test(r.path));
  check("at least one checks/create and one checks/update were recorded", creates.length > 0 && updates.length > 0, `${creates.length} creates, ${updates.length} updates`);
  const bad = [];
  for (const r of creates) {
    if (!vCreate(r.body)) bad.push(`create: ${ajv.errorsText(vCreate.errors)}`);
    for (const k of ["started_at", "completed_at"]) if (r.body?.[k] && !dt.test(r.body[k])) bad.push(`create ${k} ${r.body[k]} not ISO 8601`);
  }
  for (const r of updates) {
    if (!vUpdate(r.body)) bad.push(`update: ${ajv.errorsText(vUpdate.errors)}`);
    for (const k of ["started_at", "completed_at"]) if (r.body?.[k] && !dt.test(r.body[k])) bad.push(`update ${k} ${r.body[k]} not ISO 8601`);
  }
  check(`every recorded checks/create (${creates.length}) and checks/update (${updates.length}) body is valid against @octokit/openapi`,
    bad.length === 0, bad.slice(0, 4).join(" | "));
  const firstPerSha = new Map();
  for (const r of creates) if (!firstPerSha.has(r.body?.head_sha)) firstPerSha.set(r.body?.head_sha, r);
  check("every checks/create is named Singularity with a 40-hex head_sha; the first for each sha is in_progress",
    creates.every((r) => r.body?.name === "Singularity" && /^[0-9a-f]{40}$/.test(r.body?.head_sha || "")) &&
    [...firstPerSha.values()].every((r) => r.body?.status === "in_progress"),
    JSON.stringify(creates.map((r) => [r.body?.name, r.body?.status, r.body?.head_sha?.slice(0, 6)])));
  const batches = [...creates, ...updates].map((r) => r.body?.output?.annotations?.length || 0);
  check("no request carries more than 50 annotations", batches.every((n) => n <= 50), JSON.stringify(batches));
  const api = recs.filter((r) => !r.path.startsWith("/_sim") && !r.path.startsWith("/_codeload"));
  check("every GitHub API request carries a User-Agent (GitHub refuses requests without one)",
    api.length > 0 && api.every((r) => r.headers?.["User-Agent"]), JSON.stringify(api.filter((r) => !r.headers?.["User-Agent"]).map((r) => r.path).slice(0, 3)));
  check("/app/... requests use the App JWT, /repos/... requests an installation token, archive downloads no Authorization",
    api.filter((r) => r.path.startsWith("/app/")).every((r) => /jwt$/.test(r.headers?.Authorization || "")) &&
    api.filter((r) => r.path.startsWith("/repos/")).every((r) => /installation-token$/.test(r.headers?.Authorization || "")) &&
    recs.filter((r) => r.path.startsWith("/_codeload")).every((r) => !r.headers?.Authorization),
    JSON.stringify([...new Set(recs.map((r) => r.path.split("/")[1] + " " + r.headers?.Authorization))]));
  const visible = [...creates, ...updates].filter((r) => !r.path.startsWith("/repos/octo/notinstalled/"));
  check("all check-run requests for visible repositories were answered 2xx", visible.every((r) => r.status >= 200 && r.status < 300),
    JSON.stringify(visible.filter((r) => !(r.status >= 200 && r.status < 300)).map((r) => [r.method, r.path, r.status])));
}

const mode = process.argv[2];
if (mode === "ingress") { await ingressSuite(); finish(); }
else if (mode === "checkruns") { await checkrunSuite(process.argv[3]); finish(); }
else if (mode === "send") {
  const body = fs.readFileSync(process.argv[4], "utf8");
  const r = await deliver(process.argv[3], body, { delivery: process.argv[5] || uuid(), ctype: process.argv[6] || "application/json" });
  console.log(`${r.status} ${r.text}`);
  process.exit(0);
} else { console.error("usage: acceptance.mjs ingress|checkruns FILE|send EVENT FILE [DELIVERY] [CTYPE]"); process.exit(2); }
