// A real OpenID Provider (panva's oidc-provider) on loopback for login tests.
import http from 'node:http';
import crypto from 'node:crypto';
import './quiet-oidc-provider.mjs'; // must precede the oidc-provider import
import Provider from 'oidc-provider';
import { CookieJar, location, parseForm } from './http.mjs';

/** Accounts the test IdP knows; any other login name gets claims derived from it. */
export const defaultAccounts = {
  ada: {
    sub: 'ada', name: 'Ada Lovelace', email: 'ada@example.com', email_verified: true,
    roles: ['admin'], groups: ['engineering'],
  },
  bob: {
    sub: 'bob', name: 'Bob Member', email: 'bob@example.org', email_verified: true,
    roles: ['member'], groups: ['support'],
  },
  carol: {
    sub: 'carol', name: 'Carol NoRoles', email: 'carol@example.net', email_verified: false,
    roles: [], groups: [],
  },
};

/** accountClaims returns the claims the IdP releases for a login name. */
export function accountClaims(accounts, login) {
  return accounts[login] ?? {
    sub: login, name: login, email: `${login}@example.test`, email_verified: false,
    roles: [], groups: [],
  };
}

/**
 * startOidcProvider starts oidc-provider on a free 127.0.0.1 port with an
 * http issuer (http://127.0.0.1:PORT, no trailing slash) and resolves with
 *   {issuer, port, provider, client: {client_id, client_secret}, accounts,
 *    login(authorizeUrl, loginName, {jar}), stop()}
 *
 * Options:
 *   client        one client's metadata, merged over the defaults below
 *   clients       full list instead of `client`
 *   redirectUris  shorthand for client.redirect_uris
 *   accounts      login name -> claims ({sub, name, email, roles, groups, ...})
 *   idTokenClaims true (default): every claim is put in the ID token as Auth0
 *                 and Keycloak do; false: oidc-provider's default, where the
 *                 ID token of the code flow carries only sub and the rest
 *                 comes from UserInfo
 *   skipConsent   true (default): a grant is made without the consent screen
 *   config        extra oidc-provider configuration, shallow-merged last
 *   t             node:test context; stop() runs after the test
 *
 * The default client is confidential, client_secret_basic, code flow, PKCE
 * required (S256 is the only method oidc-provider 9 supports). Claims roles
 * and groups are tied to the openid scope, so they are always released.
 * devInteractions (oidc-provider's built-in login form: any login name, any
 * password) is on; back-channel logout is on (set the client's
 * backchannel_logout_uri to receive logout tokens on end_session).
 */
export async function startOidcProvider({
  t, client = {}, clients, redirectUris, accounts = defaultAccounts,
  idTokenClaims = true, skipConsent = true, config = {},
} = {}) {
  const server = http.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const newKeys = () => {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { privateKey: rsaKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    return {
      keys: [
        { ...rsaKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'rs-' + crypto.randomUUID() },
        { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'ES256', kid: 'es-' + crypto.randomUUID() },
      ],
    };
  };

  const defaultClient = {
    client_id: 'gatehouse-test',
    client_secret: 'gatehouse-test-secret-0123456789abcdef',
    redirect_uris: redirectUris ?? ['http://127.0.0.1/auth/callback'],
    post_logout_redirect_uris: [],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  };
  const clientList = clients ?? [{ ...defaultClient, ...client }];

  async function loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    if (!skipConsent) return undefined;
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile offline_access');
    grant.addOIDCClaims(['name', 'email', 'email_verified', 'roles', 'groups']);
    await grant.save();
    return grant;
  }

  const makeProvider = (jwks) => new Provider(issuer, {
    clients: clientList,
    jwks,
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    claims: {
      openid: ['sub', 'roles', 'groups'],
      profile: ['name'],
      email: ['email', 'email_verified'],
    },
    conformIdTokenClaims: !idTokenClaims,
    findAccount: async (_ctx, id) => {
      const claims = accountClaims(accounts, id);
      return {
        accountId: claims.sub ?? id,
        claims: async () => ({ ...claims, sub: claims.sub ?? id }),
      };
    },
    loadExistingGrant,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      userinfo: { enabled: true },
      revocation: { enabled: true },
    },
    // oidc-provider guards its outgoing requests (back-channel logout tokens,
    // jwks_uri, sector_identifier_uri) against special-use addresses, which
    // includes loopback; the test RP lives on 127.0.0.1, so lift that guard.
    fetch: (url, options) => {
      const { dispatcher: _ssrfGuard, ...rest } = options;
      return globalThis.fetch(url, rest);
    },
    ttl: { AccessToken: 600, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600, AuthorizationCode: 60 },
    ...config,
  });
  const errors = [];
  const listen = (p) => {
    for (const ev of ['server_error', 'backchannel.error']) {
      p.on(ev, (_ctx, err) => {
        errors.push(err);
        if (process.env.E2E_VERBOSE === '1') console.error(`oidc-provider ${ev}:`, err);
      });
    }
    return { provider: p, callback: p.callback() };
  };
  // oidc-provider prints loud warnings about dev defaults; they are expected here.
  let current = listen(makeProvider(newKeys()));
  const provider = current.provider;
  server.on('request', (req, res) => current.callback(req, res));

  let stopped = false;
  const handle = {
    /**
     * rotateKeys replaces the provider's signing keys with new ones (new
     * kids; the old keys leave its JWKS at once), as a provider rotating
     * without overlap would. State (sessions, grants) is not kept: use it
     * for token-issuing flows that need no earlier login.
     */
    rotateKeys() {
      current = listen(makeProvider(newKeys()));
      handle.provider = current.provider;
    },
    issuer,
    port,
    provider,
    /** errors lists server_error and backchannel.error events seen so far. */
    errors,
    client: clientList[0],
    accounts,
    /**
     * login drives the devInteractions forms over plain HTTP: starting at an
     * authorize URL (e.g. the Location Gatehouse's /auth/login answered), it
     * signs in as loginName and resolves with the URL the IdP finally
     * redirects to outside itself (the RP's callback with code and state).
     * jar (a CookieJar) keeps the IdP session for later SSO or logout.
     */
    async login(authorizeUrl, loginName, { jar = new CookieJar(), password = 'any' } = {}) {
      let url = authorizeUrl;
      for (let hop = 0; hop < 20; hop++) {
        if (new URL(url).origin !== issuer) return url;
        let res = await jar.fetch(url);
        if (res.status >= 300 && res.status < 400) {
          url = location(res, url);
          continue;
        }
        const body = await res.text();
        if (res.status !== 200) throw new Error(`IdP answered ${res.status} at ${url}: ${body.slice(0, 500)}`);
        const form = parseForm(body, url);
        if (!form) throw new Error(`IdP page at ${url} has no form: ${body.slice(0, 500)}`);
        const fields = { ...form.fields };
        if (fields.prompt === 'login' || 'login' in fields) {
          fields.login = loginName;
          fields.password = password;
        }
        res = await jar.fetch(form.action, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(fields).toString(),
        });
        if (res.status < 300 || res.status >= 400) {
          throw new Error(`IdP form post answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
        }
        url = location(res, form.action);
      }
      throw new Error('IdP login: too many redirects');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
  if (t) t.after(() => handle.stop());
  return handle;
}
