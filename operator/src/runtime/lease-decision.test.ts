import { describe, expect, it } from "vitest";
import { decideLease, type LeaseSpec, microTime, observeLease, releasedSpec } from "./lease-decision.ts";

const wallNow = new Date("2026-01-02T03:04:05.678Z");
const STAMP = "2026-01-02T03:04:05.678000Z";
const base = { identity: "me", leaseDurationSeconds: 15, wallNow };

const held = (holder: string, extra: LeaseSpec = {}): LeaseSpec => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: "2026-01-01T00:00:00.000000Z",
  renewTime: "2026-01-01T00:00:10.000000Z",
  leaseTransitions: 3,
  ...extra,
});

describe("decideLease", () => {
  it("creates a missing lease with us as holder", () => {
    expect(decideLease({ ...base, current: undefined, now: 0 })).toEqual({
      action: "create",
      spec: { holderIdentity: "me", leaseDurationSeconds: 15, acquireTime: STAMP, renewTime: STAMP, leaseTransitions: 0 },
    });
  });

  it("waits while another holder's lease has not expired, counted from when we observed it", () => {
    const current = { spec: held("other"), observedAt: 100_000 };
    expect(decideLease({ ...base, current, now: 100_000 })).toEqual({ action: "wait", holder: "other", expiresInMs: 15_000 });
    expect(decideLease({ ...base, current, now: 114_999 })).toEqual({ action: "wait", holder: "other", expiresInMs: 1 });
  });

  it("takes over an expired lease, counting a transition and stamping a new acquireTime", () => {
    const current = { spec: held("other"), observedAt: 100_000 };
    expect(decideLease({ ...base, current, now: 115_000 })).toEqual({
      action: "update",
      acquiring: true,
      spec: { holderIdentity: "me", leaseDurationSeconds: 15, acquireTime: STAMP, renewTime: STAMP, leaseTransitions: 4 },
    });
  });

  it("judges expiry by the lease's own duration", () => {
    const current = { spec: held("other", { leaseDurationSeconds: 60 }), observedAt: 0 };
    expect(decideLease({ ...base, current, now: 30_000 }).action).toBe("wait");
    expect(decideLease({ ...base, current, now: 60_000 }).action).toBe("update");
  });

  it("ignores the holder's renewTime: a far-past renewTime freshly observed is still valid", () => {
    const current = { spec: held("other", { renewTime: "2000-01-01T00:00:00.000000Z" }), observedAt: 5_000 };
    expect(decideLease({ ...base, current, now: 5_001 }).action).toBe("wait");
  });

  it("takes a released lease (no holder) at once", () => {
    const current = { spec: releasedSpec(held("other"), wallNow), observedAt: 1_000 };
    const d = decideLease({ ...base, current, now: 1_000 });
    expect(d).toMatchObject({ action: "update", acquiring: true, spec: { holderIdentity: "me", leaseTransitions: 4 } });
  });

  it("renews our own lease keeping acquireTime and transitions, even before it expires", () => {
    const current = { spec: held("me"), observedAt: 100_000 };
    expect(decideLease({ ...base, current, now: 100_001 })).toEqual({
      action: "update",
      acquiring: false,
      spec: { holderIdentity: "me", leaseDurationSeconds: 15, acquireTime: "2026-01-01T00:00:00.000000Z", renewTime: STAMP, leaseTransitions: 3 },
    });
  });

  it("fills missing fields of a foreign record", () => {
    const current = { spec: { holderIdentity: "other" }, observedAt: 0 };
    expect(decideLease({ ...base, current, now: 14_999 }).action).toBe("wait");
    expect(decideLease({ ...base, current, now: 15_000 })).toMatchObject({ spec: { leaseTransitions: 1 } });
  });
});

describe("observeLease", () => {
  it("keeps observedAt while the record is unchanged and restarts it on any change", () => {
    const first = observeLease(undefined, held("other"), 10);
    expect(first.observedAt).toBe(10);
    expect(observeLease(first, held("other"), 20)).toBe(first);
    expect(observeLease(first, held("other", { renewTime: "2026-01-01T00:00:12.000000Z" }), 30).observedAt).toBe(30);
    expect(observeLease(first, held("third"), 40).observedAt).toBe(40);
    expect(observeLease(first, held("other", { leaseTransitions: 4 }), 50).observedAt).toBe(50);
  });
});

describe("releasedSpec", () => {
  it("clears the holder, shortens the duration and keeps the transition count", () => {
    expect(releasedSpec(held("me"), wallNow)).toEqual({ holderIdentity: "", leaseDurationSeconds: 1, acquireTime: STAMP, renewTime: STAMP, leaseTransitions: 3 });
  });
});

describe("microTime", () => {
  it("has six fractional digits", () => {
    expect(microTime(new Date("2026-05-06T07:08:09.010Z"))).toBe("2026-05-06T07:08:09.010000Z");
  });
});
