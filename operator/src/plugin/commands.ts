// The commands of kubectl-smartops over a PluginClient: read, decide with the
// pure views, write, print. A refusal the user can act on (no approve verb, an
// action not waiting, a pause already there) is a CommandError with the fix in
// its message (exit code 1).
import type { GuardrailPolicy } from "../api/v1alpha1/objects.ts";
import { isAlreadyExists, isNotFound, KubeApiError } from "../k8s/errors.ts";
import { REMEDIATION_ACTIONS } from "../k8s/resources.ts";
import { DEFAULT_POLICY_SPEC, type PolicyObject } from "../remediation/policy.ts";
import { readFileSync } from "node:fs";
import type { Invocation } from "./args.ts";
import { candidatePolicies, whatIf, whatIfTable } from "./what-if.ts";
import type { PluginClient } from "./client.ts";
import { explain, renderExplanation } from "./explain.ts";
import { type Paint, phaseTone, renderTable, serialise } from "./format.ts";
import {
  type Action, approvalTimeout, changeOf, describePause, history, historyTable, parseSelector, PAUSE_ANNOTATIONS, pausePolicy, pausePolicyName,
  pending, pendingTable, RESUMED_AT, SelectorError,
} from "./views.ts";

export class CommandError extends Error {}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  now(): number;
  sleep(ms: number): Promise<void>;
  paint: Paint;
  /** Namespace of the operator: policies there may cover other namespaces. */
  operatorNamespace: string;
}

const TERMINAL = new Set(["Succeeded", "Failed", "Blocked", "Rejected", "Expired"]);

/** An API error as kubectl prints it: Error from server (Reason): message. */
export function apiErrorText(err: KubeApiError): string {
  const text = err.message.replace(/^[a-z_]+: (\d{3}|no response) /, "");
  return err.status === 0 ? `cannot reach the API server: ${text}` : `Error from server (${err.reason || err.status}): ${text.replace(new RegExp(`^${err.reason}: `), "")}`;
}

async function getAction(c: PluginClient, ns: string, name: string): Promise<Action> {
  try {
    return await c.getAction(ns, name);
  } catch (err) {
    if (isNotFound(err)) throw new CommandError(`remediationaction ${JSON.stringify(name)} not found in namespace ${ns}`);
    throw err;
  }
}

function print(io: Io, inv: Invocation, value: unknown, table: () => string): void {
  io.out(inv.output === "table" ? table() : serialise(value, inv.output));
}

export async function run(inv: Invocation, c: PluginClient, io: Io): Promise<number> {
  const ns = inv.namespace ?? c.namespace;
  const scope = inv.allNamespaces ? undefined : ns;
  switch (inv.command) {
    case "history": {
      const records = history(await c.listActions(scope), inv.args[0]!);
      if (records.length === 0 && inv.output === "table") {
        io.err(`No actions on deployment ${inv.args[0]} in ${scope ? `namespace ${scope}` : "any namespace"}.\n`);
        return 0;
      }
      const t = historyTable(records, io.now(), inv.allNamespaces);
      print(io, inv, { kind: "ActionHistory", deployment: inv.args[0], items: records }, () => renderTable(t.headers, t.rows, io.paint));
      return 0;
    }
    case "explain": {
      const e = explain(await getAction(c, ns, inv.args[0]!));
      print(io, inv, e, () => renderExplanation(e, io.now(), io.paint));
      return 0;
    }
    case "pending":
      return pendingCommand(inv, c, io, scope);
    case "approve":
    case "reject":
      return decide(inv, c, io, ns);
    case "pause":
      return pause(inv, c, io, ns);
    case "resume":
      return inv.args.length === 1 ? resumeDeployment(inv, c, io, ns) : resumePause(inv, c, io, ns);
    case "revert":
      return revert(inv, c, io, ns);
    case "what-if":
      return whatIfCommand(inv, c, io, ns, scope);
    default:
      throw new CommandError(`unknown command ${inv.command}`);
  }
}

