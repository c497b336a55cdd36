// The HTTP shim: the seed orchestrator's routes (seed 000 §3, §6), each turned
// into a custom resource. Stateless apart from short-lived caches and rate-limit
// buckets; idempotency comes from deterministic signal names and AlreadyExists.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { context, INVALID_SPAN_CONTEXT, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { z } from "zod";
import { anomalySignalSpec } from "../api/v1alpha1/anomaly-signal.ts";
import { dnsLabel } from "../api/v1alpha1/meta.ts";
import type { RemediationAction, Signal } from "../api/v1alpha1/objects.ts";
import { rcaSignalSpec } from "../api/v1alpha1/rca-signal.ts";
import { TERMINAL_PHASES } from "../api/v1alpha1/remediation-action.ts";
import { type FieldIssue, validate } from "../api/v1alpha1/validation.ts";
import { isAlreadyExists, isNotFound, KubeError } from "../k8s/client.ts";
import { rolloutStatus } from "../remediation/rollout.ts";
import { resolveTarget } from "../remediation/target.ts";
import type { Logger } from "../telemetry/logger.ts";
import { registry } from "../telemetry/metrics.ts";
import { contextFromTraceparent } from "../telemetry/trace-context.ts";
import { annotateActiveSpan, ATTR, TRACER_NAME } from "../telemetry/tracing.ts";
import { Authorizer, type AuthnResult } from "./auth.ts";
import type { AccessRequest, ShimBackend } from "./backend.ts";
import { type ActionIntent, actionObject, anomalySignalObject, canonicalJson, executeIntent, patchIntent, rcaSignalObject, type RequestMeta, restartIntent, scaleIntent } from "./mapping.ts";
import { loopSignalsTotal, shimRequestDuration, shimRequestsTotal } from "./metrics.ts";
import { openApiDocument } from "./openapi.ts";
import { type RateLimitConfig, RateLimiter } from "./rate-limit.ts";
import { executeRequest, patchRequest, restartRequest, scaleRequest, verifyDeploymentRequest } from "./requests.ts";
import { actionResult, type Answer } from "./results.ts";
import { traceparentOf } from "./trace.ts";

export interface ShimConfig {
  defaultNamespace: string;
  audience: string;
  allowAnonymous: boolean;
  bodyLimitBytes: number;
  rateLimit: RateLimitConfig;
  authCacheTtlMs: number;
  /** Extra seconds a verify:true request waits beyond verify_timeout_seconds. */
  verifyMarginSeconds: number;
  /** Longest a waiting request watches its action before re-checking its deadline and its client. */
  waitSliceMs: number;
}

export const DEFAULT_CONFIG: ShimConfig = {
  defaultNamespace: "smartops-dev",
  audience: "smartops-shim",
  allowAnonymous: false,
  bodyLimitBytes: 64 * 1024,
  rateLimit: { ratePerSecond: 50, burst: 100 },
  authCacheTtlMs: 30_000,
  verifyMarginSeconds: 30,
  waitSliceMs: 10_000,
};

/** A 4xx/5xx answer with the JSON body {error, message, field?}. */
export class HttpError extends Error {
  readonly status: number;
  readonly error: string;
  readonly field: string | undefined;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;
  constructor(status: number, error: string, message: string, opts: { field?: string; extra?: Record<string, unknown>; headers?: Record<string, string> } = {}) {
    super(message);
    this.status = status;
    this.error = error;
    this.field = opts.field;
    this.extra = opts.extra ?? {};
    this.headers = opts.headers ?? {};
  }
}

function invalid(issues: FieldIssue[]): HttpError {
  const first = issues[0] ?? { field: "", message: "invalid request" };
  const message = issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join("; ");
  return new HttpError(400, "BadRequest", message, { field: first.field || undefined, extra: { issues } });
}

interface Ctx {
  body: Record<string, unknown>;
  meta: Omit<RequestMeta, "namespace">;
  authorize(req: AccessRequest): Promise<void>;
  aborted(): boolean;
}

interface Route {
  method: "GET" | "POST";
  handle(ctx: Ctx): Promise<Answer>;
}

