# Sourced by scripts/demo, scripts/test and scripts/bench: one place for the project's local environment.
# Everything (virtualenv, PostgreSQL data, Meltano logs and caches) stays inside the repository.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
DATA="$ROOT/.data"
export XDG_STATE_HOME="$DATA/state"
export XDG_CACHE_HOME="$DATA/cache"
export XDG_DATA_HOME="$DATA/share"
export XDG_CONFIG_HOME="$DATA/config"
export XDG_RUNTIME_DIR="$DATA/runtime"
export UV_CACHE_DIR="$DATA/cache/uv"
export PIP_DISABLE_PIP_VERSION_CHECK=1
# Cached bytecode in .venv and .meltano saves each plugin process about a second of start-up (~575 modules).
unset PYTHONDONTWRITEBYTECODE
export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false
mkdir -p "$XDG_STATE_HOME" "$XDG_CACHE_HOME" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$DATA/runtime"
chmod 700 "$DATA/runtime"

# Creates or updates .venv with Meltano, both plugins (editable) and the dev tools. Idempotent and quick
# when nothing changed: uv resolves against what is already installed.
ensure_venv() {
  local python="${PYTHON:-python3}"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating virtualenv in .venv" >&2
    "$python" -m venv "$VENV"
  fi
  if [ ! -x "$VENV/bin/uv" ]; then
    "$VENV/bin/python" -m pip install --quiet uv==0.13.9
  fi
  echo "==> installing Meltano, tap-hubspot-raw, target-supabase-hybrid and dev tools" >&2
  "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" \
    -r "$ROOT/requirements-dev.txt" \
    -e "$ROOT/tap-hubspot-raw" -e "$ROOT/target-supabase-hybrid"
  export PATH="$VENV/bin:$PATH"
}
