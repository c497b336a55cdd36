// The Alertmanager mapping, pure: labels → namespace and service, rules → type
// and score, fingerprint and startsAt → windowId, resolved → a normal window,
// the operator's own notifications ignored, and every bad field named.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { anomalySignalSpec } from "../api/v1alpha1/anomaly-signal.ts";
import { validate } from "../api/v1alpha1/validation.ts";
import { ORIGIN_LABEL, ORIGIN_VALUE } from "../notify/notification.ts";
import { type Alert, alertmanagerConfig, type AlertmanagerConfig, alertWindowId, DEFAULT_ALERTMANAGER_CONFIG, parseAlertmanagerConfig, type PlannedAlert, planAlerts } from "./alertmanager.ts";

const STARTS = "2026-03-01T10:00:00.123456789Z";
const alert = (over: Partial<Alert> = {}, labels: Record<string, string> = {}): Alert => ({
  status: "firing",
  labels: { alertname: "CheckoutHighLatency", severity: "critical", namespace: "shop", deployment: "checkout", ...labels },
  annotations: { summary: "p99 over 2s" },
  startsAt: STARTS,
  endsAt: "0001-01-01T00:00:00Z",
  generatorURL: "http://prometheus/graph",
  fingerprint: "a1b2c3d4e5f60718",
  ...over,
});
const payload = (alerts: unknown[], over: Record<string, unknown> = {}) => ({
  version: "4",
  groupKey: '{}:{alertname="CheckoutHighLatency"}',
  truncatedAlerts: 0,
  status: "firing",
  receiver: "smartops",
  groupLabels: { alertname: "CheckoutHighLatency" },
  commonLabels: {},
  commonAnnotations: {},
  externalURL: "http://alertmanager:9093",
  alerts,
  ...over,
});

function plan(alerts: unknown[], config: AlertmanagerConfig = DEFAULT_ALERTMANAGER_CONFIG): PlannedAlert[] {
  const p = planAlerts(payload(alerts), config);
  if (!p.ok) throw new Error(JSON.stringify(p.issues));
  return p.alerts;
}
function signal(a: PlannedAlert) {
  if (a.kind !== "signal") throw new Error(`ignored: ${a.message}`);
  return a;
}
function issues(body: unknown, config = DEFAULT_ALERTMANAGER_CONFIG) {
  const p = planAlerts(body, config);
  if (p.ok) throw new Error("expected issues");
  return p.issues;
}

