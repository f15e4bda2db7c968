# Sourced by .ci/run (as root, set -euo pipefail): the PHP modules OpenCart 4 needs.
# tests/test_plugin_opencart.py unpacks ../shared/vendor/opencart-4.0.2.3.tar.xz into a
# temporary folder, installs it with its cli_install.php into a database of its own in the
# MariaDB that .ci/setup-wordpress.sh starts, and serves it with `php -S`.
# Safe to source again: installs only what is missing.

_oc_packages="php-cli php-gd php-curl php-zip php-mbstring php-xml php-mysql"
_oc_missing=""
for _oc_pkg in $_oc_packages; do
  dpkg-query -W -f='${Status}' "$_oc_pkg" 2>/dev/null | grep -q "install ok installed" \
    || _oc_missing="$_oc_missing $_oc_pkg"
done
if [ -n "$_oc_missing" ]; then
  apt-get update -qq
  # No recommends: they would pull Apache in; the test serves the store with php -S.
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $_oc_missing >/dev/null
fi
unset _oc_packages _oc_missing _oc_pkg
