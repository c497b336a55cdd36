// Which pods belong to a Deployment: those its selector matches in its namespace.
import type { V1Deployment, V1LabelSelector, V1Pod } from "@kubernetes/client-node";
import type { Cache } from "./cache.ts";

export function selectorMatches(selector: V1LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const inValues = has && (e.values ?? []).includes(l[e.key]!);
    if (e.operator === "In" && !inValues) return false;
    if (e.operator === "NotIn" && inValues) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return Object.keys(selector.matchLabels ?? {}).length + (selector.matchExpressions?.length ?? 0) > 0;
}

export function podsOf(d: V1Deployment, pods: Cache<V1Pod>): V1Pod[] {
  return pods.list(d.metadata?.namespace).filter((p) => selectorMatches(d.spec?.selector, p.metadata?.labels));
}
