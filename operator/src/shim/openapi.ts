// GET /openapi.json: the request bodies straight from the zod schemas the
// handlers validate with, so the document cannot drift from the behaviour.
import { z } from "zod";
import { anomalySignalSpec } from "../api/v1alpha1/anomaly-signal.ts";
import { dnsLabel } from "../api/v1alpha1/meta.ts";
import { rcaSignalSpec } from "../api/v1alpha1/rca-signal.ts";
import { alertmanagerPayload } from "./alertmanager.ts";
import { MAX_JSON_DEPTH } from "./body.ts";
import { BLOCK_STATUS } from "./results.ts";
import { API_ROUTES, type ApiPath, PLAIN_ROUTES, type PlainPath } from "./routes.ts";
import { EXECUTE_SECTIONS, executeRequest, patchRequest, restartRequest, revertRequest, scaleRequest, verifyDeploymentRequest } from "./requests.ts";

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
  properties: {
    error: { type: "string", description: "BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, Conflict, RequestTimeout, PayloadTooLarge, TooManyRequests, BadGateway, ServiceUnavailable, …" },
    message: { type: "string" },
    field: { type: "string", description: "The request field at fault, when one is." },
    issues: { type: "array", description: "Validation errors, one per bad field (400 only).", items: { type: "object", properties: { field: { type: "string" }, message: { type: "string" } } } },
  },
};

const signalAnswer: Json = {
  type: "object",
  required: ["accepted", "kind", "windowId", "name", "namespace"],
  properties: { accepted: { const: true }, kind: { enum: ["anomaly", "rca"] }, windowId: { type: "string" }, name: { type: "string" }, namespace: { type: "string" }, duplicate: { const: true, description: "Present when the same windowId and body were already accepted." } },
};

const alertmanagerAnswer: Json = {
  type: "object",
  required: ["accepted", "created", "existing", "ignored", "alerts"],
  properties: {
    accepted: { const: true },
    created: { type: "integer" },
    existing: { type: "integer" },
    ignored: { type: "integer" },
    alerts: {
      type: "array",
      description: "Per alert, in the payload's order: what became of it.",
      items: {
        type: "object",
        required: ["index", "fingerprint", "status", "result"],
        properties: {
          index: { type: "integer" },
          fingerprint: { type: "string" },
          status: { enum: ["firing", "resolved"] },
          result: { enum: ["created", "existing", "ignored"] },
          reason: { enum: ["OwnNotification", "IgnoredByRule"], description: "Why an alert was ignored." },
          message: { type: "string" },
          windowId: { type: "string" },
          name: { type: "string", description: "The AnomalySignal." },
          namespace: { type: "string" },
          isAnomaly: { type: "boolean", description: "false for a resolved alert: a normal window." },
        },
      },
    },
  },
};

const nullable = (t: string): Json => ({ type: [t, "null"] });
const observed: Json = {
  type: "object",
  properties: { updated_replicas: nullable("integer"), ready_replicas: nullable("integer"), available_replicas: nullable("integer"), desired_replicas: nullable("integer") },
};

/** 202 with Prefer: respond-async: the action was created; nothing is known of its outcome yet. */
const actionAccepted: Json = {
  type: "object",
  required: ["accepted", "action", "namespace", "target", "dry_run"],
  properties: {
    accepted: { const: true },
    action: { type: "string", description: "Name of the RemediationAction." },
    namespace: { type: "string" },
    target: { type: "string", description: "The Deployment the name resolved to." },
    dry_run: { type: "boolean" },
  },
};

