// Structured JSON logs on stdout through winston. Secrets never reach a log line:
// callers log object references (namespace/name), never tokens or kubeconfigs.
import winston from "winston";

export type Logger = winston.Logger;

export function createLogger(component: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { component },
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
