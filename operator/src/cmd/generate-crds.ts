// Writes crds/*.yaml, docs/api.md and the Helm chart's generated templates (its
// CRDs, and its RBAC rules and admission policy from config/) from the zod schemas.
// With --check it writes nothing and exits 1 when any generated file differs (drift).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { renderGenerated } from "../api/crd/render.ts";
import { CHART_CRD_DIR, CHART_SOURCES, renderChart } from "../chart/templates.ts";

const check = process.argv.includes("--check");
const root = resolve(import.meta.dirname, "../../..");

const sources = new Map(CHART_SOURCES.map((p) => [p, readFileSync(join(root, p), "utf8")]));
const wanted = new Map([...renderGenerated(), ...renderChart(sources)]);
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
for (const dir of ["crds", CHART_CRD_DIR]) {
  for (const file of existsSync(join(root, dir)) ? readdirSync(join(root, dir)) : []) {
    if (!wanted.has(`${dir}/${file}`)) drift.push(`${dir}/${file}: not generated from the schemas (remove it)`);
  }
}
if (drift.length > 0) {
  console.error(`generated files are out of date with operator/src/api and config/ (run \`make generate\`):\n  ${drift.join("\n  ")}`);
  process.exit(1);
}
console.log(check ? `generated files are up to date (${wanted.size})` : `generated ${wanted.size} files`);
