// Account page: asks POST /token with the session cookie and shows the
// decoded claims of the realtime token it gets. Served as a file so the
// page needs no inline script.
'use strict';
(function () {
  const button = document.getElementById('get-token');
  const status = document.getElementById('token-status');
  const out = document.getElementById('token-claims');
  if (!button) return;

  function decodePart(part) {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  button.addEventListener('click', async () => {
    status.textContent = 'Asking for a token…';
    out.hidden = true;
    try {
      const res = await fetch('/token', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Accept': 'application/json' },
      });
      const body = await res.json();
      if (!res.ok) {
        status.textContent = 'Refused: ' + (body.error_description || body.error || res.status);
        return;
      }
      const [header, payload] = body.access_token.split('.');
      out.textContent = JSON.stringify({ header: decodePart(header), claims: decodePart(payload) }, null, 2);
      out.dataset.token = body.access_token;
      out.hidden = false;
      status.textContent = 'Token valid for ' + body.expires_in + ' s.';
    } catch (err) {
      status.textContent = 'Failed: ' + err.message;
    }
  });
})();
