/**
 * The compiled config schemas of the registry, with ajv `useDefaults`: one validator per capability
 * that validates a config and fills in its schema `default`s (nested ones included). Imports no
 * handler, so handlers can use `withDefaults` without an import cycle.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { capabilityRegistry } from './registry';

let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

/** The validator of a capability's `config_schema` (it fills defaults into what it validates). */
export function configValidator(capabilityId: string): ValidateFunction | undefined {
  let v = validators.get(capabilityId);
  if (v) return v;
  const entry = capabilityRegistry().get(capabilityId);
  if (!entry) return undefined;
  ajv ??= addFormats(new Ajv({ allErrors: true, strict: false, useDefaults: true }));
  v = ajv.compile(structuredClone(entry.configSchema) as object);
  validators.set(capabilityId, v);
  return v;
}

/**
 * A copy of `config` with the schema's defaults filled in (the input is not changed). Handlers call
 * it in `desiredState` so they render the same thing whether or not the caller applied defaults.
 */
export function withDefaults<C>(capabilityId: string, config: C): C {
  const validate = configValidator(capabilityId);
  if (!validate) throw new Error(`unknown capability ${JSON.stringify(capabilityId)}`);
  const copy = structuredClone(config ?? {}) as C;
  validate(copy);
  return copy;
}
