import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { LabelSelector } from "../api/v1alpha1/meta.ts";
import { isLabelKey, isLabelValue, labelSelectorErrors, labelSelectorMatches, type Labels } from "./labels.ts";

type Requirement = NonNullable<LabelSelector["matchExpressions"]>[number];

const KEYS = ["app", "tier", "zone", "example.com/team"];
const VALUES = ["a", "b", "c", ""];
const key = fc.constantFrom(...KEYS);
const value = fc.constantFrom(...VALUES);
const labelsArb: fc.Arbitrary<Labels> = fc.dictionary(key, value, { maxKeys: KEYS.length });
const values = fc.uniqueArray(value, { minLength: 1, maxLength: 3 });
const requirementArb: fc.Arbitrary<Requirement> = fc.oneof(
  fc.record({ key, operator: fc.constantFrom("In" as const, "NotIn" as const), values }),
  fc.record({ key, operator: fc.constantFrom("Exists" as const, "DoesNotExist" as const) }),
);
const selectorArb: fc.Arbitrary<LabelSelector> = fc.record(
  { matchLabels: fc.dictionary(key, value, { maxKeys: 2 }), matchExpressions: fc.array(requirementArb, { maxLength: 3 }) },
  { requiredKeys: [] },
);

describe("labelSelectorMatches", () => {
  it("a nil selector selects nothing; an empty one everything", () => {
    fc.assert(fc.property(labelsArb, (labels) => {
      expect(labelSelectorMatches(undefined, labels)).toBe(false);
      expect(labelSelectorMatches(null, labels)).toBe(false);
      expect(labelSelectorMatches({}, labels)).toBe(true);
      expect(labelSelectorMatches({ matchLabels: {}, matchExpressions: [] }, labels)).toBe(true);
    }));
  });

  it("a selector is the AND of its matchLabels and each requirement", () => {
    fc.assert(fc.property(selectorArb, labelsArb, (sel, labels) => {
      const parts: LabelSelector[] = [
        ...Object.entries(sel.matchLabels ?? {}).map(([k, v]) => ({ matchLabels: { [k]: v } })),
        ...(sel.matchExpressions ?? []).map((r) => ({ matchExpressions: [r] })),
      ];
      expect(labelSelectorMatches(sel, labels)).toBe(parts.every((p) => labelSelectorMatches(p, labels) === true));
    }));
  });

  it("matchLabels k=v is In(k, [v]); NotIn is the complement of In when the key is present, and matches a missing key", () => {
    fc.assert(fc.property(key, values, labelsArb, (k, vs, labels) => {
      const inSel = labelSelectorMatches({ matchExpressions: [{ key: k, operator: "In", values: vs }] }, labels);
      const notIn = labelSelectorMatches({ matchExpressions: [{ key: k, operator: "NotIn", values: vs }] }, labels);
      expect(inSel).toBe(Object.hasOwn(labels, k) && vs.includes(labels[k]!));
      expect(notIn).toBe(!Object.hasOwn(labels, k) || !vs.includes(labels[k]!));
      if (Object.hasOwn(labels, k)) expect(notIn).toBe(!inSel);
      expect(labelSelectorMatches({ matchLabels: { [k]: vs[0]! } }, labels)).toBe(labelSelectorMatches({ matchExpressions: [{ key: k, operator: "In", values: [vs[0]!] }] }, labels));
    }));
  });

  it("Exists and DoesNotExist look at the key only, and are each other's complement", () => {
    fc.assert(fc.property(key, labelsArb, (k, labels) => {
      const exists = labelSelectorMatches({ matchExpressions: [{ key: k, operator: "Exists" }] }, labels);
      expect(exists).toBe(Object.hasOwn(labels, k));
      expect(labelSelectorMatches({ matchExpressions: [{ key: k, operator: "DoesNotExist" }] }, labels)).toBe(!exists);
    }));
  });

  it("labels the selector does not mention do not change the answer", () => {
    fc.assert(fc.property(selectorArb, labelsArb, value, (sel, labels, v) => {
      expect(labelSelectorMatches(sel, { ...labels, "unrelated.example/other": v })).toBe(labelSelectorMatches(sel, labels));
    }));
  });

  it("an invalid requirement makes the whole selector invalid, whatever the labels", () => {
    fc.assert(fc.property(selectorArb, labelsArb, key, fc.constantFrom(
      (k: string): Requirement => ({ key: k, operator: "In", values: [] }),
      (k: string): Requirement => ({ key: k, operator: "In" }),
      (k: string): Requirement => ({ key: k, operator: "NotIn" }),
      (k: string): Requirement => ({ key: k, operator: "Exists", values: ["a"] }),
      (k: string): Requirement => ({ key: k, operator: "DoesNotExist", values: ["a"] }),
      (): Requirement => ({ key: "not a key", operator: "Exists" }),
      (k: string): Requirement => ({ key: k, operator: "In", values: ["not ok"] }),
    ), (sel, labels, k, bad) => {
      const broken = { ...sel, matchExpressions: [...(sel.matchExpressions ?? []), bad(k)] };
      expect(labelSelectorMatches(broken, labels)).toBe("invalid");
      expect(labelSelectorErrors(broken, "sel")).not.toEqual([]);
    }));
    expect(labelSelectorMatches({ matchLabels: { "-bad": "a" } }, {})).toBe("invalid");
  });

  it("generated selectors are valid and name no errors", () => {
    fc.assert(fc.property(selectorArb, (sel) => {
      expect(labelSelectorErrors(sel, "sel")).toEqual([]);
    }));
  });
});

describe("labelSelectorErrors", () => {
  it("names the field of each problem", () => {
    expect(labelSelectorErrors({
      matchLabels: { "Example.COM/x": "ok", app: "not ok" },
      matchExpressions: [{ key: "tier", operator: "NotIn" }, { key: "zone", operator: "Exists", values: ["a"] }],
    }, "targets.selector")).toEqual([
      'targets.selector.matchLabels: invalid label key "Example.COM/x"',
      'targets.selector.matchLabels[app]: invalid label value "not ok"',
      "targets.selector.matchExpressions[0]: operator NotIn needs at least one value",
      "targets.selector.matchExpressions[1]: operator Exists takes no values",
    ]);
  });
});

describe("label syntax", () => {
  it("keys: an optional DNS-subdomain prefix and a qualified name of at most 63", () => {
    for (const k of ["app", "app.kubernetes.io/name", "a_b-c.d", "x".repeat(63)]) expect(isLabelKey(k), k).toBe(true);
    for (const k of ["", "/x", "Example.COM/x", "-a", "a-", "x".repeat(64), "a b"]) expect(isLabelKey(k), k).toBe(false);
  });

  it("values: empty, or a qualified name of at most 63", () => {
    for (const v of ["", "a", "v1.2_3-x"]) expect(isLabelValue(v), v).toBe(true);
    for (const v of ["-a", "a ", "x".repeat(64)]) expect(isLabelValue(v), v).toBe(false);
  });
});
