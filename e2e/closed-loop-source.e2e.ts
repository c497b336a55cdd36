// `source: closed-loop` and `signalRef` say "the operator derived this action from
// a signal": loop metrics and the audit trail rest on it. The admission policy
// allows either only to a user holding the custom verb `closed-loop` on
// remediationactions — the operator (its role), cluster-admins (`*`) — so an agent
// allowed to create actions cannot pass one off as the loop's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applySmartops, clients, ensureNamespace, kubectl, waitFor } from "./support/kube.ts";
import { anomaly, createDeployment, getAction, permissive, signalToAction, waitForPhase } from "./support/loop.ts";
import { OPERATOR_NAMESPACE, type OperatorProcess, operatorUnderOwnRbac } from "./support/operator.ts";
import { installAgentRbac } from "./support/agents.ts";

const c = clients();
const NS = "e2e-closed-loop-source";
const AGENT = `system:serviceaccount:${NS}:agent`;
let op: OperatorProcess;

beforeAll(async () => {
  await ensureNamespace(c, NS);
  // The demo agent's permissions: create (and read) signals and actions in its namespace.
  installAgentRbac(NS, [{ apiGroups: ["smartops.io"], resources: ["anomalysignals", "rcasignals", "remediationactions"], verbs: ["create", "get", "list"] }]);
  await applySmartops(c, permissive(NS));
  await createDeployment(c, NS, "erp", 1);
  // Installs the operator's RBAC and the admission policy, then runs the operator under them.
  op = await operatorUnderOwnRbac(c, "closed-loop-source");
}, 300_000);

afterAll(async () => {
  await op?.stop();
});

const actionYaml = (name: string, spec: Record<string, unknown>) => JSON.stringify({
  apiVersion: "smartops.io/v1alpha1",
  kind: "RemediationAction",
  metadata: { name, namespace: NS },
  spec: { type: "restart", target: { name: "erp" }, dryRun: true, ...spec },
});
const createAs = (user: string | undefined, name: string, spec: Record<string, unknown>, dryRun = false) =>
  kubectl([...(user ? ["--as", user] : []), "create", ...(dryRun ? ["--dry-run=server"] : []), "-f", "-"], actionYaml(name, spec));
const FORBIDDEN = /may not create closed-loop remediationactions.*needs the closed-loop verb/;

describe("closed-loop source and signalRef are the operator's", () => {
  it("an agent that may create actions cannot claim the closed loop, by source or by signalRef", async () => {
    // The policy was just (re)applied: wait until the API server enforces it.
    await waitFor("the admission policy enforces closed-loop", () => {
      try {
        createAs(AGENT, "probe", { source: "closed-loop" }, true);
        return false;
      } catch (err) {
        return FORBIDDEN.test(String(err));
      }
    }, 30_000, 500);
    expect(() => createAs(AGENT, "forged-source", { source: "closed-loop" })).toThrow(FORBIDDEN);
    expect(() => createAs(AGENT, "forged-ref", { source: "ai-agent", signalRef: { kind: "AnomalySignal", name: "some-signal" } })).toThrow(FORBIDDEN);
    expect(() => createAs(AGENT, "forged-both", { source: "closed-loop", signalRef: { kind: "RcaSignal", name: "some-signal" } })).toThrow(FORBIDDEN);
    // What the agent may do still works.
    createAs(AGENT, "agent-own", { source: "ai-agent" });
    expect((await getAction(c, NS, "agent-own")).spec.source).toBe("ai-agent");
    for (const name of ["forged-source", "forged-ref", "forged-both"]) {
      expect(() => kubectl(["get", "remediationactions.smartops.io", name, "-n", NS])).toThrow(/NotFound|not found/);
    }
  });

  it("the verb is the operator's and a cluster-admin's, nobody else's", () => {
    const canI = (as: string[]) => {
      try {
        return kubectl(["auth", "can-i", "closed-loop", "remediationactions.smartops.io", "-n", NS, ...as]).trim();
      } catch (err) {
        return String((err as { stdout?: string }).stdout ?? "").trim();
      }
    };
    expect(canI(["--as", `system:serviceaccount:${OPERATOR_NAMESPACE}:smartops-operator`])).toBe("yes");
    expect(canI(["--as", AGENT])).toBe("no");
    expect(canI([])).toBe("yes");
  });

  it("a cluster-admin (make run with your own credentials) may create a closed-loop action", () => {
    createAs(undefined, "admin-closed-loop", { source: "closed-loop", signalRef: { kind: "AnomalySignal", name: "by-hand" } });
  });

  it("the operator's closed loop still creates closed-loop actions under its own RBAC", async () => {
    const name = await signalToAction(c, anomaly(NS, "loop-latency", { service: "erp", type: "latency", score: 0.94 }));
    const a = await waitForPhase(c, NS, name);
    expect(a.spec).toMatchObject({ source: "closed-loop", signalRef: { kind: "AnomalySignal", name: "loop-latency" } });
    expect(a.status?.phase, a.status?.message).toBe("Succeeded");
    expect(op.logs()).not.toMatch(/closed-loop verb/);
  });
});
