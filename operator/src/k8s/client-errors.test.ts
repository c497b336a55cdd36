// The one place API errors are made: a 422 whose text embeds the whole Deployment
// (with DB_PASSWORD) never passes on through KubeApi, over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubeConfigFor, ScriptedApiServer } from "../runtime/testing/scripted-apiserver.ts";
import { DECODE_ERROR, leaks, status422 } from "../runtime/testing/leaky-status.ts";
import { connect } from "./client.ts";
import { KubeApiError } from "./errors.ts";
import { DEPLOYMENTS } from "./resources.ts";

let srv: ScriptedApiServer;

beforeAll(async () => {
  srv = await new ScriptedApiServer().listen();
  srv.handler = () => ({ status: 422, body: status422 });
});

afterAll(async () => {
  await srv.close();
});

describe("API errors carry no object", () => {
  it("KubeApiError from a patch: status, reason, field and the decode error; nothing of the Deployment", async () => {
    const { api, transport } = connect(kubeConfigFor(srv.url));
    try {
      const err = await api.patch(DEPLOYMENTS, "team-a", "web", "merge", { metadata: { annotations: { broken: 1 } } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeApiError);
      const e = err as KubeApiError;
      expect(e).toMatchObject({ status: 422, reason: "Invalid", fields: ["patch"] });
      expect(e.message).toMatch(/^patch_deployment: 422 Invalid: /);
      expect(e.message).toContain(DECODE_ERROR);
      expect(leaks(e.message)).toEqual([]);
      expect(leaks(String(e.stack))).toEqual([]);
      expect(leaks(JSON.stringify(e))).toEqual([]);
    } finally {
      await transport.close();
    }
  });

  it("a read answered with the same text keeps no body either", async () => {
    const { api, transport } = connect(kubeConfigFor(srv.url));
    try {
      const e = (await api.get(DEPLOYMENTS, "team-a", "web").catch((x: unknown) => x)) as KubeApiError;
      expect(e).toMatchObject({ status: 422, reason: "Invalid", fields: ["patch"] });
      expect(leaks(e.message)).toEqual([]);
      expect(leaks(JSON.stringify(e))).toEqual([]);
    } finally {
      await transport.close();
    }
  });

  it("a KubeApiError made from raw text is redacted too", () => {
    const e = new KubeApiError("op", 500, { reason: "Weird Reason", message: `boom ${JSON.stringify(status422)}` });
    expect(e.reason).toBe("");
    expect(leaks(e.message)).toEqual([]);
  });
});
