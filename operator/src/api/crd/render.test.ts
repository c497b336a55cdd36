import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderCrds } from "./render.ts";

describe("crds/", () => {
  const rendered = renderCrds();

  it("is what the generator writes from the schemas (run `make generate` after changing operator/src/api)", () => {
    for (const [file, text] of rendered) {
      expect(readFileSync(resolve(import.meta.dirname, "../../../../crds", file), "utf8"), file).toBe(text);
    }
  });

  it("renders deterministically", () => {
    expect(renderCrds()).toEqual(rendered);
  });

  it("gives every CRD a status subresource, printer columns and the smartops category", () => {
    for (const [file, text] of rendered) {
      const crd = parse(text);
      const version = crd.spec.versions[0];
      expect(version.subresources, file).toEqual({ status: {} });
      expect(version.additionalPrinterColumns.length, file).toBeGreaterThan(2);
      expect(crd.spec.names.categories, file).toContain("smartops");
      expect(crd.spec.scope, file).toBe("Namespaced");
    }
  });
});
