// What the `operator` and `shim` commands share in reading their environment:
// a bad value stops the process with exit 2 and the variable's name.
import { z } from "zod";
import type { Logger } from "../telemetry/logger.ts";

/** Validates process.env against the schema; logs every problem and exits 2 when there is one. */
export function parseEnv<S extends z.ZodType>(schema: S, log: Logger): z.infer<S> {
  const parsed = schema.safeParse(process.env);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) log.error("invalid configuration", { variable: issue.path.join("."), problem: issue.message });
  process.exit(2);
}

/** A `host:port` variable; host may be empty. */
export const listenAddress = (example: string) => z.string().regex(/^[^:]*:\d+$/, `must be host:port, e.g. ${example}`).default(example);

export function hostPort(address: string): { host: string; port: number } {
  const cut = address.lastIndexOf(":");
  return { host: address.slice(0, cut), port: Number(address.slice(cut + 1)) };
}
