// Writes crds/<group>_<plural>.yaml from the zod schemas. With --check it writes
// nothing and exits 1 when crds/ differs from what it would write (drift).
import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { renderCrds } from "../api/crd/render.ts";

const check = process.argv.includes("--check");
const dir = resolve(process.argv.find((a) => a.startsWith("--out="))?.slice(6) ?? "crds");

const wanted = renderCrds();
const drift: string[] = [];
if (!check) mkdirSync(dir, { recursive: true });
for (const [file, text] of wanted) {
  const path = join(dir, file);
  const current = existsSync(path) ? readFileSync(path, "utf8") : undefined;
  if (current === text) continue;
  if (check) drift.push(current === undefined ? `${file}: missing` : `${file}: differs`);
  else writeFileSync(path, text);
}
for (const file of existsSync(dir) ? readdirSync(dir) : []) {
  if (file.endsWith(".yaml") && !wanted.has(file)) drift.push(`${file}: not generated from the schemas (remove it)`);
}
if (drift.length > 0) {
  console.error(`crds/ is out of date with operator/src/api (run \`make generate\`):\n  ${drift.join("\n  ")}`);
  process.exit(1);
}
console.log(check ? `crds/ is up to date (${wanted.size} CRDs)` : `wrote ${wanted.size} CRDs to ${dir}`);
