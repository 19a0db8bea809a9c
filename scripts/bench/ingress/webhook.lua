-- Why: wrk script for scripts/bench-ingress.sh: POSTs one signed webhook payload with a fresh
-- X-GitHub-Delivery per request (so every request is a real enqueue, not a duplicate). The ingress
-- also answers a body it has seen under another delivery id "duplicate" (a replay), so with
-- BENCH_SIGS every request's body is its own too: the payload with a last field "bench_seq":N, and
-- the signature of that body precomputed by the bench script (line N+1 of BENCH_SIGS; thread t
-- uses lines t*BENCH_SIGS_PER_THREAD+1 onwards).
-- Env: BENCH_BODY (file), BENCH_SIG (sha256=...), BENCH_EVENT, BENCH_PATH, BENCH_SIGS,
-- BENCH_SIGS_PER_THREAD.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
local body = f:read("*a")
f:close()
local sig = os.getenv("BENCH_SIG")
local event = os.getenv("BENCH_EVENT") or "push"
local path = os.getenv("BENCH_PATH") or "/webhooks/github"
local sigs_path = os.getenv("BENCH_SIGS")
local per = tonumber(os.getenv("BENCH_SIGS_PER_THREAD") or "0")
local counter = 0
local head, sigs, first


function setup(thread)
  counter = counter + 1
  thread:set("prefix", string.format("bench-%d-%d-", os.time(), counter))
  thread:set("tid", counter - 1)
end

function init(args)
  counter = 0
  if sigs_path then
    head = body:gsub("%s*}%s*$", "")
    first = tid * per
    sigs = {}
    local i = 0
    for line in io.lines(sigs_path) do
      if i >= first + per then break end
      if i >= first then sigs[#sigs + 1] = line end
      i = i + 1
    end
  end
end

function request()
  counter = counter + 1
  local b, s = body, sig
  if sigs then
    local k = (counter - 1) % #sigs
    b = head .. ',"bench_seq":' .. (first + k) .. '}'
    s = sigs[k + 1]
  end
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = event,
    ["X-GitHub-Delivery"] = prefix .. counter,
    ["X-Hub-Signature-256"] = s,
  }, b)
end

function done(summary, latency, requests)
  io.write(string.format("p99_ms=%.3f p50_ms=%.3f\n", latency:percentile(99) / 1000, latency:percentile(50) / 1000))
end
