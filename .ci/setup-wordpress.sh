# MariaDB for the WordPress plugin test; sourced by .ci/setup.sh once WordPress, PHP and
# MariaDB are installed. tests/test_plugin_wordpress.py copies Debian's WordPress into a
# temporary folder, makes its own database in this MariaDB and serves the site with `php -S`;
# tests/test_plugins_php.py runs `php -l` and the plugins' PHP tests.
# As root: starts MariaDB. As anyone else: checks that it runs. Safe to source again.

# The tests connect as root over the Unix socket (root's unix_socket login). `ping`
# answers for a running server whoever asks.
if ! mariadb-admin --user=root ping >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup-wordpress: MariaDB is not running; as root run: sudo .ci/setup.sh" >&2
    return 1
  fi
  service mariadb start >/dev/null 2>&1 || {
    install -d -o mysql -g mysql /run/mysqld
    (mysqld_safe >/dev/null 2>&1 &)
  }
  for _wp_i in $(seq 1 60); do
    mariadb-admin --user=root ping >/dev/null 2>&1 && break
    sleep 0.5
  done
  unset _wp_i
  mariadb-admin --user=root ping >/dev/null 2>&1 || { echo "setup-wordpress: MariaDB did not start" >&2; return 1; }
fi
