// Just enough PromQL reading to check alert rules and dashboards against the
// metrics the processes export: which metric names and which label names an
// expression uses. Not a parser: it removes strings, ranges and grouping
// clauses, then treats every identifier not followed by "(" as a metric.

const KEYWORDS = new Set([
  "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan",
  // aggregation operators may stand before their `by (…)` clause, away from their "("
  "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group", "limitk", "limit_ratio",
]);
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;
const STRINGS = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;

export interface PromqlRefs {
  metrics: string[];
  labels: string[];
}

export function promqlRefs(expr: string): PromqlRefs {
  const labels = new Set<string>();
  let e = expr.replace(STRINGS, '""');
  for (const m of e.matchAll(/\{([^}]*)\}/g)) {
    for (const matcher of m[1]!.split(",")) {
      const name = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/.exec(matcher)?.[1];
      if (name) labels.add(name);
    }
  }
  e = e.replace(/\{[^}]*\}/g, " ").replace(/\[[^\]]*\]/g, " ");
  for (const m of e.matchAll(GROUPING)) {
    for (const l of m[2]!.split(",").map((s) => s.trim()).filter(Boolean)) labels.add(l);
  }
  e = e.replace(GROUPING, (_all, kw: string) => ` ${kw} `);
  const metrics = new Set<string>();
  for (const m of e.matchAll(/(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    if (/^\s*\(/.test(e.slice(m.index + m[0].length))) continue;
    metrics.add(m[0]);
  }
  return { metrics: [...metrics].sort(), labels: [...labels].sort() };
}

/** The exported metric a sample name belongs to: histogram series carry _bucket, _sum, _count. */
export function baseMetric(sample: string, exported: ReadonlyMap<string, { type: string }>): string | undefined {
  if (exported.has(sample)) return sample;
  const m = /^(.*)_(bucket|sum|count)$/.exec(sample);
  const base = m?.[1];
  if (base && (exported.get(base)?.type === "histogram" || exported.get(base)?.type === "summary")) return base;
  return undefined;
}