async function pendingCommand(inv: Invocation, c: PluginClient, io: Io, scope: string | undefined): Promise<number> {
  const actions = (await c.listActions(scope)).filter((a) => a.status?.phase === "PendingApproval");
  // The timeout the operator applies comes from the policies covering each target
  // now; a user who may not read policies or Deployments gets the deadline the
  // operator wrote into the action's message instead.
  const policies = actions.length > 0 ? await readPolicies(c, scope, io.operatorNamespace) : [];
  const labels = new Map<string, Record<string, string> | undefined>();
  for (const a of actions) {
    const key = `${a.metadata.namespace}/${a.spec.target.name}`;
    if (!labels.has(key)) labels.set(key, await c.getDeployment(a.metadata.namespace, a.spec.target.name).then((d) => d.labels, () => undefined));
  }
  const records = pending(actions, (a) => (policies ? approvalTimeout(a, policies, labels.get(`${a.metadata.namespace}/${a.spec.target.name}`), io.operatorNamespace) : undefined), io.now());
  if (records.length === 0 && inv.output === "table") {
    io.err(`No actions waiting for approval in ${scope ? `namespace ${scope}` : "any namespace"}.\n`);
    return 0;
  }
  const t = pendingTable(records, io.now(), inv.allNamespaces);
  print(io, inv, { kind: "PendingApprovals", items: records }, () => renderTable(t.headers, t.rows, io.paint));
  return 0;
}

/** The policies that may cover targets in scope: all of them, else those of the namespace and the operator's; undefined when unreadable. */
async function readPolicies(c: PluginClient, scope: string | undefined, operatorNamespace: string): Promise<PolicyObject[] | undefined> {
  const complete = (ps: GuardrailPolicy[]) => ps.map((p) => ({ metadata: p.metadata, spec: { ...DEFAULT_POLICY_SPEC, ...p.spec } }));
  try {
    return complete(await c.listPolicies(undefined));
  } catch {
    if (scope === undefined) return undefined;
    try {
      const namespaces = [...new Set([scope, operatorNamespace])];
      return complete((await Promise.all(namespaces.map((n) => c.listPolicies(n)))).flat());
    } catch {
      return undefined;
    }
  }
}

async function decide(inv: Invocation, c: PluginClient, io: Io, ns: string): Promise<number> {
  const name = inv.args[0]!;
  const decision = inv.command === "approve" ? "Approved" : "Rejected";
  const a = await getAction(c, ns, name);
  if (a.spec.approval) throw new CommandError(`remediationaction ${name} was already ${a.spec.approval.decision.toLowerCase()} by ${a.spec.approval.approvedBy}; a decision cannot be changed`);
  if (a.status?.phase !== "PendingApproval") {
    throw new CommandError(`remediationaction ${name} is ${a.status?.phase ?? "Pending"}${a.status?.reason ? ` (${a.status.reason})` : ""}, not waiting for approval`);
  }
  const user = await c.whoami();
  if (!(await c.canI("approve", REMEDIATION_ACTIONS, ns, name))) {
    throw new CommandError(`user ${user} may not ${inv.command} remediationactions in namespace ${ns}: it needs the approve verb on remediationactions.smartops.io (bind the ClusterRole smartops-approver in ${ns})`);
  }
  const approval = { decision, approvedBy: user, ...(inv.reason ? { reason: inv.reason } : {}), decidedAt: new Date(io.now()).toISOString().replace(/\.\d+Z$/, "Z") };
  let updated: Action;
  try {
    updated = await c.patchAction(ns, name, { spec: { approval } });
  } catch (err) {
    if (err instanceof KubeApiError && /may not approve|needs the approve verb/.test(err.message)) {
      throw new CommandError(`user ${user} may not ${inv.command} remediationactions in namespace ${ns}: the admission policy refused it (needs the approve verb on remediationactions.smartops.io: bind the ClusterRole smartops-approver)`);
    }
    if (err instanceof KubeApiError && err.status === 403) {
      throw new CommandError(`user ${user} may not patch remediationaction ${name} in namespace ${ns}: ${apiErrorText(err)}`);
    }
    throw err;
  }
  print(io, inv, updated, () => `remediationaction.smartops.io/${name} ${decision.toLowerCase()} by ${user}\n`);
  return 0;
}

