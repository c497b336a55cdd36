// Kubernetes labels and label selectors (metav1.LabelSelector), with the API
// machinery's semantics, for every place that matches labels:
//
// - a nil selector selects nothing, an empty one ({}) everything
//   (metav1.LabelSelectorAsSelector);
// - matchLabels and matchExpressions are ANDed;
// - In needs the key present with one of the values; NotIn and DoesNotExist
//   match when the key is absent; Exists only checks the key;
// - a selector with an invalid requirement (In or NotIn without values, Exists
//   or DoesNotExist with values, a malformed key or value) selects nothing at
//   all: it is an error, and each caller decides what an error means for it.
//
// Pure: no I/O.
import type { LabelSelector } from "../api/v1alpha1/meta.ts";

export type Labels = Readonly<Record<string, string>>;

// k8s.io/apimachinery/pkg/util/validation: qualified names and label values.
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name.length > 0 && name.length <= 63 && QUALIFIED_NAME.test(name);
}

export function isLabelValue(value: string): boolean {
  return value === "" || (value.length <= 63 && QUALIFIED_NAME.test(value));
}

/** Why a selector is invalid, each message prefixed with `path` (the selector's field path); empty when it is valid. */
export function labelSelectorErrors(selector: LabelSelector, path: string): string[] {
  const errors: string[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!isLabelKey(key)) errors.push(`${path}.matchLabels: invalid label key ${JSON.stringify(key)}`);
    if (!isLabelValue(value)) errors.push(`${path}.matchLabels[${key}]: invalid label value ${JSON.stringify(value)}`);
  }
  (selector.matchExpressions ?? []).forEach((req, i) => {
    const where = `${path}.matchExpressions[${i}]`;
    const values = req.values ?? [];
    if (!isLabelKey(req.key)) errors.push(`${where}: invalid label key ${JSON.stringify(req.key)}`);
    if ((req.operator === "In" || req.operator === "NotIn") && values.length === 0) errors.push(`${where}: operator ${req.operator} needs at least one value`);
    if ((req.operator === "Exists" || req.operator === "DoesNotExist") && values.length > 0) errors.push(`${where}: operator ${req.operator} takes no values`);
    for (const v of values) if (!isLabelValue(v)) errors.push(`${where}: invalid label value ${JSON.stringify(v)}`);
  });
  return errors;
}

/**
 * Whether the selector selects an object with these labels: true or false, or
 * "invalid" when the selector is (see labelSelectorErrors). A nil selector
 * (undefined or null) selects nothing; {} selects everything.
 */
export function labelSelectorMatches(selector: LabelSelector | null | undefined, labels: Labels): boolean | "invalid" {
  if (selector === undefined || selector === null) return false;
  if (labelSelectorErrors(selector, "").length > 0) return "invalid";
  const has = (key: string) => Object.hasOwn(labels, key);
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!has(key) || labels[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const values = req.values ?? [];
    switch (req.operator) {
      case "In":
        if (!has(req.key) || !values.includes(labels[req.key]!)) return false;
        break;
      case "NotIn":
        if (has(req.key) && values.includes(labels[req.key]!)) return false;
        break;
      case "Exists":
        if (!has(req.key)) return false;
        break;
      case "DoesNotExist":
        if (has(req.key)) return false;
        break;
    }
  }
  return true;
}
