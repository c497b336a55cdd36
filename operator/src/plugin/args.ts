// The command line of kubectl-smartops, with kubectl's conventions: -n/--namespace,
// -A/--all-namespaces, --context, --kubeconfig, -o table|json|yaml, --help on every
// command. A usage mistake is a UsageError (exit code 2). Pure.
import { parseArgs } from "node:util";
import { OUTPUT_FORMATS, type OutputFormat } from "./format.ts";

export class UsageError extends Error {
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

type Flag = "namespace" | "all-namespaces" | "output" | "reason" | "selector" | "no-wait" | "timeout" | "filename" | "since" | "mode";

interface CommandSpec {
  usage: string;
  summary: string;
  description: string;
  args: { min: number; max: number };
  flags: Flag[];
  examples: string[];
}

export const COMMANDS: Record<string, CommandSpec> = {
  history: {
    usage: "history <deployment>",
    summary: "The audit trail of one Deployment: each action, its signal, decision, outcome, effectiveness and age",
    description: "Lists the RemediationActions on one Deployment, oldest first. -o json|yaml prints the same records with timestamps instead of ages.",
    args: { min: 1, max: 1 },
    flags: ["namespace", "all-namespaces", "output"],
    examples: ["kubectl smartops history erp-simulator -n smartops-dev", "kubectl smartops history erp-simulator -n smartops-dev -o yaml"],
  },
  explain: {
    usage: "explain <action>",
    summary: "Why an action did what it did, and what would undo it",
    description: "Shows the signal and rule, the policies and guardrail values that judged the action, the approval, intent, pre-state, verification, effectiveness, and how to undo it.",
    args: { min: 1, max: 1 },
    flags: ["namespace", "output"],
    examples: ["kubectl smartops explain scale-erp-simulator-x7k2p -n smartops-dev"],
  },
  approve: {
    usage: "approve <action> [--reason text]",
    summary: "Approve an action waiting in PendingApproval, as yourself",
    description: "Sets spec.approval (decision Approved, approvedBy: you, from a SelfSubjectReview). Needs the approve verb on remediationactions (ClusterRole smartops-approver).",
    args: { min: 1, max: 1 },
    flags: ["namespace", "reason", "output"],
    examples: ["kubectl smartops approve scale-erp-simulator-x7k2p -n smartops-dev --reason 'load test tonight'"],
  },
  reject: {
    usage: "reject <action> --reason text",
    summary: "Reject an action waiting in PendingApproval, as yourself (a reason is required)",
    description: "Sets spec.approval (decision Rejected, approvedBy: you). The action ends Rejected and never runs. Needs the approve verb on remediationactions.",
    args: { min: 1, max: 1 },
    flags: ["namespace", "reason", "output"],
    examples: ["kubectl smartops reject scale-erp-simulator-x7k2p -n smartops-dev --reason 'not during the freeze'"],
  },
  pending: {
    usage: "pending",
    summary: "Actions waiting for approval, oldest first, with the time left before they expire",
    description: "Lists the RemediationActions in PendingApproval. The time left is the approval timeout of the policies covering the target now (what the operator applies), counted from the action's creation.",
    args: { min: 0, max: 0 },
    flags: ["namespace", "all-namespaces", "output"],
    examples: ["kubectl smartops pending -A"],
  },
  pause: {
    usage: "pause [--selector labels] --reason text",
    summary: "Stop automation in a namespace, or on the Deployments a selector picks",
    description: "Creates a paused GuardrailPolicy of the plugin's own (smartops-pause, or smartops-pause-<hash> for a selector) annotated with who paused, when and why. Overlapping policies combine to the most restrictive value, so every action on a covered Deployment ends Blocked with PolicyPaused; the policies in Git stay untouched.",
    args: { min: 0, max: 0 },
    flags: ["namespace", "selector", "reason", "output"],
    examples: ["kubectl smartops pause -n smartops-dev --reason 'incident 4711'", "kubectl smartops pause -n shop -l tier=payments --reason 'migration'"],
  },
  resume: {
    usage: "resume [<deployment>] [--selector labels] [--reason text]",
    summary: "Undo a pause (no argument), or resume one Deployment after RepeatedFailures (a Deployment name)",
    description:
      "Without an argument: deletes the plugin's pause policy of the namespace (or of --selector). With a Deployment name: sets its smartops.io/resumed-at annotation to now, so failures before now no longer count toward RepeatedFailures; it does not lift a pause.",
    args: { min: 0, max: 1 },
    flags: ["namespace", "selector", "reason", "output"],
    examples: ["kubectl smartops resume -n smartops-dev", "kubectl smartops resume erp-simulator -n smartops-dev"],
  },
  revert: {
    usage: "revert <action> [--reason text] [--no-wait] [--timeout 5m]",
    summary: "Undo an earlier scale or patch: creates a type revert action and waits for its outcome",
    description: "Creates a RemediationAction of type revert with spec.revertOf naming the action. It restores exactly the fields the action changed, while they still hold the values it set. Exits 0 when the revert succeeds, 1 otherwise.",
    args: { min: 1, max: 1 },
    flags: ["namespace", "reason", "no-wait", "timeout", "output"],
    examples: ["kubectl smartops revert scale-erp-simulator-x7k2p -n smartops-dev --reason 'did not help'"],
  },
  "what-if": {
    usage: "what-if -f policy.yaml [--since 24h] [--mode replace|beside]",
    summary: "What a candidate GuardrailPolicy would have done with the signals and actions still in the cluster",
    description:
      "Replays the signals and actions in time order through the operator's own decisions (signal rules, policy combination, guardrails) with the candidate policies in place of the current ones of the same name (--mode replace, the default) or beside all of them (--mode beside: a candidate can then only tighten). Inputs that depended on the cluster then (replicas, the fields a patch changed, an escalation step) come from what each action recorded; each row says where one was missing. Prints each event's recorded decision beside the candidate's, then a summary. Changes nothing.",
    args: { min: 0, max: 0 },
    flags: ["namespace", "all-namespaces", "output", "filename", "since", "mode"],
    examples: ["kubectl smartops what-if -f stricter-policy.yaml -n smartops-dev", "kubectl smartops what-if -f policy.yaml -A --since 7d --mode beside -o json"],
  },
};

export interface Invocation {
  command: string;
  args: string[];
  namespace?: string;
  allNamespaces: boolean;
  context?: string;
  kubeconfig?: string;
  output: OutputFormat;
  reason?: string;
  selector?: string;
  wait: boolean;
  timeoutMs: number;
  filename?: string;
  /** what-if: how far back (ms); default 24 h. */
  sinceMs?: number;
  mode?: "replace" | "beside";
}

export type Parsed = { kind: "help"; command?: string } | { kind: "run"; invocation: Invocation };

const OPTIONS = {
  namespace: { type: "string", short: "n" },
  "all-namespaces": { type: "boolean", short: "A" },
  context: { type: "string" },
  kubeconfig: { type: "string" },
  output: { type: "string", short: "o" },
  reason: { type: "string" },
  selector: { type: "string", short: "l" },
  "no-wait": { type: "boolean" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
  filename: { type: "string", short: "f" },
  since: { type: "string" },
  mode: { type: "string" },
} as const;

/** 90s, 5m, 1h, 7d, or plain seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new UsageError(`invalid duration ${JSON.stringify(text)}: use e.g. 90s, 5m, 1h, 7d`);
  const n = Number(m[1]);
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? "s"] ?? 1000);
}

export function parse(argv: readonly string[]): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    const command = argv.find((a) => !a.startsWith("-") && a in COMMANDS);
    throw new UsageError((err as Error).message.replace(/^.*?Unknown option/, "unknown option").split(". To specify")[0]!, command);
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (command === "help") return { kind: "help", command: args[0] };
  if (command === undefined) {
    if (values.help) return { kind: "help" };
    throw new UsageError("no command given");
  }
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  if (values.help) return { kind: "help", command };
  if (args.length < spec.args.min) throw new UsageError(`${command}: missing argument: ${spec.usage}`, command);
  if (args.length > spec.args.max) throw new UsageError(`${command}: unexpected argument ${JSON.stringify(args[spec.args.max])}: ${spec.usage}`, command);
  const given: Flag[] = (["namespace", "all-namespaces", "output", "reason", "selector", "no-wait", "timeout", "filename", "since", "mode"] as const).filter((f) => values[f] !== undefined);
  for (const f of given) if (!spec.flags.includes(f)) throw new UsageError(`${command}: unknown flag --${f}`, command);
  const output = values.output ?? "table";
  if (!(OUTPUT_FORMATS as readonly string[]).includes(output)) throw new UsageError(`${command}: -o ${output}: use one of ${OUTPUT_FORMATS.join(", ")}`, command);
  if (values["all-namespaces"] && values.namespace) throw new UsageError(`${command}: -A and -n exclude each other`, command);
  if (command === "reject" && !values.reason?.trim()) throw new UsageError("reject: --reason is required: say why, for the audit trail", command);
  if (command === "pause" && !values.reason?.trim()) throw new UsageError("pause: --reason is required: say why, it is recorded on the pause", command);
  if (command === "resume" && args.length === 1 && values.selector !== undefined) throw new UsageError("resume: give a Deployment or --selector, not both", command);
  if (command === "what-if" && !values.filename) throw new UsageError("what-if: -f policy.yaml is required: the candidate GuardrailPolicy", command);
  if (values.mode !== undefined && values.mode !== "replace" && values.mode !== "beside") throw new UsageError(`${command}: --mode ${values.mode}: use replace or beside`, command);
  return {
    kind: "run",
    invocation: {
      command,
      args,
      ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
      allNamespaces: values["all-namespaces"] ?? false,
      ...(values.context !== undefined ? { context: values.context } : {}),
      ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
      output: output as OutputFormat,
      ...(values.reason !== undefined ? { reason: values.reason } : {}),
      ...(values.selector !== undefined ? { selector: values.selector } : {}),
      wait: !values["no-wait"],
      timeoutMs: values.timeout !== undefined ? parseDuration(values.timeout) : 300_000,
      ...(values.filename !== undefined ? { filename: values.filename } : {}),
      ...(values.since !== undefined ? { sinceMs: parseDuration(values.since) } : {}),
      ...(values.mode !== undefined ? { mode: values.mode as "replace" | "beside" } : {}),
    },
  };
}

const GLOBAL_FLAGS = `Global flags:
  -n, --namespace ns     the namespace (default: the context's namespace, else default)
      --context name     the kubeconfig context to use
      --kubeconfig path  the kubeconfig (default: $KUBECONFIG, else ~/.kube/config)
  -h, --help             help for a command`;

const FLAG_HELP: Record<Flag, string> = {
  namespace: "",
  "all-namespaces": "  -A, --all-namespaces   every namespace",
  output: "  -o, --output format    table (default), json or yaml",
  reason: "      --reason text      why, recorded with the change",
  selector: "  -l, --selector labels  Deployments by label, kubectl syntax (a=b,c!=d,e in (f,g))",
  "no-wait": "      --no-wait          return once the revert is created",
  timeout: "      --timeout 5m       how long to wait for the outcome (default 5m)",
  filename: "  -f, --filename path    the candidate GuardrailPolicy (YAML or JSON; several documents allowed)",
  since: "      --since 24h        how far back to replay (default 24h)",
  mode: "      --mode replace     replace the current policies of the same name (default), or add beside them",
};

export function help(command?: string): string {
  const spec = command ? COMMANDS[command] : undefined;
  if (command && !spec) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  if (!spec) {
    const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
    return `kubectl smartops: the SmartOps operator's remediation actions from kubectl.

Usage:
  kubectl smartops <command> [flags]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`).join("\n")}

${GLOBAL_FLAGS}

Exit codes: 0 done, 1 an error (or a revert that did not succeed), 2 a usage mistake.
Run kubectl smartops <command> --help for a command's flags and examples.
`;
  }
  const flags = spec.flags.map((f) => FLAG_HELP[f]).filter((l) => l !== "");
  return `${spec.summary}.

${spec.description}

Usage:
  kubectl smartops ${spec.usage} [flags]

Examples:
${spec.examples.map((e) => `  ${e}`).join("\n")}
${flags.length ? `\nFlags:\n${flags.join("\n")}\n` : ""}
${GLOBAL_FLAGS}
`;
}
