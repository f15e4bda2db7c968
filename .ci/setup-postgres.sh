# PostgreSQL for the second test pass; sourced by .ci/run (as root, `set -euo pipefail`).
# Installs the server if missing, starts the newest installed cluster, creates the
# `widget` role (password `widget`, may create databases) and exports TEST_DATABASE_URL.
# Safe to source again: each step checks first.

_pg_as_postgres() { (cd / && runuser -u postgres -- "$@"); }

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

_pg_version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
if ! pg_lsclusters -h | awk -v v="$_pg_version" '$1 == v && $2 == "main"' | grep -q .; then
  pg_createcluster "$_pg_version" main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$_pg_version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
  pg_ctlcluster "$_pg_version" main start
fi
_pg_port="$(pg_lsclusters -h | awk -v v="$_pg_version" '$1 == v && $2 == "main" {print $3}')"

for _pg_try in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p "$_pg_port" && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$_pg_port"

if [ -z "$(_pg_as_postgres psql -p "$_pg_port" -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'widget'")" ]; then
  _pg_as_postgres psql -q -p "$_pg_port" -c "CREATE ROLE widget LOGIN CREATEDB PASSWORD 'widget'"
fi

export TEST_DATABASE_URL="postgresql+psycopg://widget:widget@127.0.0.1:${_pg_port}/postgres"
# The multi-instance test needs PostgreSQL in the SQLite pass too (make test blanks
# TEST_DATABASE_URL there), so the server is also named here.
export POSTGRES_TEST_SERVER="$TEST_DATABASE_URL"
unset _pg_version _pg_port _pg_try
unset -f _pg_as_postgres
