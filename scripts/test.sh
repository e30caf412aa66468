#!/usr/bin/env bash
# Install Xiaoneng with its test tools into .venv and run the whole test suite:
# ruff, mypy, import-linter, then pytest on SQLite and again on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -e '.[test]'

# bpmn-moddle (the model library of bpmn.io and Camunda Modeler) checks the diagrams
if command -v npm >/dev/null 2>&1; then
  (cd bpmn/tools && npm install --silent --no-audit --no-fund >/dev/null)
fi

echo "== ruff"; ruff check . && ruff format --check engine webui tests bench
echo "== mypy"; mypy
echo "== import-linter"; lint-imports

PG_URL=${XIAONENG_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
REPORT=$(mktemp -d)

echo "== pytest on SQLite"
env -u XIAONENG_TEST_DATABASE_URL python -m pytest -q -p no:cacheprovider \
  --junitxml="$REPORT/sqlite.xml" "$@"

echo "== pytest on PostgreSQL"
XIAONENG_TEST_DATABASE_URL="$PG_URL" python -m pytest -q -p no:cacheprovider \
  --junitxml="$REPORT/postgres.xml" "$@"

# In CI every PostgreSQL test must have run: a skip there means a missing server.
if [ "${XIAONENG_REQUIRE_POSTGRES:-0}" = "1" ]; then
  python - "$REPORT" <<'PY'
import sys, xml.etree.ElementTree as ET
from pathlib import Path
skipped = []
for name in ("sqlite.xml", "postgres.xml"):
    for case in ET.parse(Path(sys.argv[1]) / name).iter("testcase"):
        skip = case.find("skipped")
        if skip is not None and "PostgreSQL" in (skip.get("message") or ""):
            skipped.append(f"{name}: {case.get('classname')}.{case.get('name')}")
if skipped:
    print("PostgreSQL tests were skipped in CI:", *skipped, sep="\n  ")
    sys.exit(1)
print("PostgreSQL tests: none skipped")
PY
fi
