// Where the process's connection to the API server comes from: the kubeconfig
// (client-node loads it, with its exec plugins, token files and in-cluster
// ServiceAccount), one pooled transport, and the KubeApi over it.
import * as k8s from "@kubernetes/client-node";
import { httpKubeApi, type KubeApi } from "./api.ts";
import { KubeTransport } from "./transport.ts";

export const FIELD_MANAGER = "smartops-operator";

/** KUBECONFIG, else ~/.kube/config, else the in-cluster ServiceAccount. */
export function loadKubeConfig(path = process.env.KUBECONFIG): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

export interface Connection {
  api: KubeApi;
  /** Closed once, when the process stops. */
  transport: KubeTransport;
}

export function connect(kc: k8s.KubeConfig, fieldManager = FIELD_MANAGER, operationPrefix = ""): Connection {
  const transport = new KubeTransport(kc);
  return { transport, api: httpKubeApi(transport, { fieldManager, operationPrefix }) };
}