describe("planAlerts: a firing alert becomes an anomaly window", () => {
  it("namespace and service from the labels, type and score from the default rules, verified", () => {
    const s = signal(plan([alert()])[0]!);
    expect(s.namespace).toBe("shop");
    expect(s.namespaceField).toBe("alerts[0].labels.namespace");
    expect(s.spec).toEqual({
      windowId: `am-a1b2c3d4e5f60718-${Date.parse(STARTS)}`,
      service: "checkout",
      isAnomaly: true,
      score: 0.95,
      type: "latency",
      modelVersion: "alertmanager",
      confidence: 1,
      metadata: { source: "alertmanager", fingerprint: "a1b2c3d4e5f60718", alertStatus: "firing", startsAt: STARTS, alertname: "CheckoutHighLatency", severity: "critical" },
    });
    expect(validate(anomalySignalSpec, s.spec).ok).toBe(true);
  });

  it("the default rules by alertname words; score by severity, else the default", () => {
    const typeOf = (alertname: string, severity?: string) => {
      const s = signal(plan([alert({}, { alertname, ...(severity ? { severity } : {}) })])[0]!);
      return [s.spec.type, s.spec.score];
    };
    expect(typeOf("HighRequestLatency", "warning")).toEqual(["latency", 0.8]);
    expect(typeOf("NetworkJitter", "info")).toEqual(["jitter", 0.5]);
    expect(typeOf("KubePodCrashLooping", "critical")).toEqual(["error", 0.95]);
    expect(typeOf("Http5xxRate", "page")).toEqual(["error", 0.7]);
    expect(typeOf("CPUThrottlingHigh", "Warning")).toEqual(["resource", 0.8]);
    expect(typeOf("ContainerMemoryNearLimit")).toEqual(["resource", 0.95]);
    expect(typeOf("SomethingOdd", "warning")).toEqual(["other", 0.8]);
  });

  it("service falls back deployment → service → job; the first present label names it", () => {
    const svc = (labels: Record<string, string>) => signal(plan([{ ...alert(), labels: { alertname: "X", namespace: "shop", ...labels } }])[0]!).spec.service;
    expect(svc({ deployment: "d", service: "s", job: "j" })).toBe("d");
    expect(svc({ service: "s", job: "j" })).toBe("s");
    expect(svc({ job: "j" })).toBe("j");
    expect(svc({ deployment: "", job: "j" })).toBe("j");
  });

  it("configurable label names and rules: the file's rules replace the defaults, first match wins", () => {
    const config = alertmanagerConfig.parse({
      namespaceLabels: ["kubernetes_namespace", "namespace"],
      serviceLabels: ["app"],
      rules: [
        { alertname: "Checkout.*", severity: "critical", type: "resource", score: 0.99 },
        { alertname: "Checkout.*", type: "error" },
        { alertname: "Noise", ignore: true },
      ],
      defaultType: "latency",
      severityScores: { warning: 0.61 },
      defaultScore: 0.42,
      verified: false,
    });
    const [a, b, c, d] = plan([
      alert({}, { kubernetes_namespace: "team-a", app: "api" }),
      alert({ fingerprint: "b" }, { severity: "warning", app: "api" }),
      alert({ fingerprint: "c" }, { alertname: "Noise" }),
      alert({ fingerprint: "d" }, { alertname: "Other", severity: "none", app: "web" }),
    ], config);
    expect(signal(a!)).toMatchObject({ namespace: "team-a", spec: { service: "api", type: "resource", score: 0.99 } });
    expect(signal(a!).spec).not.toHaveProperty("modelVersion");
    expect(signal(a!).spec).not.toHaveProperty("confidence");
    expect(signal(b!)).toMatchObject({ namespace: "shop", spec: { type: "error", score: 0.61 } });
    expect(c).toMatchObject({ kind: "ignore", reason: "IgnoredByRule" });
    expect(signal(d!).spec).toMatchObject({ type: "latency", score: 0.42 });
  });

  it("Watchdog and InfoInhibitor are ignored by the default rules", () => {
    expect(plan([alert({}, { alertname: "Watchdog" }), alert({ fingerprint: "f" }, { alertname: "InfoInhibitor" })]).map((a) => a.kind)).toEqual(["ignore", "ignore"]);
  });
});

describe("windowIds: idempotent re-sends, new firings and resolved windows are distinct", () => {
  it("the same alert re-sent (annotations, generatorURL, group fields changed) has the same windowId and spec", () => {
    const first = signal(plan([alert()])[0]!);
    const again = planAlerts(payload([alert({ annotations: { summary: "changed" }, generatorURL: "http://elsewhere" })], { groupKey: "other", receiver: "r2", truncatedAlerts: 3 }), DEFAULT_ALERTMANAGER_CONFIG);
    expect(again.ok && signal(again.alerts[0]!).spec).toEqual(first.spec);
  });

  it("a new firing (another startsAt) and another alert (another fingerprint) are new windows", () => {
    const ids = plan([alert(), alert({ startsAt: "2026-03-01T11:00:00Z" }), alert({ fingerprint: "ffff" })]).map((a) => signal(a).spec.windowId);
    expect(new Set(ids).size).toBe(3);
  });

  it("property: the windowId is a valid windowId, a function of fingerprint and startsAt, and the resolved one differs", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9A-Za-z]{1,64}$/), fc.date({ min: new Date(0), max: new Date(8.64e15 / 2), noInvalidDate: true }), (fp, d) => {
        const at = d.toISOString();
        const firing = alertWindowId(fp, at, "firing");
        const resolved = alertWindowId(fp, at, "resolved");
        expect(validate(anomalySignalSpec.shape.windowId, firing).ok).toBe(true);
        expect(validate(anomalySignalSpec.shape.windowId, resolved).ok).toBe(true);
        expect(resolved).not.toBe(firing);
        expect(resolved.startsWith(firing)).toBe(true);
        expect(alertWindowId(fp, at, "firing")).toBe(firing);
      }),
    );
  });
});

