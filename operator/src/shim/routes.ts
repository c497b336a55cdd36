// Every route the shim serves, in one table: the server dispatches from it (the
// method, the permission checked before the body is read, whether the request is
// traced), the request metrics take their route label from it, and the OpenAPI
// document is made from it. A handler exists for each path by type: the server's
// handler map is a Record over RoutePath.
import type { AccessRequest } from "./backend.ts";

interface RouteBase {
  path: string;
  summary: string;
}

/** An API route: POST with a JSON body, authenticated, authorized, traced. */
export interface ApiRoute extends RouteBase {
  method: "POST";
  /** The permission a caller needs, in the namespace it acts in; checked from the headers before the body is read. */
  access: Omit<AccessRequest, "namespace">;
  /** Answered with the action's outcome (waits; takes the Prefer header). */
  action: boolean;
}

/** A probe, the scrape endpoint or the API document: GET, unauthenticated, untraced. */
export interface PlainRoute extends RouteBase {
  method: "GET";
}

const create = (resource: string): ApiRoute["access"] => ({ verb: "create", group: "smartops.io", resource });

export const API_ROUTES = [
  { path: "/v1/signals/anomaly", method: "POST", summary: "Create an AnomalySignal (idempotent by windowId)", access: create("anomalysignals"), action: false },
  { path: "/v1/signals/rca", method: "POST", summary: "Create an RcaSignal (idempotent by windowId)", access: create("rcasignals"), action: false },
  { path: "/v1/alertmanager", method: "POST", summary: "Alertmanager webhook receiver: each alert becomes an AnomalySignal (idempotent by fingerprint and startsAt)", access: create("anomalysignals"), action: false },
  { path: "/v1/k8s/scale", method: "POST", summary: "Scale a Deployment through a RemediationAction", access: create("remediationactions"), action: true },
  { path: "/v1/k8s/restart", method: "POST", summary: "Rollout-restart a Deployment through a RemediationAction", access: create("remediationactions"), action: true },
  { path: "/v1/k8s/patch", method: "POST", summary: "Patch a Deployment through a RemediationAction", access: create("remediationactions"), action: true },
  { path: "/v1/actions/execute", method: "POST", summary: "Execute a seed ActionRequest as a RemediationAction", access: create("remediationactions"), action: true },
  { path: "/v1/actions/{name}/revert", method: "POST", summary: "Revert an earlier action: a RemediationAction of type revert", access: create("remediationactions"), action: true },
  { path: "/v1/verify/deployment", method: "POST", summary: "Wait for a Deployment's rollout", access: { verb: "get", group: "apps", resource: "deployments" }, action: false },
] as const satisfies readonly ApiRoute[];

export const PLAIN_ROUTES = [
  { path: "/healthz", method: "GET", summary: "Liveness" },
  { path: "/readyz", method: "GET", summary: "Readiness" },
  { path: "/metrics", method: "GET", summary: "Prometheus metrics" },
  { path: "/openapi.json", method: "GET", summary: "This document" },
] as const satisfies readonly PlainRoute[];

export type ApiPath = (typeof API_ROUTES)[number]["path"];
export type PlainPath = (typeof PLAIN_ROUTES)[number]["path"];
export type ActionPath = Extract<(typeof API_ROUTES)[number], { action: true }>["path"];

const API = new Map<string, ApiRoute>(API_ROUTES.filter((r) => !r.path.includes("{")).map((r) => [r.path, r]));
const PLAIN = new Map<string, PlainRoute>(PLAIN_ROUTES.map((r) => [r.path, r]));
/** Routes with a {parameter} segment: it matches one non-empty segment (no "/"); its value is checked by the handler. */
const TEMPLATES = API_ROUTES.filter((r) => r.path.includes("{")).map((r) => ({
  route: r as ApiRoute,
  names: [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!),
  pattern: new RegExp(`^${r.path.replace(/\{\w+\}/g, "([^/]+)")}$`),
}));

export function apiRoute(path: string): ApiRoute | undefined {
  return API.get(path) ?? TEMPLATES.find((t) => t.pattern.test(path))?.route;
}

/** A percent-encoded segment decoded; left as sent when it does not decode (the handler's validation refuses it). */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The {parameter} values of `path` for its route (empty for a route without parameters). */
export function routeParams(path: string): Record<string, string> {
  for (const t of TEMPLATES) {
    const m = t.pattern.exec(path);
    if (m) return Object.fromEntries(t.names.map((n, i) => [n, decoded(m[i + 1]!)]));
  }
  return {};
}

export function plainRoute(path: string): PlainRoute | undefined {
  return PLAIN.get(path);
}

/** The bounded route label of metrics and spans: a known path, or "unmatched". */
export function routeLabel(path: string): string {
  if (API.has(path) || PLAIN.has(path)) return path;
  return TEMPLATES.find((t) => t.pattern.test(path))?.route.path ?? "unmatched";
}
