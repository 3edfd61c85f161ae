// Realtime tokens for the page: the login session's (POST /token with the
// session cookie, same origin) or an anonymous one (POST /token/anonymous),
// fetched again before each expires.

const RETRY_MS = 5000;

/** TokenError is a refused token request; status is the HTTP status. */
export class TokenError extends Error {
  constructor(status, body) {
    super(body?.error_description || body?.error || `HTTP ${status}`);
    this.status = status;
  }
}

/**
 * TokenSource holds the current token. Events: 'token' (detail: the new
 * token) and 'session-ended' (the session's token was refused on refresh:
 * logged out elsewhere or expired).
 */
export class TokenSource extends EventTarget {
  constructor() {
    super();
    this.token = null;
    this.user = null; // /auth/me answer when logged in
    this.timer = null;
  }

  /** anonymous reports whether tokens are anonymous ones. */
  get anonymous() {
    return this.user === null;
  }

  /**
   * start finds out whether a login session exists and fetches the first
   * token, falling back to an anonymous one.
   */
  async start() {
    this.stop();
    this.user = null;
    const me = await fetch('/auth/me', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (me.ok) this.user = await me.json();
    try {
      await this.fetchToken();
    } catch (err) {
      if (this.user === null || err.status !== 401) throw err;
      this.user = null; // the session ended between the two requests
      await this.fetchToken();
    }
    return this.token;
  }

  /** stop cancels the refresh. */
  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  async fetchToken() {
    const res = await fetch(this.user ? '/token' : '/token/anonymous', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new TokenError(res.status, body);
    this.token = body.access_token;
    // Refresh at 80% of the lifetime (at least 5 s ahead of expiry).
    const life = Math.max(1, Number(body.expires_in) || 60) * 1000;
    this.schedule(Math.max(1000, Math.min(life * 0.8, life - 5000)));
    this.dispatchEvent(new CustomEvent('token', { detail: this.token }));
    return this.token;
  }

  schedule(ms) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), ms);
  }

  async refresh() {
    try {
      await this.fetchToken();
    } catch (err) {
      if (this.user && err.status === 401) {
        this.user = null;
        this.dispatchEvent(new Event('session-ended'));
        return;
      }
      this.schedule(RETRY_MS);
    }
  }
}
