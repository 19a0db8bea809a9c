-- Why: wrk script for scripts/bench-ingress.sh: POSTs one signed webhook payload with a fresh
-- X-GitHub-Delivery per request (so every request is a real enqueue, not a duplicate).
-- Env: BENCH_BODY (file), BENCH_SIG (sha256=...), BENCH_EVENT, BENCH_PATH.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
local body = f:read("*a")
f:close()
local sig = os.getenv("BENCH_SIG")
local event = os.getenv("BENCH_EVENT") or "push"
local path = os.getenv("BENCH_PATH") or "/webhooks/github"
local counter = 0


function setup(thread)
  counter = counter + 1
  thread:set("prefix", string.format("bench-%d-%d-", os.time(), counter))
end

function init(args)
  counter = 0
end

function request()
  counter = counter + 1
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = event,
    ["X-GitHub-Delivery"] = prefix .. counter,
    ["X-Hub-Signature-256"] = sig,
  }, body)
end

function done(summary, latency, requests)
  io.write(string.format("p99_ms=%.3f p50_ms=%.3f\n", latency:percentile(99) / 1000, latency:percentile(50) / 1000))
end
