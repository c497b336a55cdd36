// The audit controller: every terminal action gets its audit record(s) out
// (audit/record.ts), then a durable marker in status.audit. The marker is
// written after the record, so a crash in between emits the record again with
// the same id on the next leader's start (its initial keys are every action
// whose marker is missing) — at least once, never lost. Retention keeps an
// action until its marker is there. Leader-only, like every controller.
import type { RemediationAction } from "../api/v1alpha1/objects.ts";
import { buildAuditRecord, missingAuditIds } from "../audit/record.ts";
import type { AuditSink } from "../audit/sink.ts";
import type { KubeApi } from "../k8s/api.ts";
import { isNotFound } from "../k8s/errors.ts";
import { failpoint } from "../k8s/failpoints.ts";
import { writeStatus } from "../k8s/smartops.ts";
import type { Logger } from "../telemetry/logger.ts";
import { auditRecordsTotal } from "../telemetry/metrics.ts";
import type { Cache } from "./cache.ts";
import type { ReconcileResult } from "./reconcile.ts";

export interface AuditDeps {
  api: KubeApi;
  actions: Cache<RemediationAction>;
  sink: AuditSink;
  log: Logger;
  now?: () => number;
  guard?: () => void;
  /** Longest wait for the sink to hand batched records on (OTLP) before the marker is written. */
  flushTimeoutMs?: number;
}

/** Ids this process emitted whose marker is not stored yet: a conflict's retry does not print them twice. */
const EMITTED_MAX = 10_000;

export class AuditController {
  private readonly d: AuditDeps;
  private readonly now: () => number;
  private readonly emitted = new Set<string>();

  constructor(deps: AuditDeps) {
    this.d = deps;
    this.now = deps.now ?? Date.now;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split("/") as [string, string];
    const a = this.d.actions.get(namespace, name);
    if (!a) return {};
    const missing = missingAuditIds(a);
    if (missing.length === 0) return {};
    this.d.guard?.();
    failpoint("before-audit");
    for (const id of missing) {
      if (this.emitted.has(id)) continue;
      const record = buildAuditRecord(a, id);
      this.d.sink.emit(record);
      auditRecordsTotal.inc({ event: record.event });
      this.remember(id);
    }
    await this.flush();
    const writtenAt = new Date(this.now()).toISOString();
    const audit = [...(a.status?.audit ?? []), ...missing.map((id) => ({ id, writtenAt }))].slice(-8);
    this.d.guard?.();
    try {
      await writeStatus(this.d.api, a, { ...a.status, audit });
    } catch (err) {
      if (isNotFound(err)) {
        for (const id of missing) this.emitted.delete(id);
        return {};
      }
      // A conflict: the next reconcile sees the newer object; the records are not printed again by this process.
      throw err;
    }
    for (const id of missing) this.emitted.delete(id);
    return {};
  }

  private remember(id: string): void {
    if (this.emitted.size >= EMITTED_MAX) this.emitted.delete(this.emitted.values().next().value!);
    this.emitted.add(id);
  }

  private async flush(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, this.d.flushTimeoutMs ?? 5_000)));
    try {
      await Promise.race([this.d.sink.flush().catch((err: unknown) => this.d.log.warn("audit records not flushed", { err: String(err) })), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
