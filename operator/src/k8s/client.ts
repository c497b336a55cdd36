// The operator's connection to the API server and the one wrapper every call
// goes through, so each call is counted, timed, and fails with a status code.
import * as k8s from "@kubernetes/client-node";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { LRUCache } from "lru-cache";
import { createHash } from "node:crypto";
import type { AgentOptions } from "node:https";
import { describeApiError, sanitizeApiError } from "../runtime/api-errors.ts";
import { k8sApiCallsTotal, k8sApiErrorsTotal, k8sApiLatency } from "../telemetry/metrics.ts";
import { tracer } from "../telemetry/tracing.ts";

export const FIELD_MANAGER = "smartops-operator";

export interface KubeClients {
  kc: k8s.KubeConfig;
  apps: k8s.AppsV1Api;
  core: k8s.CoreV1Api;
  custom: k8s.CustomObjectsApi;
  events: k8s.EventsV1Api;
  coordination: k8s.CoordinationV1Api;
}

/** KUBECONFIG, else ~/.kube/config, else the in-cluster ServiceAccount. */
export function loadKubeConfig(path = process.env.KUBECONFIG): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

export function kubeClients(kc: k8s.KubeConfig): KubeClients {
  poolConnections(kc);
  return {
    kc,
    apps: kc.makeApiClient(k8s.AppsV1Api),
    core: kc.makeApiClient(k8s.CoreV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    events: kc.makeApiClient(k8s.EventsV1Api),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
  };
}

interface DispatcherFactory {
  createDispatcher?: (cluster: k8s.Cluster | null, opts: AgentOptions) => unknown;
  smartopsPooled?: boolean;
}

/**
 * client-node 2.0 builds a new undici Agent for every request, so every call
 * pays a TLS handshake and leaves its socket behind: measured in the closed-loop
 * benchmark as ~65 ms per call on top of the API server's ~13 ms, and 665 open
 * sockets at 20 signals/s. This keeps one dispatcher (a keep-alive pool) per
 * distinct TLS identity, so a rotated client certificate still gets a fresh one.
 * The method is private upstream; when it is gone, requests work as before.
 */
export function poolConnections(kc: k8s.KubeConfig): void {
  const target = kc as unknown as DispatcherFactory;
  const original = target.createDispatcher?.bind(kc);
  if (!original || target.smartopsPooled) return;
  // A handful of identities at most (certificate rotation); the least recently used is closed beyond that.
  const pools = new LRUCache<string, object>({ max: 4, dispose: (pool) => void (pool as { close?: () => Promise<void> }).close?.().catch(() => undefined) });
  target.createDispatcher = (cluster, opts) => {
    const key = createHash("sha256")
      .update(JSON.stringify([cluster?.server, opts.rejectUnauthorized, opts.servername, String(opts.ca ?? ""), String(opts.cert ?? ""), String(opts.key ?? ""), String(opts.pfx ?? "")]))
      .digest("hex");
    let pool = pools.get(key);
    if (pool === undefined) {
      pool = original(cluster, opts) as object;
      pools.set(key, pool);
    }
    return pool;
  };
  target.smartopsPooled = true;
}

/**
 * An API failure with the HTTP status (0 when no response arrived). Its message
 * is always redacted (runtime/api-errors.ts): the API server's text can embed the
 * whole object (a 422 on a patch does), and this message reaches status.message,
 * events, logs and shim answers.
 */
export class KubeError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly retryAfterSeconds: number | undefined;
  /** The fields the Status causes named. */
  readonly fields: readonly string[];
  constructor(operation: string, code: number, reason: string, message: string, retryAfterSeconds?: number, fields: readonly string[] = []) {
    const safe = sanitizeApiError(code, { reason, message, details: { causes: fields.map((field) => ({ field })) } });
    super(`${operation}: ${code || "no response"} ${describeApiError(safe)}`);
    this.name = "KubeError";
    this.code = code;
    this.reason = safe.reason;
    this.retryAfterSeconds = retryAfterSeconds;
    this.fields = safe.fields;
  }
}

export const isNotFound = (e: unknown) => e instanceof KubeError && e.code === 404;
export const isConflict = (e: unknown) => e instanceof KubeError && e.code === 409;
export const isAlreadyExists = (e: unknown) => e instanceof KubeError && e.code === 409 && e.reason === "AlreadyExists";
export const isTooManyRequests = (e: unknown) => e instanceof KubeError && e.code === 429;

function toKubeError(operation: string, err: unknown): KubeError {
  if (err instanceof KubeError) return err;
  if (err instanceof k8s.ApiException) {
    // Never err.message: client-node puts the whole response body into it.
    let body: unknown = err.body;
    if (typeof body === "string") {
      try {
        body = JSON.parse(body);
      } catch {
        // Not a Status: the text itself, redacted like any message.
      }
    }
    const safe = sanitizeApiError(err.code, body);
    const details = (typeof body === "object" && body !== null ? (body as { details?: { retryAfterSeconds?: unknown } }).details : undefined);
    const retryBody = typeof details?.retryAfterSeconds === "number" ? details.retryAfterSeconds : undefined;
    const retryHeader = Number(err.headers?.["retry-after"]);
    return new KubeError(operation, err.code, safe.reason, safe.message || `HTTP ${err.code}`,
      retryBody ?? (Number.isFinite(retryHeader) ? retryHeader : undefined), safe.fields);
  }
  return new KubeError(operation, 0, "NetworkError", err instanceof Error ? err.message : String(err));
}

/**
 * Runs one API call with metrics; rejects with a KubeError. Inside a recording
 * span (a reconcile, a shim request) the call is a child span; background calls
 * (lease renewals, events outside a reconcile) start no trace of their own.
 */
export function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  if (!trace.getActiveSpan()?.isRecording()) return measured(operation, fn);
  return tracer().startActiveSpan(`k8s ${operation}`, { kind: SpanKind.CLIENT, attributes: { "k8s.operation": operation } }, async (span) => {
    try {
      return await measured(operation, fn);
    } catch (err) {
      if (err instanceof KubeError) span.setAttribute("http.response.status_code", err.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

async function measured<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  const end = k8sApiLatency.startTimer({ operation });
  k8sApiCallsTotal.inc({ operation });
  try {
    return await fn();
  } catch (err) {
    const e = toKubeError(operation, err);
    k8sApiErrorsTotal.inc({ operation, code: String(e.code) });
    throw e;
  } finally {
    end();
  }
}

export const mergePatch = () => k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
export const jsonPatch = () => k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.JsonPatch);
export const strategicPatch = () => k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch);
