// How kubectl-smartops prints: kubectl's table layout (upper-case headers,
// columns padded by three spaces), kubectl's ages (5s, 4m10s, 3h, 2d4h), JSON
// and YAML, and colour only when the output is a terminal and NO_COLOR is unset.
// Pure: the caller decides whether colour is on.
import { stringify } from "yaml";

export const OUTPUT_FORMATS = ["table", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Whether to colour: a terminal, and NO_COLOR absent or empty (https://no-color.org). */
export function colourWanted(isTTY: boolean | undefined, env: Record<string, string | undefined>): boolean {
  return isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === "");
}

export type Tone = "good" | "bad" | "warn" | "dim" | "bold";
const SGR: Record<Tone, string> = { good: "32", bad: "31", warn: "33", dim: "2", bold: "1" };

export interface Paint {
  (tone: Tone | undefined, text: string): string;
}

export const paint = (colour: boolean): Paint => (tone, text) => (colour && tone && text ? `\u001b[${SGR[tone]}m${text}\u001b[0m` : text);

/** The tone of a phase: green done, red blocked or failed, yellow waiting. */
export function phaseTone(phase: string | undefined): Tone | undefined {
  switch (phase) {
    case "Succeeded":
      return "good";
    case "Failed":
    case "Blocked":
    case "Rejected":
    case "Expired":
      return "bad";
    case "PendingApproval":
      return "warn";
    default:
      return undefined;
  }
}

export function effectivenessTone(state: string | undefined): Tone | undefined {
  return state === "Effective" ? "good" : state === "Ineffective" ? "bad" : state === "Pending" || state === "Unknown" ? "warn" : undefined;
}

// eslint-disable-next-line no-control-regex -- matching terminal escapes is the point
const ESCAPES = /\u001b\[[0-9;]*m/g;
const visibleLength = (s: string) => s.replace(ESCAPES, "").length;

/** Control characters in values from the cluster (an agent's text) would forge lines or escapes on the terminal. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const clean = (s: string): string => s.replace(/[\u0000-\u001f\u007f]+/g, " ");

export interface Cell {
  text: string;
  tone?: Tone;
}

/** kubectl's table: headers upper-case, every column but the last padded to its widest cell plus three spaces. */
export function renderTable(headers: readonly string[], rows: readonly (readonly (string | Cell)[])[], p: Paint = paint(false)): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === "string" ? { text: clean(c) } : { ...c, text: clean(c.text) })));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => visibleLength(r[i]?.text ?? ""))));
  const line = (row: readonly Cell[]) =>
    row
      .map((c, i) => {
        const text = p(c.tone, c.text);
        return i === row.length - 1 ? text : text + " ".repeat(widths[i]! - visibleLength(c.text) + 3);
      })
      .join("")
      .trimEnd();
  return [line(headers.map((h) => ({ text: h.toUpperCase() }))), ...cells.map(line)].join("\n") + "\n";
}

/**
 * kubectl's human duration (k8s.io/apimachinery duration.HumanDuration): seconds
 * below 2 minutes, minutes and seconds below 10 minutes, then minutes, hours and
 * minutes, days and hours, days, years. Negative durations count as 0.
 */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(s / 3600);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 192) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  if (h < 24 * 365 * 8) {
    const y = Math.floor(h / 24 / 365);
    const d = Math.floor(h / 24) % 365;
    return d === 0 ? `${y}y` : `${y}y${d}d`;
  }
  return `${Math.floor(h / 24 / 365)}y`;
}

/** The age of an object created at `timestamp` (RFC 3339), or <unknown>. */
export function age(timestamp: string | undefined, now: number): string {
  const t = timestamp ? Date.parse(timestamp) : NaN;
  return Number.isNaN(t) ? "<unknown>" : humanDuration(now - t);
}

/** JSON or YAML of a value, as `-o json|yaml` prints it. */
export function serialise(value: unknown, format: "json" | "yaml"): string {
  return format === "json" ? JSON.stringify(value, null, 2) + "\n" : stringify(value, { lineWidth: 0 });
}
