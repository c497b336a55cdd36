import { describe, expect, it } from "vitest";
import { resolveTarget } from "./target.ts";

const lbl = (name: string) => ({ "app.kubernetes.io/name": name });

describe("resolveTarget", () => {
  it("prefers the exact name", () => {
    expect(resolveTarget("erp-simulator", [{ name: "smartops-erp-simulator" }, { name: "erp-simulator" }, { name: "x", labels: lbl("erp-simulator") }]))
      .toEqual({ name: "erp-simulator", via: "exact" });
  });

  it("then the seeds' smartops- prefix", () => {
    expect(resolveTarget("erp-simulator", [{ name: "a", labels: lbl("erp-simulator") }, { name: "smartops-erp-simulator" }]))
      .toEqual({ name: "smartops-erp-simulator", via: "prefix" });
  });

  it("then the app.kubernetes.io/name label, lexicographically first when several carry it", () => {
    const deployments = [{ name: "zeta", labels: lbl("erp") }, { name: "alpha", labels: lbl("erp") }, { name: "beta", labels: { app: "erp" } }];
    expect(resolveTarget("erp", deployments)).toEqual({ name: "alpha", via: "label" });
    expect(resolveTarget("erp", [...deployments].reverse())).toEqual({ name: "alpha", via: "label" });
  });

  it("finds nothing when nothing matches", () => {
    expect(resolveTarget("ghost", [{ name: "erp" }, { name: "smartops-erp", labels: lbl("erp") }])).toBeUndefined();
    expect(resolveTarget("ghost", [])).toBeUndefined();
  });
});
