// The optional PromQL check of a signal rule, as pure decisions: the query with
// the action's namespace, Deployment and service put in, one number out of an
// instant query's answer, and whether the outcome meets the threshold. The HTTP
// client that asks Prometheus lives in k8s/prometheus.ts.

/** The comparisons a check may use; `outcome <comparison> threshold` decides it. */
export const COMPARISONS = ["<", "<=", ">", ">=", "==", "!="] as const;
export type Comparison = (typeof COMPARISONS)[number];

export interface MetricCheck {
  /** A PromQL instant query; $namespace, $deployment and $service are replaced by the action's values. */
  query: string;
  comparison: Comparison;
  threshold: number;
}

/** The action's values a query may use. */
export interface QueryVars {
  namespace: string;
  deployment: string;
  service: string;
}

export const QUERY_VARIABLES = ["namespace", "deployment", "service"] as const satisfies readonly (keyof QueryVars)[];

/** A query template or a value that cannot be rendered into a safe query. */
export class MetricCheckError extends Error {
  /** The variable at fault ("namespace", "deployment", "service"), or "query" for the template itself. */
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(message);
    this.name = "MetricCheckError";
    this.variable = variable;
  }
}

// `$name` not followed by a word character: `$namespace_total` is not `$namespace`.
const VARIABLE = /\$([A-Za-z_][A-Za-z0-9_]*)/g;
// A DNS-1123 subdomain (namespace, Deployment and Service names are subdomains or labels).
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * What is wrong with a query template, or undefined: an unknown `$variable`
 * (a typo would otherwise match nothing and read as "no data"). For admission.
 */
export function templateProblem(query: string): string | undefined {
  const unknown = [...new Set([...query.matchAll(VARIABLE)].map((m) => m[1]!).filter((name) => !(QUERY_VARIABLES as readonly string[]).includes(name)))];
  if (unknown.length === 0) return undefined;
  return `unknown variable${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => `$${n}`).join(", ")} in the query; known: ${QUERY_VARIABLES.map((n) => `$${n}`).join(", ")}`;
}

