// Entry point of the kubectl plugin (bin/kubectl-smartops runs it on Node 22).
import { main } from "../plugin/main.ts";

const code = await main({
  argv: process.argv.slice(2),
  env: process.env,
  stdoutIsTTY: process.stdout.isTTY,
  stderrIsTTY: process.stderr.isTTY,
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
});
process.exitCode = code;