export interface ShimHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Stop answering /readyz with 200 (draining before shutdown). */
  drain(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createShimHandler(backend: ShimBackend, config: ShimConfig, log: Logger): ShimHandler {
  const auth = new Authorizer(backend, { audience: config.audience, allowAnonymous: config.allowAnonymous, cacheTtlMs: config.authCacheTtlMs });
  const limiter = new RateLimiter(config.rateLimit);
  const tracer = trace.getTracer(TRACER_NAME);
  let draining = false;

  const signalRoute = (kind: "anomaly" | "rca"): Route => ({
    method: "POST",
    async handle(ctx) {
      const { namespace, ...spec } = ctx.body;
      if (namespace !== undefined) {
        const ns = validate(dnsLabel, namespace, "namespace");
        if (!ns.ok) throw invalid(ns.issues);
      }
      const ns = (namespace as string | undefined) ?? config.defaultNamespace;
      annotateActiveSpan({ [ATTR.signalType]: kind, [ATTR.targetNamespace]: ns });
      const v = kind === "anomaly" ? validate(anomalySignalSpec, spec) : validate(rcaSignalSpec, spec);
      if (!v.ok) throw invalid(v.issues);
      await ctx.authorize({ verb: "create", group: "smartops.io", resource: kind === "anomaly" ? "anomalysignals" : "rcasignals", namespace: ns });
      const meta = { ...ctx.meta, namespace: ns };
      const obj: Signal = kind === "anomaly" ? anomalySignalObject(v.value as z.infer<typeof anomalySignalSpec>, meta) : rcaSignalObject(v.value as z.infer<typeof rcaSignalSpec>, meta);
      const windowId = obj.spec.windowId;
      annotateActiveSpan({ [ATTR.signalName]: obj.metadata.name });
      const ok = (duplicate: boolean): Answer => ({
        status: 200,
        body: { accepted: true, kind, windowId, name: obj.metadata.name, namespace: ns, ...(duplicate ? { duplicate: true } : {}) },
      });
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await backend.createSignal(obj);
          return ok(false);
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
        }
        let existing: Signal;
        try {
          existing = await backend.getSignal(obj.kind, ns, obj.metadata.name);
        } catch (err) {
          if (isNotFound(err)) continue; // deleted in between: create again
          throw err;
        }
        if (canonicalJson(existing.spec) === canonicalJson(obj.spec)) return ok(true);
        throw new HttpError(409, "Conflict", `windowId ${windowId} was already submitted with a different body (${obj.kind} ${ns}/${obj.metadata.name}); a signal records one observation and cannot change`, { field: "windowId" });
      }
      throw new HttpError(503, "ServiceUnavailable", `${obj.kind} ${ns}/${obj.metadata.name} kept disappearing; retry`);
    },
  });

  async function submitAction(ctx: Ctx, mapped: { ok: true; intent: ActionIntent } | { ok: false; issues: FieldIssue[] }): Promise<Answer> {
    if (!mapped.ok) throw invalid(mapped.issues);
    const intent = mapped.intent;
    annotateActiveSpan({ [ATTR.actionType]: intent.type, [ATTR.targetNamespace]: intent.namespace, [ATTR.dryRun]: intent.dryRun });
    await ctx.authorize({ verb: "create", group: "smartops.io", resource: "remediationactions", namespace: intent.namespace });
    const match = resolveTarget(intent.deployment, await backend.listDeployments(intent.namespace));
    if (!match) {
      throw new HttpError(404, "NotFound", `no Deployment in namespace ${intent.namespace} matches ${intent.deployment} (tried ${intent.deployment}, smartops-${intent.deployment} and label app.kubernetes.io/name=${intent.deployment})`, { field: intent.deploymentField });
    }
    annotateActiveSpan({ [ATTR.targetName]: match.name });
    const created = await backend.createAction(actionObject(intent, match.name, { ...ctx.meta, namespace: intent.namespace }));
    const name = created.metadata.name;
    annotateActiveSpan({ [ATTR.actionName]: name });
    const accepted: Answer = { status: 202, body: { accepted: true, action: name, namespace: intent.namespace, target: match.name, dry_run: intent.dryRun } };
    if (!intent.verify) return accepted;
    const deadline = Date.now() + ((intent.verifyTimeoutSeconds ?? 60) + config.verifyMarginSeconds) * 1000;
    let current: RemediationAction = created;
    for (;;) {
      const phase = current.status?.phase ?? "Pending";
      if (TERMINAL_PHASES.has(phase)) return actionResult(current, { replicas: intent.deploymentField === "target.name" ? "scale.replicas" : "replicas" });
      if (phase === "PendingApproval") {
        return { status: 202, body: { ...accepted.body, phase, message: current.status?.message ?? "waiting for a human approval" } };
      }
      if (Date.now() >= deadline || ctx.aborted()) {
        return { status: 202, body: { ...accepted.body, phase, message: `action ${name} had not finished within ${intent.verifyTimeoutSeconds ?? 60}+${config.verifyMarginSeconds} s; follow it with kubectl get remediationaction ${name} -n ${intent.namespace}` } };
      }
      current = await backend.nextAction(intent.namespace, name, current.metadata.resourceVersion, Math.min(config.waitSliceMs, deadline - Date.now()));
    }
  }

  async function verifyDeployment(ctx: Ctx): Promise<Answer> {
    const v = validate(verifyDeploymentRequest, ctx.body);
    if (!v.ok) throw invalid(v.issues);
    const ns = v.value.namespace ?? config.defaultNamespace;
    await ctx.authorize({ verb: "get", group: "apps", resource: "deployments", namespace: ns });
    const match = resolveTarget(v.value.deployment, await backend.listDeployments(ns));
    if (!match) throw new HttpError(404, "NotFound", `no Deployment in namespace ${ns} matches ${v.value.deployment}`, { field: "deployment" });
    const timeoutMs = (v.value.timeout_seconds ?? 60) * 1000;
    const intervalMs = (v.value.poll_interval_seconds ?? 5) * 1000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = rolloutStatus(await backend.readDeployment(ns, match.name));
      const observed = {
        updated_replicas: r.observed.updatedReplicas,
        ready_replicas: r.observed.readyReplicas,
        available_replicas: r.observed.availableReplicas,
        desired_replicas: r.observed.desiredReplicas,
      };
      const answer = (status: string, message: string): Answer => ({ status: 200, body: { status, message, deployment: match.name, namespace: ns, observed } });
      if (r.state === "complete") return answer("SUCCESS", "Deployment healthy");
      if (r.state === "failed") return answer("FAILED", r.message);
      if (Date.now() + intervalMs > deadline || ctx.aborted()) return answer("TIMED_OUT", `not healthy within ${timeoutMs / 1000} s: ${r.message}`);
      await sleep(intervalMs);
    }
  }

  const postRoutes: Record<string, Route> = {
    "/v1/signals/anomaly": signalRoute("anomaly"),
    "/v1/signals/rca": signalRoute("rca"),
    "/v1/k8s/scale": { method: "POST", handle: (ctx) => parsed(ctx, scaleRequest, (r) => submitAction(ctx, scaleIntent(r, config.defaultNamespace))) },
    "/v1/k8s/restart": { method: "POST", handle: (ctx) => parsed(ctx, restartRequest, (r) => submitAction(ctx, restartIntent(r, config.defaultNamespace))) },
    "/v1/k8s/patch": { method: "POST", handle: (ctx) => parsed(ctx, patchRequest, (r) => submitAction(ctx, patchIntent(r, config.defaultNamespace))) },
    "/v1/actions/execute": { method: "POST", handle: (ctx) => parsed(ctx, executeRequest, (r) => submitAction(ctx, executeIntent(r, config.defaultNamespace))) },
    "/v1/verify/deployment": { method: "POST", handle: verifyDeployment },
  };

  async function getRoute(path: string): Promise<Answer | { raw: string; contentType: string } | undefined> {
    switch (path) {
      case "/healthz":
        return { status: 200, body: { status: "ok", service: "orchestrator" } };
      case "/readyz":
        return draining ? { status: 503, body: { status: "draining" } } : { status: 200, body: { status: "ok" } };
      case "/metrics":
        return { raw: await registry.metrics(), contentType: registry.contentType };
      case "/openapi.json":
        return { status: 200, body: openApiDocument() };
      default:
        return undefined;
    }
  }
  const GET_PATHS = new Set(["/healthz", "/readyz", "/metrics", "/openapi.json"]);

  async function serve(req: IncomingMessage, res: ServerResponse, path: string, traceparent: string): Promise<Answer | { raw: string; contentType: string }> {
    const method = req.method ?? "GET";
    if (GET_PATHS.has(path)) {
      if (method !== "GET" && method !== "HEAD") throw new HttpError(405, "MethodNotAllowed", `${method} is not allowed on ${path}; use GET`, { headers: { allow: "GET" } });
      return (await getRoute(path))!;
    }
    const r = postRoutes[path];
    if (!r) throw new HttpError(404, "NotFound", `no route ${path}`);
    if (method !== r.method) throw new HttpError(405, "MethodNotAllowed", `${method} is not allowed on ${path}; use ${r.method}`, { headers: { allow: r.method } });

    const authn = await authenticate(req.headers.authorization);
    const limit = limiter.take(authn.user.username);
    if (!limit.allowed) {
      throw new HttpError(429, "TooManyRequests", `rate limit of ${config.rateLimit.ratePerSecond} requests/s (burst ${config.rateLimit.burst}) exceeded for ${authn.user.username}; retry after ${limit.retryAfterSeconds} s`, { headers: { "retry-after": String(limit.retryAfterSeconds) } });
    }
    const body = await readJson(req, config.bodyLimitBytes);
    let closed = false;
    res.once("close", () => { closed = true; });
    const ctx: Ctx = {
      body,
      meta: { traceparent, requestedBy: authn.user.username },
      aborted: () => closed,
      async authorize(access) {
        const d = await auth.authorize(authn, access);
        if (!d.allowed) {
          throw new HttpError(403, "Forbidden", `${authn.user.username} may not ${access.verb} ${access.resource}.${access.group} in namespace ${access.namespace}${d.reason ? ` (${d.reason})` : ""}`, { field: "namespace" });
        }
      },
    };
    return r.handle(ctx);
  }

  async function authenticate(header: string | undefined): Promise<Extract<AuthnResult, { ok: true }>> {
    let a: AuthnResult;
    try {
      a = await auth.authenticate(header);
    } catch (err) {
      throw upstream(err, "authenticating the token");
    }
    if (!a.ok) throw new HttpError(401, "Unauthorized", a.message, { headers: { "www-authenticate": `Bearer realm="smartops-shim"` } });
    return a;
  }

  function upstream(err: unknown, what: string): HttpError {
    if (err instanceof HttpError) return err;
    if (err instanceof KubeError) {
      if (err.code === 429 || err.code === 0 || err.code === 503) {
        return new HttpError(503, "ServiceUnavailable", `Kubernetes API unavailable while ${what}: ${err.message}`, { headers: { "retry-after": String(err.retryAfterSeconds ?? 1) } });
      }
      return new HttpError(502, "BadGateway", `Kubernetes API error while ${what}: ${err.message}`);
    }
    return new HttpError(500, "InternalError", `unexpected error while ${what}`);
  }

  /** API-server answers that are the caller's doing become 4xx; the rest 502/503. */
  function fromKube(err: unknown): HttpError {
    if (err instanceof HttpError) return err;
    if (err instanceof KubeError) {
      if (err.code === 422 || err.code === 400) return new HttpError(400, "BadRequest", `rejected by the API server: ${err.message}`);
      if (err.code === 404) return new HttpError(404, "NotFound", `not found: ${err.message}`, { field: "namespace" });
      if (err.code === 409) return new HttpError(409, "Conflict", err.message);
      if (err.code === 403) return new HttpError(502, "BadGateway", `the shim itself lacks permission: ${err.message}`);
    }
    return upstream(err, "handling the request");
  }

  const handler = ((req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const path = safePath(req.url);
    const route = GET_PATHS.has(path) || postRoutes[path] ? path : "unmatched";
    // The caller's trace is continued (W3C traceparent header); the CR then carries this span's context.
    const incoming = typeof req.headers.traceparent === "string" ? req.headers.traceparent : undefined;
    const parent = contextFromTraceparent(incoming) ?? ROOT_CONTEXT;
    // Probes, scrapes and the OpenAPI document are not traced: they would be most of the traces.
    const span = GET_PATHS.has(path)
      ? trace.wrapSpanContext(INVALID_SPAN_CONTEXT)
      : tracer.startSpan(`${req.method ?? "GET"} ${route}`, { kind: SpanKind.SERVER, attributes: { "http.request.method": req.method ?? "", "http.route": route } }, parent);
    const traceparent = traceparentOf(span, incoming);
    const spanContext = trace.setSpan(parent, span);
    const finish = (status: number, payload: string, headers: Record<string, string>) => {
      if (!res.headersSent && !res.writableEnded) {
        res.writeHead(status, { "content-length": Buffer.byteLength(payload), traceparent, ...headers });
        res.end(req.method === "HEAD" ? undefined : payload);
      }
      const code = String(status);
      shimRequestsTotal.inc({ route, code });
      shimRequestDuration.observe({ route, code }, (performance.now() - started) / 1000);
      if (route === "/v1/signals/anomaly" || route === "/v1/signals/rca") {
        const kind = route.endsWith("rca") ? "rca" : "anomaly";
        const result = status < 300 ? (payload.includes('"duplicate":true') ? "duplicate" : "accepted") : "rejected";
        loopSignalsTotal.inc({ kind, result });
      }
      span.setAttribute("http.response.status_code", status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      const level = status >= 500 ? "warn" : "debug";
      log.log(level, "request", { method: req.method, route, status, ms: Math.round(performance.now() - started), traceparent });
    };
    // Inside the span's context: API calls become child spans, log lines carry its ids.
    context.with(spanContext, () => serve(req, res, path, traceparent)
      .then(
        (a) => {
          if ("raw" in a) finish(200, a.raw, { "content-type": a.contentType });
          else finish(a.status, JSON.stringify(a.body), { "content-type": "application/json", ...(a.headers ?? {}) });
        },
        (err: unknown) => {
          const e = fromKube(err);
          if (e.status >= 500) log.warn("request failed", { route, status: e.status, err: err instanceof Error ? err.message : String(err) });
          if (e.status === 413) e.headers.connection = "close";
          const body = { error: e.error, message: e.message, ...(e.field ? { field: e.field } : {}), ...e.extra };
          finish(e.status, JSON.stringify(body), { "content-type": "application/json", ...e.headers });
        },
      )
      .catch((err: unknown) => {
        log.error("response failed", { route, err: err instanceof Error ? err.message : String(err) });
        if (!res.writableEnded) res.destroy();
      }));
  }) as ShimHandler;
  handler.drain = () => {
    draining = true;
  };
  return handler;
}

