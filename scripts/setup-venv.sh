#!/usr/bin/env bash
# Create .venv and install the project with its test extra; a no-op when already up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
# The stamp is touched after a successful install, so an interrupted install is retried next time.
STAMP="$VENV/.wharfinger-installed"
PYTHON=${PYTHON:-python3}

if [ -f "$STAMP" ] && [ "$STAMP" -nt pyproject.toml ] && "$VENV/bin/python" -c '' 2>/dev/null; then
    exit 0
fi

# A venv whose interpreter no longer runs (its base Python was removed or upgraded) is rebuilt.
if [ -d "$VENV" ] && ! "$VENV/bin/python" -c '' 2>/dev/null; then
    echo "setup-venv: $VENV is broken, recreating it" >&2
    rm -rf "$VENV"
fi

if [ ! -x "$VENV/bin/python" ]; then
    # Debian's own python3 ships venv without ensurepip until python3-venv is installed.
    if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
        if [ "$(id -u)" -ne 0 ]; then
            echo "setup-venv: $PYTHON lacks ensurepip; install python3-venv (as root) and retry" >&2
            exit 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq python3-venv >/dev/null
    fi
    echo "setup-venv: creating $VENV with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi

echo "setup-venv: installing the project and its test extra into $VENV"
"$VENV/bin/pip" install --disable-pip-version-check -q -e '.[test]'
touch "$STAMP"