describe("a resolved alert becomes a normal window", () => {
  it("isAnomaly false, score 0, its own windowId with the resolved marker, the alert's time range", () => {
    const ends = "2026-03-01T10:05:00Z";
    const s = signal(plan([alert({ status: "resolved", endsAt: ends })])[0]!);
    expect(s.spec).toMatchObject({ windowId: `am-a1b2c3d4e5f60718-${Date.parse(STARTS)}-resolved`, isAnomaly: false, score: 0, type: "latency", service: "checkout", tsRange: { start: STARTS, end: ends } });
    expect(s.spec.metadata).toMatchObject({ alertStatus: "resolved" });
    expect(validate(anomalySignalSpec, s.spec).ok).toBe(true);
  });

  it("a resolved alert without endsAt is a 400 naming it; an endsAt before startsAt gives no time range", () => {
    const { endsAt: _e, ...noEnd } = alert({ status: "resolved" });
    expect(issues(payload([noEnd]))).toEqual([{ field: "alerts[0].endsAt", message: "required for a resolved alert" }]);
    const s = signal(plan([alert({ status: "resolved", endsAt: "2020-01-01T00:00:00Z" })])[0]!);
    expect(s.spec).not.toHaveProperty("tsRange");
  });
});

describe("the operator's own notifications never come back as signals", () => {
  it(`an alert labelled ${ORIGIN_LABEL}=${ORIGIN_VALUE} is ignored, even without namespace or service labels`, () => {
    const own = plan([{ ...alert(), labels: { alertname: "SmartopsActionFailed", [ORIGIN_LABEL]: ORIGIN_VALUE } }, alert({ status: "resolved", endsAt: "2026-03-01T11:00:00Z" }, { [ORIGIN_LABEL]: ORIGIN_VALUE })]);
    expect(own.map((a) => [a.kind, a.kind === "ignore" ? a.reason : undefined])).toEqual([["ignore", "OwnNotification"], ["ignore", "OwnNotification"]]);
  });

  it("another value of the label is not the operator's", () => {
    expect(plan([alert({}, { [ORIGIN_LABEL]: "someone-else" })])[0]!.kind).toBe("signal");
  });
});

