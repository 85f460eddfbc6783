#!/usr/bin/env bash
# Installs and starts what the tests (or the benchmark) need beyond Python and npm packages.
set -euo pipefail
what="${1:-test}"

apt_install() {
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}

if [ "$what" = "test" ]; then
  if [ ! -x /usr/bin/chromium ]; then
    # Debian's chromium, never a downloaded browser: the tests use /usr/bin/chromium.
    echo "installing Debian chromium for the browser tests"
    apt_install chromium
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
      echo "installing PostgreSQL"
      apt_install postgresql
    fi
    echo "starting PostgreSQL"
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    pg_isready -h 127.0.0.1 -p 5432
  fi
fi

# The benchmark needs wrk; so does its smoke test in the test suite.
command -v wrk >/dev/null 2>&1 || apt_install wrk
