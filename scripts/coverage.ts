/**
 * What is specified but not built: operations whose handler is still gen's 501 skeleton, and
 * registry capabilities whose hooks throw (gen's capability skeleton throws "<id>: validate not
 * implemented"). `npm run ops:coverage` fails on either; CI runs it.
 */
import { effectiveConfig } from '../src/capabilities/effective-config';
import type { CapabilityHandler } from '../src/capabilities/handler-types';
import { testContext } from '../src/capabilities/testing';
import { isNotImplemented } from '../src/platform/http/not-implemented';

export interface OperationCoverage {
  service: string;
  total: number;
  unbuilt: string[];
}

export function operationCoverage(registries: Record<string, Record<string, unknown>>): OperationCoverage[] {
  return Object.entries(registries).map(([service, handlers]) => ({
    service,
    total: Object.keys(handlers).length,
    unbuilt: Object.keys(handlers).filter((id) => isNotImplemented(handlers[id])),
  }));
}

export interface UnbuiltHook {
  capability: string;
  hook: 'validate' | 'desiredState' | 'meter';
  error: string;
}

/**
 * Calls every hook of every capability once, on the capability's default effective config (what
 * an instance with no overrides gets): `validate` must answer issues, `desiredState` manifests and
 * `meter({})` a number. A hook that throws instead — the generated skeleton, or any stub — is
 * reported with its error.
 */
export function unbuiltCapabilityHooks(handlers: Record<string, CapabilityHandler<any, string>>): UnbuiltHook[] {
  const found: UnbuiltHook[] = [];
  for (const [capability, h] of Object.entries(handlers)) {
    const { config } = effectiveConfig(capability, undefined, undefined, {});
    const probes = {
      validate: () => h.validate(config),
      desiredState: () => h.desiredState(testContext(config)),
      meter: () => h.meter({}),
    };
    for (const [hook, call] of Object.entries(probes) as [UnbuiltHook['hook'], () => unknown][]) {
      try {
        call();
      } catch (err) {
        found.push({ capability, hook, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  return found;
}
