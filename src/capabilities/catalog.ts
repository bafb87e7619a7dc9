/**
 * The capability registry as the control plane's API serves it (`listCapabilities`,
 * `getCapability`): summaries without the config schema, one capability with it.
 */
import type { Capability, CapabilityLayer, CapabilityList, CapabilitySummary } from '../../generated/control-plane/types';
import { AppError } from '../platform/errors';
import { capabilityRegistry, type RegistryCapability } from './registry';

function summary(c: RegistryCapability): CapabilitySummary {
  return {
    id: c.id,
    v: c.v,
    layer: c.layer,
    title: c.title,
    description: c.description,
    saleorValue: c.saleorValue,
    provisioning: { handler: c.provisioning.handler, kinds: [...c.provisioning.kinds] },
    metering: { dimensions: c.metering.dimensions.map((d) => ({ ...d })) },
  };
}

const encodeCursor = (afterId: string) => Buffer.from(`after:${afterId}`, 'utf8').toString('base64url');

function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = text.startsWith('after:') ? text.slice('after:'.length) : undefined;
  if (!id || !capabilityRegistry().get(id)) {
    throw new AppError('VALIDATION_FAILED', 'Invalid cursor', { errors: [{ path: '/query/cursor', message: 'is not a cursor from a previous page' }] });
  }
  return id;
}

export const DEFAULT_PAGE_SIZE = 50;

/** A page of capability summaries in registry order; `cursor` continues after the last item served. */
export function listCapabilities(q: { layer?: CapabilityLayer; cursor?: string; limit?: number }): CapabilityList {
  const registry = capabilityRegistry();
  let items = registry.capabilities.filter((c) => q.layer === undefined || c.layer === q.layer);
  if (q.cursor !== undefined) {
    const after = decodeCursor(q.cursor);
    const all = registry.capabilities;
    const position = all.findIndex((c) => c.id === after);
    items = items.filter((c) => all.indexOf(c) > position);
  }
  const limit = q.limit ?? DEFAULT_PAGE_SIZE;
  const page = items.slice(0, limit);
  return {
    registryVersion: registry.version,
    items: page.map(summary),
    nextCursor: items.length > limit ? encodeCursor(page[page.length - 1]!.id) : null,
  };
}

/** One capability with its config schema (a copy: callers may not change the registry). */
export function getCapability(id: string): Capability | undefined {
  const c = capabilityRegistry().get(id);
  if (!c) return undefined;
  return { ...summary(c), configSchema: structuredClone(c.configSchema) as Capability['configSchema'] };
}
