/** Database rows of the catalog tables and their API shapes (generated/control-plane/types). */
import { isTrialPlan } from '../instances/plans';
import type {
  Certification,
  CertificationError,
  Modality,
  Offering,
  OfferingCategory,
  OfferingLifecycle,
  OfferingVersion,
  Plan,
  PlanSummary,
  ValueStream,
  VersionCapability,
} from '../../generated/control-plane/types';

export interface OfferingRow {
  id: string;
  slug: string;
  name: string;
  category: OfferingCategory;
  summary: string;
  description: string;
  value_streams: ValueStream[];
  capabilities: string[];
  connectors: string[];
  languages: string[];
  modalities: Modality[];
  lifecycle: OfferingLifecycle;
  icon_url: string | null;
  saleor_product_id: string | null;
  published_version_id: string | null;
  latest_version_id: string | null;
  plans: PlanSummary[];
  created_by: string | null;
  updated_by: string | null;
  created_at: Date;
  updated_at: Date;
}

/** Every offering column but the tsvector (never sent to the application). */
export const OFFERING_COLUMNS = [
  'id', 'slug', 'name', 'category', 'summary', 'description', 'value_streams', 'capabilities', 'connectors',
  'languages', 'modalities', 'lifecycle', 'icon_url', 'saleor_product_id', 'published_version_id',
  'latest_version_id', 'plans', 'created_by', 'updated_by', 'created_at', 'updated_at',
] as const;

export interface VersionRow {
  id: string;
  offering_id: string;
  version: string;
  changelog: string | null;
  source: 'api' | 'langflow';
  flow_id: string;
  artifact_key: string;
  artifact_uri: string;
  artifact_sha256: string;
  artifact_size: number;
  capabilities: VersionCapability[];
  plans: Plan[];
  created_by: string | null;
  created_at: Date;
  certification_status: Certification['status'];
  certification_errors: CertificationError[];
  registry_version: string | null;
  certified_at: Date | null;
  published_at: Date | null;
}

/** pg returns text[] as arrays; be tolerant of the '{a,b}' literal form all the same. */
function textArray(v: unknown): string[] {
  if (Array.isArray(v)) return v as string[];
  if (typeof v === 'string' && v.startsWith('{') && v.endsWith('}')) {
    const inner = v.slice(1, -1);
    return inner === '' ? [] : inner.split(',').map((s) => s.replace(/^"(.*)"$/, '$1'));
  }
  return [];
}

const iso = (d: Date | string) => (d instanceof Date ? d : new Date(d)).toISOString();

export function toOffering(row: OfferingRow): Offering {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    category: row.category,
    summary: row.summary,
    description: row.description,
    valueStreams: textArray(row.value_streams) as ValueStream[],
    capabilities: textArray(row.capabilities),
    connectors: textArray(row.connectors),
    languages: textArray(row.languages),
    modalities: textArray(row.modalities) as Modality[],
    lifecycle: row.lifecycle,
    ...(row.icon_url ? { iconUrl: row.icon_url } : {}),
    publishedVersionId: row.published_version_id,
    latestVersionId: row.latest_version_id,
    saleorProductId: row.saleor_product_id,
    plans: row.plans ?? [],
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

export function certificationOf(row: VersionRow): Certification {
  return {
    status: row.certification_status,
    registryVersion: row.registry_version,
    checkedAt: row.certified_at ? iso(row.certified_at) : null,
    errors: row.certification_errors ?? [],
  };
}

export function toVersion(row: VersionRow): OfferingVersion {
  return {
    id: row.id,
    offeringId: row.offering_id,
    version: row.version,
    ...(row.changelog !== null ? { changelog: row.changelog } : {}),
    source: row.source,
    artifact: { uri: row.artifact_uri, sha256: row.artifact_sha256, sizeBytes: Number(row.artifact_size), flowId: row.flow_id },
    capabilities: row.capabilities,
    plans: row.plans,
    certification: certificationOf(row),
    ...(row.created_by !== null ? { createdBy: row.created_by } : {}),
    createdAt: iso(row.created_at),
  };
}

export function planSummaries(plans: readonly Plan[]): PlanSummary[] {
  return plans.map((p) => ({ id: p.id, name: p.name, includedCredits: p.includedCredits, trial: isTrialPlan(p), ...(p.priceRef ? { priceRef: p.priceRef } : {}) }));
}
