/**
 * The catalog: offerings (search, listing, lifecycle), immutable offering versions (flow
 * artifact in object storage, capabilities, plans), certification against the capability
 * registry, artifact links for the Runner, and Langflow Studio publishing.
 *
 * Every function takes the database handle to work on (the root knex or the caller's
 * transaction); `catalogFor(deps)` binds the rest (object store, registry, clock) once per
 * control-plane instance.
 */
import type { ObjectStore } from '../storage/object-store';
import { registryCertifier, type Certifier } from './certifier';
import type { CatalogEnv } from './env';

export { authorSubject, AUTHORING_OPERATION } from './access';
export { TRANSITIONS, PUBLICLY_LISTED, PUBLICLY_VISIBLE, assertTransition, allowedTransitions } from './lifecycle';
export { searchOfferings, toTsquery, DEFAULT_LIMIT, MAX_LIMIT } from './search';
export { createOffering, getOffering, updateOffering, transitionOffering } from './offerings';
export { createVersion, getVersion, listVersions, certifyVersion, artifactLink } from './versions';
export { publishLangflowFlow, versionStatus } from './langflow';
export { flowIssues, findSecrets, assertPublishableFlow, canonicalFlow, artifactKey } from './flow';
export { registryCertifier, type Certifier } from './certifier';
export type { CatalogEnv } from './env';

const envs = new WeakMap<object, CatalogEnv>();

/** The catalog environment of a control plane (cached per deps object). */
export function catalogFor(deps: { objectStore: ObjectStore }, opts: { certifier?: Certifier; now?: () => Date } = {}): CatalogEnv {
  let env = envs.get(deps);
  if (!env) {
    env = { store: deps.objectStore, certifier: opts.certifier ?? registryCertifier(), now: opts.now ?? (() => new Date()) };
    envs.set(deps, env);
  }
  return env;
}
