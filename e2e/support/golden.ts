// Golden answers of the seed contract: an answer matches its golden when every
// field of the golden is present with the same JSON type (fields we add are
// compatible; missing, renamed or retyped ones are not). Booleans and nulls are
// the contract's values and must be equal (success, dry_run, accepted; an error
// or verification that is null); strings and numbers are compared by type,
// unless `exact` or `like` pins a value by its path.

export interface GoldenCase {
  name: string;
  /** Where the example comes from: a section of the seed contract, or docs/shim.md. */
  source: string;
  /** A named preparation the suite runs before the request. */
  setup?: string;
  request: { method: "GET" | "POST"; path: string; body?: unknown; headers?: Record<string, string> };
  status: number;
  answer: Record<string, unknown>;
  /** Paths (a.b.c) whose value must equal the given one. */
  exact?: Record<string, unknown>;
  /** Paths whose string value must match the regular expression. */
  like?: Record<string, string>;
}

const kind = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

/** Every way `actual` falls short of `golden`, each naming the path; empty when it matches. */
export function shapeMismatches(golden: unknown, actual: unknown, path = "$"): string[] {
  const g = kind(golden);
  const a = kind(actual);
  if (g === "null" || g === "boolean") {
    return actual === golden ? [] : [`${path}: expected ${JSON.stringify(golden)}, got ${JSON.stringify(actual)}`];
  }
  if (g !== a) return [`${path}: expected ${g}, got ${a === "undefined" ? "nothing" : `${a} ${JSON.stringify(actual)?.slice(0, 80)}`}`];
  if (g === "array") {
    const items = golden as unknown[];
    if (items.length === 0) return [];
    return (actual as unknown[]).flatMap((item, i) => shapeMismatches(items[0], item, `${path}[${i}]`));
  }
  if (g === "object") {
    const want = golden as Record<string, unknown>;
    const got = actual as Record<string, unknown>;
    return Object.keys(want).flatMap((k) => shapeMismatches(want[k], got[k], `${path}.${k}`));
  }
  return [];
}

function at(value: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), value);
}

/** Shape, status, exact values and patterns of one answer against its golden case. */
export function goldenMismatches(c: Pick<GoldenCase, "status" | "answer" | "exact" | "like">, status: number, body: unknown): string[] {
  const out: string[] = [];
  if (status !== c.status) out.push(`status: expected ${c.status}, got ${status}`);
  out.push(...shapeMismatches(c.answer, body));
  for (const [p, v] of Object.entries(c.exact ?? {})) {
    if (JSON.stringify(at(body, p)) !== JSON.stringify(v)) out.push(`${p}: expected exactly ${JSON.stringify(v)}, got ${JSON.stringify(at(body, p))}`);
  }
  for (const [p, re] of Object.entries(c.like ?? {})) {
    const v = at(body, p);
    if (typeof v !== "string" || !new RegExp(re).test(v)) out.push(`${p}: expected to match /${re}/, got ${JSON.stringify(v)}`);
  }
  return out;
}
