// KEDA's ScaledObject CRD in the test cluster, from the KEDA Go module
// (tools/keda/crd.sh; no KEDA controller runs): for the autoscaler e2e, and for
// the RBAC checks — `kubectl auth can-i` resolves a resource through discovery, so
// it answers no for a kind the API server does not serve, whatever the rules say.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { kubectl } from "./kube.ts";

const ROOT = join(import.meta.dirname, "..", "..");

export function installKedaCrd(): void {
  const crd = execFileSync(join(ROOT, "tools/keda/crd.sh"), { encoding: "utf8" }).trim();
  kubectl(["apply", "--server-side", "-f", crd]);
  kubectl(["wait", "--for=condition=Established", "crd/scaledobjects.keda.sh", "--timeout=60s"]);
}

/** Removed and waited for, so the next file starts from a cluster without KEDA. */
export function removeKedaCrd(): void {
  kubectl(["delete", "crd", "scaledobjects.keda.sh", "--ignore-not-found", "--timeout=50s"]);
}
