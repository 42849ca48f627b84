#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu), with the autograder.zip
# unpacked in /autograder/source. It installs bubblewrap, a Python 3.11 to 3.13, and in a virtual environment
# (/autograder/venv) the grader with the exact versions of constraints.txt; then it loads the assignment and its
# data once (a check that all is in place, and a warm data cache in the image). Nothing is downloaded when a
# submission is graded: the data sets are in the zip (data/) or come with the installed packages.
#
# Settings (environment variables; none is needed on Gradescope):
#   AUTOGRADER_ROOT         the folder laid out like Gradescope's /autograder (default: the parent of this one)
#   AUTOGRADER_PYTHON       the interpreter to build the environment with (default: the first of python3.13,
#                           python3.12, python3.11, python3 that is 3.11 to 3.13; else apt's python3.11)
#   AUTOGRADER_TORCH_INDEX  an extra package index for torch (default: PyTorch's CPU-only builds, which need no
#                           CUDA libraries; empty: none)
#   AUTOGRADER_SETUP_REUSE  the site-packages folder of an existing environment of the same Python whose
#                           packages are reused instead of installed (for testing this script quickly)
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi  # run with sh: bash it is
set -euo pipefail

SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${AUTOGRADER_ROOT:-$(dirname "$SOURCE")}"
VENV="$ROOT/venv"
TORCH_INDEX="${AUTOGRADER_TORCH_INDEX-https://download.pytorch.org/whl/cpu}"
export AUTOGRADER_CACHE_DIR="$ROOT/cache"
mkdir -p "$AUTOGRADER_CACHE_DIR"

say() { echo "setup.sh: $*" >&2; }

supported() {  # a Python 3.11 to 3.13 that can make virtual environments
    "$1" -c 'import sys, venv; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))' >/dev/null 2>&1
}

find_python() {
    if [ -n "${AUTOGRADER_PYTHON:-}" ]; then
        supported "$AUTOGRADER_PYTHON" || { say "AUTOGRADER_PYTHON=$AUTOGRADER_PYTHON is not a Python 3.11 to 3.13"; exit 1; }
        echo "$AUTOGRADER_PYTHON"
        return
    fi
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && supported "$candidate"; then
            command -v "$candidate"
            return
        fi
    done
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing python3.11 with apt-get"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 python3.11-venv >&2
        echo python3.11
        return
    fi
    say "no Python 3.11 to 3.13 here: install one, or set AUTOGRADER_PYTHON"
    exit 1
}

sh "$SOURCE/project/scripts/install-sandbox.sh"

PYTHON="$(find_python)"
say "building $VENV with $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
if ! "$PYTHON" -m venv --clear "$VENV" >&2; then  # Debian and Ubuntu ship ensurepip apart
    version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$version-venv" >&2
    "$PYTHON" -m venv --clear "$VENV" >&2
fi
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
if [ -n "${AUTOGRADER_SETUP_REUSE:-}" ]; then
    say "reusing the packages of $AUTOGRADER_SETUP_REUSE"
    echo "$AUTOGRADER_SETUP_REUSE" > "$SITE/_autograder_reuse.pth"
fi

# PIP_CONSTRAINT: the exact versions apply to every package pip installs, the grader's dependencies included.
PIP_CONSTRAINT="$SOURCE/project/constraints.txt" "$VENV/bin/python" -m pip install --no-cache-dir \
    --disable-pip-version-check ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} "$SOURCE/project" >&2

"$VENV/bin/python" -P -m autograder.packaging.run --root "$ROOT" --prepare  # -P: not the working folder

# Student code runs as another user (under bubblewrap where it works); it must read the environment, and must
# not read the answer key, the data or the cache.
chmod -R a+rX "$VENV"
chmod -R go= "$SITE/reference" "$SOURCE" "$AUTOGRADER_CACHE_DIR"
say "ready"
