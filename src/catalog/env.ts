import type { ObjectStore } from '../storage/object-store';
import type { Certifier } from './certifier';

/** What the catalog services need besides the database handle they are given per call. */
export interface CatalogEnv {
  store: ObjectStore;
  certifier: Certifier;
  now(): Date;
  /** How long artifact download links live (seconds). Default 300. */
  artifactLinkSeconds?: number;
}
