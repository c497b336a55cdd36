// The chaos scenarios C1–C5 (memory leak, CPU spike, latency jitter, error burst,
// combined chaos) as the requests an agent posts to the shim, each
// windowId suffixed with the run id so a re-run is a new window, not a duplicate.
// `expected` is the outcome on a fresh demo Deployment under the seed policy
// (samples/valid/guardrailpolicy-default.yaml: 300 s cooldowns, unverified → dry run).

export type Route = "/v1/signals/anomaly" | "/v1/signals/rca";

export interface Post {
  route: Route;
  body: Record<string, unknown>;
  /** What this post stands for, e.g. "the agent retries the same window". */
  note?: string;
  /** Sent after the scenario's other posts have been answered (they go at once). */
  retry?: boolean;
}

export interface Outcome {
  phase: string;
  reason: string;
}

export interface Scenario {
  id: "C1" | "C2" | "C3" | "C4" | "C5";
  chaos: string;
  seedAction: string;
  source: string;
  posts: Post[];
  /** Per distinct windowId, in order of first post. */
  expected: Outcome[];
}

const succeeded: Outcome = { phase: "Succeeded", reason: "RolloutComplete" };
const cooldown: Outcome = { phase: "Blocked", reason: "CooldownActive" };

/** A run id that sorts by time and is unique per second: MMDD-HHMMSS (UTC). */
export function runId(now = new Date()): string {
  const s = now.toISOString().replace(/\D/g, "");
  return `${s.slice(4, 8)}-${s.slice(8, 14)}`;
}

export function scenarios(run: string, service = "erp-simulator"): Scenario[] {
  const w = (id: string, seedWindow: string) => `${id}-${seedWindow}-${run}`;
  const rca = (windowId: string, cause: string, probability: number, confidence: number, modelVersion?: string): Post => ({
    route: "/v1/signals/rca",
    body: { windowId, service, rankedCauses: [{ svc: service, cause, probability }], confidence, ...(modelVersion ? { modelVersion } : {}) },
  });
  const anomaly = (windowId: string, type: string, score: number, extra: Record<string, unknown> = {}): Post => ({
    route: "/v1/signals/anomaly",
    body: { windowId, service, isAnomaly: true, score, type, ...extra },
  });
  const c5Latency = anomaly(w("c5", "lat-001"), "latency", 0.9, { modelVersion: "v1", metadata: {} });
  return [
    {
      id: "C1", chaos: "memory leak", seedAction: "restart", source: "seed §11.4.5 RCA payload, with the modelVersion agents send (§3.4.1)",
      posts: [rca(w("c1", "rca-001"), "memory_leak", 0.95, 0.88, "v1")],
      expected: [succeeded],
    },
    {
      id: "C2", chaos: "CPU spike", seedAction: "scale up", source: "seed §10.3 E RCA payload, with modelVersion",
      posts: [rca(w("c2", "rca-001"), "cpu_saturation", 0.91, 0.85, "v1")],
      expected: [succeeded],
    },
    {
      id: "C3", chaos: "latency jitter", seedAction: "restart", source: "seed §11.4.4 anomaly payload, type jitter, with modelVersion",
      posts: [anomaly(w("c3", "lat-001"), "jitter", 0.94, { modelVersion: "v1" })],
      expected: [cooldown],
    },
    {
      id: "C4", chaos: "error burst", seedAction: "restart", source: "seed §3.4.2 RCA payload as the seed sends it: no modelVersion, so unverified (§9.4.4)",
      posts: [rca(w("c4", "rca-003"), "high_error_rate", 0.94, 0.84)],
      expected: [cooldown],
    },
    {
      id: "C5", chaos: "combined chaos", seedAction: "several actions", source: "seed §3.4.1 and §4.6 anomalies and §11.4.5 RCA at once, one retried",
      posts: [
        c5Latency,
        anomaly(w("c5", "res-001"), "resource", 0.92, { modelVersion: "v1" }),
        rca(w("c5", "rca-001"), "memory_leak", 0.95, 0.88),
        { ...c5Latency, note: "the agent retries the same window", retry: true },
      ],
      expected: [cooldown, cooldown, cooldown],
    },
  ];
}

/** Distinct windows of a scenario, in order of first post. */
export function windows(s: Scenario): Post[] {
  const seen = new Set<string>();
  return s.posts.filter((p) => {
    const id = String(p.body.windowId);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** One line on why a guardrail blocked, and what to do about it. */
export function blockHint(reason: string, type: string): string | undefined {
  const key = type === "delete-pod" ? "deletePod" : type;
  switch (reason) {
    case "CooldownActive":
      return `one ${type} per Deployment per spec.cooldownSeconds.${key} (300 s in the seed policy); it passes again once that has elapsed`;
    case "HourlyActionLimitReached":
      return `spec.rateLimits.maxActionsPerHour (6 in the seed policy) ${type} actions already ran on this Deployment in the last hour`;
    case "ScaleIncreaseLimitReached":
      return "spec.rateLimits.maxScaleIncreasePer15Minutes (3 in the seed policy) replicas were already added in the last 15 minutes";
    case "MaxReplicasExceeded":
      return "spec.replicas.max (8 in the seed policy) would be exceeded";
    case "PolicyPaused":
      return "a policy covering this Deployment has spec.paused: true (docs/runbooks/pausing-automation.md)";
    default:
      return undefined;
  }
}
