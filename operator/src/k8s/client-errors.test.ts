// The one place API errors are made: a 422 whose text embeds the whole Deployment
// (with DB_PASSWORD) never passes on, through client-node's generated clients
// (KubeError) or the runtime's own HTTP client (KubeApiError), over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeHttp, KubeApiError } from "../runtime/kube-http.ts";
import { kubeConfigFor, ScriptedApiServer } from "../runtime/testing/scripted-apiserver.ts";
import { DECODE_ERROR, leaks, status422 } from "../runtime/testing/leaky-status.ts";
import { call, KubeError, kubeClients, mergePatch } from "./client.ts";

let srv: ScriptedApiServer;

beforeAll(async () => {
  srv = await new ScriptedApiServer().listen();
  srv.handler = () => ({ status: 422, body: status422 });
});

afterAll(async () => {
  await srv.close();
});

describe("API errors carry no object", () => {
  it("KubeError from a generated client: reason, field and the decode error; nothing of the Deployment", async () => {
    const c = kubeClients(kubeConfigFor(srv.url));
    const err = await call("patch_deployment", () =>
      c.apps.patchNamespacedDeployment({ name: "web", namespace: "team-a", body: { metadata: { annotations: { broken: 1 } } } }, mergePatch()),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeError);
    const e = err as KubeError;
    expect(e).toMatchObject({ code: 422, reason: "Invalid", fields: ["patch"] });
    expect(e.message).toMatch(/^patch_deployment: 422 Invalid: /);
    expect(e.message).toContain(DECODE_ERROR);
    expect(leaks(e.message)).toEqual([]);
    expect(leaks(String(e.stack))).toEqual([]);
    expect(leaks(JSON.stringify(e))).toEqual([]);
  });

  it("KubeApiError from the runtime's HTTP client keeps no body", async () => {
    const http = new KubeHttp(kubeConfigFor(srv.url));
    try {
      const err = await http.json("/apis/apps/v1/namespaces/team-a/deployments/web").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeApiError);
      const e = err as KubeApiError;
      expect(e).toMatchObject({ status: 422, reason: "Invalid", fields: ["patch"] });
      expect(e.message).toContain(DECODE_ERROR);
      expect(leaks(e.message)).toEqual([]);
      expect(leaks(JSON.stringify(e))).toEqual([]);
    } finally {
      await http.close();
    }
  });

  it("a KubeError made from raw text is redacted too", () => {
    const e = new KubeError("op", 500, "Weird Reason", `boom ${JSON.stringify(status422)}`);
    expect(e.reason).toBe("");
    expect(leaks(e.message)).toEqual([]);
  });
});
