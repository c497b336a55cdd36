// Builds the CustomResourceDefinition of a kind from its zod schemas.
import { z } from "zod";
import { GROUP, type KindDefinition, VERSION } from "../v1alpha1/kinds.ts";
import { type JsonSchema, toJsonSchema, toStructural } from "./structural.ts";

export const CATEGORY = "smartops";

export function openApiSchema(def: KindDefinition): JsonSchema {
  const raw = toJsonSchema(
    z.object({
      spec: def.spec,
      status: def.status.optional(),
    }),
  );
  const body = toStructural(raw);
  const root: JsonSchema = {
    type: "object",
    description: def.description,
    required: ["spec"],
    properties: {
      apiVersion: { type: "string", description: "APIVersion defines the versioned schema of this representation of an object." },
      kind: { type: "string", description: "Kind is a string value representing the REST resource this object represents." },
      metadata: { type: "object" },
      ...(body.properties as JsonSchema),
    },
  };
  return root;
}

export function customResourceDefinition(def: KindDefinition): JsonSchema {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${def.plural}.${GROUP}`,
      labels: { "app.kubernetes.io/name": "smartops-operator", "app.kubernetes.io/part-of": "smartops" },
    },
    spec: {
      group: GROUP,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: [CATEGORY],
      },
      scope: "Namespaced",
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: openApiSchema(def) },
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
        },
      ],
    },
  };
}
