# shellcheck shell=bash
# nbsecrets: what the on-start scripts of notebook instances and Studio spaces do at each start.
# notebook-instance/on-start.sh and studio/on-start.sh set the layout (NB_USER, NB_HOME,
# ENVS and maybe SKIP_ENV) and include this file; `nbsecrets lifecycle`, template.yaml and the
# Pulumi program put its text in place of the include, as SageMaker runs each script as one
# file.
#
# In seconds it writes the deploy-time settings where every kernel reads them, the IPython
# config that loads nbsecrets (%aikey with no %load_ext) and a stand-in %aikey for kernels
# started while the install runs. Then, in the background (nohup), it downloads the pinned
# artifact from S3 with the role's credentials, refuses it unless its sha256 is the one fixed
# at deploy time, installs it offline (pip --no-index --find-links; a dependency is upgraded
# only where an environment's is older than nbsecrets needs, and the log says which) into each
# environment ENVS names except SKIP_ENV, as NB_USER; then `nbsecrets doctor --at-start`. It
# waits for that up to NBSECRETS_WAIT seconds (within SageMaker's 5 minutes) and copies its
# log to stdout, which reaches CloudWatch; past that the install goes on in the background and
# only $LOG has the rest. It never changes the role it runs as.
: "${NB_USER:?}" "${NB_HOME:?}" "${ENVS:?}"
SKIP_ENV="${SKIP_ENV:--}"  # an environment not to install into ("-": none)

# >>> settings: set by `nbsecrets lifecycle` or template.yaml; do not edit by hand >>>
ARTIFACT_URI=""
ARTIFACT_SHA256=""
PIP_REQUIREMENT=""
PREFIX=""
REGION=""
FALLBACK_REGIONS=""
KMS_KEY_ID=""
# <<< settings <<<

LOG="${NBSECRETS_LOG:-$NB_HOME/nbsecrets-lifecycle.log}"
WAIT="${NBSECRETS_WAIT:-200}"  # seconds on-start waits for the install (SageMaker allows 300)
# STS through its regional endpoint even with a boto3 older than 1.40 (VPC-only networks)
export AWS_STS_REGIONAL_ENDPOINTS="${AWS_STS_REGIONAL_ENDPOINTS:-regional}"
METADATA="/opt/ml/metadata/resource-metadata.json"
export PATH="$PATH:/usr/sbin:/sbin"  # runuser, where there is no sudo

