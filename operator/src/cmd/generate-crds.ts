// Writes crds/*.yaml and docs/api.md from the zod schemas. With --check it writes
// nothing and exits 1 when any generated file differs (drift).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { renderGenerated } from "../api/crd/render.ts";

const check = process.argv.includes("--check");
const root = resolve(import.meta.dirname, "../../..");

const wanted = renderGenerated();
const drift: string[] = [];
for (const [file, text] of wanted) {
  const path = join(root, file);
  const current = existsSync(path) ? readFileSync(path, "utf8") : undefined;
  if (current === text) continue;
  if (check) {
    drift.push(current === undefined ? `${file}: missing` : `${file}: differs`);
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}
for (const file of readdirSync(join(root, "crds"))) {
  if (!wanted.has(`crds/${file}`)) drift.push(`crds/${file}: not generated from the schemas (remove it)`);
}
if (drift.length > 0) {
  console.error(`generated files are out of date with operator/src/api (run \`make generate\`):\n  ${drift.join("\n  ")}`);
  process.exit(1);
}
console.log(check ? `generated files are up to date (${wanted.size})` : `generated ${wanted.size} files`);
