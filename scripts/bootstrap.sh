#!/usr/bin/env bash
# Create .venv with Python 3.10 and install the locked dependencies.
# Idempotent: reinstalls only when requirements.lock changed.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" "$(command -v python3.10 || true)" \
      "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10.*/bin/python3.10 \
      /root/.pyenv/versions/3.10.*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] \
        && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
  if ! python=$(find_python); then
    echo "Python 3.10 was not found (Rasa 3.6 runs on no newer Python): install it, for example with 'pyenv install 3.10.13', or set PYTHON=/path/to/python3.10, then run this command again." >&2
    exit 1
  fi
  echo "==> Creating .venv with $python"
  rm -rf .venv
  "$python" -m venv .venv
fi

lock_hash=$(sha256sum requirements.lock | cut -d' ' -f1)
if [ "$(cat .venv/.requirements.sha256 2>/dev/null)" != "$lock_hash" ]; then
  echo "==> Installing locked dependencies into .venv (first time: about 4 minutes)"
  if ! { .venv/bin/python -m pip install --quiet --upgrade "pip==24.0" \
         && .venv/bin/python -m pip install --progress-bar on --no-input -r requirements.lock; }; then
    echo "Installing the dependencies failed (see the pip messages above): check that PyPI is reachable and there is disk space, then run this command again." >&2
    exit 1
  fi
  echo "$lock_hash" > .venv/.requirements.sha256
fi