log() { printf '%s nbsecrets: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" | tee -a "$LOG"; }

as_user() {
  if [ "$(id -un)" = "$NB_USER" ]; then "$@"
  elif command -v sudo >/dev/null; then sudo -u "$NB_USER" -H -- "$@"
  else runuser -u "$NB_USER" -- env HOME="$NB_HOME" "$@"; fi
}

targets() {
  local env
  for env in $ENVS; do
    env="${env%/}"
    if [ "$(basename "$env")" != "$SKIP_ENV" ] && [ -x "$env/bin/python" ]; then
      echo "$env"
    fi
  done
}

write_settings() {
  local dir="$NB_HOME/.config/nbsecrets" tmp
  mkdir -p "$dir"
  tmp="$(mktemp "$dir/.config.XXXXXX")"
  {
    echo "# Written by the nbsecrets lifecycle script at each start; edits are lost."
    if [ -n "$PREFIX" ]; then echo "prefix = \"$PREFIX\""; fi
    if [ -n "$REGION" ]; then echo "region = \"$REGION\""; fi
    if [ -n "$FALLBACK_REGIONS" ]; then echo "fallback_regions = \"$FALLBACK_REGIONS\""; fi
    if [ -n "$KMS_KEY_ID" ]; then echo "kms_key_id = \"$KMS_KEY_ID\""; fi
  } >"$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$dir/config.toml"
  chown -R "$NB_USER" "$NB_HOME/.config" 2>/dev/null || true
  log "settings: $dir/config.toml"
}

write_ipython() {
  local dir="$NB_HOME/.ipython/profile_default"
  mkdir -p "$dir/startup"
  if ! grep -q '# >>> nbsecrets >>>' "$dir/ipython_config.py" 2>/dev/null; then
    cat >>"$dir/ipython_config.py" <<'PY'
# >>> nbsecrets >>>
import importlib.util as _nbsecrets_util
if _nbsecrets_util.find_spec("nbsecrets") is not None:
    c.InteractiveShellApp.extensions.append("nbsecrets")
# <<< nbsecrets <<<
PY
  fi
  # The stand-in %aikey: while the install runs, says so; once done, loads the real one.
  cat >"$dir/startup/00-nbsecrets.py" <<PY
def _nbsecrets_standin(log="$LOG"):
    import importlib, importlib.util, os
    os.environ.setdefault("AWS_STS_REGIONAL_ENDPOINTS", "regional")
    ip = get_ipython()
    if ip is None or "aikey" in ip.magics_manager.magics["line"]:
        return
    def aikey(line=""):
        importlib.invalidate_caches()
        if importlib.util.find_spec("nbsecrets") is None:
            print("nbsecrets is still being installed in this environment (log: " + log
                  + "); run %aikey again in a minute, no restart needed.")
            return None
        ip.extension_manager.load_extension("nbsecrets")
        return ip.run_line_magic("aikey", line)
    ip.register_magic_function(aikey, "line")
_nbsecrets_standin()
del _nbsecrets_standin
PY
  chown -R "$NB_USER" "$NB_HOME/.ipython" 2>/dev/null || true
  log "IPython config: $dir"
}

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# A Python with boto3 (SageMaker's own environments have it) downloads with the role's creds.
download() {
  local py
  # shellcheck disable=SC2046
  for py in "$(dirname "$ENVS")/$SKIP_ENV/bin/python" /opt/conda/bin/python \
      $(targets | sed 's|$|/bin/python|') python3; do
    if "$py" -c 'import boto3' >/dev/null 2>&1; then
      "$py" - "$ARTIFACT_URI" "$1" "$REGION" "$METADATA" <<'PY'
import json, sys, boto3
uri, dest, region, meta = sys.argv[1:5]
if not region:
    try:
        region = json.load(open(meta))["ResourceArn"].split(":")[3]
    except Exception:
        region = None
bucket, _, key = uri[len("s3://"):].partition("/")
boto3.client("s3", region_name=region).download_file(bucket, key, dest)
PY
      return
    fi
  done
  if command -v aws >/dev/null; then aws s3 cp --quiet "$ARTIFACT_URI" "$1"; return; fi
  echo "no python with boto3 and no aws CLI to download $ARTIFACT_URI" >&2
  return 1
}

install_all() {
  local work env args=() req=""
  work="$(mktemp -d /tmp/nbsecrets-install.XXXXXX)"
  chmod 755 "$work"
  if [ -n "$ARTIFACT_URI" ]; then
    if ! download "$work/artifact.tar.gz" >>"$LOG" 2>&1; then
      log "FAILED to download $ARTIFACT_URI (see above); nothing installed"; return 0
    fi
    local got
    got="$(sha256 "$work/artifact.tar.gz")"
    if [ "$got" != "$ARTIFACT_SHA256" ]; then
      log "REFUSED $ARTIFACT_URI: sha256 $got is not the deployed $ARTIFACT_SHA256; nothing installed"
      rm -rf "$work"; return 0
    fi
    tar -xzf "$work/artifact.tar.gz" -C "$work"
    chmod -R a+rX "$work"
    for req in "$work"/wheelhouse/nbsecrets-*.whl; do req="${req##*/nbsecrets-}"; done
    req="${req%%-*}"
    args=(--no-index --find-links "$work/wheelhouse" "nbsecrets==$req")
    log "artifact $ARTIFACT_URI verified (sha256 $got), nbsecrets $req"
  elif [ -n "$PIP_REQUIREMENT" ]; then
    printf '%s\n' "$PIP_REQUIREMENT" >"$work/requirements.txt"
    chmod 644 "$work/requirements.txt"
    args=(--require-hashes -r "$work/requirements.txt")
  else
    log "no install source set: deploy with 'nbsecrets lifecycle --artifact s3://...'"; return 0
  fi
  local doctor_py="" pip changed
  while IFS= read -r env; do
    pip=(as_user "$env/bin/python" -m pip)
    "${pip[@]}" list --format=freeze --disable-pip-version-check >"$work/before" 2>/dev/null \
      || true
    if "${pip[@]}" install --quiet --disable-pip-version-check \
        --upgrade-strategy only-if-needed "${args[@]}" >>"$LOG" 2>&1; then
      "${pip[@]}" list --format=freeze --disable-pip-version-check >"$work/after" 2>/dev/null \
        || true
      changed="$(awk -F'==' 'NR == FNR { old[tolower($1)] = $2; next }
        { n = tolower($1) } !(n in old) { a = a " " $1 " " $2; next }
        old[n] != $2 { u = u " " $1 " " old[n] "->" $2 }
        END { printf "added:%s; upgraded:%s", (a ? a : " -"), (u ? u : " -") }' \
        "$work/before" "$work/after")"
      log "installed into $env ($changed)"
      doctor_py="${doctor_py:-$env/bin/python}"
    else
      log "FAILED to install into $env (see above)"
    fi
  done < <(targets)
  rm -rf "$work"
  if [ -n "$doctor_py" ]; then
    as_user env AWS_STS_REGIONAL_ENDPOINTS="$AWS_STS_REGIONAL_ENDPOINTS" "$doctor_py" \
      -m nbsecrets.cli doctor --at-start >>"$LOG" 2>&1 \
      || log "doctor found problems (above); the fix is in each FAIL/WARN line"
  fi
  log "done"
}

touch "$LOG"
chown "$NB_USER" "$LOG" 2>/dev/null || true
start="$(wc -c <"$LOG")"
log "on-start: artifact ${ARTIFACT_URI:-${PIP_REQUIREMENT:-(none)}}; environments $ENVS"
write_settings
write_ipython
export ARTIFACT_URI ARTIFACT_SHA256 PIP_REQUIREMENT REGION NB_USER NB_HOME ENVS SKIP_ENV LOG \
  METADATA
export -f log as_user targets sha256 download install_all
nohup bash -c 'install_all >/dev/null' >>"$LOG" 2>&1 </dev/null &
pid=$!
log "installing in the background (pid $pid, log $LOG); waiting up to ${WAIT}s for it"
until ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$WAIT" ]; do sleep 1; done
# What the install logged (installed, refused, failed, doctor's warnings) goes to stdout too.
tail -c +"$((start + 1))" "$LOG" | grep -v ' nbsecrets: \(settings\|IPython config\|on-start\|installing in\)' \
  || true
if kill -0 "$pid" 2>/dev/null; then
  log "still installing after ${WAIT}s: it goes on in the background; the rest is in $LOG only"
else
  log "install finished; this script returns now"
fi