/** The value escaped for the inside of a PromQL double-quoted string. */
export function promqlStringContent(value: string): string {
  return value.replace(/[\\"\n\r\t]/g, (c) => ({ "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t" })[c]!);
}

/**
 * The query with `$namespace`, `$deployment` and `$service` replaced. A value is
 * used only when the query names it, and only if it is a DNS-1123 subdomain
 * (what Kubernetes allows for these names), so it can neither close the string
 * it stands in nor add PromQL; it is escaped for a double-quoted string as well.
 * Throws MetricCheckError naming the variable otherwise.
 */
export function renderQuery(query: string, vars: QueryVars): string {
  const problem = templateProblem(query);
  if (problem) throw new MetricCheckError("query", problem);
  return query.replace(VARIABLE, (_, name: keyof QueryVars) => {
    const value = vars[name];
    if (typeof value !== "string" || value === "") throw new MetricCheckError(name, `the query uses $${name} but the action has no ${name}`);
    if (value.length > 253 || !DNS_SUBDOMAIN.test(value)) {
      throw new MetricCheckError(name, `$${name} ${JSON.stringify(value.slice(0, 64))} is not a DNS-1123 name (lowercase letters, digits, '-' and '.'); refusing to put it into a query`);
    }
    return promqlStringContent(value);
  });
}

/** `value <comparison> threshold`, IEEE semantics: NaN meets no comparison but `!=`; ±Inf compare as numbers. */
export function compare(value: number, comparison: Comparison, threshold: number): boolean {
  switch (comparison) {
    case "<":
      return value < threshold;
    case "<=":
      return value <= threshold;
    case ">":
      return value > threshold;
    case ">=":
      return value >= threshold;
    case "==":
      return value === threshold;
    case "!=":
      return value !== threshold;
  }
}

/** One sample value as Prometheus writes it: a decimal, "NaN", "+Inf" or "-Inf". */
export function parseSampleValue(text: string): number {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const n = text.trim() === "" ? NaN : Number(text);
  return n;
}

/** A sample of an instant vector: a float `value` or a native `histogram`. */
export interface VectorSample {
  metric: Record<string, string>;
  value?: [number, string];
  histogram?: unknown;
}

/** The `data` of an instant query's answer (with the answer's warnings), as Prometheus's HTTP API returns it. */
export type QueryResult =
  | { resultType: "vector"; result: VectorSample[]; warnings?: string[] }
  | { resultType: "scalar"; result: [number, string]; warnings?: string[] }
  | { resultType: "string"; result: [number, string]; warnings?: string[] }
  | { resultType: "matrix"; result: { metric: Record<string, string> }[]; warnings?: string[] };

/**
 * One measurement of a check. `value` may be NaN or ±Inf (0/0 in a ratio is
 * NaN); every other kind is a reason there is no number.
 */
export type MetricReading =
  | { kind: "value"; value: number }
  | { kind: "noData"; message: string }
  | { kind: "manySeries"; count: number; message: string }
  | { kind: "notANumber"; message: string }
  | { kind: "error"; message: string };

const MAX_LISTED_LABELS = 5;

/**
 * The names (never the values: the message lands in an action's status, and the
 * query may reach series its reader may not see) of the labels whose values
 * differ between the series, i.e. what an aggregation would have to remove.
 */
function differingLabels(samples: readonly { metric: Record<string, string> }[]): string[] {
  const names = new Set(samples.flatMap((s) => Object.keys(s.metric)));
  return [...names].filter((n) => new Set(samples.map((s) => s.metric[n])).size > 1).sort();
}

/**
 * One number from an instant query's answer: a scalar, or a vector of exactly
 * one float sample. No series is "no data". Several series are refused rather
 * than picked from (which one would be arbitrary): the message names the count
 * and asks for an aggregation in the query. A range vector, a string or a
 * native histogram is not a number.
 */
export function readQueryResult(data: QueryResult): MetricReading {
  switch (data.resultType) {
    case "scalar":
      return { kind: "value", value: parseSampleValue(data.result[1]) };
    case "vector": {
      const n = data.result.length;
      if (n === 0) return { kind: "noData", message: "the query returned no series" };
      if (n > 1) {
        const labels = differingLabels(data.result);
        const listed = labels.length === 0 ? "" : ` differing in ${labels.slice(0, MAX_LISTED_LABELS).join(", ")}${labels.length > MAX_LISTED_LABELS ? ", …" : ""}`;
        return {
          kind: "manySeries",
          count: n,
          message: `the query returned ${n} series${listed}; aggregate it to one, e.g. max(...) or sum(...)`,
        };
      }
      const [sample] = data.result;
      if (!sample!.value) return { kind: "notANumber", message: "the query returned a native histogram; use histogram_quantile(), histogram_count() or histogram_sum()" };
      return { kind: "value", value: parseSampleValue(sample!.value[1]) };
    }
    case "matrix":
      return { kind: "notANumber", message: "the query returned a range vector; use an instant query, e.g. wrap the range in rate() or avg_over_time()" };
    case "string":
      return { kind: "notANumber", message: "the query returned a string, not a number" };
  }
}

/** What the effectiveness controller records of a check. */
export interface MetricJudgement {
  /** Whether the outcome meets the check; undefined when the outcome is unknown (no data, NaN, an error). */
  effective: boolean | undefined;
  /** e.g. `sum(rate(errors[1m])) 0.42 -> 0.01 (< 0.05)`, `… 0.42 -> 0.3 (not < 0.05)`. */
  message: string;
}

const MAX_QUERY_IN_MESSAGE = 80;

function shortQuery(query: string): string {
  const q = query.replace(/\s+/g, " ").trim();
  return q.length > MAX_QUERY_IN_MESSAGE ? `${q.slice(0, MAX_QUERY_IN_MESSAGE - 1)}…` : q;
}

/** A number as PromQL writes it (NaN, +Inf, -Inf), with at most 6 significant digits. */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(Number(n.toPrecision(6)));
}

/** A plain number (NaN: unknown), a reading of readQueryResult or measureCheck, or undefined (no data). */
export type Measurement = number | MetricReading | undefined;

function describe(m: Measurement): { value: number | undefined; text: string; why?: string } {
  if (m === undefined) return { value: undefined, text: "no data", why: "no data" };
  if (typeof m === "number") return Number.isNaN(m) ? { value: undefined, text: "NaN", why: "the outcome is NaN" } : { value: m, text: formatValue(m) };
  if (m.kind === "value") return describe(m.value);
  const text = m.kind === "error" ? "error" : m.kind === "noData" ? "no data" : m.kind === "manySeries" ? `${m.count} series` : "not a number";
  return { value: undefined, text, why: m.message };
}

/**
 * Whether the action was effective on this check: `outcome <comparison>
 * threshold`. The baseline (taken when the window opened) is reported, not
 * judged. An outcome that is missing, NaN or an error leaves it unknown.
 * Accepts plain numbers or the readings of readQueryResult (whose reasons go
 * into the message).
 */
export function judgeMetric(check: MetricCheck, baseline: Measurement, outcome: Measurement): MetricJudgement {
  const before = describe(baseline);
  const after = describe(outcome);
  const head = `${shortQuery(check.query)} ${before.text} -> ${after.text}`;
  const bound = `${check.comparison} ${formatValue(check.threshold)}`;
  if (after.value === undefined) return { effective: undefined, message: `${head} (${bound} unknown: ${after.why})` };
  const effective = compare(after.value, check.comparison, check.threshold);
  return { effective, message: `${head} (${effective ? "" : "not "}${bound})` };
}
