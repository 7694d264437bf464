#!/bin/bash
# nbsecrets: the admin's one-shot setup, run once with admin credentials (not on the notebook).
#
#   bash provision.sh --role ROLE --artifact s3://BUCKET/PREFIX/ [--name NAME] [--studio] \
#        [--domain-id d-xxxx] [--prefix P/] [--region R] [--fallback-region R ...] \
#        [--kms-key-arn [REGION=]ARN ...] [other policy options: --provider NAME --allow-write]
#
# 1. `nbsecrets artifact`: builds the pinned wheelhouse (nbsecrets and its dependencies) and
#    uploads it under the S3 folder given (skipped when --artifact names an object and
#    --artifact-sha256 its hash).
# 2. `nbsecrets provision`: merges the least-privilege policy (with s3:GetObject on that one
#    object) into ROLE's inline policy "nbsecrets", and prints what changed.
# 3. `nbsecrets lifecycle`: creates or updates the lifecycle configuration NAME (default
#    nbsecrets) with the artifact's URI and sha256 and the settings; attach it to the notebook
#    instance (or give --studio --domain-id to make it the domain's default).
# The commands hold the logic; this script only runs them in order. NBSECRETS_CLI names the
# command (default: nbsecrets). Runs under bash 3.2 (macOS) and 4.2 (Amazon Linux 2).
set -euo pipefail

cli=nbsecrets  # the admin's installed command, never a package name to install
if [ -n "${NBSECRETS_CLI:-}" ]; then cli="$NBSECRETS_CLI"; fi
role=""
name="nbsecrets"
artifact=""
sha=""
# Every array starts non-empty: "${a[@]}" of an empty array fails under set -u in bash < 4.4.
prov=(provision)
life=(lifecycle)
while [ $# -gt 0 ]; do
  case "$1" in
    --role) role="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    --artifact) artifact="$2"; shift 2 ;;
    --artifact-sha256) sha="$2"; shift 2 ;;
    --studio) life+=(--studio); shift ;;
    --domain-id|--wheel|--pip-requirement) life+=("$1" "$2"); shift 2 ;;
    --prefix|--region|--fallback-region|--kms-key-arn)
      prov+=("$1" "$2"); life+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) prov+=("$1"); shift ;;
  esac
done
if [ -z "$role" ]; then
  echo "provision.sh: give the notebook's execution role: --role NAME_OR_ARN" >&2
  exit 2
fi
if [ -z "$artifact" ]; then
  echo "provision.sh: give the install artifact: --artifact s3://BUCKET/PREFIX/" >&2
  exit 2
fi
case "$artifact" in
  */)
    out="$($cli artifact --s3 "$artifact")"
    echo "$out"
    while IFS='=' read -r key value; do
      case "$key" in
        ARTIFACT_URI) artifact="$value" ;;
        ARTIFACT_SHA256) sha="$value" ;;
      esac
    done <<EOF_OUT
$out
EOF_OUT
    ;;
esac
if [ -z "$sha" ]; then
  echo "provision.sh: give the artifact's sha256: --artifact-sha256 HEX" >&2
  exit 2
fi

$cli "${prov[@]}" --role "$role" --artifact "$artifact"
$cli "${life[@]}" --name "$name" --artifact "$artifact" --artifact-sha256 "$sha"
