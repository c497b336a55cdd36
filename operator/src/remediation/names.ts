// Names and label values derived from other objects' names. Deterministic, so
// every replica and every retry derives the same one (invariant 2: a retried
// create meets AlreadyExists), and always valid for the API. Pure.

const MAX_NAME = 253;
const HASH_LEN = 8;

/**
 * The action's name for a signal: the same signal always gives the same name, so
 * a retried create meets AlreadyExists (invariant 2). The uid hash keeps a
 * re-created signal of the same name from colliding with the old action.
 */
export function actionName(signalKind: "AnomalySignal" | "RcaSignal", signalName: string, signalUid: string): string {
  const prefix = signalKind === "AnomalySignal" ? "anomaly" : "rca";
  const hash = fnv1a32(signalUid);
  const room = MAX_NAME - prefix.length - HASH_LEN - 2;
  const middle = dnsSafe(signalName).slice(0, room).replace(/[-.]+$/, "");
  return middle === "" ? `${prefix}-${hash}` : `${prefix}-${middle}-${hash}`;
}

/** Identity on valid DNS-1123 subdomains; anything else is folded into one. */
function dnsSafe(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, "-")
    .split(".")
    .map((label) => label.replace(/^-+|-+$/g, ""))
    .filter((label) => label !== "")
    .join(".");
}

/** 32-bit FNV-1a over the UTF-8 bytes, as 8 lower-case hex digits. */
export function fnv1a32(text: string): string {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(HASH_LEN, "0");
}

/**
 * A name as a label value: at most 63 characters, ending in an alphanumeric (a
 * DNS-1123 name already starts with one). Label values only help select; the
 * full name stays in the object's spec.
 */
export function labelValueOf(name: string): string {
  return name.slice(0, 63).replace(/[^A-Za-z0-9]+$/, "");
}

/**
 * The name of the undo the operator creates for a failed action: `undo-`, the
 * action's name (cut to fit) and an 8-hex FNV-1a of its uid, so every replica
 * and every retry derives the same one (a second create meets AlreadyExists),
 * and an action re-created under the same name gets an undo of its own.
 * Never the action's own name.
 */
export function undoName(actionName_: string, actionUid: string): string {
  const prefix = "undo";
  const room = MAX_NAME - prefix.length - HASH_LEN - 2;
  const middle = dnsSafe(actionName_).slice(0, room).replace(/[-.]+$/, "");
  const named = (hash: string) => (middle === "" ? `${prefix}-${hash}` : `${prefix}-${middle}-${hash}`);
  const name = named(fnv1a32(actionUid));
  // Only a 253-character action named like its own undo could meet itself; another hash parts them.
  return name === actionName_ ? named(fnv1a32(`${actionUid}/undo`)) : name;
}
