#!/bin/sh
# Installs lamp_geometric (editable) with the given extras, e.g.
#   sh scripts/install.sh          # runtime only
#   sh scripts/install.sh test     # + test tools
# A torch that is already installed is kept.  Without one, the CPU build
# TORCH_VERSION is installed first, so that pip never resolves a default
# (CUDA) torch wheel as a dependency.
set -eu
PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
EXTRAS=${1:-}

if "$PYTHON" -c "import torch" >/dev/null 2>&1; then
    echo "install: keeping torch $("$PYTHON" -c 'import torch; print(torch.__version__)')"
else
    echo "install: torch==$TORCH_VERSION"
    "$PYTHON" -m pip install -q "torch==$TORCH_VERSION"
fi

cd "$(dirname "$0")/.."
if [ -n "$EXTRAS" ]; then
    "$PYTHON" -m pip install -q -e ".[$EXTRAS]"
else
    "$PYTHON" -m pip install -q -e .
fi
