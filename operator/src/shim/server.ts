// The HTTP shim: the seed orchestrator's routes (seed 000 §3, §6), each turned
// into a custom resource. Stateless apart from short-lived caches and rate-limit
// buckets; idempotency comes from deterministic signal names and AlreadyExists.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { context, INVALID_SPAN_CONTEXT, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { z } from "zod";
import { anomalySignalSpec } from "../api/v1alpha1/anomaly-signal.ts";
import { dnsLabel, dnsSubdomain } from "../api/v1alpha1/meta.ts";
import type { RemediationAction, Signal } from "../api/v1alpha1/objects.ts";
import { rcaSignalSpec } from "../api/v1alpha1/rca-signal.ts";
import { type FieldIssue, validate } from "../api/v1alpha1/validation.ts";
import { isAlreadyExists, isNotFound, isQuotaExceeded, KubeApiError } from "../k8s/errors.ts";

/** Retry-After of a quota refusal: object counts drop only as retention deletes (seconds to minutes). */
const QUOTA_RETRY_AFTER_SECONDS = 30;
import { rolloutStatus } from "../remediation/rollout.ts";
import { resolveTarget } from "../remediation/target.ts";
import type { Logger } from "../telemetry/logger.ts";
import { registry } from "../telemetry/metrics.ts";
import { contextFromTraceparent } from "../telemetry/trace-context.ts";
import { annotateActiveSpan, ATTR, TRACER_NAME } from "../telemetry/tracing.ts";
import { Authorizer, type AuthnResult } from "./auth.ts";
import type { AccessRequest, ShimBackend } from "./backend.ts";
import { BodyError, MAX_JSON_DEPTH, readJsonBody } from "./body.ts";
import { DeploymentReads } from "./deployment-reads.ts";
import { addressKey, InFlight } from "./limits.ts";
import { type ActionIntent, actionObject, anomalySignalObject, canonicalJson, executeIntent, patchIntent, rcaSignalObject, type RequestMeta, restartIntent, revertIntent, scaleIntent } from "./mapping.ts";
import { loopSignalsTotal, shimRequestDuration, shimRequestsTotal } from "./metrics.ts";
import { openApiDocument } from "./openapi.ts";
import { type RateLimitConfig, RateLimiter } from "../runtime/token-bucket.ts";
import { executeRequest, patchRequest, restartRequest, revertRequest, scaleRequest, verifyDeploymentRequest } from "./requests.ts";
import { parsePrefer, type Preferences } from "./prefer.ts";
import { actionResult, type Answer, settled } from "./results.ts";
import { type ActionPath, type ApiPath, apiRoute, type PlainPath, plainRoute, routeLabel, routeParams } from "./routes.ts";
import { traceparentOf } from "./trace.ts";

export interface ShimConfig {
  defaultNamespace: string;
  audience: string;
  allowAnonymous: boolean;
  bodyLimitBytes: number;
  rateLimit: RateLimitConfig;
  authCacheTtlMs: number;
  /** Longest an action request without verify waits for its outcome before answering 202. */
  actionWaitSeconds: number;
  /** Extra seconds a verify:true request waits beyond verify_timeout_seconds. */
  verifyMarginSeconds: number;
  /** Longest a waiting request watches its action before re-checking its deadline and its client. */
  waitSliceMs: number;
  /** Time to receive the request headers (node:http headersTimeout). */
  headersTimeoutMs: number;
  /** Time to receive the whole body once the shim starts reading it; then 408. */
  bodyTimeoutMs: number;
  /** Requests being handled at once by this replica; above it 503 with Retry-After. */
  maxInFlight: number;
  /** Requests being handled at once for one identity; above it 429 with Retry-After. */
  maxInFlightPerIdentity: number;
  /**
   * Per client address, for requests whose token is not already known to be valid
   * (the ones that may cost a TokenReview); checked before authentication.
   */
  unauthenticatedRateLimit: RateLimitConfig;
  /** /v1/verify/deployment reads a Deployment at most this often, whatever poll_interval_seconds asks. */
  verifyMinPollMs: number;
  /** Deployment GETs per second for all /v1/verify/deployment requests of this replica together. */
  verifyReadBudget: RateLimitConfig;
}

