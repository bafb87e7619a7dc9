/**
 * The breaking-change rules: what a consumer of a published spec (a generated client, a frontend,
 * another service) can no longer rely on. Each rule has a test in diff.test.ts.
 *
 * Additive changes are free: new paths, operations, optional parameters, optional request
 * properties, response properties, response codes, media types, and new enum values in responses
 * (clients must tolerate values they do not know, as they tolerate new properties).
 */
export const RULES = {
  'path-removed': 'a path was removed or renamed',
  'operation-removed': 'an operation (method) was removed from a path',
  'operation-id-changed': 'an operationId was renamed (generated client method names change)',
  'parameter-removed': 'a parameter was removed or renamed',
  'parameter-added-required': 'a new required parameter',
  'parameter-became-required': 'an optional parameter became required',
  'request-body-became-required': 'the request body became required (or a required body was added)',
  'request-property-removed': 'a request property was removed or renamed',
  'request-property-added-required': 'a new required request property',
  'request-property-became-required': 'an optional request property became required',
  'request-type-narrowed': 'a request value accepts less than before (type, nullable, bounds, length, pattern, format, closed object, variant removed)',
  'response-property-removed': 'a response property was removed or renamed',
  'response-property-became-optional': 'a required response property became optional',
  'response-type-widened': 'a response value may be something consumers did not expect (type widened such as integer → number, nullable added, bounds relaxed, pattern or format dropped, variant added)',
  'enum-value-removed': 'an enum value was removed (in a request, parameter or response)',
  'status-code-removed': 'a documented response status was removed',
  'media-type-removed': 'a request or response media type was removed',
  'response-header-removed': 'a documented response header was removed',
  'spec-removed': 'a whole service spec was removed',
} as const;

export type RuleId = keyof typeof RULES;

export interface Finding {
  rule: RuleId;
  /** `METHOD /path` (before's path), or `spec` for document-level findings. */
  operation: string;
  /** Where inside the operation, e.g. `response 200 application/json billing.creditsCharged`. */
  where: string;
  /** What changed, for people. */
  message: string;
}

/** The stable text a changelog entry must contain to acknowledge a finding. */
export function findingKey(f: Finding): string {
  return [f.rule, f.operation, f.where].filter(Boolean).join(' ');
}
