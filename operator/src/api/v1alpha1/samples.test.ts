// The zod schemas accept every valid sample and reject every invalid one on the
// field the sample names: the same samples the API server must treat alike (e2e).
import { describe, expect, it } from "vitest";
import { invalidSamples, validSamples } from "../../../../e2e/support/samples.ts";
import { validateObject } from "./validation.ts";

describe("samples against the zod schemas", () => {
  it.each(validSamples().map((s) => [s.file, s] as const))("accepts %s", (_file, sample) => {
    const result = validateObject(sample.object);
    expect(result.ok ? [] : result.issues).toEqual([]);
  });

  it.each(invalidSamples().map((s) => [s.file, s] as const))("rejects %s on its field", (_file, sample) => {
    const result = validateObject(sample.object);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.field)).toContain(sample.field);
  });
});
