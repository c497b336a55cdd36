// kubectl smartops, as a user runs it: `make install-plugin` into a fresh prefix,
// the machine's Node 20 first on PATH, kubectl's own plugin discovery finding
// kubectl-smartops, against the real control plane and a running operator —
// each command, each output format, and the approve verb refused.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { parse as parseYaml } from "yaml";
import { applySmartops, clients, ensureNamespace, kubectl, waitFor } from "./support/kube.ts";
import { action, createDeployment, getAction, permissive, waitForPhase } from "./support/loop.ts";
import { type OperatorProcess, operatorUnderOwnRbac, serviceAccountKubeconfig } from "./support/operator.ts";

const c = clients();
const NS = "e2e-plugin";
const ROOT = resolve(import.meta.dirname, "..");
let op: OperatorProcess;
let prefix: string;
/** The admin's kubeconfig, its context's namespace set to NS (so -n is optional). */
let kubeconfig: string;
let admin: string;

interface Result {
  code: number;
  out: string;
  err: string;
}

/** `kubectl smartops …` through kubectl's plugin discovery, with Node 20 first on PATH. */
function smartops(args: string[], env: Record<string, string> = {}): Result {
  const r = spawnSync(inject("kubectl"), ["smartops", ...args], {
    encoding: "utf8",
    env: { HOME: process.env.HOME ?? "/root", PATH: `${prefix}/bin:/usr/bin:/bin`, KUBECONFIG: kubeconfig, ...env },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function ok(args: string[], env?: Record<string, string>): string {
  const r = smartops(args, env);
  expect(r.code, `kubectl smartops ${args.join(" ")}\n${r.err}`).toBe(0);
  return r.out;
}

beforeAll(async () => {
  prefix = mkdtempSync(join(tmpdir(), "smartops-plugin-"));
  const install = execFileSync("make", ["-s", "-C", ROOT, "install-plugin", `PREFIX=${prefix}`], { encoding: "utf8" });
  expect(install).toContain(`installed ${prefix}/bin/kubectl-smartops`);

  kubeconfig = join(prefix, "kubeconfig");
  writeFileSync(kubeconfig, kubectl(["config", "view", "--raw"]), { mode: 0o600 });
  execFileSync(inject("kubectl"), ["--kubeconfig", kubeconfig, "config", "set-context", "--current", `--namespace=${NS}`]);
  admin = kubectl(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);

  await ensureNamespace(c, NS);
  // A ServiceAccount that may read and patch actions, but not approve them.
  kubectl(["apply", "--server-side", "-f", "-"], `apiVersion: v1
kind: ServiceAccount
metadata: {name: viewer, namespace: ${NS}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: edit-actions, namespace: ${NS}}
rules: [{apiGroups: [smartops.io], resources: [remediationactions], verbs: [get, list, patch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewer-edits, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: edit-actions}
subjects: [{kind: ServiceAccount, name: viewer, namespace: ${NS}}]
`);
  await applySmartops(c, permissive(NS, { approval: { scale: "Required", timeoutSeconds: 1800 } }));
  await createDeployment(c, NS, "web", 2);
  op = await operatorUnderOwnRbac(c, "plugin");
});

afterAll(async () => {
  await op?.stop();
});

const replicas = async () => (await c.apps.readNamespacedDeployment({ name: "web", namespace: NS })).spec?.replicas;

describe("kubectl smartops", () => {
  it("is found by kubectl's plugin discovery and runs from a shell whose node is 20; --help and usage errors follow kubectl's exit codes", () => {
    expect(execFileSync("node", ["--version"], { encoding: "utf8", env: { PATH: `${prefix}/bin:/usr/bin:/bin` } })).toMatch(/^v20\./);
    const list = spawnSync(inject("kubectl"), ["plugin", "list"], { encoding: "utf8", env: { PATH: `${prefix}/bin:/usr/bin:/bin` } });
    expect(list.stdout).toContain(`${prefix}/bin/kubectl-smartops`);
    expect(ok(["--help"])).toContain("kubectl smartops <command> [flags]");
    for (const cmd of ["history", "explain", "approve", "reject", "pending", "pause", "resume", "revert"]) expect(ok([cmd, "--help"])).toContain(`kubectl smartops ${cmd}`);
    const usage = smartops(["history"]);
    expect(usage).toMatchObject({ code: 2, out: "" });
    expect(usage.err).toMatch(/missing argument/);
    expect(smartops(["history", "web", "-o", "wide"]).code).toBe(2);
    expect(smartops(["frobnicate"]).code).toBe(2);
    const ctx = smartops(["pending", "--context", "nope"]);
    expect(ctx.code).toBe(1);
    expect(ctx.err).toContain('context "nope" does not exist');
    // Not a terminal: no colour escapes, whatever NO_COLOR says.
    expect(ok(["--help"])).not.toContain("\u001b[");
  });

  it("pending lists the waiting action with its time left; approve as a user without the verb is refused; approve as admin runs it", async () => {
    await applySmartops(c, action(NS, "scale-web-3", { type: "scale", target: { name: "web" }, scale: { replicas: 3 }, reason: "plugin e2e" }));
    await waitForPhase(c, NS, "scale-web-3", ["PendingApproval"]);

    const table = ok(["pending"]);
    expect(table).toMatch(/^NAME\s+TARGET\s+CHANGE\s+SIGNAL\s+AGE\s+TIME LEFT\n/);
    expect(table).toMatch(/scale-web-3\s+web\s+scale to 3\s+manual\s+\S+\s+(29|30)m\n/);
    const json = JSON.parse(ok(["pending", "-o", "json"])) as { items: { name: string; secondsLeft: number; expiresAt: string }[] };
    expect(json.items.map((i) => i.name)).toEqual(["scale-web-3"]);
    expect(json.items[0]!.secondsLeft).toBeGreaterThan(1700);
    expect(json.items[0]!.secondsLeft).toBeLessThanOrEqual(1800);
    const yaml = parseYaml(ok(["pending", "-A", "-o", "yaml"])) as { items: { namespace: string; name: string }[] };
    expect(yaml.items).toContainEqual(expect.objectContaining({ namespace: NS, name: "scale-web-3" }));
    expect(ok(["pending", "-A"])).toMatch(/^NAMESPACE\s+NAME/);

    const viewer = await serviceAccountKubeconfig(c, NS, "viewer");
    const refused = smartops(["approve", "scale-web-3", "--kubeconfig", viewer, "-n", NS]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`user system:serviceaccount:${NS}:viewer may not approve remediationactions in namespace ${NS}: it needs the approve verb`);
    expect((await getAction(c, NS, "scale-web-3")).spec.approval).toBeUndefined();

    expect(ok(["approve", "scale-web-3", "--reason", "capacity for the e2e"])).toBe(`remediationaction.smartops.io/scale-web-3 approved by ${admin}\n`);
    const done = await waitForPhase(c, NS, "scale-web-3");
    expect(done.status?.phase, done.status?.message).toBe("Succeeded");
    expect(done.spec.approval).toMatchObject({ decision: "Approved", approvedBy: admin, reason: "capacity for the e2e" });
    expect(await replicas()).toBe(3);
    const again = smartops(["approve", "scale-web-3"]);
    expect(again.code).toBe(1);
    expect(again.err).toContain("already approved");
  });

  it("reject needs a reason and ends the action Rejected", async () => {
    await applySmartops(c, action(NS, "scale-web-5", { type: "scale", target: { name: "web" }, scale: { replicas: 5 } }));
    await waitForPhase(c, NS, "scale-web-5", ["PendingApproval"]);
    expect(smartops(["reject", "scale-web-5"]).code).toBe(2);
    expect(ok(["reject", "scale-web-5", "--reason", "too many"])).toBe(`remediationaction.smartops.io/scale-web-5 rejected by ${admin}\n`);
    expect((await waitForPhase(c, NS, "scale-web-5")).status?.phase).toBe("Rejected");
    expect(await replicas()).toBe(3);
  });

  it("explain says why and what would undo it; revert undoes it and waits for the outcome; history shows it all, in each format", async () => {
    const text = ok(["explain", "scale-web-3"]);
    expect(text).toContain(`Approval:`);
    expect(text).toContain(`Approved by ${admin}`);
    expect(text).toMatch(/Policies:\s+e2e-plugin\/permissive/);
    expect(text).toMatch(/Guardrail values:\s+cooldown 0s, replicas 1\.\.8/);
    expect(text).toMatch(/Pre-state:\s+reversible; \/spec\/replicas: 2 → 3/);
    expect(text).toMatch(/Verification:\s+SUCCESS/);
    expect(text).toContain(`Undo with:         kubectl smartops revert scale-web-3 -n ${NS}`);
    const e = JSON.parse(ok(["explain", "scale-web-3", "-o", "json"])) as { undo: { possible: boolean }; outcome: { phase: string } };
    expect(e).toMatchObject({ undo: { possible: true }, outcome: { phase: "Succeeded" } });
    expect(parseYaml(ok(["explain", "scale-web-3", "-o", "yaml"]))).toEqual(e);
    expect(smartops(["explain", "nope"])).toMatchObject({ code: 1, err: expect.stringContaining(`remediationaction "nope" not found in namespace ${NS}`) });

    const reverted = smartops(["revert", "scale-web-3", "--reason", "back to 2"]);
    expect(reverted.code, reverted.err).toBe(0);
    expect(reverted.out).toMatch(/^remediationaction\.smartops\.io\/scale-web-3-revert-\w+ Succeeded/);
    expect(await replicas()).toBe(2);
    await waitFor("revertedBy on the original", async () => (await getAction(c, NS, "scale-web-3")).status?.revertedBy);
    expect(smartops(["revert", "scale-web-3"])).toMatchObject({ code: 1, err: expect.stringContaining("already reverted by scale-web-3-revert-") });

    const history = ok(["history", "web"]);
    const lines = history.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+SIGNAL\s+CHANGE\s+DECISION\s+OUTCOME\s+EFFECTIVE\s+AGE$/);
    expect(lines.slice(1).map((l) => l.split(/\s{3,}/)[0])).toEqual(["scale-web-3", "scale-web-5", expect.stringMatching(/^scale-web-3-revert-/)]);
    expect(history).toMatch(new RegExp(`scale-web-3\\s+manual\\s+scale 2→3\\s+Approved by ${admin.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s+Succeeded \\(RolloutComplete\\), reverted by scale-web-3-revert-`));
    expect(history).toMatch(/scale-web-5\s+manual\s+scale to 5\s+Rejected by \S+\s+not executed/);
    const json = JSON.parse(ok(["history", "web", "-o", "json"])) as { items: { name: string; decision: string; type: string }[] };
    expect(json.items.map((i) => i.type)).toEqual(["scale", "scale", "revert"]);
    expect(parseYaml(ok(["history", "web", "-o", "yaml"]))).toEqual(json);
    expect(ok(["history", "web", "-A"])).toMatch(new RegExp(`^NAMESPACE\\s+NAME[^\\n]*\\n${NS}\\s+scale-web-3`));
  });

  it("pause creates the plugin's paused policy (who, when, why) and blocks actions; resume deletes it; resume <deployment> sets resumed-at", async () => {
    const paused = ok(["pause", "--reason", "e2e incident"]);
    expect(paused).toContain(`paused namespace ${NS}: guardrailpolicy.smartops.io/smartops-pause created (paused by ${admin} at `);
    const policy = JSON.parse(kubectl(["-n", NS, "get", "guardrailpolicy", "smartops-pause", "-o", "json"])) as { metadata: { annotations: Record<string, string> }; spec: { paused: boolean } };
    expect(policy.spec.paused).toBe(true);
    expect(policy.metadata.annotations).toMatchObject({ "smartops.io/paused-by": admin, "smartops.io/pause-reason": "e2e incident" });
    expect(ok(["pause", "--reason", "twice"])).toContain("already paused");

    await applySmartops(c, action(NS, "restart-while-paused", { type: "restart", target: { name: "web" } }));
    expect((await waitForPhase(c, NS, "restart-while-paused")).status).toMatchObject({ phase: "Blocked", reason: "PolicyPaused" });

    const resumedDeployment = ok(["resume", "web"]);
    expect(resumedDeployment).toContain("deployment.apps/web resumed");
    expect(resumedDeployment).toContain("paused policies remain");
    const annotations = (await c.apps.readNamespacedDeployment({ name: "web", namespace: NS })).metadata?.annotations ?? {};
    expect(Date.now() - Date.parse(annotations["smartops.io/resumed-at"]!)).toBeLessThan(60_000);

    expect(ok(["resume", "-o", "json"])).toContain('"smartops-pause"');
    expect(() => kubectl(["-n", NS, "get", "guardrailpolicy", "smartops-pause"])).toThrow(/NotFound|not found/);
    expect(smartops(["resume"])).toMatchObject({ code: 1, err: expect.stringContaining("not paused by kubectl smartops") });
    await applySmartops(c, action(NS, "restart-after-resume", { type: "restart", target: { name: "web" } }));
    expect((await waitForPhase(c, NS, "restart-after-resume")).status?.phase).toBe("Succeeded");

    const byLabel = ok(["pause", "-l", "app.kubernetes.io/name=web", "--reason", "label pause", "-o", "yaml"]);
    expect(parseYaml(byLabel)).toMatchObject({ metadata: { name: expect.stringMatching(/^smartops-pause-[0-9a-f]{10}$/) }, spec: { paused: true, targets: { selector: { matchLabels: { "app.kubernetes.io/name": "web" } } } } });
    expect(ok(["resume", "-l", "app.kubernetes.io/name=web"])).toContain("deleted");
  });
});
