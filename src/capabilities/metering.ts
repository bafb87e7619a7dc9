/**
 * Metering of a run: the shared rule (`metering-rule.ts`, re-exported here) applied by each
 * capability's `meter()`, summed over the capabilities of the instance's offering version.
 */
import { capabilityHandlers } from '../../generated/capabilities/handler-registry';
import { quantityOf, type Usage } from './metering-rule';
import { capabilityRegistry } from './registry';

export * from './metering-rule';

export interface MeterLine {
  capability: string;
  credits: number;
  /** The quantities of this capability's dimensions present in the usage. */
  dimensions: Record<string, number>;
}

export interface MeterRunResult {
  total: number;
  lines: MeterLine[];
}

interface Meterable {
  meter(usage: any): number;
}

/**
 * Meters one run: each listed capability's `meter()` over the run's usage (a flat map keyed by
 * dimension name), one line per capability (in the order given), and their sum. Dimensions of
 * capabilities not listed are ignored; an unknown or repeated capability id is an error.
 */
export function meterRun(
  capabilityIds: readonly string[],
  usage: Usage,
  handlers: Readonly<Record<string, Meterable>> = capabilityHandlers,
): MeterRunResult {
  const registry = capabilityRegistry();
  const seen = new Set<string>();
  const lines: MeterLine[] = [];
  let total = 0n;
  for (const id of capabilityIds) {
    if (seen.has(id)) throw new Error(`capability ${id} is listed twice`);
    seen.add(id);
    const entry = registry.get(id);
    const handler = Object.prototype.hasOwnProperty.call(handlers, id) ? handlers[id] : undefined;
    if (!entry || !handler) throw new Error(`unknown capability ${JSON.stringify(id)}`);
    const dimensions: Record<string, number> = {};
    for (const d of entry.metering.dimensions) {
      if (usage[d.name] === undefined) continue;
      dimensions[d.name] = Number(quantityOf(d.name, usage[d.name]));
    }
    const credits = handler.meter(usage);
    if (!Number.isSafeInteger(credits) || credits < 0) throw new Error(`${id}.meter() returned ${credits}, not a non-negative integer`);
    total += BigInt(credits);
    lines.push({ capability: id, credits, dimensions });
  }
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`metered ${total} credits, above 2^53-1`);
  return { total: Number(total), lines };
}
