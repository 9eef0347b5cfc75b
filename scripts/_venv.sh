# Sourced by scripts/dev and scripts/test: make sure .venv holds the locked versions.
# (Re)installs on first use and whenever pyproject.toml or constraints.txt changes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SUGARS_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "sugars_dagster needs Python 3.11 or newer; '$PYTHON' is $("$PYTHON" --version 2>&1 || echo missing)." >&2
    echo "Point PYTHON at a newer interpreter, e.g. PYTHON=python3.12 $0" >&2
    exit 1
fi

stamp="$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" | "$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.sugars-install" 2>/dev/null)" != "$stamp" ]; then
    echo "Installing sugars_dagster and its locked dependencies into $VENV ..." >&2
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -c "$ROOT/constraints.txt" -e "$ROOT[test]"
    echo "$stamp" > "$VENV/.sugars-install"
fi

# Event-log settings that make a range run of market_daily take seconds instead of minutes:
# write its per-day events in batches, and plan the whole range in one event.
export DAGSTER_EVENT_BATCH_SIZE="${DAGSTER_EVENT_BATCH_SIZE:-1000}"
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS="${DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS:-true}"
