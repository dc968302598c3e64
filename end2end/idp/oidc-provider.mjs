// A real, OpenID Certified provider on loopback for the SSO browser tests:
// `oidc-provider` (npm) with its development login form (any password; the
// login is the account id). Accounts and their groups are read from a JSON
// file at every sign-in, so a test changes someone's groups by rewriting it:
//   {"alice": {"groups": ["platform"]}, ...}
// Usage: node oidc-provider.mjs PORT CLIENT_BASE_URL ACCOUNTS_FILE
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const [port, client, accountsFile] = process.argv.slice(2);
const issuer = `http://localhost:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'strongroom',
      client_secret: 'e2e-client-secret',
      redirect_uris: [`${client}/auth/oidc/callback`],
      post_logout_redirect_uris: [`${client}/login`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  // Scope claims in the ID token itself (Strongroom reads the groups there).
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], profile: ['preferred_username', 'groups'], email: ['email'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  // The test users consent to everything at once: no consent screen.
  async loadExistingGrant(ctx) {
    const grant = new provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email');
    await grant.save();
    return grant;
  },
  async findAccount(ctx, id) {
    const accounts = JSON.parse(readFileSync(accountsFile, 'utf8'));
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: account.sub ?? `sub-${id}`, preferred_username: id, email: `${id}@example.com`, groups: account.groups };
      },
    };
  },
});
provider.listen(Number(port), () => console.log(`provider ${issuer} ready`));
