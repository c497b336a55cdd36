// The shim's HTTP layer alone (ADR 0018): the shim on the in-process fake backend,
// 32 callers in a closed loop for N seconds, client in the same process. Run once with
// and once without SMARTOPS_SHIM_HTTP=fastify, alternating.
//
//   node bench/shim-http-layer.bench.ts [seconds]
import { Agent, request } from "undici";
import { startShim, DEFAULT_CONFIG } from "../operator/src/shim/server.ts";
import { FakeBackend } from "../operator/src/shim/fake-backend.ts";
import { silentLogger } from "../operator/src/telemetry/logger.ts";
const b = new FakeBackend();
b.tokens.set("good", { user: { username: "agent", groups: [] }, audiences: ["smartops-shim"] });
b.grant("agent", "create", "smartops.io/anomalysignals", "smartops-dev");
const s = await startShim("127.0.0.1", 0, b, { ...DEFAULT_CONFIG, rateLimit: { ratePerSecond: 1e9, burst: 1e9 }, maxInFlightPerIdentity: 1000 }, silentLogger());
const idle = (process.memoryUsage().rss / 1048576).toFixed(0);
const agent = new Agent({ connections: 64 });
let n = 0;
const lat: number[] = [];
const post = async () => {
  const t0 = performance.now();
  const r = await request(`http://127.0.0.1:${s.port}/v1/signals/anomaly`, { dispatcher: agent, method: "POST", headers: { "content-type": "application/json", authorization: "Bearer good" }, body: JSON.stringify({ windowId: `w-${n++}`, service: "erp-simulator", isAnomaly: true, score: 0.9, type: "latency", modelVersion: "v1" }) });
  await r.body.text();
  if (r.statusCode !== 200) throw new Error(String(r.statusCode));
  lat.push(performance.now() - t0);
};
for (let i = 0; i < 2000; i++) await post();
lat.length = 0;
const secs = Number(process.argv[2] ?? 5);
const start = performance.now();
await Promise.all(Array.from({ length: 32 }, async () => { while (performance.now() - start < secs * 1000) await post(); }));
const el = (performance.now() - start) / 1000;
lat.sort((a, b) => a - b);
const p = (q: number) => lat[Math.floor(q * lat.length)]!.toFixed(2);
const rss = (process.memoryUsage().rss / 1048576).toFixed(0);
console.log(`${process.env.SMARTOPS_SHIM_HTTP ?? "node:http"}: ${(lat.length / el).toFixed(0)} req/s, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, RSS idle ${idle} MiB, after ${rss} MiB (client in the same process)`);
await s.close(); await agent.close(); process.exit(0);
