/** Offerings: create, read (with visibility), update the listing, and move through the lifecycle. */
import type {
  CreateOfferingRequest,
  Offering,
  OfferingTransitionRequest,
  UpdateOfferingRequest,
} from '../../generated/control-plane/types';
import { inTransaction, sqlState, SQLSTATE, type Db } from '../db/tx';
import { AppError } from '../platform/errors';
import { newId } from '../platform/ids';
import type { CatalogEnv } from './env';
import { assertTransition, PUBLICLY_VISIBLE } from './lifecycle';
import { OFFERING_COLUMNS, planSummaries, toOffering, type OfferingRow, type VersionRow } from './rows';
import type { PartialModelObject } from 'objection';
import { OfferingModel, OfferingTransitionModel, OfferingVersionModel } from './models';

export const offeringNotFound = () => new AppError('NOT_FOUND', 'Offering not found');

/** The offering row, or 404 when it is missing or not visible to this caller. */
export async function visibleOfferingRow(db: Db, id: string, publisherAdmin: boolean, forUpdate = false): Promise<OfferingRow> {
  const qb = OfferingModel.query(db).modify('listing').findById(id);
  if (forUpdate) qb.forUpdate();
  const row = (await qb) as OfferingRow | undefined;
  if (!row || (!publisherAdmin && !PUBLICLY_VISIBLE.includes(row.lifecycle))) throw offeringNotFound();
  return row;
}

export async function getOffering(db: Db, id: string, publisherAdmin: boolean): Promise<Offering> {
  return toOffering(await visibleOfferingRow(db, id, publisherAdmin));
}

export async function createOffering(env: CatalogEnv, db: Db, input: CreateOfferingRequest, actor: string | null): Promise<Offering> {
  const now = env.now();
  const row = {
    id: newId('off', now.getTime()),
    slug: input.slug,
    name: input.name,
    category: input.category,
    summary: input.summary,
    description: input.description ?? '',
    value_streams: input.valueStreams,
    connectors: input.connectors ?? [],
    languages: input.languages ?? [],
    modalities: input.modalities ?? [],
    lifecycle: 'draft' as const,
    icon_url: input.iconUrl ?? null,
    saleor_product_id: input.saleorProductId ?? null,
    created_by: actor,
    updated_by: actor,
    created_at: now,
    updated_at: now,
  };
  try {
    const created = await OfferingModel.query(db).insert(row).returning([...OFFERING_COLUMNS]);
    return toOffering(created);
  } catch (err) {
    if (sqlState(err) === SQLSTATE.UNIQUE_VIOLATION) {
      throw new AppError('ALREADY_EXISTS', `An offering with slug ${input.slug} already exists`, { slug: input.slug });
    }
    throw err;
  }
}

export async function updateOffering(env: CatalogEnv, db: Db, id: string, patch: UpdateOfferingRequest, actor: string | null): Promise<Offering> {
  return inTransaction(db, async (trx) => {
    const row = await visibleOfferingRow(trx, id, true, true);
    if (row.lifecycle === 'eol') {
      throw new AppError('CONFLICT', 'An offering at end of life can no longer change', { lifecycle: row.lifecycle });
    }
    const set: PartialModelObject<OfferingModel> = { updated_at: env.now(), updated_by: actor };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.category !== undefined) set.category = patch.category;
    if (patch.summary !== undefined) set.summary = patch.summary;
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.valueStreams !== undefined) set.value_streams = patch.valueStreams;
    if (patch.connectors !== undefined) set.connectors = patch.connectors;
    if (patch.languages !== undefined) set.languages = patch.languages;
    if (patch.modalities !== undefined) set.modalities = patch.modalities;
    if (patch.iconUrl !== undefined) set.icon_url = patch.iconUrl;
    if (patch.saleorProductId !== undefined) set.saleor_product_id = patch.saleorProductId;
    const [updated] = await OfferingModel.query(trx).where({ id }).patch(set).returning([...OFFERING_COLUMNS]);
    return toOffering(updated!);
  });
}

/** Moves the offering through the lifecycle table (lifecycle.ts); publishing names the live version. */
export async function transitionOffering(env: CatalogEnv, db: Db, id: string, req: OfferingTransitionRequest, actor: string | null): Promise<Offering> {
  return inTransaction(db, async (trx) => {
    const row = await visibleOfferingRow(trx, id, true, true);
    const { to, versionId } = req;
    if (versionId !== undefined && to !== 'published') {
      throw new AppError('VALIDATION_FAILED', 'versionId applies only to a transition to published', {
        errors: [{ path: '/body/versionId', message: 'only with to: published' }],
      });
    }
    const from = row.lifecycle;
    assertTransition(from, to, versionId !== undefined && versionId !== row.published_version_id);

    const now = env.now();
    const set: PartialModelObject<OfferingModel> = { lifecycle: to, updated_at: now, updated_by: actor };
    let publishedVersion: VersionRow | undefined;
    if (to === 'published') {
      publishedVersion = await versionToPublish(trx, row, versionId);
      set.published_version_id = publishedVersion.id;
      set.capabilities = publishedVersion.capabilities.map((c) => c.id);
      set.plans = planSummaries(publishedVersion.plans);
      if (!publishedVersion.published_at) {
        await OfferingVersionModel.query(trx).findById(publishedVersion.id).patch({ published_at: now });
      }
    }
    const [updated] = await OfferingModel.query(trx).where({ id }).patch(set).returning([...OFFERING_COLUMNS]);
    await OfferingTransitionModel.query(trx).insert({
      offering_id: id,
      from_state: from,
      to_state: to,
      version_id: publishedVersion?.id ?? null,
      reason: req.reason ?? null,
      actor,
      at: now,
    });
    return toOffering(updated!);
  });
}

/**
 * The certified version a transition to `published` puts live: the named one; else, when
 * resuming a paused offering, the version that was live before the pause (a pause never swaps
 * versions behind the publisher's back); else the latest certified one.
 */
async function versionToPublish(trx: Db, offering: OfferingRow, versionId: string | undefined): Promise<VersionRow> {
  if (versionId !== undefined) {
    const v = (await OfferingVersionModel.query(trx).where({ id: versionId, offering_id: offering.id }).first()) as VersionRow | undefined;
    if (!v) throw new AppError('UNPROCESSABLE', `Version ${versionId} is not a version of this offering`, { versionId });
    if (v.certification_status !== 'passed') {
      throw new AppError('UNPROCESSABLE', `Version ${v.version} is not certified (certification ${v.certification_status}): certify it first`, {
        versionId,
        certification: v.certification_status,
      });
    }
    return v;
  }
  if (offering.lifecycle === 'paused' && offering.published_version_id) {
    const live = (await OfferingVersionModel.query(trx).where({ id: offering.published_version_id }).first()) as VersionRow | undefined;
    if (live) return live;
  }
  const latest = (await OfferingVersionModel.query(trx)
    .where({ offering_id: offering.id, certification_status: 'passed' })
    .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .first()) as VersionRow | undefined;
  if (!latest) {
    throw new AppError('UNPROCESSABLE', 'Publishing needs a certified version: create a version and certify it first', { offeringId: offering.id });
  }
  return latest;
}
