import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compare,
  COMPARISONS,
  formatValue,
  judgeMetric,
  type MetricCheck,
  MetricCheckError,
  parseSampleValue,
  type QueryResult,
  readQueryResult,
  renderQuery,
  templateProblem,
} from "./metric-check.ts";

const VARS = { namespace: "shop", deployment: "web", service: "web-svc" };
const check = (over: Partial<MetricCheck> = {}): MetricCheck => ({ query: "error_rate", comparison: "<", threshold: 0.05, ...over });

// DNS-1123 labels and subdomains, as Kubernetes names them.
const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
const dnsName = fc.array(label, { minLength: 1, maxLength: 3 }).map((parts) => parts.join("."));
// Anything at all, biased towards what could break out of a PromQL string.
const hostile = fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom('"', "\\", "'", "`", "}", "{", ",", "\n", "a", "-", ".", " ", "=", "~") }), dnsName);
const numberOrSpecial = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, 0, -0));

function unescapedQuotes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === '"') n++;
  }
  return n;
}

describe("renderQuery", () => {
  it("replaces each variable with the action's value", () => {
    expect(renderQuery('sum(rate(http_errors_total{namespace="$namespace", deployment="$deployment"}[1m])) / sum(rate(http_requests_total{service="$service"}[1m]))', VARS)).toBe(
      'sum(rate(http_errors_total{namespace="shop", deployment="web"}[1m])) / sum(rate(http_requests_total{service="web-svc"}[1m]))',
    );
  });

  it("leaves longer identifiers alone: $namespace_x is not $namespace, and refuses it as unknown", () => {
    expect(() => renderQuery("x{a=\"$namespace_x\"}", VARS)).toThrow(/unknown variable \$namespace_x/);
    expect(renderQuery('up{a="$namespace", b="$namespace"}', VARS)).toBe('up{a="shop", b="shop"}');
  });

  it("refuses an unknown variable, naming it and the known ones", () => {
    expect(templateProblem('up{namespace="$namspace"}')).toBe("unknown variable $namspace in the query; known: $namespace, $deployment, $service");
    expect(templateProblem("up")).toBeUndefined();
    expect(templateProblem('up{job=~"web.*$"}')).toBeUndefined();
    const err = (() => {
      try {
        renderQuery("$foo + $bar", VARS);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MetricCheckError);
    expect(err).toMatchObject({ variable: "query", message: "unknown variables $foo, $bar in the query; known: $namespace, $deployment, $service" });
  });

  it("refuses a value that is not a DNS name, naming the variable; an unused bad value does not matter", () => {
    expect(() => renderQuery('up{service="$service"}', { ...VARS, service: 'x"} or vector(1) #' })).toThrow(MetricCheckError);
    expect(() => renderQuery('up{service="$service"}', { ...VARS, service: 'x"} or vector(1) #' })).toThrow(/^\$service "x\\"} or vector\(1\) #" is not a DNS-1123 name/);
    expect(() => renderQuery('up{service="$service"}', { ...VARS, service: "" })).toThrow("the query uses $service but the action has no service");
    expect(renderQuery('up{namespace="$namespace"}', { ...VARS, service: 'evil"' })).toBe('up{namespace="shop"}');
    expect(() => renderQuery("up{d=\"$deployment\"}", { ...VARS, deployment: "a".repeat(254) })).toThrow(/deployment/);
  });

  it("property: a value can never add an unescaped quote; either it renders as the plain value or it is refused naming the variable", () => {
    const template = 'rate(x{namespace="$namespace",deployment="$deployment",service="$service"}[1m])';
    fc.assert(
      fc.property(hostile, hostile, hostile, (namespace, deployment, service) => {
        let out: string;
        try {
          out = renderQuery(template, { namespace, deployment, service });
        } catch (e) {
          expect(e).toBeInstanceOf(MetricCheckError);
          const bad = { namespace, deployment, service }[(e as MetricCheckError).variable as "namespace"];
          expect(bad === "" || !/^[a-z0-9.-]+$/.test(bad!) || bad!.length > 253 || /^[-.]|[-.]$|\.\.|-\.|\.-/.test(bad!)).toBe(true);
          return;
        }
        expect(unescapedQuotes(out)).toBe(unescapedQuotes(template));
        expect(out).toBe(`rate(x{namespace="${namespace}",deployment="${deployment}",service="${service}"}[1m])`);
      }),
      { numRuns: 500 },
    );
  });

  it("property: every DNS name renders verbatim", () => {
    fc.assert(
      fc.property(dnsName, dnsName, dnsName, (namespace, deployment, service) => {
        expect(renderQuery('m{n="$namespace"} + m{d="$deployment"} + m{s="$service"}', { namespace, deployment, service })).toBe(`m{n="${namespace}"} + m{d="${deployment}"} + m{s="${service}"}`);
      }),
    );
  });
});

describe("compare", () => {
  it("property: the six comparisons agree with each other on numbers (±Inf included)", () => {
    fc.assert(
      // Equal values half of the time: a random pair of doubles is almost never equal.
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }).chain((t) => fc.tuple(fc.oneof(fc.constant(t), fc.double({ noNaN: true })), fc.constant(t))), ([v, t]) => {
        const lt = compare(v, "<", t);
        const eq = compare(v, "==", t);
        const gt = compare(v, ">", t);
        expect([lt, eq, gt].filter(Boolean)).toHaveLength(1);
        expect(compare(v, "<=", t)).toBe(lt || eq);
        expect(compare(v, ">=", t)).toBe(gt || eq);
        expect(compare(v, "!=", t)).toBe(!eq);
      }),
    );
  });

  it("examples, including ±Inf and 0 == -0", () => {
    expect(compare(0.01, "<", 0.05)).toBe(true);
    expect(compare(0.05, "<", 0.05)).toBe(false);
    expect(compare(0.05, "<=", 0.05)).toBe(true);
    expect(compare(Infinity, ">", 1e308)).toBe(true);
    expect(compare(-Infinity, "<", -1e308)).toBe(true);
    expect(compare(-0, "==", 0)).toBe(true);
  });

  it("property: NaN meets no comparison but !=", () => {
    fc.assert(
      fc.property(fc.constantFrom(...COMPARISONS), fc.double(), (c, t) => {
        expect(compare(NaN, c, t)).toBe(c === "!=");
      }),
    );
  });
});

