// The logging surface the runtime needs; a winston Logger satisfies it as is.
export interface RuntimeLogger {
  debug(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

const noop = () => undefined;
export const silentLogger: RuntimeLogger = { debug: noop, info: noop, warn: noop, error: noop };

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
    return `${err.message}${typeof code === "string" && !err.message.includes(code) ? ` (${code})` : ""}${cause}`;
  }
  return String(err);
}
