#!/usr/bin/env bash
# Jupyter with the kit's tslab kernel, all state kept in <project>/.cache/jupyter (nothing global).
#
#   scripts/notebooks/jupyter.sh                 # classic Notebook UI on notebooks/ (extra args go to it)
#   scripts/notebooks/jupyter.sh --no-browser --port 8899     # (--notebook-dir=… replaces notebooks/)
#   scripts/notebooks/jupyter.sh trust reports/notebooks/x.ipynb  # sign: its scripts (plots) run when opened
#   scripts/notebooks/jupyter.sh kernelspec list               # any other jupyter subcommand, same env
#
# The kernelspec is regenerated on every call (paths of this checkout and of `node` on PATH), so a
# moved or freshly cloned checkout works after `npm ci && npx tsc -p .`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY=/usr/bin/python3          # Debian python with Jupyter; a pyenv python3 on PATH has none
JUPYTER=/usr/bin/jupyter

if [[ ! -x "$JUPYTER" ]]; then
  echo "jupyter.sh: $JUPYTER not found: apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient" >&2
  exit 2
fi
eval "$("$PY" "$ROOT/scripts/notebooks/kernelspec.py" --print-env)"

if [[ ! -f "$ROOT/build/lib/viz/index.js" ]]; then
  echo "jupyter.sh: note: build/lib is missing; notebooks import it: run \`npx tsc -p .\` in $ROOT" >&2
fi

case "${1:-}" in
  ""|-*)
    dir_arg=(--notebook-dir="$ROOT/notebooks")
    for a in "$@"; do [[ "$a" == --notebook-dir* || "$a" == --NotebookApp.notebook_dir* ]] && dir_arg=(); done
    exec "$JUPYTER" notebook "${dir_arg[@]}" "$@" ;;
  # Debian ships no `jupyter trust`; nbformat.sign is the same tool (uses JUPYTER_DATA_DIR set above).
  trust) shift; exec "$PY" -m nbformat.sign "$@" ;;
  *) exec "$JUPYTER" "$@" ;;
esac