function safePath(url: string | undefined): string {
  const raw = (url ?? "/").split("?")[0] ?? "/";
  return raw.length > 1 && raw.endsWith("/") ? raw.slice(0, -1) : raw;
}

/** Reads at most `limit` bytes and parses a JSON object; 413 and 400 otherwise. */
export function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new HttpError(413, "PayloadTooLarge", `request body of ${declared} bytes exceeds the limit of ${limit} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        reject(new HttpError(413, "PayloadTooLarge", `request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("error", (err) => {
      if (!done) {
        done = true;
        reject(new HttpError(400, "BadRequest", `could not read the request body: ${err.message}`));
      }
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString("utf8");
      if (text.trim() === "") return reject(new HttpError(400, "BadRequest", "request body must be a JSON object"));
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        return reject(new HttpError(400, "BadRequest", `malformed JSON: ${err instanceof Error ? err.message : String(err)}`));
      }
      if (value === null || typeof value !== "object" || Array.isArray(value)) return reject(new HttpError(400, "BadRequest", "request body must be a JSON object"));
      resolve(value as Record<string, unknown>);
    });
  });
}

function parsed<S extends z.ZodType>(ctx: Ctx, schema: S, then: (v: z.infer<S>) => Promise<Answer>): Promise<Answer> {
  const v = validate(schema, ctx.body);
  if (!v.ok) throw invalid(v.issues);
  return then(v.value);
}

export interface ShimServer {
  server: Server;
  port: number;
  /** Stop accepting, finish in-flight requests, then resolve. */
  close(): Promise<void>;
}

export function startShim(host: string, port: number, backend: ShimBackend, config: ShimConfig, log: Logger): Promise<ShimServer> {
  const handler = createShimHandler(backend, config, log);
  const server = createServer({ requestTimeout: 0, headersTimeout: 30_000 }, handler);
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({
        server,
        port: typeof addr === "object" && addr ? addr.port : port,
        close: () =>
          new Promise<void>((done) => {
            handler.drain();
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