describe("parseSampleValue", () => {
  it("reads Prometheus's spellings of NaN and infinities", () => {
    expect(parseSampleValue("NaN")).toBeNaN();
    expect(parseSampleValue("+Inf")).toBe(Infinity);
    expect(parseSampleValue("-Inf")).toBe(-Infinity);
    expect(parseSampleValue("0.42")).toBe(0.42);
    expect(parseSampleValue("1e-07")).toBe(1e-7);
    expect(parseSampleValue("")).toBeNaN();
    expect(parseSampleValue("abc")).toBeNaN();
  });

  it("property: what formatValue-like output Prometheus writes reads back as the same number", () => {
    fc.assert(
      fc.property(numberOrSpecial, (n) => {
        const text = Number.isNaN(n) ? "NaN" : n === Infinity ? "+Inf" : n === -Infinity ? "-Inf" : String(n);
        expect(Object.is(parseSampleValue(text), n) || (n === 0 && parseSampleValue(text) === 0)).toBe(true);
      }),
    );
  });
});

const vector = (...values: (string | undefined)[]): QueryResult => ({
  resultType: "vector",
  result: values.map((v, i) => (v === undefined ? { metric: { __name__: "h", pod: `p${i}` }, histogram: [1, { count: "1" }] } : { metric: { __name__: "m", pod: `p${i}` }, value: [1700000000.5, v] })),
});

describe("readQueryResult", () => {
  it("one sample, a scalar, no series, several series, and what is not a number", () => {
    expect(readQueryResult(vector("0.4"))).toEqual({ kind: "value", value: 0.4 });
    expect(readQueryResult({ resultType: "scalar", result: [1, "+Inf"] })).toEqual({ kind: "value", value: Infinity });
    expect(readQueryResult(vector())).toEqual({ kind: "noData", message: "the query returned no series" });
    expect(readQueryResult(vector("1", "2"))).toEqual({ kind: "manySeries", count: 2, message: "the query returned 2 series differing in pod; aggregate it to one, e.g. max(...) or sum(...)" });
    // Label names, never values: the message is shown to whoever reads the action.
    const wide = (i: number) => ({ metric: Object.fromEntries(["a", "b", "c", "d", "e", "f", "same"].map((k) => [k, k === "same" ? "x" : `secret-${k}${i}`])), value: [1, "1"] as [number, string] });
    const many = readQueryResult({ resultType: "vector", result: [wide(1), wide(2), wide(3)] });
    expect(many).toEqual({ kind: "manySeries", count: 3, message: "the query returned 3 series differing in a, b, c, d, e, …; aggregate it to one, e.g. max(...) or sum(...)" });
    expect(readQueryResult({ resultType: "vector", result: [{ metric: {}, value: [1, "1"] }, { metric: {}, value: [1, "2"] }] })).toMatchObject({ message: "the query returned 2 series; aggregate it to one, e.g. max(...) or sum(...)" });
    expect(readQueryResult(vector(undefined))).toMatchObject({ kind: "notANumber", message: expect.stringContaining("native histogram") });
    expect(readQueryResult({ resultType: "matrix", result: [{ metric: {} }] })).toMatchObject({ kind: "notANumber", message: expect.stringContaining("range vector") });
    expect(readQueryResult({ resultType: "string", result: [1, "x"] })).toMatchObject({ kind: "notANumber" });
    const nan = readQueryResult(vector("NaN"));
    expect(nan.kind === "value" && Number.isNaN(nan.value)).toBe(true);
  });

  it("property: a vector of n float samples is a value only for n = 1, no data for 0, and names n otherwise", () => {
    fc.assert(
      fc.property(fc.array(fc.double().map(String), { maxLength: 12 }), (values) => {
        const r = readQueryResult(vector(...values));
        if (values.length === 0) expect(r.kind).toBe("noData");
        else if (values.length === 1) expect(r.kind).toBe("value");
        else expect(r).toMatchObject({ kind: "manySeries", count: values.length, message: expect.stringContaining(`returned ${values.length} series`) });
      }),
    );
  });
});

