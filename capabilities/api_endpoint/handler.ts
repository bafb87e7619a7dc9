import type { ApiEndpointHandler } from '../../generated/capabilities/api-endpoint';

/**
 * API endpoint: Secured HTTPS endpoint for programmatic runs with project API keys or OIDC tokens.
 * Fill in validate, desiredState and meter; the types come from the registry entry.
 */
export const apiEndpoint: ApiEndpointHandler = {
  validate(config) {
    throw new Error('api_endpoint: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('api_endpoint: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('api_endpoint: meter not implemented');
  },
};