export const DEFAULT_CONFIG: ShimConfig = {
  defaultNamespace: "smartops-dev",
  audience: "smartops-shim",
  allowAnonymous: false,
  bodyLimitBytes: 64 * 1024,
  rateLimit: { ratePerSecond: 50, burst: 100 },
  authCacheTtlMs: 30_000,
  actionWaitSeconds: 30,
  verifyMarginSeconds: 30,
  waitSliceMs: 10_000,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
  maxInFlight: 256,
  maxInFlightPerIdentity: 32,
  unauthenticatedRateLimit: { ratePerSecond: 5, burst: 20 },
  verifyMinPollMs: 1_000,
  verifyReadBudget: { ratePerSecond: 20, burst: 20 },
};

/** The namespace of a ServiceAccount user name, if it is one. */
function serviceAccountNamespace(username: string): string | undefined {
  return /^system:serviceaccount:([a-z0-9]([-a-z0-9]*[a-z0-9])?):[^:]+$/.exec(username)?.[1];
}

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
  /** The route's {parameter} values, as sent (validated by the handler). */
  params: Record<string, string>;
  meta: Omit<RequestMeta, "namespace">;
  authorize(req: AccessRequest): Promise<void>;
  aborted(): boolean;
  /** Resolves when the client goes away. */
  closed: Promise<void>;
  /** The caller's Prefer header: respond-async, wait=<seconds>. */
  prefer: Preferences;
}

type Handler = (ctx: Ctx) => Promise<Answer>;