/** The seed's ActionResult plus the action's name, phase and reason: the answer for every outcome. */
const actionResult: Json = {
  type: "object",
  required: ["success", "message", "dry_run", "action", "namespace", "phase", "reason", "details", "verification", "warnings"],
  properties: {
    success: { type: "boolean", description: "true when the action Succeeded; false otherwise (Failed, Expired, Blocked, Rejected, or not finished yet: see phase)." },
    message: { type: "string" },
    dry_run: { type: "boolean" },
    action: { type: "string" },
    namespace: { type: "string" },
    phase: { enum: ["Succeeded", "Failed", "Expired", "Blocked", "Rejected", "PendingApproval", "Pending", "Executing", "Verifying"] },
    reason: nullable("string"),
    details: {
      type: "object",
      properties: {
        runner: {
          type: "object",
          properties: {
            status: { type: "string", description: "success, failed, expired, blocked, rejected; pending_approval, pending, executing or verifying in a 202" },
            attempts: { type: "integer" },
            duration_seconds: nullable("number"),
            result: { type: "object", description: "name, namespace, replicas (scale), dry_run, and the recorded intent" },
            message: nullable("string"),
            error: nullable("string"),
          },
        },
      },
    },
    verification: {
      type: ["object", "null"],
      properties: { status: { type: "string" }, message: nullable("string"), attempts: nullable("integer"), observed },
    },
    warnings: { type: ["array", "null"], items: { type: "string" } },
  },
};

/** 202 without Prefer: respond-async: the ActionResult of an action waiting for approval, or still moving when the wait ended. */
const actionPending: Json = {
  ...actionResult,
  required: ["accepted", "target", ...(actionResult.required as string[])],
  properties: { ...(actionResult.properties as Json), accepted: { const: true }, target: { type: "string" }, success: { const: false }, phase: { enum: ["PendingApproval", "Pending", "Executing", "Verifying"] } },
};

/** 400/403/404/409 for an action a guardrail blocked or a human rejected: an error body that also carries the ActionResult. */
const guardrailAnswer: Json = {
  description: "GuardrailBlocked (reason says which guardrail; field names replicas for replica guardrails) or ActionRejected.",
  allOf: [errorBody, { ...actionResult, required: ["error", "reason", "phase"], properties: { ...(actionResult.properties as Json), error: { enum: ["GuardrailBlocked", "ActionRejected"] } } }],
};

const verifyAnswer: Json = {
  type: "object",
  required: ["status", "message", "deployment", "namespace", "observed"],
  properties: {
    status: { enum: ["SUCCESS", "TIMED_OUT", "FAILED"] },
    message: { type: "string" },
    deployment: { type: "string" },
    namespace: { type: "string" },
    observed,
  },
};

