// Which Deployment a signal's service names. Services are commonly deployed as
// `smartops-<service>` while agents report the bare service name, so an exact
// match alone would miss most real targets.

export interface DeploymentRef {
  name: string;
  labels?: Record<string, string>;
}

export interface TargetMatch {
  name: string;
  via: "exact" | "prefix" | "label";
}

export const NAME_LABEL = "app.kubernetes.io/name";

export function resolveTarget(service: string, deployments: readonly DeploymentRef[]): TargetMatch | undefined {
  if (deployments.some((d) => d.name === service)) return { name: service, via: "exact" };
  const prefixed = `smartops-${service}`;
  if (deployments.some((d) => d.name === prefixed)) return { name: prefixed, via: "prefix" };
  const labelled = deployments
    .filter((d) => d.labels?.[NAME_LABEL] === service)
    .map((d) => d.name)
    .sort(compareStrings);
  const first = labelled[0];
  return first === undefined ? undefined : { name: first, via: "label" };
}

/** Code-unit order, independent of the process locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