describe("every validation error names its field", () => {
  const cases: [string, unknown, string][] = [
    ["body not an object", [], ""],
    ["version", payload([alert()], { version: "3" }), "version"],
    ["no version", (({ version: _v, ...p }) => p)(payload([alert()])), "version"],
    ["status", payload([alert()], { status: "pending" }), "status"],
    ["alerts missing", (({ alerts: _a, ...p }) => p)(payload([])), "alerts"],
    ["alerts not a list", payload([], { alerts: {} }), "alerts"],
    ["alert not an object", payload([alert(), 7]), "alerts[1]"],
    ["alert status", payload([alert({ status: "gone" as never })]), "alerts[0].status"],
    ["alert labels missing", payload([(({ labels: _l, ...a }) => a)(alert())]), "alerts[0].labels"],
    ["label value not a string", payload([{ ...alert(), labels: { ...alert().labels, severity: 3 } }]), "alerts[0].labels.severity"],
    ["annotation value not a string", payload([alert({ annotations: { summary: {} } as never })]), "alerts[0].annotations.summary"],
    ["startsAt", payload([alert({ startsAt: "yesterday" })]), "alerts[0].startsAt"],
    ["endsAt", payload([alert({ endsAt: "later" })]), "alerts[0].endsAt"],
    ["fingerprint missing", payload([(({ fingerprint: _f, ...a }) => a)(alert())]), "alerts[0].fingerprint"],
    ["fingerprint characters", payload([alert({ fingerprint: "../x" })]), "alerts[0].fingerprint"],
    ["no namespace label", payload([alert(), alert(), { ...alert(), labels: { alertname: "X", deployment: "d" } }]), "alerts[2].labels.namespace"],
    ["namespace not a name", payload([alert({}, { namespace: "Shop!" })]), "alerts[0].labels.namespace"],
    ["no service label", payload([{ ...alert(), labels: { alertname: "X", namespace: "shop" } }]), "alerts[0].labels.deployment"],
    ["service not a name", payload([{ ...alert(), labels: { alertname: "X", namespace: "shop", job: "kubernetes/pods" } }]), "alerts[0].labels.job"],
    ["truncatedAlerts", payload([alert()], { truncatedAlerts: -1 }), "truncatedAlerts"],
    ["groupLabels", payload([alert()], { groupLabels: [] }), "groupLabels"],
  ];
  for (const [what, body, field] of cases) {
    it(`${what} → ${field || "(the body)"}`, () => {
      const found = issues(body);
      expect(found.map((i) => i.field)).toContain(field);
      for (const i of found) expect(i.message.length).toBeGreaterThan(0);
    });
  }

  it("every bad alert is listed, not only the first", () => {
    const found = issues(payload([{ ...alert(), labels: { alertname: "X" } }, alert(), alert({}, { namespace: "A" })]));
    expect(found.map((i) => i.field)).toEqual(["alerts[0].labels.namespace", "alerts[0].labels.deployment", "alerts[2].labels.namespace"]);
    expect(issues(payload([alert({ startsAt: "x" }), alert({ fingerprint: "" })])).map((i) => i.field)).toEqual(["alerts[0].startsAt", "alerts[1].fingerprint"]);
  });

  it("unknown fields (a later Alertmanager's additions) are ignored", () => {
    const p = planAlerts(payload([{ ...alert(), silencedBy: [], extra: 1 }], { futureField: { x: 1 } }), DEFAULT_ALERTMANAGER_CONFIG);
    expect(p.ok).toBe(true);
  });

  it("an empty group is answered with nothing to do", () => {
    expect(plan([])).toEqual([]);
  });
});

describe("parseAlertmanagerConfig", () => {
  it("an empty file is the defaults; YAML overrides field by field", () => {
    const empty = parseAlertmanagerConfig("");
    expect(empty.ok && empty.value).toEqual(DEFAULT_ALERTMANAGER_CONFIG);
    const c = parseAlertmanagerConfig("serviceLabels: [app]\nrules:\n  - alertname: Slow.*\n    type: latency\n");
    expect(c.ok && c.value).toMatchObject({ serviceLabels: ["app"], namespaceLabels: ["namespace"], rules: [{ alertname: "Slow.*", type: "latency" }], defaultType: "other" });
  });

  it("each mistake names its field", () => {
    const fields = (text: string) => {
      const v = parseAlertmanagerConfig(text);
      return v.ok ? [] : v.issues.map((i) => i.field);
    };
    expect(fields("rules:\n  - alertname: '('\n    type: latency\n")).toEqual(["rules[0].alertname"]);
    expect(fields("rules:\n  - alertname: X\n")).toEqual(["rules[0].type"]);
    expect(fields("rules:\n  - alertname: X\n    type: disk\n")).toEqual(["rules[0].type"]);
    expect(fields("rules:\n  - alertname: X\n    type: latency\n    score: 2\n")).toEqual(["rules[0].score"]);
    expect(fields("severityScores: {critical: -1}\n")).toEqual(["severityScores.critical"]);
    expect(fields("namespaceLabels: []\n")).toEqual(["namespaceLabels"]);
    expect(fields("serviceLabel: [app]\n")).toEqual(["serviceLabel"]);
    expect(fields("{ not yaml")).toEqual([""]);
  });
});
