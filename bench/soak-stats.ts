// Pure parts of the soak bench (bench/soak.bench.ts): trend statistics for its
// pass criteria, the CSV it writes, and the "nothing lost" accounting. No I/O.

export interface Point {
  /** Seconds since the start of the run. */
  t: number;
  y: number;
}

/** Least-squares slope of y over t (units of y per second); NaN with fewer than two distinct times. */
export function slope(points: readonly Point[]): number {
  const ps = points.filter((p) => Number.isFinite(p.t) && Number.isFinite(p.y));
  if (ps.length < 2) return NaN;
  const mt = ps.reduce((a, p) => a + p.t, 0) / ps.length;
  const my = ps.reduce((a, p) => a + p.y, 0) / ps.length;
  let num = 0;
  let den = 0;
  for (const p of ps) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

export interface Trend {
  /** Samples judged (the last half of the run). */
  n: number;
  /** Least-squares slope over them, per second. */
  slopePerSecond: number;
  /** slope × their time span: how much the fitted line grew over them. */
  growth: number;
  /** Mean level over them. */
  level: number;
  /** growth / level (0 when both are 0). */
  relativeGrowth: number;
  pass: boolean;
}

/**
 * Whether a series has stopped growing: fit a line to the samples of the last
 * `fraction` of the run and compare how much it rises over that span with the
 * series' level there. Passes when the rise is at most `maxRelativeGrowth` of
 * the level, or at most `absoluteFloor` (a series that hovers near zero — a
 * handful of actions — would otherwise fail on noise). A fall always passes.
 * Needs at least `minSamples` samples in the judged part; fewer fail, since a
 * plateau cannot be shown.
 */
export function plateau(points: readonly Point[], opts: { maxRelativeGrowth: number; absoluteFloor?: number; fraction?: number; minSamples?: number }): Trend {
  const ps = points.filter((p) => Number.isFinite(p.t) && Number.isFinite(p.y));
  const fraction = opts.fraction ?? 0.5;
  const minSamples = opts.minSamples ?? 4;
  if (ps.length === 0) return { n: 0, slopePerSecond: NaN, growth: NaN, level: NaN, relativeGrowth: NaN, pass: false };
  const t0 = ps[0]!.t;
  const t1 = ps[ps.length - 1]!.t;
  const from = t1 - (t1 - t0) * fraction;
  const judged = ps.filter((p) => p.t >= from);
  const s = slope(judged);
  const span = judged.length ? judged[judged.length - 1]!.t - judged[0]!.t : 0;
  const growth = s * span;
  const level = judged.reduce((a, p) => a + p.y, 0) / Math.max(1, judged.length);
  const relativeGrowth = growth === 0 ? 0 : level === 0 ? Infinity : growth / Math.abs(level);
  const pass = judged.length >= minSamples && Number.isFinite(s) && (growth <= 0 || relativeGrowth <= opts.maxRelativeGrowth || growth <= (opts.absoluteFloor ?? 0));
  return { n: judged.length, slopePerSecond: s, growth, level, relativeGrowth, pass };
}

// --- CSV --------------------------------------------------------------------------

export type Cell = number | string | undefined;

function cell(v: Cell): string {
  if (v === undefined || (typeof v === "number" && !Number.isFinite(v))) return "";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** RFC 4180 CSV: a header line, then one line per row in column order; missing and non-finite numbers are empty cells. */
export function toCsv(columns: readonly string[], rows: readonly Record<string, Cell>[]): string {
  return [columns.map(cell).join(","), ...rows.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}

/** Parses what toCsv writes (quoted cells included). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cur);
      cur = "";
    } else if (c === "\n") {
      row.push(cur);
      rows.push(row);
      row = [];
      cur = "";
    } else if (c !== "\r") cur += c;
  }
  if (cur !== "" || row.length) rows.push([...row, cur]);
  return rows;
}

// --- nothing lost -------------------------------------------------------------------

/** Signal phases that end a signal without an action. */
export const SIGNAL_END_PHASES = new Set(["Ignored", "NoTarget", "Notified", "Refused"]);

export interface Accounting {
  accepted: number;
  /** Ended on the signal itself (Ignored, NoTarget, Notified, Refused). */
  endedOnSignal: number;
  /** ActionCreated and an ActionFinished audit record names the signal. */
  audited: number;
  /** Accepted signals with neither, by the last phase seen ("unseen" when the bench never saw the signal). */
  lost: Map<string, string>;
}

/**
 * Every signal the shim accepted (answered 2xx) must have an outcome: a terminal
 * phase on the signal, or — when it led to an action — an audit record of that
 * action's terminal transition (which outlives both objects once retention has
 * pruned them).
 */
export function account(accepted: Iterable<string>, lastPhase: ReadonlyMap<string, string>, auditedSignals: ReadonlySet<string>): Accounting {
  const r: Accounting = { accepted: 0, endedOnSignal: 0, audited: 0, lost: new Map() };
  for (const name of accepted) {
    r.accepted++;
    const phase = lastPhase.get(name);
    if (phase && SIGNAL_END_PHASES.has(phase)) r.endedOnSignal++;
    else if (auditedSignals.has(name)) r.audited++;
    else r.lost.set(name, phase ?? "unseen");
  }
  return r;
}
