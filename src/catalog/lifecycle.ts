/**
 * The offering lifecycle, as one table (the spec's `transitionOffering` description, plus one
 * documented extension):
 *
 *   from \ to   draft  published  paused  eos  eol
 *   draft         ·        ✓         ·      ·    ·
 *   published     ·        ✓*        ✓      ✓    ·
 *   paused        ✓        ✓         ·      ✓    ·
 *   eos           ·        ·         ·      ·    ✓
 *   eol           ·        ·         ·      ·    ·     (final)
 *
 *   ✓* published → published switches the live version: only with a `versionId` that differs
 *      from the one published now (otherwise it is an illegal no-op transition).
 *
 * Publishing (to `published`) needs a certified version — the given `versionId` or the latest
 * certified one — else 422 UNPROCESSABLE. `paused → draft` takes a listing off the storefront
 * for rework (it keeps its versions). `eos` (end of sale) stops new instances and orders; `eol`
 * (end of life) also stops existing instances at the Gateway and freezes the listing.
 * Anything else is 409 ILLEGAL_TRANSITION with `details: {from, to, allowed}`.
 */
import type { OfferingLifecycle } from '../../generated/control-plane/types';
import { AppError } from '../platform/errors';

export const LIFECYCLE_STATES: readonly OfferingLifecycle[] = ['draft', 'published', 'paused', 'eos', 'eol'];

export const TRANSITIONS: Readonly<Record<OfferingLifecycle, readonly OfferingLifecycle[]>> = {
  draft: ['published'],
  published: ['published', 'paused', 'eos'],
  paused: ['published', 'eos', 'draft'],
  eos: ['eol'],
  eol: [],
};

/** States a buyer (anonymous or without `publisher-admin`) may open by id; the lifecycle flags them. */
export const PUBLICLY_VISIBLE: readonly OfferingLifecycle[] = ['published', 'paused', 'eos'];
/** States a buyer finds in search: only what is on sale. */
export const PUBLICLY_LISTED: readonly OfferingLifecycle[] = ['published'];

export function allowedTransitions(from: OfferingLifecycle): readonly OfferingLifecycle[] {
  return TRANSITIONS[from];
}

/**
 * Throws 409 ILLEGAL_TRANSITION unless `from → to` is in the table. `switchesVersion` says
 * whether a `published → published` request names a different version than the live one.
 */
export function assertTransition(from: OfferingLifecycle, to: OfferingLifecycle, switchesVersion = false): void {
  const allowed = TRANSITIONS[from];
  const legal = allowed.includes(to) && (from !== 'published' || to !== 'published' || switchesVersion);
  if (!legal) {
    const note = from === 'published' && to === 'published' ? ' (name another certified versionId to switch the live version)' : '';
    throw new AppError('ILLEGAL_TRANSITION', `An offering cannot go from ${from} to ${to}${note}`, { from, to, allowed: [...allowed] });
  }
}
