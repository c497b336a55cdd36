import { describe, expect, it } from "vitest";
import { openApiDocument } from "./openapi.ts";
import { API_ROUTES, apiRoute, PLAIN_ROUTES, plainRoute, routeLabel } from "./routes.ts";

describe("the route table", () => {
  it("is the OpenAPI document's list of paths, with the table's summaries and methods", () => {
    const paths = openApiDocument().paths as Record<string, Record<string, { summary: string; parameters?: { name: string }[] }>>;
    expect(Object.keys(paths).sort()).toEqual([...API_ROUTES, ...PLAIN_ROUTES].map((r) => r.path).sort());
    for (const r of [...API_ROUTES, ...PLAIN_ROUTES]) expect(paths[r.path]?.[r.method.toLowerCase()]?.summary).toBe(r.summary);
    // The Prefer header is documented exactly on the routes that wait for an action's outcome.
    for (const r of API_ROUTES) expect(paths[r.path]!.post!.parameters!.some((p) => p.name === "Prefer")).toBe(r.action);
  });

  it("gives metrics a bounded route label", () => {
    for (const r of [...API_ROUTES, ...PLAIN_ROUTES]) expect(routeLabel(r.path)).toBe(r.path);
    expect(routeLabel("/v1/k8s/scale/../../etc")).toBe("unmatched");
    expect(apiRoute("/healthz")).toBeUndefined();
    expect(plainRoute("/v1/k8s/scale")).toBeUndefined();
  });
});
