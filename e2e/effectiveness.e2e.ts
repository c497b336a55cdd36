// Verified means fixed, on the real control plane: the signals after a succeeded
// action decide whether it worked (Effective), the escalation ladder takes the
// next step when it did not and finally tells a human through the webhooks (an
// in-test receiver in the three formats), three failures in a row stop
// automation on a Deployment until a human resumes it, and a rule's PromQL check
// is read from a real Prometheus (built from its Go module) scraping an exporter
// this test controls.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ORIGIN_LABEL, ORIGIN_VALUE } from "../operator/src/notify/notification.ts";
import { RESUME_ANNOTATION } from "../operator/src/remediation/escalation.ts";
import { freePort } from "./controlplane/cluster.ts";
import { applySmartops, clients, ensureNamespace, FIELD_MANAGER, kubectl, waitFor } from "./support/kube.ts";
import { anomaly, createDeployment, getAction, policy, signalStatus, signalToAction, waitForPhase } from "./support/loop.ts";
import { type OperatorProcess, operatorUnderOwnRbac } from "./support/operator.ts";
import { type PrometheusProcess, startPrometheus } from "./support/prometheus.ts";

const c = clients();
const NS = "e2e-effective";
let op: OperatorProcess;
let receiver: Server;
let exporter: Server;
let prom: PrometheusProcess;

/** What the receiver got, by path (/generic, /slack, /alertmanager). */
const received: { path: string; body: unknown }[] = [];
/** The exporter's demo_error_ratio per deployment. */
const errorRatio = new Map<string, number>();

const effective = (a: { status?: { conditions?: { type: string; status: string; reason?: string }[] } }) => a.status?.conditions?.find((x) => x.type === "Effective");

/** A policy covering one Deployment only (policies combine most-restrictively: a namespace-wide one would lengthen every window). */
const onlyFor = (name: string, spec: Record<string, unknown>) => policy(NS, name, {
  targets: { selector: { matchLabels: { "app.kubernetes.io/name": name } } },
  cooldownSeconds: { scale: 0, restart: 0, patch: 0, deletePod: 0 },
  rateLimits: { maxActionsPerHour: 1000, maxScaleIncreasePer15Minutes: 100 },
  ...spec,
});

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      received.push({ path: req.url ?? "", body: JSON.parse(body) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  const exporterPort = await freePort();
  exporter = createServer((_req, res) => {
    const lines = ["# TYPE demo_error_ratio gauge", ...[...errorRatio].map(([d, v]) => `demo_error_ratio{namespace="${NS}",deployment="${d}"} ${v}`)];
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(`${lines.join("\n")}\n`);
  });
  await new Promise<void>((r) => exporter.listen(exporterPort, "127.0.0.1", r));
  prom = await startPrometheus([{ job: "demo", address: `127.0.0.1:${exporterPort}` }]);

  const dir = mkdtempSync(join(tmpdir(), "smartops-notify-"));
  const config = join(dir, "notify.json");
  writeFileSync(config, JSON.stringify({
    webhooks: [
      { name: "generic", url: `${url}/generic`, format: "generic", minSeverity: "critical" },
      { name: "slack", url: `${url}/slack`, format: "slack", minSeverity: "critical" },
      { name: "alertmanager", url: `${url}/alertmanager`, format: "alertmanager", minSeverity: "critical" },
    ],
  }));
  await ensureNamespace(c, NS);
  op = await operatorUnderOwnRbac(c, "effective", { SMARTOPS_NOTIFY_CONFIG: config, SMARTOPS_PROMETHEUS_URL: prom.url });
});

afterAll(async () => {
  await op?.stop();
  await prom?.stop();
  await new Promise((r) => receiver?.close(r));
  await new Promise((r) => exporter?.close(r));
});