export interface ShimHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Stop answering /readyz with 200 (draining before shutdown). */
  drain(): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createShimHandler(backend: ShimBackend, config: ShimConfig, log: Logger): ShimHandler {
  const auth = new Authorizer(backend, { audience: config.audience, allowAnonymous: config.allowAnonymous, cacheTtlMs: config.authCacheTtlMs });
  const limiter = new RateLimiter(config.rateLimit);
  const addressLimiter = new RateLimiter(config.unauthenticatedRateLimit);
  const inFlight = new InFlight(config.maxInFlight, config.maxInFlightPerIdentity);
  const deploymentReads = new DeploymentReads(backend, { minIntervalMs: config.verifyMinPollMs, budget: config.verifyReadBudget });
  const tracer = trace.getTracer(TRACER_NAME);
  let draining = false;

  const signalRoute = (kind: "anomaly" | "rca"): Handler =>
    async (ctx) => {
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
    };

  async function submitAction(ctx: Ctx, route: ActionPath, mapped: { ok: true; intent: ActionIntent } | { ok: false; issues: FieldIssue[] }): Promise<Answer> {
    if (!mapped.ok) throw invalid(mapped.issues);
    const intent = mapped.intent;
    annotateActiveSpan({ [ATTR.actionType]: intent.type, [ATTR.targetNamespace]: intent.namespace, [ATTR.dryRun]: intent.dryRun });
    await ctx.authorize({ verb: "create", group: "smartops.io", resource: "remediationactions", namespace: intent.namespace });
    const match = resolveTarget(intent.deployment, await backend.listDeployments(intent.namespace));
    if (!match) {
      throw new HttpError(404, "NotFound", `no Deployment in namespace ${intent.namespace} matches ${intent.deployment} (tried ${intent.deployment}, smartops-${intent.deployment} and label app.kubernetes.io/name=${intent.deployment})`, { field: intent.deploymentField });
    }
    return createAndAnswer(ctx, route, intent, match.name);
  }

  /**
   * POST /v1/actions/{name}/revert: a revert of the named action, on that action's
   * own target. Authorized as creating a RemediationAction in the namespace; the
   * operator judges the rest (reversible, unchanged since, approval.revert) and
   * the answer maps its block reasons (results.ts).
   */
  async function revertAction(ctx: Ctx): Promise<Answer> {
    const route = "/v1/actions/{name}/revert";
    const name = validate(dnsSubdomain, ctx.params.name, "name");
    if (!name.ok) throw invalid(name.issues);
    const v = validate(revertRequest, ctx.body);
    if (!v.ok) throw invalid(v.issues);
    const ns = v.value.namespace ?? config.defaultNamespace;
    await ctx.authorize({ verb: "create", group: "smartops.io", resource: "remediationactions", namespace: ns });
    let original: RemediationAction;
    try {
      original = await backend.getAction(ns, name.value);
    } catch (err) {
      if (isNotFound(err)) throw new HttpError(404, "NotFound", `no RemediationAction ${ns}/${name.value} to revert`, { field: "name" });
      throw err;
    }
    const mapped = revertIntent(v.value, name.value, original.spec.target.name, config.defaultNamespace);
    if (!mapped.ok) throw invalid(mapped.issues);
    annotateActiveSpan({ [ATTR.actionType]: "revert", [ATTR.targetNamespace]: ns, [ATTR.dryRun]: mapped.intent.dryRun });
    return createAndAnswer(ctx, route, mapped.intent, original.spec.target.name);
  }

  async function createAndAnswer(ctx: Ctx, route: ActionPath, intent: ActionIntent, target: string): Promise<Answer> {
    const match = { name: target };
    annotateActiveSpan({ [ATTR.targetName]: match.name });
    const created = await backend.createAction(actionObject(intent, match.name, { ...ctx.meta, namespace: intent.namespace }));
    const name = created.metadata.name;
    annotateActiveSpan({ [ATTR.actionName]: name });
    if (ctx.prefer.respondAsync) {
      return { status: 202, body: { accepted: true, action: name, namespace: intent.namespace, target: match.name, dry_run: intent.dryRun }, headers: { "preference-applied": "respond-async" } };
    }
    // Answered with the outcome, as the seed answers: wait (a watch on the one
    // action, re-armed each slice) until it is executed, blocked, rejected or
    // failed, or waits for a human; with verify, until it is verified.
    const boundSeconds = intent.verify ? (intent.verifyTimeoutSeconds ?? 60) + config.verifyMarginSeconds : config.actionWaitSeconds;
    const waitSeconds = Math.min(boundSeconds, ctx.prefer.waitSeconds ?? boundSeconds);
    const started = Date.now();
    const deadline = started + waitSeconds * 1000;
    let current: RemediationAction = created;
    while (!settled(current) && Date.now() < deadline && !ctx.aborted()) {
      current = await backend.nextAction(intent.namespace, name, current.metadata.resourceVersion, Math.min(config.waitSliceMs, deadline - Date.now()));
    }
    return actionResult(current, route, { waitedSeconds: Math.round((Date.now() - started) / 1000) });
  }

  async function verifyDeployment(ctx: Ctx): Promise<Answer> {
    const v = validate(verifyDeploymentRequest, ctx.body);
    if (!v.ok) throw invalid(v.issues);
    const ns = v.value.namespace ?? config.defaultNamespace;
    await ctx.authorize({ verb: "get", group: "apps", resource: "deployments", namespace: ns });
    const match = resolveTarget(v.value.deployment, await backend.listDeployments(ns));
    if (!match) throw new HttpError(404, "NotFound", `no Deployment in namespace ${ns} matches ${v.value.deployment}`, { field: "deployment" });
    const timeoutMs = (v.value.timeout_seconds ?? 60) * 1000;
    // A faster poll is accepted (seed callers send 0.1) but never reads faster than the floor;
    // reads of one Deployment are shared by all its waiters, and all reads stay within a budget.
    const intervalMs = Math.max(config.verifyMinPollMs, (v.value.poll_interval_seconds ?? 5) * 1000);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = rolloutStatus(await deploymentReads.read(ns, match.name));
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
      await Promise.race([sleep(intervalMs), ctx.closed]);
    }
  }

  // One handler per route of the table (routes.ts); the Records make a missing one a type error.
  const apiHandlers: Record<ApiPath, Handler> = {
    "/v1/signals/anomaly": signalRoute("anomaly"),
    "/v1/signals/rca": signalRoute("rca"),
    "/v1/k8s/scale": (ctx) => parsed(ctx, scaleRequest, (r) => submitAction(ctx, "/v1/k8s/scale", scaleIntent(r, config.defaultNamespace))),
    "/v1/k8s/restart": (ctx) => parsed(ctx, restartRequest, (r) => submitAction(ctx, "/v1/k8s/restart", restartIntent(r, config.defaultNamespace))),
    "/v1/k8s/patch": (ctx) => parsed(ctx, patchRequest, (r) => submitAction(ctx, "/v1/k8s/patch", patchIntent(r, config.defaultNamespace))),
    "/v1/actions/execute": (ctx) => parsed(ctx, executeRequest, (r) => submitAction(ctx, "/v1/actions/execute", executeIntent(r, config.defaultNamespace))),
    "/v1/actions/{name}/revert": revertAction,
    "/v1/verify/deployment": verifyDeployment,
  };

  const plainHandlers: Record<PlainPath, () => Promise<Answer | { raw: string; contentType: string }>> = {
    "/healthz": async () => ({ status: 200, body: { status: "ok", service: "orchestrator" } }),
    "/readyz": async () => (draining ? { status: 503, body: { status: "draining" } } : { status: 200, body: { status: "ok" } }),
    "/metrics": async () => ({ raw: await registry.metrics(), contentType: registry.contentType }),
    "/openapi.json": async () => ({ status: 200, body: openApiDocument() }),
  };

  async function serve(req: IncomingMessage, res: ServerResponse, path: string, traceparent: string): Promise<Answer | { raw: string; contentType: string }> {
    const method = req.method ?? "GET";
    const plain = plainRoute(path);
    if (plain) {
      if (method !== "GET" && method !== "HEAD") throw new HttpError(405, "MethodNotAllowed", `${method} is not allowed on ${path}; use GET`, { headers: { allow: "GET" } });
      return plainHandlers[plain.path as PlainPath]();
    }
    const r = apiRoute(path);
    if (!r) throw new HttpError(404, "NotFound", `no route ${path}`);
    if (method !== r.method) throw new HttpError(405, "MethodNotAllowed", `${method} is not allowed on ${path}; use ${r.method}`, { headers: { allow: r.method } });

    const access = r.access;
    // Everything below up to the body read is decided from the request line and headers:
    // a caller who may not use this route never gets a body byte read.
    const leaveTotal = inFlight.enterTotal();
    if (!leaveTotal) {
      throw new HttpError(503, "ServiceUnavailable", `the shim is handling ${config.maxInFlight} requests, its limit; retry later`, { headers: { "retry-after": "1" } });
    }
    let leaveIdentity: (() => void) | undefined;
    try {
      if (!auth.knownAccepted(req.headers.authorization)) {
        const client = addressKey(req.socket.remoteAddress);
        const t = addressLimiter.take(client);
        if (!t.allowed) {
          throw new HttpError(429, "TooManyRequests", `too many requests with new or invalid tokens from ${client} (${config.unauthenticatedRateLimit.ratePerSecond}/s, burst ${config.unauthenticatedRateLimit.burst}); retry after ${t.retryAfterSeconds} s`, { headers: { "retry-after": String(t.retryAfterSeconds) } });
        }
      }
      const authn = await authenticate(req.headers.authorization);
      const who = authn.user.username;
      const limit = limiter.take(who);
      if (!limit.allowed) {
        throw new HttpError(429, "TooManyRequests", `rate limit of ${config.rateLimit.ratePerSecond} requests/s (burst ${config.rateLimit.burst}) exceeded for ${who}; retry after ${limit.retryAfterSeconds} s`, { headers: { "retry-after": String(limit.retryAfterSeconds) } });
      }
      leaveIdentity = inFlight.enter(who);
      if (!leaveIdentity) {
        throw new HttpError(429, "TooManyRequests", `${who} already has ${config.maxInFlightPerIdentity} requests in flight, the limit per identity; retry when one has been answered`, { headers: { "retry-after": "1" } });
      }
      const hint = namespaceHint(req.url);
      await preauthorize(authn, access, hint);

      const body = await readBody(req);
      let closed = false;
      const closedPromise = new Promise<void>((r) => res.once("close", () => { closed = true; r(); }));
      const ctx: Ctx = {
        body,
        params: routeParams(path),
        meta: { traceparent, requestedBy: who },
        aborted: () => closed,
        closed: closedPromise,
        prefer: parsePrefer(req.headers.prefer),
        async authorize(a) {
          if (hint !== undefined && a.namespace !== hint) {
            throw new HttpError(400, "BadRequest", `namespace ${a.namespace} differs from ?namespace=${hint}, the namespace the request was authorized for`, { field: "namespace" });
          }
          const d = await auth.authorize(authn, a);
          if (!d.allowed) {
            throw new HttpError(403, "Forbidden", `${who} may not ${a.verb} ${a.resource}.${a.group} in namespace ${a.namespace}${d.reason ? ` (${d.reason})` : ""}`, { field: "namespace" });
          }
        },
      };
      return await apiHandlers[r.path as ApiPath](ctx);
    } finally {
      leaveIdentity?.();
      leaveTotal();
    }
  }

  /** ?namespace=<ns> names the namespace a request acts in, so it is authorized before its body is read. */
  function namespaceHint(url: string | undefined): string | undefined {
    const q = new URL(url ?? "/", "http://shim").searchParams.get("namespace");
    if (q === null) return undefined;
    const v = validate(dnsLabel, q, "namespace");
    if (!v.ok) throw invalid(v.issues);
    return q;
  }

  /**
   * May the caller use this route anywhere it could be asking for? The namespace named by
   * ?namespace=, else the default namespace and the caller's own ServiceAccount namespace.
   * The exact namespace from the body is authorized again once the body is read.
   */
  async function preauthorize(authn: Extract<AuthnResult, { ok: true }>, access: Omit<AccessRequest, "namespace">, hint: string | undefined): Promise<void> {
    const candidates = hint !== undefined ? [hint] : [...new Set([config.defaultNamespace, serviceAccountNamespace(authn.user.username)].filter((n): n is string => n !== undefined))];
    // One after the other: most callers are allowed in the first, and each answer is cached.
    for (const namespace of candidates) if ((await auth.authorize(authn, { ...access, namespace })).allowed) return;
    const where = candidates.join(" or ");
    throw new HttpError(403, "Forbidden", `${authn.user.username} may not ${access.verb} ${access.resource}.${access.group} in namespace ${where}${hint === undefined ? "; to act in another namespace, name it with ?namespace=<namespace>" : ""}`, { field: "namespace" });
  }

  async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    try {
      return await readJsonBody(req, { limitBytes: config.bodyLimitBytes, timeoutMs: config.bodyTimeoutMs, maxDepth: MAX_JSON_DEPTH });
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      const error = err.status === 408 ? "RequestTimeout" : err.status === 413 ? "PayloadTooLarge" : "BadRequest";
      throw new HttpError(err.status, error, err.message);
    }
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
    if (err instanceof KubeApiError) {
      if (err.status === 429 || err.status === 0 || err.status === 503) {
        return new HttpError(503, "ServiceUnavailable", `Kubernetes API unavailable while ${what}: ${err.message}`, { headers: { "retry-after": String(err.retryAfterSeconds ?? 1) } });
      }
      return new HttpError(502, "BadGateway", `Kubernetes API error while ${what}: ${err.message}`);
    }
    return new HttpError(500, "InternalError", `unexpected error while ${what}`);
  }

  /** API-server answers that are the caller's doing become 4xx; the rest 502/503. */
  function fromKube(err: unknown): HttpError {
    if (err instanceof HttpError) return err;
    if (err instanceof KubeApiError) {
      if (err.status === 422 || err.status === 400) return new HttpError(400, "BadRequest", `rejected by the API server: ${err.message}`);
      if (err.status === 404) return new HttpError(404, "NotFound", `not found: ${err.message}`, { field: "namespace" });
      if (err.status === 409) return new HttpError(409, "Conflict", err.message);
      // A spent ResourceQuota is the writer's budget, not the shim's permission: back off and retry later.
      if (isQuotaExceeded(err)) return new HttpError(429, "TooManyRequests", `the namespace's ResourceQuota refused the object: ${err.message}`, { headers: { "retry-after": String(QUOTA_RETRY_AFTER_SECONDS) } });
      // A quota the quota controller has not counted yet (new namespace or quota): the API server refuses for a moment.
      if (err.status === 403 && /status unknown for quota/i.test(err.message)) return new HttpError(503, "ServiceUnavailable", `the namespace's ResourceQuota is not counted yet: ${err.message}`, { headers: { "retry-after": "1" } });
      if (err.status === 403) return new HttpError(502, "BadGateway", `the shim itself lacks permission: ${err.message}`);
    }
    return upstream(err, "handling the request");
  }

  const handler = ((req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const path = safePath(req.url);
    const route = routeLabel(path);
    // The caller's trace is continued (W3C traceparent header); the CR then carries this span's context.
    const incoming = typeof req.headers.traceparent === "string" ? req.headers.traceparent : undefined;
    const parent = contextFromTraceparent(incoming) ?? ROOT_CONTEXT;
    // Probes, scrapes and the OpenAPI document are not traced: they would be most of the traces.
    const span = plainRoute(path)
      ? trace.wrapSpanContext(INVALID_SPAN_CONTEXT)
      : tracer.startSpan(`${req.method ?? "GET"} ${route}`, { kind: SpanKind.SERVER, attributes: { "http.request.method": req.method ?? "", "http.route": route } }, parent);
    const traceparent = traceparentOf(span, incoming);
    const spanContext = trace.setSpan(parent, span);
    const finish = (status: number, payload: string, headers: Record<string, string>) => {
      if (!res.headersSent && !res.writableEnded) {
        // A body not (fully) received is never drained: the connection is closed after the answer.
        if (!req.complete) headers = { ...headers, connection: "close" };
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
  // headersTimeout cuts slow headers; requestTimeout is the backstop for a whole request
  // (headers, authentication and body; the body's own deadline normally ends it first).
  // Both are checked every second. An answer may take longer: action routes wait for their outcome, bounded
  // by their own deadline, not by these.
  const server = createServer(
    {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.headersTimeoutMs + config.bodyTimeoutMs + 10_000,
      connectionsCheckingInterval: 1_000,
    },
    handler,
  );
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
