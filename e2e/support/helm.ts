// helm (built by tools/helm/build.sh into the cache) and kubectl with their
// stderr, for the chart suites: rendering, applying, and Pod Security warnings.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { inject } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
export const CHART = join(ROOT, "charts/smartops-operator");

let toolDir: string | undefined;
/** bin/helm and monitoring-crds/ (a no-op after `make helm`; a cold build takes minutes). */
export function helmTools(): { helm: string; monitoringCrds: string } {
  toolDir ??= execFileSync(join(ROOT, "tools/helm/build.sh"), { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 900_000 }).trim();
  return { helm: join(toolDir, "bin/helm"), monitoringCrds: join(toolDir, "monitoring-crds") };
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

const helmHome = mkdtempSync(join(tmpdir(), "smartops-helm-"));

export function helm(args: string[]): Run {
  const r = spawnSync(helmTools().helm, args, {
    encoding: "utf8",
    timeout: 180_000,
    env: {
      ...process.env,
      KUBECONFIG: inject("kubeconfig"),
      HELM_CACHE_HOME: join(helmHome, "cache"),
      HELM_CONFIG_HOME: join(helmHome, "config"),
      HELM_DATA_HOME: join(helmHome, "data"),
    },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template` of the chart; throws with helm's message when rendering fails. */
export function render(release: string, namespace: string, values: Record<string, string | number | boolean> = {}): string {
  const sets = Object.entries(values).flatMap(([k, v]) => ["--set", `${k}=${v}`]);
  const r = helm(["template", release, CHART, "--namespace", namespace, ...sets]);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return r.stdout;
}

/** kubectl as the admin, keeping stderr (warnings) and the exit status. */
export function kubectlRun(args: string[], input?: string): Run {
  const r = spawnSync(inject("kubectl"), ["--kubeconfig", inject("kubeconfig"), ...args], { encoding: "utf8", input, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
