// Bounds on what callers can hold: requests in flight per identity and in
// total, and the key under which unauthenticated requests are rate-limited.
import { isIPv6 } from "node:net";

/** Counts requests in flight, per key and in total; a slot is taken or refused at once, never queued. */
export class InFlight {
  private readonly perKey = new Map<string, number>();
  private totalCount = 0;
  readonly maxTotal: number;
  readonly maxPerKey: number;

  constructor(maxTotal: number, maxPerKey: number) {
    this.maxTotal = maxTotal;
    this.maxPerKey = maxPerKey;
  }

  get total(): number {
    return this.totalCount;
  }

  /** One slot of the total; the returned function gives it back (idempotent). */
  enterTotal(): (() => void) | undefined {
    if (this.totalCount >= this.maxTotal) return undefined;
    this.totalCount++;
    return once(() => { this.totalCount--; });
  }

  /** One slot of `key`'s share; the returned function gives it back (idempotent). */
  enter(key: string): (() => void) | undefined {
    const n = this.perKey.get(key) ?? 0;
    if (n >= this.maxPerKey) return undefined;
    this.perKey.set(key, n + 1);
    return once(() => {
      const left = (this.perKey.get(key) ?? 1) - 1;
      if (left <= 0) this.perKey.delete(key);
      else this.perKey.set(key, left);
    });
  }
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    f();
  };
}

/**
 * The rate-limit key of a client address: IPv4 as is (also when IPv4-mapped),
 * IPv6 by its /64, since one host usually owns a whole /64 and could otherwise
 * rotate through addresses to get a fresh bucket per request.
 */
export function addressKey(raw: string | undefined): string {
  let address = raw;
  if (!address) return "unknown";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  address = address.split("%")[0]!; // an IPv6 zone names the interface, not the host
  if (!isIPv6(address)) return address;
  const [head = "", tail = ""] = address.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = address.includes("::") ? [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
