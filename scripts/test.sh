#!/usr/bin/env bash
# The whole test suite: on SQLite, then on PostgreSQL when it is reachable (in CI it must be).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL=${KEFU_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}

echo "== kefu tests on SQLite"
env -u DATABASE_URL "$BIN/pytest" -q "$@"

pg_up() { "$BIN/python" - "$PG_URL" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1].replace("postgres://", "postgresql://", 1), connect_timeout=3).close()
except Exception as e:
    print(f"PostgreSQL not reachable: {e}", file=sys.stderr); sys.exit(1)
PY
}

if ! pg_up; then
  # Start the machine's own cluster if it is installed but stopped.
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>/dev/null || true
    sleep 2
  fi
fi
if pg_up; then
  echo "== kefu tests on PostgreSQL"
  DATABASE_URL="$PG_URL" "$BIN/pytest" -q "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is required in CI but is not reachable at $PG_URL" >&2
  exit 1
else
  echo "!! PostgreSQL not reachable at $PG_URL: PostgreSQL run skipped (CI runs it)." >&2
fi
