// The leader elector's three Lease calls over KubeApi: read, create, replace
// guarded by the resourceVersion read (a 409 means another candidate won).
import type { LeaseClient, LeaseObject } from "../runtime/leader-election.ts";
import type { KubeApi } from "./api.ts";
import { isNotFound } from "./errors.ts";
import { LEASES } from "./resources.ts";

// Deadlines come from the elector's own signals; this only bounds a request that has none.
const REQUEST_CEILING_MS = 60_000;

export function leaseClient(api: KubeApi, namespace: string, name: string): LeaseClient {
  const o = (signal: AbortSignal) => ({ signal, timeoutMs: REQUEST_CEILING_MS });
  return {
    async get(signal) {
      try {
        return await api.get<LeaseObject>(LEASES, namespace, name, o(signal));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    create: (lease, signal) => api.create<LeaseObject>(LEASES, namespace, lease, o(signal)),
    replace: (lease, signal) => api.replace<LeaseObject>(LEASES, namespace, name, lease, o(signal)),
  };
}
