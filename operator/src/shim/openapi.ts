// GET /openapi.json: the request bodies straight from the zod schemas the
// handlers validate with, so the document cannot drift from the behaviour.
import { z } from "zod";
import { anomalySignalSpec } from "../api/v1alpha1/anomaly-signal.ts";
import { dnsLabel } from "../api/v1alpha1/meta.ts";
import { rcaSignalSpec } from "../api/v1alpha1/rca-signal.ts";
import { executeRequest, patchRequest, restartRequest, scaleRequest, verifyDeploymentRequest } from "./requests.ts";

type Json = Record<string, unknown>;

function schema(s: z.ZodType): Json {
  const out = z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Json;
  delete out.$schema;
  return out;
}

/** A signal body is the CRD spec plus an optional namespace. */
function signalBody(spec: z.ZodType): Json {
  const s = schema(spec);
  const props = { ...(s.properties as Json), namespace: schema(dnsLabel.describe("Namespace of the signal; the shim's default namespace when absent.")) };
  return { ...s, properties: props };
}

const errorBody: Json = {
  type: "object",
  required: ["error", "message"],
  properties: { error: { type: "string" }, message: { type: "string" }, field: { type: "string", description: "The request field at fault, when one is." } },
};

const signalAnswer: Json = {
  type: "object",
  properties: { accepted: { type: "boolean" }, kind: { enum: ["anomaly", "rca"] }, windowId: { type: "string" }, name: { type: "string" }, namespace: { type: "string" }, duplicate: { type: "boolean" } },
};

const actionAnswer: Json = {
  type: "object",
  description: "202 {accepted, action, namespace} without verify; with verify the seed's ActionResult {success, message, dry_run, details.runner, verification, warnings}.",
};

function post(summary: string, body: Json, ok: Json, codes: Record<string, string>): Json {
  const errors = Object.fromEntries(Object.entries(codes).map(([code, description]) => [code, { description, content: { "application/json": { schema: errorBody } } }]));
  return {
    post: {
      summary,
      security: [{ bearer: [] }],
      requestBody: { required: true, content: { "application/json": { schema: body } } },
      responses: { "200": { description: "OK", content: { "application/json": { schema: ok } } }, ...errors },
    },
  };
}

const common = { "400": "Invalid body (field names the first bad field)", "401": "No or invalid token", "403": "Not allowed", "405": "Wrong method", "413": "Body over the limit", "429": "Rate limited (Retry-After)", "502": "Kubernetes API error", "503": "Kubernetes API unavailable" };
const actionCodes = { ...common, "202": "Accepted (no verify, still running, or waiting for approval)", "404": "No matching Deployment", "409": "Blocked by cooldown or rate guardrail" };

let cached: Json | undefined;

export function openApiDocument(): Json {
  cached ??= {
    openapi: "3.1.0",
    info: { title: "SmartOps shim (seed orchestrator API)", version: "v1" },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "A Kubernetes token whose audience is the shim's (default smartops-shim)." } } },
    paths: {
      "/v1/signals/anomaly": post("Create an AnomalySignal (idempotent by windowId)", signalBody(anomalySignalSpec), signalAnswer, { ...common, "409": "Same windowId, different body" }),
      "/v1/signals/rca": post("Create an RcaSignal (idempotent by windowId)", signalBody(rcaSignalSpec), signalAnswer, { ...common, "409": "Same windowId, different body" }),
      "/v1/k8s/scale": post("Scale a Deployment through a RemediationAction", schema(scaleRequest), actionAnswer, actionCodes),
      "/v1/k8s/restart": post("Rollout-restart a Deployment through a RemediationAction", schema(restartRequest), actionAnswer, actionCodes),
      "/v1/k8s/patch": post("Patch a Deployment through a RemediationAction", schema(patchRequest), actionAnswer, actionCodes),
      "/v1/actions/execute": post("Execute a seed ActionRequest as a RemediationAction", schema(executeRequest), actionAnswer, actionCodes),
      "/v1/verify/deployment": post("Wait for a Deployment's rollout", schema(verifyDeploymentRequest), { type: "object" }, { ...common, "404": "No matching Deployment" }),
      "/healthz": { get: { summary: "Liveness", responses: { "200": { description: "{status: ok, service: orchestrator}" } } } },
      "/readyz": { get: { summary: "Readiness", responses: { "200": { description: "ready" }, "503": { description: "draining" } } } },
      "/metrics": { get: { summary: "Prometheus metrics", responses: { "200": { description: "text exposition" } } } },
    },
  };
  return cached;
}
