// kubectl-smartops: parse, connect, run one command, map every failure to
// kubectl's exit codes (0 done, 1 an error, 2 a usage mistake).
import { help, parse, UsageError } from "./args.ts";
import { ConfigError, httpClient, type PluginClient } from "./client.ts";
import { apiErrorText, CommandError, type Io, run } from "./commands.ts";
import { colourWanted, paint } from "./format.ts";
import { KubeApiError } from "../k8s/errors.ts";

export interface Process {
  argv: string[];
  env: Record<string, string | undefined>;
  stdoutIsTTY: boolean | undefined;
  stderrIsTTY: boolean | undefined;
  out(text: string): void;
  err(text: string): void;
}

export async function main(p: Process, connect: typeof httpClient = httpClient): Promise<number> {
  const errPaint = paint(colourWanted(p.stderrIsTTY, p.env));
  let parsed;
  try {
    parsed = parse(p.argv);
    if (parsed.kind === "help") {
      p.out(help(parsed.command));
      return 0;
    }
  } catch (err) {
    if (err instanceof UsageError) {
      p.err(`${errPaint("bad", "error:")} ${err.message}\nSee 'kubectl smartops ${err.command ? `${err.command} ` : ""}--help' for usage.\n`);
      return 2;
    }
    throw err;
  }
  const inv = parsed.invocation;
  let conn: { client: PluginClient; close: () => Promise<void> } | undefined;
  try {
    conn = connect({ ...(inv.kubeconfig ? { kubeconfig: inv.kubeconfig } : {}), ...(inv.context ? { context: inv.context } : {}), ...(inv.namespace ? { namespace: inv.namespace } : {}) });
    const io: Io = {
      out: p.out,
      err: p.err,
      now: () => Date.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      paint: paint(inv.output === "table" && colourWanted(p.stdoutIsTTY, p.env)),
      operatorNamespace: p.env.SMARTOPS_OPERATOR_NAMESPACE || "smartops-system",
    };
    return await run(inv, conn.client, io);
  } catch (err) {
    const text = err instanceof KubeApiError ? apiErrorText(err) : err instanceof CommandError || err instanceof ConfigError ? err.message : String((err as Error)?.stack ?? err);
    p.err(`${errPaint("bad", "error:")} ${text}\n`);
    return 1;
  } finally {
    await conn?.close();
  }
}
