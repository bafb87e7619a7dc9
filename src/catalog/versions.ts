/**
 * Offering versions: immutable once created (there is no update path; the database refuses one
 * too). A version is a Langflow flow export stored in object storage under
 * `artifacts/sha256/<hex>.json` (the sha256 of the exact canonical bytes stored), its capability
 * list with offering-level defaults, and its plans. Certification (`pending → passed|failed`,
 * a `passed` one is final) is the only thing that changes, plus the time it was first published.
 *
 * Status words: the spec's `certification.status` `pending|passed|failed`; "certified" means
 * `passed`; a version is "published" when it is (or was) its offering's live version
 * (`published_at` set, `offerings.published_version_id` names the live one).
 */
import type {
  ArtifactLink,
  CertificationError,
  CertificationReport,
  CreateOfferingVersionRequest,
  OfferingVersion,
  OfferingVersionList,
} from '../../generated/control-plane/types';
import { inTransaction, type Db } from '../db/tx';
import { AppError } from '../platform/errors';
import { newId } from '../platform/ids';
import { decodeCursor, encodeCursor, isIsoTimestamp } from './cursor';
import type { CatalogEnv } from './env';
import { artifactKey, assertPublishableFlow, canonicalFlow, findSecrets, flowIssues, sha256Hex } from './flow';
import { visibleOfferingRow } from './offerings';
import { planSummaries, toVersion, type OfferingRow, type VersionRow } from './rows';
import { DEFAULT_LIMIT, MAX_LIMIT } from './search';
import type { PartialModelObject } from 'objection';
import { OfferingModel, OfferingVersionModel } from './models';

const VERSION_ID = /^ov_[A-Za-z0-9]{8,40}$/;
export const versionNotFound = () => new AppError('NOT_FOUND', 'Offering version not found');

export interface NewVersion extends CreateOfferingVersionRequest {
  source: 'api' | 'langflow';
}

/** Structural problems the API schema cannot express (repeated ids, plan config for unlisted capabilities). */
export function versionShapeIssues(input: Pick<CreateOfferingVersionRequest, 'capabilities' | 'plans'>): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const capIds = new Set<string>();
  input.capabilities.forEach((c, i) => {
    if (capIds.has(c.id)) issues.push({ path: `/body/capabilities/${i}/id`, message: `capability ${c.id} is listed twice` });
    capIds.add(c.id);
  });
  const planIds = new Set<string>();
  input.plans.forEach((p, i) => {
    if (planIds.has(p.id)) issues.push({ path: `/body/plans/${i}/id`, message: `plan ${p.id} is listed twice` });
    planIds.add(p.id);
    for (const capId of Object.keys(p.defaults ?? {})) {
      if (!capIds.has(capId)) issues.push({ path: `/body/plans/${i}/defaults/${capId}`, message: `configures ${capId}, which is not a capability of this version` });
    }
  });
  return issues;
}

