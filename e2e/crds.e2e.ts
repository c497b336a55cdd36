// The generated CRDs on the real API server: Established, documented, and
// validating exactly as the samples say.
import { beforeAll, describe, expect, it } from "vitest";
import { KINDS, GROUP } from "../operator/src/api/v1alpha1/kinds.ts";
import { apiErrorMessage, applySmartops, clients, createSmartops, ensureNamespace, kubectl, type SmartopsObject } from "./support/kube.ts";
import { invalidSamples, validSamples } from "./support/samples.ts";

const c = clients();
const NS = "smartops-dev";

beforeAll(async () => {
  await ensureNamespace(c, NS);
});

describe("CustomResourceDefinitions", () => {
  it.each(KINDS.map((k) => [k.kind, k] as const))("%s is installed and Established", async (_kind, def) => {
    const crd = await c.ext.readCustomResourceDefinition({ name: `${def.plural}.${GROUP}` });
    const established = crd.status?.conditions?.find((cond) => cond.type === "Established");
    expect(established?.status).toBe("True");
    expect(crd.spec.versions[0]?.subresources?.status).toBeDefined();
    expect(crd.spec.versions[0]?.additionalPrinterColumns?.map((col) => col.name)).toContain("Age");
  });

  it("shows field descriptions through kubectl explain", () => {
    const out = kubectl(["explain", "--api-version=smartops.io/v1alpha1", "remediationactions.spec.verifyTimeoutSeconds"]);
    expect(out).toContain("How long one verification attempt may take.");
    expect(kubectl(["explain", "--api-version=smartops.io/v1alpha1", "guardrailpolicies.spec.paused"])).toContain("Kill switch");
  });
});

describe("samples", () => {
  it.each(validSamples().map((s) => [s.file, s] as const))("accepts %s by server-side apply", async (_file, sample) => {
    const applied = await applySmartops(c, sample.object as SmartopsObject);
    expect(applied.metadata.name).toBe(sample.object.metadata.name);
    expect(applied.metadata.uid).toBeTruthy();
  });

  it.each(invalidSamples().map((s) => [s.file, s] as const))("rejects %s naming its field", async (_file, sample) => {
    const created = await createSmartops(c, sample.object as SmartopsObject).then(() => undefined, apiErrorMessage);
    expect(created, `${sample.file} was created but must be rejected: ${sample.why}`).toBeDefined();
    expect(created?.code).toBeGreaterThanOrEqual(400);
    expect(created?.code).toBeLessThan(500);
    expect(created?.message).toContain(sample.field);

    const applied = await applySmartops(c, sample.object as SmartopsObject).then(() => undefined, apiErrorMessage);
    expect(applied, `${sample.file} was applied but must be rejected: ${sample.why}`).toBeDefined();
    expect(applied?.message).toContain(sample.field);
    // Server-side apply answers 500 for undeclared fields (kubernetes/kubernetes#139253), and
    // for a value of the wrong type (an object where a patch's JSON text belongs): both are
    // errors of its typed conversion ("failed to create typed patch object"). Create answers 422.
    const upstreamSsaBug = applied?.code === 500 &&
      (applied.message.includes("field not declared in schema") || /failed to create typed patch object .*: expected string, got/.test(applied.message));
    if (!upstreamSsaBug) expect(applied?.code).toBeLessThan(500);
  });
});

describe("defaults and immutability", () => {
  const action = (name: string, extra: Record<string, unknown> = {}): SmartopsObject => ({
    apiVersion: "smartops.io/v1alpha1",
    kind: "RemediationAction",
    metadata: { name, namespace: NS },
    spec: { type: "restart", target: { name: "erp-simulator" }, ...extra },
  });

  it("fills the seed defaults server-side", async () => {
    const applied = (await applySmartops(c, action("defaults-restart"))) as SmartopsObject & { spec: Record<string, unknown> };
    expect(applied.spec).toMatchObject({ dryRun: false, verify: true, verifyTimeoutSeconds: 60, source: "manual", target: { kind: "Deployment" } });
    const policy = (await applySmartops(c, {
      apiVersion: "smartops.io/v1alpha1",
      kind: "GuardrailPolicy",
      metadata: { name: "empty", namespace: NS },
      spec: {},
    })) as SmartopsObject & { spec: Record<string, unknown> };
    expect(policy.spec).toMatchObject({
      paused: false,
      replicas: { min: 1, max: 8, maxStep: 2 },
      cooldownSeconds: { scale: 300, restart: 300, patch: 300, deletePod: 300 },
      rateLimits: { maxActionsPerHour: 6, maxScaleIncreasePer15Minutes: 3 },
    });
  });

  it("refuses to change an action's spec after creation", async () => {
    await applySmartops(c, action("immutable-restart", { reason: "first" }));
    const err = await applySmartops(c, action("immutable-restart", { reason: "rewritten" })).then(() => undefined, apiErrorMessage);
    expect(err?.code).toBe(422);
    expect(err?.message).toContain("spec is immutable except for approval");
  });

  it("accepts one approval decision and refuses to change it", async () => {
    // The approval admission policy (config/admission) may be installed: approve as ourselves.
    const me = kubectl(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]).trim();
    await applySmartops(c, action("approve-once"));
    const approved = await applySmartops(c, action("approve-once", { approval: { decision: "Approved", approvedBy: me } }));
    expect((approved.spec as { approval?: { decision: string } }).approval?.decision).toBe("Approved");
    const err = await applySmartops(c, action("approve-once", { approval: { decision: "Rejected", approvedBy: me } })).then(() => undefined, apiErrorMessage);
    expect(err?.message).toContain("an approval decision cannot be changed once made");
  });

  it("refuses to rewrite a signal", async () => {
    const signal = validSamples().find((s) => s.object.kind === "AnomalySignal")!.object as SmartopsObject;
    await applySmartops(c, signal);
    const err = await applySmartops(c, { ...signal, spec: { ...(signal.spec as object), score: 0.1 } }).then(() => undefined, apiErrorMessage);
    expect(err?.message).toContain("spec is immutable");
  });
});