const retryAfter = { "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "integer", minimum: 1 } } };
const json = (schema: Json) => ({ "application/json": { schema } });

interface Responses {
  [code: string]: { description: string; schema: Json; retry?: boolean };
}

function post(summary: string, description: string, body: Json, responses: Responses, parameters: Json[] = [namespaceParameter]): Json {
  return {
    post: {
      summary,
      description,
      security: [{ bearer: [] }],
      parameters,
      requestBody: { required: true, content: json(body) },
      responses: Object.fromEntries(
        Object.entries(responses).map(([code, r]) => [code, { description: r.description, content: json(r.schema), ...(r.retry ? { headers: retryAfter } : {}) }]),
      ),
    },
  };
}

const namespaceParameter: Json = {
  name: "namespace",
  in: "query",
  required: false,
  description: "The namespace the request acts in, so the caller's permission is checked before the body is read. Needed only when the caller's permission is neither in the shim's default namespace nor in its own ServiceAccount's namespace; the body's namespace (or the default) must then equal it (400 otherwise).",
  schema: { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", maxLength: 63 },
};

const preferParameter: Json = {
  name: "Prefer",
  in: "header",
  required: false,
  description: "RFC 7240. respond-async: answer 202 as soon as the action exists (Preference-Applied: respond-async), without waiting for the outcome. wait=<seconds>: wait at most this long for the outcome (never longer than the shim's own bound).",
  schema: { type: "string", examples: ["respond-async", "wait=10"] },
};
const actionParameters = [namespaceParameter, preferParameter];
const nameParameter = { name: "name", in: "path", required: true, description: "Name of the RemediationAction to revert.", schema: { type: "string", maxLength: 253 } };

const err = (description: string, retry = false) => ({ description, schema: errorBody, retry });
const common: Responses = {
  "400": err(`Invalid body: malformed JSON, nested deeper than ${MAX_JSON_DEPTH} levels, unknown field or invalid value (field names the first bad field), or a namespace other than ?namespace=`),
  "401": err("No token, or a token the API server rejects for the shim's audience"),
  "403": err("The caller may not do this in that namespace (checked before the body is read, and again for the body's namespace)"),
  "405": err("Wrong method (Allow header)"),
  "408": err("The body did not arrive within the body deadline (the connection is closed)"),
  "413": err("Body over the limit (the connection is closed)"),
  "429": err("Rate limited, per identity or per client address before authentication, or too many requests of this identity in flight", true),
  "502": err("Kubernetes API error"),
  "503": err("Kubernetes API unavailable, or the shim at its limit of requests in flight", true),
};
const orGuardrail = (description: string): { description: string; schema: Json } => ({ description, schema: { oneOf: [errorBody, guardrailAnswer] } });
/** The block reasons answered with a status code, from the same table the handler uses. */
const blockedWith = (code: number) => Object.entries(BLOCK_STATUS).filter(([, c]) => c === code).map(([r]) => r).join(", ");
const actionResponses: Responses = {
  ...common,
  "200": { description: "The outcome: Succeeded (success:true); Failed or Expired (success:false: the request was valid, the outcome is the body)", schema: actionResult },
  "202": {
    description: "With Prefer: respond-async, at once (the accepted answer). Otherwise the ActionResult of an action waiting for a human's approval, or still Pending/Executing/Verifying when the wait ended (the shim's action wait bound without verify; verify_timeout_seconds + margin with verify; shorter with Prefer: wait=N)",
    schema: { oneOf: [actionAccepted, actionPending] },
  },
  "400": orGuardrail(`${common["400"]!.description}; or blocked by a guardrail the same request will always meet: ${blockedWith(400)} (field names replicas, patch or delete_pod.pod_name)`),
  "403": orGuardrail(`${common["403"]!.description}; or blocked by policy: ${blockedWith(403)}; or rejected by a human (ActionRejected)`),
  "404": orGuardrail(`No Deployment matches the name (field names it); or blocked: ${blockedWith(404)}`),
  "409": orGuardrail(`Blocked by the cluster's state, the same request may pass later: ${blockedWith(409)}`),
};
const signalResponses: Responses = {
  ...common,
  "200": { description: "Accepted, or the same windowId and body again (duplicate:true)", schema: signalAnswer },
  "409": err("The windowId was already submitted with a different body (field: windowId)"),
};

const PATCH_FORMS = "patch is one of: a list of RFC 6902 operations (a JSON patch); one object with a string op and a path (one RFC 6902 operation); any other object (an RFC 7386 merge patch). An object whose only key is patch, holding an object or a list, is unwrapped first ({patch: X} means X).";

/** The execute body with its cross-field rules, in JSON Schema (if/then/else) and in words. */
function executeBody(): Json {
  const s = schema(executeRequest);
  const rules = EXECUTE_SECTIONS.map((r) => r.requires !== undefined ? `type ${r.type} requires ${r.requires}; ${r.section} is only allowed with type ${r.type}` : `${r.section} is only allowed with type ${r.type}`);
  return {
    ...s,
    description: `Cross-field rules: ${rules.join("; ")}. verify_timeout_seconds applies with verify:true. ${PATCH_FORMS}`,
    "x-cross-field-rules": rules,
    allOf: EXECUTE_SECTIONS.map((r) => ({
      if: { properties: { type: { const: r.type } }, required: ["type"] },
      ...(r.requires !== undefined ? { then: { required: [r.section] } } : {}),
      else: { not: { required: [r.section] } },
    })),
  };
}

/** What the table (routes.ts) does not say of each API route: its body and answers. */
const API_DOCS: Record<ApiPath, { description: string; body: () => Json; responses: Responses }> = {
  "/v1/signals/anomaly": { description: "The same windowId with the same body is a duplicate (200); with another body a conflict (409).", body: () => signalBody(anomalySignalSpec), responses: signalResponses },
  "/v1/signals/rca": { description: "The same windowId with the same body is a duplicate (200); with another body a conflict (409).", body: () => signalBody(rcaSignalSpec), responses: signalResponses },
  "/v1/alertmanager": {
    description:
      "Alertmanager's webhook_config target (payload version 4). Each firing alert becomes an AnomalySignal (isAnomaly true), each resolved alert a normal window (isAnomaly false), in the namespace and for the service its labels name; type and score from the shim's alert rules. windowId am-<fingerprint>-<startsAt ms>[-resolved]: a re-sent alert is answered existing. Alerts labelled smartops_origin=smartops-operator (the operator's own notifications) are ignored. A bad alert or a namespace the caller may not create anomalysignals in is a 4xx naming the field (alerts[i].labels.namespace) and nothing of the payload is created. Unknown fields are ignored.",
    body: () => schema(alertmanagerPayload),
    responses: { ...common, "200": { description: "Every alert handled: created, existing or ignored (with the reason)", schema: alertmanagerAnswer } },
  },
  "/v1/k8s/scale": { description: "Answers with the outcome (see 200/202/4xx). verify_timeout_seconds applies with verify:true.", body: () => schema(scaleRequest), responses: actionResponses },
  "/v1/k8s/restart": { description: "Answers with the outcome (see 200/202/4xx). verify_timeout_seconds applies with verify:true.", body: () => schema(restartRequest), responses: actionResponses },
  "/v1/k8s/patch": { description: `Answers with the outcome (see 200/202/4xx). verify_timeout_seconds applies with verify:true. ${PATCH_FORMS}`, body: () => schema(patchRequest), responses: actionResponses },
  "/v1/actions/execute": { description: "Answers with the outcome (see 200/202/4xx). See the request body's cross-field rules.", body: executeBody, responses: actionResponses },
  "/v1/actions/{name}/revert": {
    description: "Creates a RemediationAction of type revert undoing the action {name} (in the body's namespace), on that action's target, and answers with its outcome. Refused with 400 (NotReversible: a restart, delete-pod, dry run or revert, or no reversible pre-state; NotExecuted; RevertTargetMismatch), 404 (no such action) or 409 (AlreadyReverted; TargetChangedSinceAction, naming the field and the field manager that changed it). No cooldown applies; approval.revert may make it wait (202 PendingApproval).",
    body: () => schema(revertRequest),
    responses: { ...actionResponses, "404": err("No RemediationAction {name} in the namespace (field: name), or its Deployment is gone") },
  },
  "/v1/verify/deployment": {
    description: "Reads the Deployment at most once a second however small poll_interval_seconds is (reads are shared by all callers waiting on the same Deployment); answers TIMED_OUT when the next read would fall after timeout_seconds.",
    body: () => schema(verifyDeploymentRequest),
    responses: { ...common, "200": { description: "The rollout's state: SUCCESS, FAILED, or TIMED_OUT", schema: verifyAnswer }, "404": err("No Deployment matches the name (field: deployment)") },
  },
};

const PLAIN_DOCS: Record<PlainPath, Json> = {
  "/healthz": { "200": { description: "{status: ok, service: orchestrator}" } },
  "/readyz": { "200": { description: "ready" }, "503": { description: "draining" } },
  "/metrics": { "200": { description: "text exposition" } },
  "/openapi.json": { "200": { description: "OpenAPI 3.1" } },
};

let cached: Json | undefined;

export function openApiDocument(): Json {
  cached ??= {
    openapi: "3.1.0",
    info: { title: "SmartOps shim (seed orchestrator API)", version: "v1" },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "A Kubernetes token whose audience is the shim's (default smartops-shim)." } } },
    paths: Object.fromEntries([
      ...API_ROUTES.map((r) => {
        const d = API_DOCS[r.path];
        const params = r.action ? actionParameters : [namespaceParameter];
        return [r.path, post(r.summary, d.description, d.body(), d.responses, r.path.includes("{name}") ? [nameParameter, ...params] : params)];
      }),
      ...PLAIN_ROUTES.map((r) => [r.path, { get: { summary: r.summary, responses: PLAIN_DOCS[r.path] } }]),
    ]),
  };
  return cached;
}