export async function createVersion(env: CatalogEnv, db: Db, offeringId: string, input: NewVersion, actor: string | null): Promise<OfferingVersion> {
  const shape = versionShapeIssues(input);
  if (shape.length) throw new AppError('UNPROCESSABLE', 'The version is not consistent', { issues: shape });
  assertPublishableFlow(input.flow);
  const flow = canonicalFlow(input.flow);

  return inTransaction(db, async (trx) => {
    const offering = await visibleOfferingRow(trx, offeringId, true, true);
    if (offering.lifecycle === 'eol') {
      throw new AppError('CONFLICT', 'An offering at end of life takes no new versions', { lifecycle: offering.lifecycle });
    }
    const clash = await OfferingVersionModel.query(trx).where({ offering_id: offeringId, version: input.version }).select('id').first();
    if (clash) {
      throw new AppError('ALREADY_EXISTS', `Version ${input.version} of this offering already exists (versions are immutable: publish a new version number)`, {
        version: input.version,
        versionId: (clash as { id: string }).id,
      });
    }
    // Content-addressed: writing the same flow twice writes the same object (and heals a damaged copy).
    const key = artifactKey(flow.sha256);
    await env.store.put(key, flow.bytes, { contentType: 'application/json' });

    const now = env.now();
    const row = {
      id: newId('ov', now.getTime()),
      offering_id: offeringId,
      version: input.version,
      changelog: input.changelog ?? null,
      source: input.source,
      flow_id: flow.flowId,
      artifact_key: key,
      artifact_uri: env.store.uri(key),
      artifact_sha256: flow.sha256,
      artifact_size: flow.bytes.length,
      capabilities: input.capabilities,
      plans: input.plans,
      created_by: actor,
      created_at: now,
    };
    const created = await OfferingVersionModel.query(trx).insert(row).returning('*');
    const set: PartialModelObject<OfferingModel> = { latest_version_id: row.id, updated_at: now, updated_by: actor };
    if (!offering.published_version_id) {
      // Until something is published, the listing shows what the latest version offers.
      set.capabilities = input.capabilities.map((c) => c.id);
      set.plans = planSummaries(input.plans);
    }
    await OfferingModel.query(trx).findById(offeringId).patch(set);
    return toVersion(created);
  });
}

/** The version row, or 404 when it (or its offering) is not visible to this caller. */
async function visibleVersionRow(db: Db, offeringId: string, versionId: string, publisherAdmin: boolean): Promise<VersionRow> {
  await visibleOfferingRow(db, offeringId, publisherAdmin);
  const row = (await OfferingVersionModel.query(db).where({ id: versionId, offering_id: offeringId }).first()) as VersionRow | undefined;
  if (!row || (!publisherAdmin && row.certification_status !== 'passed')) throw versionNotFound();
  return row;
}

export async function getVersion(db: Db, offeringId: string, versionId: string, publisherAdmin: boolean): Promise<OfferingVersion> {
  return toVersion(await visibleVersionRow(db, offeringId, versionId, publisherAdmin));
}

/** Newest first; buyers see certified versions of offerings they can see. */
export async function listVersions(
  db: Db,
  offeringId: string,
  page: { cursor?: string; limit?: number },
  publisherAdmin: boolean,
): Promise<OfferingVersionList> {
  await visibleOfferingRow(db, offeringId, publisherAdmin);
  const limit = page.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new AppError('VALIDATION_FAILED', `limit must be 1 to ${MAX_LIMIT}`, { errors: [{ path: '/query/limit', message: `must be 1 to ${MAX_LIMIT}` }] });
  }
  const filters = { offeringId, admin: publisherAdmin };
  const qb = OfferingVersionModel.query(db).where({ offering_id: offeringId });
  if (!publisherAdmin) qb.where({ certification_status: 'passed' });
  if (page.cursor !== undefined) {
    const c = decodeCursor(page.cursor, 'newest', filters, isIsoTimestamp, VERSION_ID);
    qb.whereRaw('(created_at, id) < (?::timestamptz, ?)', [c.k as string, c.id]);
  }
  const rows = (await qb
    .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(limit + 1)) as VersionRow[];
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(toVersion),
    nextCursor: rows.length > limit && last ? encodeCursor({ s: 'newest', k: new Date(last.created_at).toISOString(), id: last.id }, filters) : null,
  };
}

/**
 * The certify step. Re-reads the stored artifact and checks: its sha256 matches the version's;
 * it is a well-formed flow export without secrets; every capability exists in the registry at
 * its `v`; every plan's effective config passes each capability's schema and handler. The report
 * is stored on the version. `passed` is final (repeating returns the stored report); a `failed`
 * version can be checked again (after the registry or the stored object was fixed).
 * A missing artifact means the version cannot be checked at all: 422 UNPROCESSABLE.
 */
