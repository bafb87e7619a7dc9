/**
 * Langflow Studio publishing: a flow export becomes a new immutable version of an offering
 * (named by `offeringId` or `offeringSlug`),
 * through the same path as `createOfferingVersion` (source `langflow`), certified right away
 * unless `certify: false`. Capabilities and plans not given are copied from `basedOnVersionId`
 * (default the offering's latest version). Publishing the offering stays a separate
 * `transitionOffering` step.
 */
import type { LangflowPublishRequest, LangflowVersionStatus } from '../../generated/control-plane/types';
import { inTransaction, rows, type Db } from '../db/tx';
import { AppError } from '../platform/errors';
import type { CatalogEnv } from './env';
import { visibleOfferingRow } from './offerings';
import { certificationOf, type OfferingRow, type VersionRow } from './rows';
import { certifyVersion, createVersion, versionNotFound } from './versions';
import { OfferingModel, OfferingVersionModel } from './models';

export async function publishLangflowFlow(env: CatalogEnv, db: Db, input: LangflowPublishRequest, actor: string | null): Promise<LangflowVersionStatus> {
  if ((input.offeringId === undefined) === (input.offeringSlug === undefined)) {
    throw new AppError('VALIDATION_FAILED', 'Name the offering by offeringId or by offeringSlug (exactly one)', {
      errors: [{ path: '/body', message: 'needs exactly one of offeringId, offeringSlug' }],
    });
  }
  return inTransaction(db, async (trx) => {
    const offering = await offeringByIdOrSlug(trx, input);
    let { capabilities, plans } = input;
    if (!capabilities || !plans) {
      const baseId = input.basedOnVersionId ?? offering.latest_version_id;
      if (!baseId) {
        throw new AppError('UNPROCESSABLE', 'The offering has no version to copy capabilities and plans from: give capabilities and plans', {
          offeringId: offering.id,
        });
      }
      const base = (await OfferingVersionModel.query(trx).where({ id: baseId, offering_id: offering.id }).first()) as VersionRow | undefined;
      if (!base) throw new AppError('UNPROCESSABLE', `Version ${baseId} is not a version of this offering`, { basedOnVersionId: baseId });
      capabilities ??= base.capabilities;
      plans ??= base.plans;
    }
    const version = await createVersion(
      env,
      trx,
      offering.id,
      { version: input.version, ...(input.changelog !== undefined ? { changelog: input.changelog } : {}), flow: input.flow, capabilities, plans, source: 'langflow' },
      actor,
    );
    if (input.certify !== false) await certifyVersion(env, trx, offering.id, version.id);
    return versionStatus(trx, version.id);
  });
}

async function offeringByIdOrSlug(db: Db, input: Pick<LangflowPublishRequest, 'offeringId' | 'offeringSlug'>): Promise<OfferingRow> {
  if (input.offeringId !== undefined) return visibleOfferingRow(db, input.offeringId, true);
  const found = (await OfferingModel.query(db).where({ slug: input.offeringSlug }).select('id').first()) as { id: string } | undefined;
  if (!found) throw new AppError('NOT_FOUND', 'Offering not found');
  return visibleOfferingRow(db, found.id, true);
}

export async function versionStatus(db: Db, versionId: string): Promise<LangflowVersionStatus> {
  const v = (await OfferingVersionModel.query(db).where({ id: versionId }).first()) as VersionRow | undefined;
  if (!v) throw versionNotFound();
  const o = (await OfferingModel.query(db).where({ id: v.offering_id }).select('lifecycle', 'published_version_id').first()) as Pick<OfferingRow, 'lifecycle' | 'published_version_id'>;
  const times = [v.created_at, v.certified_at, v.published_at].filter((t): t is Date => t instanceof Date);
  return {
    versionId: v.id,
    offeringId: v.offering_id,
    version: v.version,
    flowId: v.flow_id,
    sha256: v.artifact_sha256,
    certification: certificationOf(v),
    offeringLifecycle: o.lifecycle,
    isPublishedVersion: o.published_version_id === v.id,
    activeInstances: await countActiveInstances(db, v.id),
    updatedAt: new Date(Math.max(...times.map((t) => t.getTime()))).toISOString(),
  };
}

/**
 * Instances running this version (not terminated). The instances table belongs to the
 * instances module; until it exists (or if it names its columns differently) this is 0.
 */
async function countActiveInstances(db: Db, versionId: string): Promise<number> {
  const cols = await rows<{ column_name: string }>(
    db,
    `select column_name from information_schema.columns
      where table_schema = current_schema() and table_name = 'instances'
        and column_name in ('version_id', 'offering_version_id', 'state')`,
  );
  const names = new Set(cols.map((c) => c.column_name));
  const versionColumn = names.has('version_id') ? 'version_id' : names.has('offering_version_id') ? 'offering_version_id' : undefined;
  if (!versionColumn || !names.has('state')) return 0;
  const [r] = await rows<{ n: number | string }>(db, `select count(*) as n from instances where ${versionColumn} = ? and state <> 'terminated'`, [versionId]);
  return Number(r?.n ?? 0);
}

