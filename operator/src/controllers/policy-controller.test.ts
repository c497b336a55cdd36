// The policy reconciler against a scripted API server: the Ready condition's
// reason comes from the warnings' codes, never from words in their messages.
import type { V1Deployment } from "@kubernetes/client-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { guardrailPolicySpec } from "../api/v1alpha1/guardrail-policy.ts";
import type { GuardrailPolicy } from "../api/v1alpha1/objects.ts";
import { connect } from "../k8s/client.ts";
import { kubeConfigFor, ScriptedApiServer } from "../runtime/testing/scripted-apiserver.ts";
import { PolicyController } from "./policy-controller.ts";
import { cacheOf } from "./testing/builders.ts";

const OP_NS = "smartops-system";

const policy = (namespace: string, name: string, spec: Record<string, unknown>): GuardrailPolicy => ({
  apiVersion: "smartops.io/v1alpha1",
  kind: "GuardrailPolicy",
  metadata: { namespace, name, generation: 1, resourceVersion: "3", uid: `uid-${name}` },
  spec: guardrailPolicySpec.parse(spec),
} as unknown as GuardrailPolicy);

let srv: ScriptedApiServer;
const statuses: { conditions: { type: string; status: string; reason: string; message: string }[] }[] = [];

beforeAll(async () => {
  srv = await new ScriptedApiServer().listen();
  srv.handler = (req) => {
    const body = JSON.parse(req.body) as GuardrailPolicy;
    statuses.push(body.status as (typeof statuses)[number]);
    return { body };
  };
});

afterAll(async () => {
  await srv.close();
});

beforeEach(() => {
  statuses.length = 0;
});

async function readyOf(p: GuardrailPolicy) {
  const ctl = new PolicyController({ api: connect(kubeConfigFor(srv.url)).api, policies: cacheOf([p]), deployments: cacheOf<V1Deployment>([]), operatorNamespace: OP_NS });
  await ctl.reconcile(`${p.metadata.namespace}/${p.metadata.name}`);
  expect(statuses).toHaveLength(1);
  return statuses[0]!.conditions.find((c) => c.type === "Ready");
}

describe("PolicyController Ready reason", () => {
  it("NamespacesIgnored for a tenant policy naming other namespaces", async () => {
    expect(await readyOf(policy("team-a", "p", { targets: { namespaces: ["team-b"] } }))).toMatchObject({
      status: "True", reason: "NamespacesIgnored", message: expect.stringContaining("targets.namespaces [team-b]"),
    });
  });

  it("PolicyValid for a warning whose message merely contains the word", async () => {
    const p = policy("team-a", "p", { patch: { allowedPaths: ["metadata.annotations.ignored"], deniedPaths: ["metadata.annotations"] } });
    expect(await readyOf(p)).toMatchObject({ status: "True", reason: "PolicyValid", message: expect.stringContaining("metadata.annotations.ignored") });
  });
});
