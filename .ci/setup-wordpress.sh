# Sourced by .ci/run (as root, set -euo pipefail): WordPress, PHP and MariaDB for the plugin tests.
# tests/test_plugin_wordpress.py copies Debian's WordPress into a temporary folder, makes its own
# database in this MariaDB and serves the site with `php -S`; tests/test_plugins_php.py runs
# `php -l` and the plugins' PHP tests. Safe to source again: installs only what is missing.

_wp_packages="wordpress wordpress-theme-twentytwentythree php-cli php-cgi php-mysql php-xml php-mbstring php-zip php-twig mariadb-server gettext"
_wp_missing=""
for _wp_pkg in $_wp_packages; do
  dpkg-query -W -f='${Status}' "$_wp_pkg" 2>/dev/null | grep -q "install ok installed" \
    || _wp_missing="$_wp_missing $_wp_pkg"
done
if [ -n "$_wp_missing" ]; then
  apt-get update -qq
  # No recommends: they would pull Apache in; the tests serve WordPress with php -S.
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $_wp_missing >/dev/null
fi

# MariaDB: the tests connect as root over the Unix socket (root's unix_socket login).
if ! mariadb-admin --user=root ping >/dev/null 2>&1; then
  service mariadb start >/dev/null 2>&1 || {
    install -d -o mysql -g mysql /run/mysqld
    (mysqld_safe >/dev/null 2>&1 &)
  }
  for _wp_i in $(seq 1 60); do
    mariadb-admin --user=root ping >/dev/null 2>&1 && break
    sleep 0.5
  done
  mariadb-admin --user=root ping >/dev/null 2>&1 || echo "setup-wordpress: MariaDB did not start" >&2
fi
unset _wp_packages _wp_missing _wp_pkg _wp_i
