# PostgreSQL for the second test pass; sourced by .ci/setup.sh once the server is installed.
# As root: starts the newest installed cluster and creates the `widget` role (password
# `widget`, may create databases). As anyone else: checks that this was done. Then exports
# TEST_DATABASE_URL. Safe to source again: each step checks first.

_pg_as_postgres() { (cd / && runuser -u postgres -- "$@"); }
_pg_need_root() {
  echo "setup-postgres: $1; as root run: sudo .ci/setup.sh" >&2
  return 1
}

_pg_version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
_pg_cluster() { pg_lsclusters -h | awk -v v="$_pg_version" '$1 == v && $2 == "main"'; }
if [ -z "$(_pg_cluster)" ]; then
  [ "$(id -u)" = 0 ] || { _pg_need_root "no PostgreSQL $_pg_version cluster"; return 1; }
  pg_createcluster "$_pg_version" main >/dev/null
fi
if ! _pg_cluster | awk '$4 == "online"' | grep -q .; then
  [ "$(id -u)" = 0 ] || { _pg_need_root "PostgreSQL is not running"; return 1; }
  pg_ctlcluster "$_pg_version" main start
fi
_pg_port="$(_pg_cluster | awk '{print $3}')"

for _pg_try in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p "$_pg_port" && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$_pg_port" || { echo "setup-postgres: PostgreSQL did not start" >&2; return 1; }

if ! PGPASSWORD=widget psql -h 127.0.0.1 -p "$_pg_port" -U widget -d postgres -tAc "SELECT 1" >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { _pg_need_root "no PostgreSQL role widget"; return 1; }
  _pg_as_postgres psql -q -p "$_pg_port" -c "CREATE ROLE widget LOGIN CREATEDB PASSWORD 'widget'"
fi

export TEST_DATABASE_URL="postgresql+psycopg://widget:widget@127.0.0.1:${_pg_port}/postgres"
# The multi-instance test needs PostgreSQL in the SQLite pass too (make test blanks
# TEST_DATABASE_URL there), so the server is also named here.
export POSTGRES_TEST_SERVER="$TEST_DATABASE_URL"
unset _pg_version _pg_port _pg_try
unset -f _pg_as_postgres _pg_need_root _pg_cluster
