#!/usr/bin/env bash
# Installs what `make test` needs when it is missing: Debian's redis-server,
# chromium, rabbitmq-server and nginx with the Nchan module (the e2e tests
# drive the real ones), the broker binaries built from the Go module proxy
# (scripts/brokers.sh), and the e2e npm packages exactly as pinned in
# e2e/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
[ -x /usr/sbin/rabbitmq-server ] || need+=(rabbitmq-server)
[ -x /usr/sbin/nginx ] || need+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_nchan_module.so ] || need+=(libnginx-mod-nchan)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # Packages must not start their services: the tests start their own.
  export DEBIAN_FRONTEND=noninteractive RUNLEVEL=1
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

scripts/brokers.sh

# npm ci only when the lock file changed since the last install.
stamp=e2e/node_modules/.lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s e2e/package-lock.json "$stamp"; then
  (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
  cp e2e/package-lock.json "$stamp"
fi
