#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run them.
# Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
# tests/iamsim/: an IAM evaluator we did not write (@cloud-copilot/iam-simulate) runs on node.
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# tests/sagemaker/ builds the simulated machine's environments from a Python outside /root.
/usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
if ((${#need[@]})); then
  echo "Installing Debian packages: ${need[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev,pulumi,sagemaker-sdk]' 2>&1 \
  | grep -v "^WARNING: Location" || true

# The pinned simulator, exactly as package-lock.json says (tests skip, saying so, without it).
if [ ! -d tests/iamsim/node_modules/@cloud-copilot/iam-simulate ]; then
  (cd tests/iamsim && npm ci --no-audit --no-fund --loglevel=error) \
    || echo "npm ci in tests/iamsim failed: the tests that compare with iam-simulate will skip." >&2
fi

.venv/bin/ruff check src tests benchmarks scripts
.venv/bin/ruff format --check src tests benchmarks scripts
.venv/bin/mypy src/

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure." >&2
  exit 1
fi
exit "$rc"
