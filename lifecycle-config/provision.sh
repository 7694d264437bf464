#!/bin/bash
# nbsecrets: the admin's one-shot setup, run once with admin credentials (not on the notebook).
#
#   bash provision.sh --role ROLE [--name LIFECYCLE_NAME] [--studio] [--pip-spec SPEC] \
#        [policy options: --prefix P --provider NAME ... --kms-key-arn ARN --allow-write ...]
#
# 1. `nbsecrets provision`: puts the least-privilege policy on ROLE (the notebook's execution
#    role) as the inline policy "nbsecrets", and prints what changed.
# 2. `nbsecrets lifecycle`: creates or updates the lifecycle configuration LIFECYCLE_NAME
#    (default nbsecrets) from the scripts next to this file; attach it to the notebook
#    instance (or Studio domain) afterwards.
# Both commands hold the logic; this script only runs them in order. NBSECRETS_CLI names the
# command to use (default: nbsecrets). --pip-spec sets what the lifecycle scripts install
# (nbsecrets is not on PyPI yet: give a wheel URL or a git URL).
set -euo pipefail

cli="${NBSECRETS_CLI:-nbsecrets}"
role=""
name="nbsecrets"
lifecycle=()
policy=()
while [ $# -gt 0 ]; do
  case "$1" in
    --role) role="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    --studio) lifecycle+=(--studio); shift ;;
    --pip-spec) lifecycle+=(--pip-spec "$2"); shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) policy+=("$1"); shift ;;
  esac
done
if [ -z "$role" ]; then
  echo "provision.sh: give the notebook's execution role: --role NAME_OR_ARN" >&2
  exit 2
fi

$cli provision --role "$role" "${policy[@]}"
$cli lifecycle --name "$name" "${lifecycle[@]}"
