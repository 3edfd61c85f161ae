// oidc-provider prints "oidc-provider WARNING/NOTICE" lines for every
// development default these tests use on purpose (in-memory adapter,
// devInteractions, Node 20 not being its preferred runtime). Drop exactly those
// lines unless E2E_VERBOSE=1; everything else passes through.
if (process.env.E2E_VERBOSE !== '1') {
  for (const level of ['warn', 'info']) {
    const orig = console[level].bind(console);
    console[level] = (...args) => {
      if (typeof args[0] === 'string' && args[0].replace(/\x1b\[[0-9;]*m/g, '').startsWith('oidc-provider ')) return;
      orig(...args);
    };
  }
}
