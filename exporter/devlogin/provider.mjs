// A local OpenID Provider for development and tests: the OpenID-certified
// `oidc-provider` package, configured from a JSON file written by
// exporter/devlogin/__init__.py. It signs in fictional citizens through the package's
// own development login form; it is never used in production.
//
//   node provider.mjs CONFIG.json
//
// CONFIG: { issuer, port, jwks: {keys: [private JWKs]}, clients: [...],
//           accounts: {login: {claims}}, claimNames: [...], idTokenTtl }
// A person's `sub` is their login name.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts;

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: config.jwks,
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  // Every configured claim (a CPR number, an NSIS level, privileges) goes into the ID
  // token, as a MitID broker's does, not only into userinfo.
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], profile: ['name', ...config.claimNames] },
  ttl: { IdToken: config.idTokenTtl ?? 3600 },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(ctx, id) {
    const account = Object.hasOwn(accounts, id) ? accounts[id] : undefined;
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() { return { sub: id, ...account.claims }; },
    };
  },
  // The portal is the provider's own first-party client: no consent screen.
  async loadExistingGrant(ctx) {
    const { provider: op, client, session } = ctx.oidc;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    if (grantId) return op.Grant.find(grantId);
    const grant = new op.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope('openid profile');
    grant.addOIDCClaims(['sub', 'name', ...config.claimNames]);
    await grant.save();
    return grant;
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

createServer(provider.callback()).listen(config.port, '127.0.0.1', () => {
  console.log(`ready ${config.issuer}`);
});
