import { folder, request } from '../dsl';

const ISSUER_DIRECT = 'the development issuer (the Keycloak stand-in) is not part of a spec';

export default folder('00 - Auth', 'The development issuer the other requests\' tokens come from: Keycloak-shaped discovery and JWKS.', [
  request({
    name: 'OIDC discovery (dev issuer)',
    call: 'GET /dev-oidc/realms/agent-store/.well-known/openid-configuration',
    service: 'control-plane',
    direct: ISSUER_DIRECT,
    status: 200,
    checks: [['issuer and jwks_uri', "pm.expect(body.issuer).to.include('/realms/agent-store'); pm.expect(body.jwks_uri).to.include('/protocol/openid-connect/certs');"]],
  }),
  request({
    name: 'JWKS (public keys only)',
    call: 'GET /dev-oidc/realms/agent-store/protocol/openid-connect/certs',
    service: 'control-plane',
    direct: ISSUER_DIRECT,
    status: 200,
    checks: [['no private key material', 'pm.expect(body.keys).to.not.be.empty; body.keys.forEach((k) => pm.expect(k.d).to.be.undefined);']],
  }),
]);
