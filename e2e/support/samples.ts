// Loads samples/: valid objects, and invalid ones with the field each must be
// rejected for (the `# field:` and `# why:` header lines).
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";

export const SAMPLES_DIR = resolve(import.meta.dirname, "../../samples");

export interface Sample {
  file: string;
  object: { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: unknown };
}

export interface InvalidSample extends Sample {
  field: string;
  why: string;
}

function load(dir: string): Sample[] {
  return readdirSync(join(SAMPLES_DIR, dir))
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((file) => ({ file: `${dir}/${file}`, object: parse(readFileSync(join(SAMPLES_DIR, dir, file), "utf8")) }));
}

export function validSamples(): Sample[] {
  return load("valid");
}

export function invalidSamples(): InvalidSample[] {
  return load("invalid").map((s) => {
    const text = readFileSync(join(SAMPLES_DIR, s.file), "utf8");
    const field = /^# field: (.+)$/m.exec(text)?.[1]?.trim();
    const why = /^# why: (.+)$/m.exec(text)?.[1]?.trim();
    if (!field || !why) throw new Error(`${s.file} needs '# field:' and '# why:' header lines`);
    return { ...s, field, why };
  });
}
