import { defineSection } from '../define';

/** Keycloak (or any OIDC provider): who signs the tokens the services accept. */
export const oidc = defineSection({
  id: 'oidc',
  title: 'Identity (Keycloak realm)',
  vars: {
    OIDC_ISSUER: { doc: 'Keycloak realm issuer (https://kc.example.com/realms/<realm>); unset = the development issuer (refused in production).', example: 'https://keycloak.example.com/realms/agentstore', required: 'production' },
    OIDC_AUDIENCE: { doc: 'The audience every token must carry (the realm\'s audience mapper adds it; deploy/keycloak/realm.json).', default: 'agent-store' },
    OIDC_JWKS_URL: { doc: 'JWKS override; default <OIDC_ISSUER>/protocol/openid-connect/certs.' },
    OIDC_CLOCK_TOLERANCE_SECONDS: { doc: 'Clock skew allowed on exp/nbf/iat.', default: '30' },
  },
  read: (r) => ({
    oidc: {
      issuer: r.url('OIDC_ISSUER'),
      audience: r.str('OIDC_AUDIENCE', 'agent-store'),
      jwksUrl: r.url('OIDC_JWKS_URL'),
      clockToleranceSeconds: r.int('OIDC_CLOCK_TOLERANCE_SECONDS', 30, 0, 300),
    },
  }),
});
