import type { Identity } from '../auth/identity';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { RuntimeRegistry } from '../runtime/registry';
import type { ArtifactFetcher, IntegrityFailureEvent } from './artifacts';
import type { ObjectStore } from '../storage/object-store';

/** What every runner handler receives as `ctx.deps`. */
export interface RunnerDeps {
  config: Config;
  log: Logger;
  identity: Identity;
  /** Fetches and verifies flow artifacts (sha256), with a cache of verified bytes. */
  artifacts: ArtifactFetcher;
  /** Fetches run attachments from their presigned URLs and verifies their sha256. */
  attachments: ArtifactFetcher;
  /** Where spoken answers are stored (multimodal_audio.textToSpeech). */
  objectStore: ObjectStore;
  /** Langflow when LANGFLOW_URL is set, else the built-in runtime. */
  runtimes: RuntimeRegistry;
  /**
   * Called after an artifact is refused, beside the `artifact.integrity_failed` log line: the
   * control plane's audit log plugs in here. Its failures are logged, never answered.
   */
  onIntegrityFailure?: (event: IntegrityFailureEvent) => void | Promise<void>;
}
