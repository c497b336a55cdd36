// Fault injection for the crash tests: with SMARTOPS_FAILPOINT=<name> the process
// kills itself with SIGKILL when it reaches that point, as a node failure would.
// Unset (always, outside tests) this is a no-op.
/**
 * before-auto-revert: after a failed action's terminal write, before the undo the operator creates for it.
 * before-audit: an action's terminal status is stored, its audit record not yet emitted.
 */
export type Failpoint = "before-intent" | "after-intent" | "after-act" | "before-auto-revert" | "before-audit";

const armed = process.env.SMARTOPS_FAILPOINT;

export function failpoint(name: Failpoint): void {
  if (armed === name) process.kill(process.pid, "SIGKILL");
}

const poison = process.env.SMARTOPS_FAILPOINT_THROW;

/**
 * With SMARTOPS_FAILPOINT_THROW=<prefix>, reconciling an object whose name starts
 * with it throws, as a bug or an unprocessable object would. Unset: a no-op.
 */
export function throwpoint(name: string): void {
  if (poison && name.startsWith(poison)) throw new Error(`injected failure for ${name} (SMARTOPS_FAILPOINT_THROW)`);
}