describe("judgeMetric", () => {
  it("effective when the outcome meets the threshold, whatever the baseline", () => {
    expect(judgeMetric(check(), 0.42, 0.01)).toEqual({ effective: true, message: "error_rate 0.42 -> 0.01 (< 0.05)" });
    expect(judgeMetric(check(), 0.01, 0.3)).toEqual({ effective: false, message: "error_rate 0.01 -> 0.3 (not < 0.05)" });
    expect(judgeMetric(check({ comparison: ">=", threshold: 2 }), undefined, 3)).toEqual({ effective: true, message: "error_rate no data -> 3 (>= 2)" });
  });

  it("unknown when the outcome is missing, NaN or a reading without a number, with the reason", () => {
    expect(judgeMetric(check(), 0.42, undefined)).toEqual({ effective: undefined, message: "error_rate 0.42 -> no data (< 0.05 unknown: no data)" });
    expect(judgeMetric(check(), 0.42, NaN)).toEqual({ effective: undefined, message: "error_rate 0.42 -> NaN (< 0.05 unknown: the outcome is NaN)" });
    expect(judgeMetric(check(), readQueryResult(vector("0.42")), readQueryResult(vector("1", "2")))).toEqual({
      effective: undefined,
      message: "error_rate 0.42 -> 2 series (< 0.05 unknown: the query returned 2 series differing in pod; aggregate it to one, e.g. max(...) or sum(...))",
    });
    expect(judgeMetric(check(), { kind: "error", message: "Prometheus unreachable" }, { kind: "error", message: "Prometheus unreachable" })).toEqual({
      effective: undefined,
      message: "error_rate error -> error (< 0.05 unknown: Prometheus unreachable)",
    });
  });

  it("±Inf outcomes are judged as numbers", () => {
    expect(judgeMetric(check({ comparison: ">", threshold: 100 }), 1, Infinity)).toEqual({ effective: true, message: "error_rate 1 -> +Inf (> 100)" });
    expect(judgeMetric(check(), 1, -Infinity)).toMatchObject({ effective: true });
  });

  it("a long query is shortened in the message", () => {
    const q = `sum(rate(http_requests_total{code=~"5.."}[5m])) / ${"x".repeat(200)}`;
    const { message } = judgeMetric(check({ query: q }), 1, 0);
    expect(message.length).toBeLessThan(140);
    expect(message).toMatch(/^sum\(rate\(http_requests_total\{code=~"5\.\."\}\[5m\]\)\) \/ x+… 1 -> 0 \(< 0\.05\)$/);
  });

  it("property: effective is exactly compare(outcome), unknown only for a missing or NaN outcome; the message carries the comparison", () => {
    fc.assert(
      fc.property(fc.constantFrom(...COMPARISONS), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.option(numberOrSpecial, { nil: undefined }), fc.option(numberOrSpecial, { nil: undefined }), (comparison, threshold, baseline, outcome) => {
        const j = judgeMetric(check({ comparison, threshold }), baseline, outcome);
        if (outcome === undefined || Number.isNaN(outcome)) expect(j.effective).toBeUndefined();
        else expect(j.effective).toBe(compare(outcome, comparison, threshold));
        expect(j.message).toContain(`${comparison} ${formatValue(threshold)}`);
        expect(j.message.startsWith(`error_rate ${baseline === undefined ? "no data" : formatValue(baseline)} -> `)).toBe(true);
      }),
    );
  });
});
