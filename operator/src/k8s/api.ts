// KubeApi: the Kubernetes API as controllers, the runtime (informers, leader
// election) and the shim see it — get, list, watch, create, replace, patch of a
// resource — so each can be unit-tested against a fake (k8s/testing/fake-api.ts)
// and run against the API server through the one pooled transport unchanged.
//
// Every call is counted and timed under its operation (get_deployment,
// status_remediationaction, dryrun_patch_deployment, create_pod_eviction …),
// becomes a child span inside a recording span (a reconcile, a shim request), and
// fails with KubeApiError. Writes carry the component's field manager and
// fieldValidation=Strict, so a field the API does not know is refused, never
// silently dropped.
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { k8sApiCallsTotal, k8sApiErrorsTotal, k8sApiLatency } from "../telemetry/metrics.ts";
import { tracer } from "../telemetry/tracing.ts";
import { KubeApiError } from "./errors.ts";
import { collectionPath, objectPath, type Resource } from "./resources.ts";
import type { KubeTransport, Query } from "./transport.ts";

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface WriteOptions extends CallOptions {
  /** Server-side dry run: validated and admitted, not stored. */
  dryRun?: boolean;
  /** A subresource: "status" on replace; "eviction" on create (of the pod the body names). */
  subresource?: string;
}

export type PatchType = "merge" | "strategic" | "json";

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface WatchQuery {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export interface ObjectList<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface WatchEvent<T> {
  type: string;
  /** The object; a Status for ERROR events. */
  object: T;
}

export interface WatchStream<T> {
  /** The events in order; throws on a malformed line, a broken connection or abort. */
  events(): AsyncIterable<WatchEvent<T>>;
  close(): void;
}

export interface KubeApi {
  get<T>(r: Resource, namespace: string | undefined, name: string, o?: CallOptions): Promise<T>;
  list<T>(r: Resource, namespace: string | undefined, query?: ListQuery, o?: CallOptions): Promise<ObjectList<T>>;
  watch<T>(r: Resource, namespace: string | undefined, query: WatchQuery, o?: CallOptions): Promise<WatchStream<T>>;
  create<T>(r: Resource, namespace: string | undefined, body: unknown, o?: WriteOptions): Promise<T>;
  replace<T>(r: Resource, namespace: string | undefined, name: string, body: unknown, o?: WriteOptions): Promise<T>;
  patch<T>(r: Resource, namespace: string | undefined, name: string, type: PatchType, body: unknown, o?: WriteOptions): Promise<T>;
  /** Deletes the object only while it still has this uid and resourceVersion (409 Conflict otherwise; 404 when gone). */
  delete(r: Resource, namespace: string | undefined, name: string, preconditions: Preconditions, o?: CallOptions): Promise<void>;
}

/** DeleteOptions.preconditions: the object as it was read, so a changed or re-created one is not deleted. */
export interface Preconditions {
  uid: string;
  resourceVersion: string;
}

const CONTENT_TYPE: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
};

export interface HttpKubeApiOptions {
  fieldManager: string;
  /** Prefixed to every operation name ("shim_" for the shim). */
  operationPrefix?: string;
}

/** The KubeApi over the process's one transport. */
export function httpKubeApi(transport: KubeTransport, options: HttpKubeApiOptions): KubeApi {
  const prefix = options.operationPrefix ?? "";
  const write = (o: WriteOptions | undefined): Query => ({ fieldManager: options.fieldManager, fieldValidation: "Strict", ...(o?.dryRun ? { dryRun: "All" } : {}) });
  const op = (verb: string, r: Resource, o?: WriteOptions) =>
    `${prefix}${o?.dryRun ? "dryrun_" : ""}${o?.subresource === "status" ? "status" : verb}_${r.singular}${o?.subresource && o.subresource !== "status" ? `_${o.subresource}` : ""}`;
  return {
    get: (r, ns, name, o) => measured(op("get", r), () => transport.json(op("get", r), { method: "GET", path: objectPath(r, ns, name), ...o })),
    list: (r, ns, query, o) => measured(op("list", r), () => transport.json(op("list", r), { method: "GET", path: collectionPath(r, ns), query: { ...query }, ...o })),
    watch: (r, ns, query, o) => measured(op("watch", r), async () => {
      const stream = await transport.stream(op("watch", r), { method: "GET", path: collectionPath(r, ns), query: { watch: 1, ...query }, ...o });
      return { events: () => parseEvents(op("watch", r), stream.lines()), close: () => stream.close() };
    }),
    create: (r, ns, body, o) => {
      const name = o?.subresource ? (body as { metadata?: { name?: string } }).metadata?.name ?? "" : undefined;
      const path = name === undefined ? collectionPath(r, ns) : objectPath(r, ns, name, o?.subresource);
      return measured(op("create", r, o), () => transport.json(op("create", r, o), { method: "POST", path, query: write(o), body, ...call(o) }));
    },
    replace: (r, ns, name, body, o) =>
      measured(op("update", r, o), () => transport.json(op("update", r, o), { method: "PUT", path: objectPath(r, ns, name, o?.subresource), query: write(o), body, ...call(o) })),
    patch: (r, ns, name, type, body, o) =>
      measured(op("patch", r, o), () =>
        transport.json(op("patch", r, o), { method: "PATCH", path: objectPath(r, ns, name, o?.subresource), query: write(o), body, contentType: CONTENT_TYPE[type], ...call(o) })),
    delete: async (r, ns, name, preconditions, o) => {
      const body = { apiVersion: "v1", kind: "DeleteOptions", preconditions, propagationPolicy: "Background" };
      await measured(op("delete", r), () => transport.json(op("delete", r), { method: "DELETE", path: objectPath(r, ns, name), body, ...call(o) }));
    },
  };
}

const call = (o: CallOptions | undefined): CallOptions => ({ signal: o?.signal, timeoutMs: o?.timeoutMs });

async function* parseEvents<T>(operation: string, lines: AsyncIterable<string>): AsyncGenerator<WatchEvent<T>> {
  for await (const line of lines) {
    let event: { type?: unknown; object?: unknown };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      throw new Error(`${operation}: malformed event line: ${line.slice(0, 200)}`);
    }
    if (typeof event?.type !== "string") throw new Error(`${operation}: an event without a type: ${line.slice(0, 200)}`);
    yield { type: event.type, object: event.object as T };
  }
}

/**
 * Runs one API call with metrics. Inside a recording span the call is a child
 * span; background calls (informers, lease renewals, events outside a reconcile)
 * start no trace of their own.
 */
export function measured<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  if (!trace.getActiveSpan()?.isRecording()) return counted(operation, fn);
  return tracer().startActiveSpan(`k8s ${operation}`, { kind: SpanKind.CLIENT, attributes: { "k8s.operation": operation } }, async (span) => {
    try {
      return await counted(operation, fn);
    } catch (err) {
      if (err instanceof KubeApiError) span.setAttribute("http.response.status_code", err.status);
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

async function counted<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  const end = k8sApiLatency.startTimer({ operation });
  k8sApiCallsTotal.inc({ operation });
  try {
    return await fn();
  } catch (err) {
    const status = err instanceof KubeApiError ? err.status : 0;
    k8sApiErrorsTotal.inc({ operation, code: String(status) });
    throw err;
  } finally {
    end();
  }
}
