#!/usr/bin/env bash
# What `make test` needs of a Debian machine: Chromium, Redis, nginx, PostgreSQL, and
# WordPress with PHP and MariaDB. As root it installs what is missing and starts the
# servers; as anyone else it only checks, and stops at once with the command to run.
#
# Sourced by `make test` (it exports TEST_DATABASE_URL and POSTGRES_TEST_SERVER for the
# test passes); `sudo .ci/setup.sh` runs it on its own. Safe to run again.

_setup_main() {
  local packages missing pkg
  # python3-venv for .venv; Chromium and its fonts for the browser tests; redis-server
  # and nginx are started by the tests themselves, never as services; PHP with gd and
  # curl for the plugin tests.
  packages="python3-venv chromium fonts-dejavu-core redis-server nginx-light postgresql openssl make"
  packages="$packages wordpress wordpress-theme-twentytwentythree php-cli php-cgi php-mysql"
  packages="$packages php-xml php-mbstring php-zip php-twig php-gd php-curl mariadb-server gettext"
  # Node for the widget's build (esbuild): the tests rebuild embed/dist and compare. A Node
  # installed otherwise (nodesource, nvm) brings its own npm, which Debian's npm conflicts with.
  command -v npm >/dev/null 2>&1 || packages="$packages nodejs npm"
  missing=""
  for pkg in $packages; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing="$missing $pkg"
  done
  if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "setup: missing Debian packages; install them with:" >&2
      echo "  sudo apt-get install -y --no-install-recommends$missing" >&2
      echo "then run: sudo .ci/setup.sh   (it starts PostgreSQL and MariaDB)" >&2
      return 1
    fi
    apt-get update -qq
    # No recommends: they would pull Apache in; the tests serve WordPress with php -S.
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    # Installing starts these as services; the tests run their own.
    service redis-server stop >/dev/null 2>&1 || true
    service nginx stop >/dev/null 2>&1 || true
  fi
  local here
  here="$(dirname "${BASH_SOURCE[0]}")"
  # The pinned esbuild, so that tests/test_embed_build.py rebuilds the widget byte for byte.
  (cd "$here/../embed" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || return 1
  # shellcheck source=/dev/null
  source "$here/setup-postgres.sh" || return 1
  # shellcheck source=/dev/null
  source "$here/setup-wordpress.sh" || return 1
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  _setup_main
else
  _setup_main || { unset -f _setup_main; return 1; }
fi
unset -f _setup_main
