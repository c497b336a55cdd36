import * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { kubeClients } from "./client.ts";

function kubeConfig(caData: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: "https://127.0.0.1:6443", caData, skipTLSVerify: false }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

async function dispatcherOf(kc: k8s.KubeConfig): Promise<unknown> {
  const ctx = new k8s.RequestContext("https://127.0.0.1:6443/api", k8s.HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  return ctx.getDispatcher();
}

describe("kubeClients", () => {
  it("reuses one connection pool across requests instead of a new agent per call", async () => {
    const kc = kubeConfig(Buffer.from("ca-1").toString("base64"));
    kubeClients(kc);
    const first = await dispatcherOf(kc);
    expect(first).toBeDefined();
    expect(await dispatcherOf(kc)).toBe(first);
    // Idempotent: building clients twice does not wrap the factory twice.
    kubeClients(kc);
    expect(await dispatcherOf(kc)).toBe(first);
  });

  it("gives a different TLS identity its own pool", async () => {
    const a = kubeConfig(Buffer.from("ca-1").toString("base64"));
    kubeClients(a);
    const poolA = await dispatcherOf(a);
    a.clusters[0] = { ...a.clusters[0]!, caData: Buffer.from("ca-2").toString("base64") };
    const poolB = await dispatcherOf(a);
    expect(poolB).not.toBe(poolA);
    expect(await dispatcherOf(a)).toBe(poolB);
  });
});
