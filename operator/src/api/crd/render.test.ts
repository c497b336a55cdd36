import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderCrds, renderGenerated } from "./render.ts";

describe("generated files", () => {
  const rendered = renderCrds();

  it("crds/ and docs/api.md are what the generator writes (run `make generate` after changing operator/src/api)", () => {
    for (const [file, text] of renderGenerated()) {
      expect(readFileSync(resolve(import.meta.dirname, "../../../..", file), "utf8"), file).toBe(text);
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