export async function certifyVersion(env: CatalogEnv, db: Db, offeringId: string, versionId: string): Promise<CertificationReport> {
  return inTransaction(db, async (trx) => {
    await visibleOfferingRow(trx, offeringId, true);
    const row = (await OfferingVersionModel.query(trx).where({ id: versionId, offering_id: offeringId }).forUpdate().first()) as VersionRow | undefined;
    if (!row) throw versionNotFound();
    if (row.certification_status === 'passed') return reportOf(row);

    const object = await env.store.get(row.artifact_key);
    if (!object) {
      throw new AppError('UNPROCESSABLE', 'The version\'s flow artifact is missing from object storage; it cannot be certified', {
        versionId,
        artifact: row.artifact_uri,
      });
    }
    const errors: CertificationError[] = [];
    const actual = sha256Hex(object.bytes);
    if (actual !== row.artifact_sha256) {
      errors.push({ path: '', code: 'ARTIFACT_INTEGRITY_FAILED', message: `the stored artifact hashes to ${actual}, the version records ${row.artifact_sha256}` });
    } else {
      let flow: unknown;
      try {
        flow = JSON.parse(object.bytes.toString('utf8'));
      } catch {
        errors.push({ path: '', code: 'UNPROCESSABLE', message: 'the stored artifact is not JSON' });
      }
      if (flow !== undefined) {
        for (const i of flowIssues(flow)) errors.push({ path: i.path, code: 'UNPROCESSABLE', message: `flow: ${i.message}` });
        for (const s of findSecrets(flow)) {
          errors.push({ path: s.path, code: 'UNPROCESSABLE', message: `flow: credential-looking value in ${s.nodeId ? `node ${s.nodeId}` : 'the flow'} (field ${s.field})` });
        }
      }
    }
    errors.push(...env.certifier.check(row.capabilities, row.plans));

    const [updated] = await OfferingVersionModel.query(trx)
      .where({ id: versionId })
      .patch({
        certification_status: errors.length ? 'failed' : 'passed',
        certification_errors: errors,
        registry_version: env.certifier.registryVersion(),
        certified_at: env.now(),
      })
      .returning('*');
    return reportOf(updated!);
  });
}

function reportOf(row: VersionRow): CertificationReport {
  return {
    versionId: row.id,
    status: row.certification_status === 'passed' ? 'passed' : 'failed',
    registryVersion: row.registry_version ?? '',
    checkedAt: (row.certified_at ?? row.created_at).toISOString(),
    errors: row.certification_errors ?? [],
  };
}

/**
 * A short-lived download link for the flow artifact and its sha256 (the Runner verifies the
 * digest). Publisher admins get any version; platform services only certified ones.
 */
export async function artifactLink(env: CatalogEnv, db: Db, offeringId: string, versionId: string, who: { publisherAdmin: boolean }): Promise<ArtifactLink> {
  const offering = (await OfferingModel.query(db).where({ id: offeringId }).select('id').first()) as Pick<OfferingRow, 'id'> | undefined;
  if (!offering) throw new AppError('NOT_FOUND', 'Offering not found');
  const row = (await OfferingVersionModel.query(db).where({ id: versionId, offering_id: offeringId }).first()) as VersionRow | undefined;
  if (!row || (!who.publisherAdmin && row.certification_status !== 'passed')) throw versionNotFound();
  const info = await env.store.head(row.artifact_key);
  if (!info) {
    throw new AppError('STORAGE_UNAVAILABLE', 'The flow artifact is missing from object storage', { versionId, artifact: row.artifact_uri });
  }
  const link = await env.store.presignGet(row.artifact_key, { expiresInSeconds: env.artifactLinkSeconds ?? 300 });
  return {
    versionId: row.id,
    uri: row.artifact_uri,
    url: link.url,
    sha256: row.artifact_sha256,
    sizeBytes: Number(row.artifact_size),
    contentType: 'application/json',
    flowId: row.flow_id,
    expiresAt: link.expiresAt.toISOString(),
  };
}
