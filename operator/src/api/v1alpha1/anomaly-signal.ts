// AnomalySignal: one anomaly window reported by a detection agent. The spec
// mirrors the shim's POST /v1/signals/anomaly payload field for field.
import { z } from "zod";
import { conditions, dnsSubdomain, objectReference, observedGeneration, probability, scalarMap, timestamp, windowId, withCel } from "./meta.ts";

export const anomalySignalSpec = withCel(
  z
    .object({
      windowId: windowId.describe("Identifier of the detection window; one signal per windowId."),
      service: dnsSubdomain.describe(
        "Service the anomaly was seen on. Resolved to a Deployment in the signal's namespace: exact name, then the smartops- prefix, then the app.kubernetes.io/name label.",
      ),
      isAnomaly: z.boolean().describe("Whether the window is anomalous; false never produces an action."),
      score: probability.describe("Anomaly score in [0, 1]."),
      type: z
        .string()
        .min(1)
        .max(63)
        .regex(/^[a-z][a-z0-9_-]*$/, "lower-case letters, digits, '_' and '-'")
        .describe("Anomaly type: resource, latency, error, jitter or other. Unknown types are treated as other."),
      modelVersion: z
        .string()
        .min(1)
        .max(128)
        .optional()
        .describe("Version of the model that produced the signal. Without it the signal is unverified and its action is forced to dry-run."),
      confidence: probability
        .optional()
        .describe("Confidence of the detector in [0, 1]. Without it the signal is unverified and its action is forced to dry-run."),
      tsRange: withCel(
        z
          .object({
            start: timestamp.describe("Start of the window."),
            end: timestamp.describe("End of the window."),
          })
          .strict()
          .refine((r) => Date.parse(r.start) <= Date.parse(r.end), { message: "start must not be after end", path: ["start"] }),
        [{ rule: "timestamp(self.start) <= timestamp(self.end)", message: "start must not be after end", fieldPath: ".start" }],
      )
        .optional()
        .describe("Time range of the detection window."),
      metadata: scalarMap("spec.metadata", "Context from the detector: up to 64 keys, each a number, a boolean or a short string (e.g. {\"cpu\": 96.3}).").optional(),
    })
    .strict(),
  [{ rule: "self == oldSelf", message: "spec is immutable: a signal records what was observed" }],
).describe("What the detector observed.");

export const signalStatus = z
  .object({
    observedGeneration: observedGeneration.optional(),
    phase: z
      .enum(["Pending", "ActionCreated", "Ignored", "NoTarget", "Notified", "Refused"])
      .optional()
      .describe("What became of the signal: an action was created, the signal was ignored, no target was found, the escalation ladder reached notify (no action; a human was told), or the API server refused to store its action (reason QuotaExceeded: a ResourceQuota of the namespace is spent)."),
    verified: z
      .boolean()
      .optional()
      .describe("False when the signal lacked modelVersion, confidence or causes; its action is then forced to dry-run."),
    actionRef: objectReference.optional().describe("The RemediationAction created for this signal."),
    target: dnsSubdomain.optional().describe("Name of the Deployment the service resolved to."),
    reason: z.string().max(128).optional().describe("CamelCase reason for the phase."),
    message: z.string().max(4096).optional().describe("Human-readable explanation of the phase."),
    conditions: conditions.optional(),
  })
  .strict()
  .describe("What the signal reconciler did with the signal.");

export type AnomalySignalSpec = z.infer<typeof anomalySignalSpec>;
export type SignalStatus = z.infer<typeof signalStatus>;
