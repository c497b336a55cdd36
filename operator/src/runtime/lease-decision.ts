// The pure part of leader election: given what the Lease says, when we first saw
// it say that, and now — create, take over, renew, or wait?
//
// As in client-go, expiry is judged by the local clock from the moment the record
// was last seen to change (observedAt), never by comparing the holder's renewTime
// with our own clock: replicas' clocks may disagree, elapsed time does not.

/** coordination.k8s.io/v1 LeaseSpec; times are MicroTime strings. */
export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number | null;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number | null;
}

export interface LeaseObservation {
  spec: LeaseSpec;
  /** Monotonic ms at which this exact record was first seen. */
  observedAt: number;
}

export type LeaseDecision =
  | { action: "create"; spec: LeaseSpec }
  /** Write `spec` (guarded by the read resourceVersion); `acquiring` = a new holder, not a renewal. */
  | { action: "update"; spec: LeaseSpec; acquiring: boolean }
  | { action: "wait"; holder: string; expiresInMs: number };

export interface LeaseDecisionInput {
  /** Undefined when the Lease object does not exist. */
  current: LeaseObservation | undefined;
  identity: string;
  leaseDurationSeconds: number;
  /** Monotonic ms, the scale of observedAt. */
  now: number;
  /** Wall time written into acquireTime / renewTime. */
  wallNow: Date;
}

export function decideLease(input: LeaseDecisionInput): LeaseDecision {
  const { current, identity, leaseDurationSeconds, now, wallNow } = input;
  const stamp = microTime(wallNow);
  if (!current) {
    return {
      action: "create",
      spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: stamp, renewTime: stamp, leaseTransitions: 0 },
    };
  }
  const old = current.spec;
  const holder = old.holderIdentity ?? "";
  if (holder && holder !== identity) {
    const expiresAt = current.observedAt + (old.leaseDurationSeconds || leaseDurationSeconds) * 1000;
    if (now < expiresAt) return { action: "wait", holder, expiresInMs: expiresAt - now };
  }
  const ours = holder === identity;
  return {
    action: "update",
    acquiring: !ours,
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: ours ? (old.acquireTime ?? stamp) : stamp,
      renewTime: stamp,
      leaseTransitions: ours ? (old.leaseTransitions ?? 0) : (old.leaseTransitions ?? 0) + 1,
    },
  };
}

/** The record after a graceful release: no holder, so the next candidate may take it at once. */
export function releasedSpec(old: LeaseSpec, wallNow: Date): LeaseSpec {
  const stamp = microTime(wallNow);
  return { holderIdentity: "", leaseDurationSeconds: 1, acquireTime: stamp, renewTime: stamp, leaseTransitions: old.leaseTransitions ?? 0 };
}

/** Keeps observedAt while the record is unchanged; restarts it when anything in it changed. */
export function observeLease(previous: LeaseObservation | undefined, spec: LeaseSpec, now: number): LeaseObservation {
  if (previous && sameRecord(previous.spec, spec)) return previous;
  return { spec, observedAt: now };
}

function sameRecord(a: LeaseSpec, b: LeaseSpec): boolean {
  return (
    (a.holderIdentity ?? "") === (b.holderIdentity ?? "") &&
    (a.leaseDurationSeconds ?? 0) === (b.leaseDurationSeconds ?? 0) &&
    (a.acquireTime ?? "") === (b.acquireTime ?? "") &&
    (a.renewTime ?? "") === (b.renewTime ?? "") &&
    (a.leaseTransitions ?? 0) === (b.leaseTransitions ?? 0)
  );
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
