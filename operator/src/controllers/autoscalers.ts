// The autoscalers of a Deployment, from the informers of HorizontalPodAutoscalers
// and (when KEDA's CRD is installed) ScaledObjects, indexed by the Deployment
// their scaleTargetRef names ("namespace/name").
import type { KubernetesObject } from "@kubernetes/client-node";
import { type Autoscaler, autoscalersOf, type HpaObject, hpaTargetKey, type ScaledObjectObject, scaledObjectTargetKey } from "../remediation/autoscaler.ts";
import type { Indexed } from "./indexes.ts";

/** HPAs and ScaledObjects by their target Deployment: "namespace/deployment". */
export const BY_SCALE_TARGET = "scaleTarget";

export const hpaIndex = (o: KubernetesObject): string[] => {
  const key = hpaTargetKey(o as HpaObject);
  return key ? [key] : [];
};

export const scaledObjectIndex = (o: KubernetesObject): string[] => {
  const key = scaledObjectTargetKey(o as ScaledObjectObject);
  return key ? [key] : [];
};

/** What the action controller reads autoscalers from; `scaledObjects` is absent when KEDA is not installed. */
export interface AutoscalerCaches {
  hpas: Indexed<HpaObject>;
  scaledObjects?: Indexed<ScaledObjectObject>;
}

export function autoscalersOfDeployment(caches: AutoscalerCaches | undefined, namespace: string, name: string): Autoscaler[] {
  if (!caches) return [];
  const key = `${namespace}/${name}`;
  return autoscalersOf(caches.hpas.byIndex(BY_SCALE_TARGET, key), caches.scaledObjects?.byIndex(BY_SCALE_TARGET, key) ?? []);
}
