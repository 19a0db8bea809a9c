// Why: the baseline of scripts/bench-ingress.sh: a minimal Node.js receiver doing what a Probot
// app does per delivery (verify the signature with GitHub's reference code, push to Redis), so the
// C ingress is measured against the stack it replaces. Env: PORT, REDIS_PORT, WEBHOOK_SECRET.
import http from "node:http";
import { verify } from "@octokit/webhooks-methods";
import Redis from "ioredis";

const secret = process.env.WEBHOOK_SECRET;
const redis = new Redis({ host: "127.0.0.1", port: Number(process.env.REDIS_PORT) });

http
  .createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const sig = req.headers["x-hub-signature-256"];
      const ok = sig && body ? await verify(secret, body, sig) : false;
      if (!ok) {
        res.writeHead(401, { "content-type": "application/json" });
        return res.end('{"status":"error","error":"signature mismatch"}');
      }
      const payload = JSON.parse(body);
      const job = JSON.stringify({
        v: 1, kind: "analyze", delivery: req.headers["x-github-delivery"],
        event: req.headers["x-github-event"], installation: payload.installation?.id ?? null,
        repo: payload.repository ? { id: payload.repository.id, full_name: payload.repository.full_name } : null,
        sha: payload.after ?? null, ref: payload.ref ?? null, received_at: Date.now(), attempt: 0,
      });
      await redis.lpush("analysis_queue", job);
      res.writeHead(202, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "queued", delivery: req.headers["x-github-delivery"] }));
    });
  })
  .listen(Number(process.env.PORT), "127.0.0.1");
