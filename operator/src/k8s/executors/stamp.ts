// The crash-safety stamp: the uid of the last action that mutated a Deployment.
import type { V1Deployment } from "@kubernetes/client-node";
import { ANNOTATIONS } from "../../api/v1alpha1/objects.ts";

export function stampOf(d: V1Deployment | undefined): string | undefined {
  return d?.metadata?.annotations?.[ANNOTATIONS.lastAction];
}
