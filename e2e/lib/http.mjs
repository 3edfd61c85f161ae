// Small HTTP conveniences for tests: a cookie jar and a manual-redirect fetch.

/**
 * CookieJar keeps cookies per host name (as browsers do, ports share
 * cookies) and sends them back with jar.fetch. Paths, domains and Secure are
 * not enforced: good enough for loopback tests, not a browser.
 */
export class CookieJar {
  constructor() {
    this.hosts = new Map(); // hostname -> Map(name -> {value, attrs})
  }

  /** store records the Set-Cookie headers of a response from url. */
  store(url, response) {
    const host = new URL(url).hostname;
    const list = response.headers.getSetCookie?.() ?? [];
    for (const line of list) {
      const [pair, ...attrParts] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const attrs = {};
      for (const a of attrParts) {
        const i = a.indexOf('=');
        const k = (i < 0 ? a : a.slice(0, i)).trim().toLowerCase();
        attrs[k] = i < 0 ? true : a.slice(i + 1).trim();
      }
      if (!this.hosts.has(host)) this.hosts.set(host, new Map());
      const jar = this.hosts.get(host);
      const expired = (attrs['max-age'] !== undefined && Number(attrs['max-age']) <= 0)
        || (attrs.expires && Date.parse(attrs.expires) <= Date.now());
      if (expired || value === '') jar.delete(name);
      else jar.set(name, { value, attrs });
    }
  }

  /** get returns {value, attrs} for a cookie of url's host, or undefined. */
  get(url, name) {
    return this.hosts.get(new URL(url).hostname)?.get(name);
  }

  /** header returns the Cookie header value for url ('' when none). */
  header(url) {
    const jar = this.hosts.get(new URL(url).hostname);
    if (!jar) return '';
    return [...jar].map(([k, v]) => `${k}=${v.value}`).join('; ');
  }

  /** set adds a cookie by hand. */
  set(url, name, value) {
    const host = new URL(url).hostname;
    if (!this.hosts.has(host)) this.hosts.set(host, new Map());
    this.hosts.get(host).set(name, { value, attrs: {} });
  }

  /**
   * fetch is global fetch with this jar's cookies and redirect: 'manual'
   * unless the caller asks otherwise. Responses' cookies are stored.
   */
  async fetch(url, init = {}) {
    const headers = new Headers(init.headers);
    const cookie = this.header(url);
    if (cookie && !headers.has('cookie')) headers.set('cookie', cookie);
    const res = await fetch(url, { redirect: 'manual', ...init, headers });
    this.store(url, res);
    return res;
  }
}

/** location resolves a redirect response's Location against its URL. */
export function location(res, base) {
  const loc = res.headers.get('location');
  return loc == null ? null : new URL(loc, base).toString();
}

/** formFields extracts the action and named input values of the first <form> in html. */
export function parseForm(html, base) {
  const form = html.match(/<form\b[^>]*>([\s\S]*?)<\/form>/i);
  if (!form) return null;
  const action = (form[0].match(/action="([^"]*)"/i) || [])[1] ?? '';
  const method = ((form[0].match(/method="([^"]*)"/i) || [])[1] ?? 'get').toUpperCase();
  const fields = {};
  for (const m of form[1].matchAll(/<input\b[^>]*>/gi)) {
    const name = (m[0].match(/name="([^"]*)"/i) || [])[1];
    if (!name) continue;
    const value = (m[0].match(/value="([^"]*)"/i) || [])[1] ?? '';
    fields[name] = decodeEntities(value);
  }
  return { action: new URL(decodeEntities(action), base).toString(), method, fields };
}

function decodeEntities(s) {
  return s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x2F;/g, '/');
}
