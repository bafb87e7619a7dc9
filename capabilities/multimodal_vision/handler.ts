import { multimodalVisionMeta as meta, type MultimodalVisionHandler } from '../../generated/capabilities/multimodal-vision';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { ConfigIssue } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { configMap } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';

/** What one run may carry in attachments in total (the Runner buffers them in memory). */
export const MAX_RUN_ATTACHMENT_BYTES = 64 * 1024 * 1024;

/**
 * Vision. Semantic rule: maxImagesPerRun × maxImageBytes stays within MAX_RUN_ATTACHMENT_BYTES
 * (64 MiB) per run.
 * Desired state: a ConfigMap with the limits (maxPdfPages 0 when application/pdf is not accepted).
 */
export const multimodalVision: MultimodalVisionHandler = {
  validate(config) {
    const issues: ConfigIssue[] = [];
    const images = config.maxImagesPerRun;
    const bytes = config.maxImageBytes;
    if (images !== undefined && bytes !== undefined && images * bytes > MAX_RUN_ATTACHMENT_BYTES) {
      issues.push({
        path: pointer('maxImageBytes'),
        message: `maxImagesPerRun × maxImageBytes is ${images * bytes} bytes, above the ${MAX_RUN_ATTACHMENT_BYTES} bytes a run may carry`,
      });
    }
    return issues;
  },
  desiredState(ctx) {
    const c = withDefaults(meta.id, ctx.config);
    return [
      configMap(ctx, meta.id, {
        acceptedMimeTypes: c.acceptedMimeTypes,
        maxImagesPerRun: c.maxImagesPerRun,
        maxImageBytes: c.maxImageBytes,
        maxPdfPages: c.acceptedMimeTypes!.includes('application/pdf') ? c.maxPdfPages : 0,
        detail: c.detail,
      }),
    ];
  },
  meter: meterBy(meta.dimensions),
};
