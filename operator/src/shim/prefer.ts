// The Prefer request header (RFC 7240), as far as the action routes use it:
// `respond-async` asks for the answer before the outcome (202 at once), and
// `wait=<seconds>` shortens how long the shim waits for the outcome. Anything
// else is ignored, as the RFC asks of preferences a server does not support.

export interface Preferences {
  respondAsync: boolean;
  /** Seconds the caller is willing to wait, when it said. */
  waitSeconds: number | undefined;
}

/** Longest Prefer header value looked at; a longer one is read only this far. */
const MAX_HEADER = 1024;

/**
 * Reads one or more Prefer header values: a comma-separated list of
 * `token [= value] *(; parameter)`, tokens case-insensitive, values optionally
 * quoted. The first occurrence of a preference wins (RFC 7240 §2).
 */
export function parsePrefer(header: string | string[] | undefined): Preferences {
  const out: Preferences = { respondAsync: false, waitSeconds: undefined };
  if (header === undefined) return out;
  const text = (Array.isArray(header) ? header.join(",") : header).slice(0, MAX_HEADER);
  const seen = new Set<string>();
  for (const item of text.split(",")) {
    const [pref = ""] = item.split(";");
    const eq = pref.indexOf("=");
    const token = (eq < 0 ? pref : pref.slice(0, eq)).trim().toLowerCase();
    if (token === "" || seen.has(token)) continue;
    seen.add(token);
    const value = eq < 0 ? "" : pref.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
    if (token === "respond-async") out.respondAsync = true;
    else if (token === "wait" && /^\d{1,9}$/.test(value)) out.waitSeconds = Number(value);
  }
  return out;
}
