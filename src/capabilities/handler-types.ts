import type { HookName, RunHooks } from './hook-types';

/** A Kubernetes object a capability wants committed to the instance's desired-state directory. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [key: string]: unknown;
}

export interface ConfigIssue {
  path: string;
  message: string;
}

/** What a handler knows about the instance it renders desired state for. */
export interface DesiredStateContext<Config> {
  instanceId: string;
  orgId: string;
  projectId: string;
  offeringId: string;
  versionId: string;
  planId: string;
  env: string;
  namespace: string;
  config: Config;
  /** The Vault KV v2 mount connector credentials live in (`VAULT_KV_MOUNT`, default `kv`). */
  vaultMount: string;
  /** Connector bindings as references (Vault paths), never secret values. */
  bindings: { bindingId: string; connectorId: string; vaultPath: string }[];
}

/**
 * Every registry capability implements this, typed by its generated config type and its
 * metering dimensions: `validate(config) → issues`, `desiredState(instance) → manifests`,
 * `meter(usage) → credits` (a non-negative integer) — and the run-time hooks its registry entry
 * declares (`hooks`), each required and typed by the config (hook-types.ts).
 */
export interface CapabilityBase<Config, Dimension extends string> {
  validate(config: Config): ConfigIssue[];
  desiredState(ctx: DesiredStateContext<Config>): Manifest[];
  meter(usage: Partial<Record<Dimension, number>>): number;
}

export type CapabilityHandler<Config, Dimension extends string, Hooks extends HookName = never> = CapabilityBase<Config, Dimension> & Pick<RunHooks<Config>, Hooks>;
