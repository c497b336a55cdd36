// Fault injection for the crash tests: with SMARTOPS_FAILPOINT=<name> the process
// kills itself with SIGKILL when it reaches that point, as a node failure would.
// Unset (always, outside tests) this is a no-op.
export type Failpoint = "before-intent" | "after-intent" | "after-act";

const armed = process.env.SMARTOPS_FAILPOINT;

export function failpoint(name: Failpoint): void {
  if (armed === name) process.kill(process.pid, "SIGKILL");
}
