// Tests write patches as documents; an action stores them as JSON text.
import type { PatchDocument, PatchText } from "../patch-document.ts";

export const stored = (doc: PatchDocument): PatchText =>
  Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, JSON.stringify(v)])) as PatchText;