describe("effectiveness, escalation and notifications", () => {
  it("an effective restart: normal windows follow, the window ends Effective=True, shown in kubectl's Effective column", async () => {
    await createDeployment(c, NS, "calm");
    await applySmartops(c, onlyFor("calm", { effectiveness: { windowSeconds: 10 } }));
    const name = await signalToAction(c, anomaly(NS, "calm-lat-1", { service: "calm", type: "latency" }));
    const a = await waitForPhase(c, NS, name);
    expect(a.status?.phase, a.status?.message).toBe("Succeeded");
    await applySmartops(c, anomaly(NS, "calm-ok-1", { service: "calm", type: "latency", isAnomaly: false, score: 0.1 }));
    const judged = await waitFor("calm restart judged", async () => {
      const x = await getAction(c, NS, name);
      return effective(x)?.status === "True" ? x : undefined;
    }, 60_000);
    expect(judged.status?.effectiveness).toMatchObject({ state: "Effective", windowSeconds: 10, normalWindows: 1 });
    expect(effective(judged)?.reason).toBe("NoRecurrence");
    const table = kubectl(["get", "remediationactions", "-n", NS, name]);
    expect(table.split("\n")[0]).toMatch(/\bEFFECTIVE\b/);
    expect(table.split("\n")[1]).toMatch(/\bTrue\b/);
  });

  it("a restart whose anomaly recurs: Effective=False → the recurrence escalates to scale-up → the next one tells a human by webhook", async () => {
    await createDeployment(c, NS, "leaky");
    await applySmartops(c, onlyFor("leaky", { effectiveness: { windowSeconds: 120 } }));
    const first = await signalToAction(c, anomaly(NS, "leaky-lat-1", { service: "leaky", type: "latency" }));
    expect((await waitForPhase(c, NS, first)).status?.phase).toBe("Succeeded");

    const second = await signalToAction(c, anomaly(NS, "leaky-lat-2", { service: "leaky", type: "latency" }));
    const restart = await waitFor("first restart judged ineffective", async () => {
      const x = await getAction(c, NS, first);
      return effective(x)?.status === "False" ? x : undefined;
    }, 30_000);
    expect(restart.status?.effectiveness).toMatchObject({ state: "Ineffective", recurrence: { kind: "AnomalySignal", name: "leaky-lat-2" } });
    const up = await waitForPhase(c, NS, second);
    expect(up.spec).toMatchObject({ type: "scale", scale: { by: 1 }, escalation: { from: first, step: 1, ladder: ["restart", "scale-up", "notify"] } });
    expect(up.status?.phase, up.status?.message).toBe("Succeeded");
    expect(await signalStatus(c, "AnomalySignal", NS, "leaky-lat-2")).toMatchObject({ phase: "ActionCreated", reason: "Escalated" });

    await applySmartops(c, anomaly(NS, "leaky-lat-3", { service: "leaky", type: "latency" }));
    const told = await waitFor("third signal notified", async () => {
      const s = await signalStatus(c, "AnomalySignal", NS, "leaky-lat-3");
      return s?.phase === "Notified" ? s : undefined;
    });
    expect(told).toMatchObject({ reason: "EscalatedToHuman", target: "leaky" });
    expect(told.actionRef).toBeUndefined();
    const notes = await waitFor("three webhooks", () => {
      const mine = received.filter((r) => JSON.stringify(r.body).includes("EscalatedToHuman") && JSON.stringify(r.body).includes("leaky"));
      return mine.length >= 3 ? mine : undefined;
    }, 30_000);
    const byPath = Object.fromEntries(notes.map((n) => [n.path, n.body]));
    expect(byPath["/generic"]).toMatchObject({ reason: "EscalatedToHuman", severity: "critical", namespace: NS, target: "leaky", origin: ORIGIN_VALUE });
    expect(byPath["/alertmanager"]).toEqual([expect.objectContaining({ labels: expect.objectContaining({ [ORIGIN_LABEL]: ORIGIN_VALUE, namespace: NS, deployment: "leaky" }) })]);
    expect((byPath["/slack"] as { text: string }).text).toContain("leaky");
    // The Event on the Deployment says the same, for kubectl describe.
    await waitFor("the EscalatedToHuman Event on the Deployment", () =>
      kubectl(["get", "events", "-n", NS, "--field-selector", "reason=EscalatedToHuman,involvedObject.kind=Deployment", "-o", "jsonpath={.items[*].involvedObject.name}"]).includes("leaky") || undefined, 15_000);
  });

  it("three ineffective actions in a row stop automation (RepeatedFailures, notified) until a human resumes it with the annotation", async () => {
    await createDeployment(c, NS, "flaky");
    await applySmartops(c, onlyFor("flaky", { effectiveness: { windowSeconds: 120 }, escalation: { ladders: { anomaly: ["restart", "restart", "restart", "notify"], rca: ["restart", "notify"] } } }));
    const names: string[] = [];
    for (let i = 1; i <= 3; i++) {
      names.push(await signalToAction(c, anomaly(NS, `flaky-lat-${i}`, { service: "flaky", type: "latency" })));
      expect((await waitForPhase(c, NS, names.at(-1)!)).status?.phase).toBe("Succeeded");
    }
    // The fourth latency window: the third restart did not work either; the ladder is done.
    await applySmartops(c, anomaly(NS, "flaky-lat-4", { service: "flaky", type: "latency" }));
    await waitFor("third restart ineffective", async () => effective(await getAction(c, NS, names[2]!))?.status === "False");
    expect((await signalStatus(c, "AnomalySignal", NS, "flaky-lat-4"))?.phase).toBe("Notified");

    // Another problem on the same Deployment: automation is stopped.
    const blocked = await waitForPhase(c, NS, await signalToAction(c, anomaly(NS, "flaky-err-1", { service: "flaky", type: "error" })));
    expect(blocked.status).toMatchObject({ phase: "Blocked", reason: "RepeatedFailures" });
    expect(blocked.status?.message).toContain(RESUME_ANNOTATION);
    await waitFor("RepeatedFailures webhook", () => received.some((r) => r.path === "/generic" && JSON.stringify(r.body).includes("RepeatedFailures")) || undefined, 30_000);

    // A human resumes (what `kubectl smartops resume` will do), and the next signal acts.
    kubectl(["annotate", "deployment", "flaky", "-n", NS, `${RESUME_ANNOTATION}=${new Date().toISOString()}`, "--overwrite", `--field-manager=${FIELD_MANAGER}`]);
    await new Promise((r) => setTimeout(r, 1100));
    const resumed = await waitForPhase(c, NS, await signalToAction(c, anomaly(NS, "flaky-err-2", { service: "flaky", type: "error" })));
    expect(resumed.status?.phase, resumed.status?.message).toBe("Succeeded");
  });

  it("a rule's PromQL check against a real Prometheus: baseline → outcome decides Effective, or MetricNotRecovered", async () => {
    const check = { query: 'max(demo_error_ratio{namespace="$namespace",deployment="$deployment"})', comparison: "<", threshold: 0.05 };
    for (const d of ["fixed", "still-bad"]) {
      await createDeployment(c, NS, d);
      errorRatio.set(d, 0.4);
      await applySmartops(c, onlyFor(d, { effectiveness: { windowSeconds: 15 }, rules: { anomaly: [{ type: "error", action: "restart", check }] } }));
    }
    await waitFor("Prometheus has both series", async () => {
      const r = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(`count(demo_error_ratio{namespace="${NS}"})`)}`).then((x) => x.json()) as { data: { result: { value: [number, string] }[] } };
      return r.data.result[0]?.value[1] === "2" || undefined;
    }, 30_000);
    const names = await Promise.all(["fixed", "still-bad"].map((d) => signalToAction(c, anomaly(NS, `${d}-err-1`, { service: d, type: "error" }))));
    for (const n of names) expect((await waitForPhase(c, NS, n)).status?.phase).toBe("Succeeded");
    // The baseline is taken when the window opens; then the fix shows in one metric only.
    await waitFor("baselines", async () => (await Promise.all(names.map((n) => getAction(c, NS, n)))).every((a) => a.status?.effectiveness?.metrics?.[0]?.baseline === 0.4) || undefined, 30_000);
    errorRatio.set("fixed", 0.01);
    const [fixed, bad] = await Promise.all(names.map((n) => waitFor(`${n} judged`, async () => {
      const a = await getAction(c, NS, n);
      return ["Effective", "Ineffective", "Unknown"].includes(a.status?.effectiveness?.state ?? "") ? a : undefined;
    }, 60_000)));
    expect(fixed!.status?.effectiveness).toMatchObject({ state: "Effective", metrics: [{ baseline: 0.4, outcome: 0.01, comparison: "<", threshold: 0.05 }] });
    expect(fixed!.status?.effectiveness?.metrics?.[0]?.query).toBe(`max(demo_error_ratio{namespace="${NS}",deployment="fixed"})`);
    expect(bad!.status?.effectiveness).toMatchObject({ state: "Ineffective", metrics: [{ baseline: 0.4, outcome: 0.4 }] });
    expect(effective(bad!)).toMatchObject({ status: "False", reason: "MetricNotRecovered" });
  });
});
