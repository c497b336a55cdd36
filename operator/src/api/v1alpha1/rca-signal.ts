// RcaSignal: one root-cause diagnosis. The spec mirrors the shim's
// POST /v1/signals/rca payload.
import { z } from "zod";
import { dnsSubdomain, probability, scalarMap, windowId, withCel } from "./meta.ts";

export const rankedCause = z
  .object({
    svc: dnsSubdomain.describe("Service the cause was attributed to."),
    cause: z
      .string()
      .min(1)
      .max(63)
      .regex(/^[a-z][a-z0-9_-]*$/, "lower-case letters, digits, '_' and '-'")
      .describe("Cause: memory_leak, cpu_saturation, high_error_rate, config_issue; unknown causes map to restart."),
    probability: probability.describe("Probability of this cause in [0, 1]."),
  })
  .strict();

export const rcaSignalSpec = withCel(
  z
    .object({
      windowId: windowId.describe("Identifier of the diagnosis window; one signal per windowId."),
      service: dnsSubdomain
        .optional()
        .describe("Service diagnosed. When absent, the svc of the most probable cause is used."),
      rankedCauses: z
        .array(rankedCause)
        .max(32)
        .optional()
        .describe("Candidate causes; the most probable one decides the action. Without causes the signal is unverified."),
      confidence: probability
        .optional()
        .describe("Confidence of the diagnosis in [0, 1]. Without it the signal is unverified and its action is forced to dry-run."),
      explanation: z.string().max(4096).optional().describe("Human-readable explanation from the RCA agent."),
      modelVersion: z
        .string()
        .min(1)
        .max(128)
        .optional()
        .describe("Version of the model that produced the diagnosis."),
      metadata: scalarMap("spec.metadata", "Context from the RCA agent: up to 64 keys, each a number, a boolean or a short string.").optional(),
    })
    .strict()
    .refine((s) => s.service !== undefined || (s.rankedCauses?.length ?? 0) > 0, {
      message: "service is required when rankedCauses is empty",
      path: ["service"],
    }),
  [
    { rule: "self == oldSelf", message: "spec is immutable: a signal records what was diagnosed" },
    {
      rule: "has(self.service) || (has(self.rankedCauses) && size(self.rankedCauses) > 0)",
      message: "service is required when rankedCauses is empty",
      fieldPath: ".service",
      reason: "FieldValueRequired",
    },
  ],
).describe("What the RCA agent diagnosed.");

export type RankedCause = z.infer<typeof rankedCause>;
export type RcaSignalSpec = z.infer<typeof rcaSignalSpec>;