async function pause(inv: Invocation, c: PluginClient, io: Io, ns: string): Promise<number> {
  const selector = selectorOf(inv);
  const user = await c.whoami();
  const policy = pausePolicy({ namespace: ns, ...(selector ? { selector, selectorText: inv.selector! } : {}), by: user, at: new Date(io.now()), ...(inv.reason ? { reason: inv.reason } : {}) });
  const what = selector ? `deployments matching ${inv.selector} in namespace ${ns}` : `namespace ${ns}`;
  let created: GuardrailPolicy;
  try {
    created = await c.createPolicy(ns, policy);
  } catch (err) {
    if (isAlreadyExists(err)) {
      const existing = await c.getPolicy(ns, policy.metadata.name);
      print(io, inv, existing, () => `${what} is already paused (guardrailpolicy ${policy.metadata.name}, ${describePause(existing)})\n`);
      return 0;
    }
    throw err;
  }
  print(io, inv, created, () => `paused ${what}: guardrailpolicy.smartops.io/${created.metadata.name} created (${describePause(created)})\n`);
  return 0;
}

function selectorOf(inv: Invocation) {
  if (inv.selector === undefined) return undefined;
  try {
    return parseSelector(inv.selector);
  } catch (err) {
    if (err instanceof SelectorError) throw new CommandError(err.message);
    throw err;
  }
}

async function resumePause(inv: Invocation, c: PluginClient, io: Io, ns: string): Promise<number> {
  const selector = selectorOf(inv);
  const name = pausePolicyName(selector);
  const what = selector ? `deployments matching ${inv.selector} in namespace ${ns}` : `namespace ${ns}`;
  let existing: GuardrailPolicy;
  try {
    existing = await c.getPolicy(ns, name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    const others = (await c.listPolicies(ns).catch(() => [])).filter((p) => p.metadata.annotations?.[PAUSE_ANNOTATIONS.by] !== undefined);
    const hint = others.length ? `; the plugin's pauses here: ${others.map((p) => `${p.metadata.name}${p.metadata.annotations?.[PAUSE_ANNOTATIONS.selector] ? ` (--selector '${p.metadata.annotations[PAUSE_ANNOTATIONS.selector]}')` : " (the namespace)"}`).join(", ")}` : "";
    throw new CommandError(`${what} is not paused by kubectl smartops (no guardrailpolicy ${name})${hint}. To resume a Deployment after RepeatedFailures, name it: kubectl smartops resume <deployment>`);
  }
  await c.deletePolicy(ns, name);
  print(io, inv, existing, () => `resumed ${what}: guardrailpolicy.smartops.io/${name} deleted (was ${describePause(existing)})\n`);
  return 0;
}

async function resumeDeployment(inv: Invocation, c: PluginClient, io: Io, ns: string): Promise<number> {
  const name = inv.args[0]!;
  try {
    await c.getDeployment(ns, name);
  } catch (err) {
    if (isNotFound(err)) throw new CommandError(`deployment ${JSON.stringify(name)} not found in namespace ${ns} (to lift a pause, run resume without a name)`);
    throw err;
  }
  const at = new Date(io.now()).toISOString().replace(/\.\d+Z$/, "Z");
  await c.annotateDeployment(ns, name, { [RESUMED_AT]: at });
  const paused = (await c.listPolicies(ns).catch(() => [] as GuardrailPolicy[])).filter((p) => p.spec.paused);
  const note = paused.length ? ` Note: paused policies remain in ${ns} (${paused.map((p) => p.metadata.name).join(", ")}); they may still cover it.` : "";
  print(io, inv, { deployment: name, namespace: ns, resumedAt: at }, () => `deployment.apps/${name} resumed: failures before ${at} no longer count toward RepeatedFailures.${note}\n`);
  return 0;
}

async function revert(inv: Invocation, c: PluginClient, io: Io, ns: string): Promise<number> {
  const name = inv.args[0]!;
  const original = await getAction(c, ns, name);
  if (original.spec.type === "revert") throw new CommandError(`remediationaction ${name} is itself a revert; to redo the change, run ${original.spec.revertOf ?? "the original action"} again`);
  if (original.status?.revertedBy) throw new CommandError(`remediationaction ${name} was already reverted by ${original.status.revertedBy}`);
  if (original.status?.preState && !original.status.preState.reversible) {
    throw new CommandError(`remediationaction ${name} cannot be reverted: ${original.status.preState.reason ?? "not reversible"}`);
  }
  const prefix = `${name.slice(0, 40).replace(/-+$/, "")}-revert-`;
  const created = await c.createAction(ns, {
    apiVersion: "smartops.io/v1alpha1",
    kind: "RemediationAction",
    metadata: { generateName: prefix, namespace: ns },
    spec: { type: "revert", target: { name: original.spec.target.name }, revertOf: name, source: "manual", ...(inv.reason ? { reason: inv.reason } : {}) },
  });
  const revertName = created.metadata.name;
  if (!inv.wait) {
    print(io, inv, created, () => `remediationaction.smartops.io/${revertName} created (revert of ${name})\n`);
    return 0;
  }
  if (inv.output === "table") io.err(`remediationaction.smartops.io/${revertName} created (revert of ${name}); waiting for its outcome…\n`);
  const deadline = io.now() + inv.timeoutMs;
  let current = created;
  while (!TERMINAL.has(current.status?.phase ?? "Pending")) {
    if (io.now() >= deadline) throw new CommandError(`revert ${revertName} is still ${current.status?.phase ?? "Pending"} after ${Math.round(inv.timeoutMs / 1000)}s; follow it with kubectl smartops explain ${revertName} -n ${ns}`);
    await io.sleep(500);
    current = await c.getAction(ns, revertName);
  }
  const phase = current.status!.phase!;
  print(io, inv, current, () => `remediationaction.smartops.io/${revertName} ${io.paint(phaseTone(phase), phase)}${current.status?.reason ? ` (${current.status.reason})` : ""}: ${current.status?.message ?? changeOf(current)}\n`);
  return phase === "Succeeded" ? 0 : 1;
}

async function whatIfCommand(inv: Invocation, c: PluginClient, io: Io, ns: string, scope: string | undefined): Promise<number> {
  let text: string;
  try {
    text = readFileSync(inv.filename!, "utf8");
  } catch (err) {
    throw new CommandError(`cannot read ${inv.filename}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const candidate = candidatePolicies(text, inv.filename!, ns);
  // Policies in the operator's namespace may cover others: read them too.
  const [signals, actions, policies, deployments] = await Promise.all([
    c.listSignals(scope), c.listActions(scope),
    scope === undefined ? c.listPolicies(undefined) : Promise.all([c.listPolicies(scope), scope === io.operatorNamespace ? [] : c.listPolicies(io.operatorNamespace).catch(() => [])]).then((x) => x.flat()),
    c.listDeployments(scope),
  ]);
  const result = whatIf({ signals, actions, policies, deployments }, candidate, { since: io.now() - (inv.sinceMs ?? 86_400_000), mode: inv.mode ?? "replace", operatorNamespace: io.operatorNamespace });
  const t = whatIfTable(result, inv.allNamespaces);
  print(io, inv, { kind: "WhatIf", mode: inv.mode ?? "replace", candidate: candidate.map((p) => `${p.metadata.namespace}/${p.metadata.name}`), ...result }, () => `${renderTable(t.headers, t.rows, io.paint)}\n${t.summary}\n`);
  return 0;
}
