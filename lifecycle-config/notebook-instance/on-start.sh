#!/bin/bash
# nbsecrets on-start script for SageMaker notebook instances (runs as root at every start).
#
# In seconds it writes the IPython config that loads nbsecrets (so %aikey works with no
# %load_ext) and returns; in the background (nohup) it installs nbsecrets into every conda
# environment under ~ec2-user/anaconda3/envs except JupyterSystemEnv, as ec2-user, then runs
# `nbsecrets doctor` and logs what it found. Everything goes to the log file below.
# It never changes the execution role it runs as: an admin gives that role its policy with
# `nbsecrets provision` or lifecycle-config/template.yaml.
#
# Settings, from the environment (defaults are SageMaker's layout):
#   NBSECRETS_PIP_SPEC  the pip requirement to install (default: nbsecrets). nbsecrets is not
#                       on PyPI yet: point it at a wheel URL or a git URL, or edit the default
#                       below (`nbsecrets lifecycle --pip-spec SPEC` does that for you).
#   NBSECRETS_USER      user that runs the kernels (ec2-user)
#   NBSECRETS_HOME      that user's home directory (/home/ec2-user)
#   NBSECRETS_ENVS_DIR  directory of the conda environments ($NBSECRETS_HOME/anaconda3/envs)
#   NBSECRETS_LOG       log file ($NBSECRETS_HOME/nbsecrets-lifecycle.log)
set -euo pipefail

NBSECRETS_PIP_SPEC="${NBSECRETS_PIP_SPEC:-nbsecrets}"
NB_USER="${NBSECRETS_USER:-ec2-user}"
NB_HOME="${NBSECRETS_HOME:-/home/$NB_USER}"
ENVS_DIR="${NBSECRETS_ENVS_DIR:-$NB_HOME/anaconda3/envs}"
LOG="${NBSECRETS_LOG:-$NB_HOME/nbsecrets-lifecycle.log}"

log() { printf '%s nbsecrets: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$LOG"; }

# Run a command as the notebook user (directly when we already are that user, or have no sudo).
as_user() {
  if [ "$(id -un)" = "$NB_USER" ] || ! command -v sudo >/dev/null; then
    "$@"
  else
    sudo -u "$NB_USER" -H -- "$@"
  fi
}

# Load the extension in every IPython kernel of the user, where nbsecrets is installed.
write_ipython_config() {
  local dir="$NB_HOME/.ipython/profile_default"
  local file="$dir/ipython_config.py"
  mkdir -p "$dir"
  if ! grep -q '# >>> nbsecrets >>>' "$file" 2>/dev/null; then
    cat >>"$file" <<'PY'
# >>> nbsecrets >>>
# Added by the nbsecrets lifecycle script: %aikey without %load_ext, where it is installed.
import importlib.util as _nbsecrets_util
if _nbsecrets_util.find_spec("nbsecrets") is not None:
    c.InteractiveShellApp.extensions.append("nbsecrets")
# <<< nbsecrets <<<
PY
  fi
  chown -R "$NB_USER" "$NB_HOME/.ipython" 2>/dev/null || true
  log "IPython config: $file"
}

install_all() {
  local env name doctor_python=""
  for env in "$ENVS_DIR"/*/; do
    env="${env%/}"
    name="$(basename "$env")"
    if [ "$name" = "JupyterSystemEnv" ] || [ ! -x "$env/bin/python" ]; then
      continue
    fi
    log "installing $NBSECRETS_PIP_SPEC into $name"
    if as_user "$env/bin/python" -m pip install --quiet --disable-pip-version-check \
        "$NBSECRETS_PIP_SPEC" >>"$LOG" 2>&1; then
      log "installed into $name"
      doctor_python="${doctor_python:-$env/bin/python}"
    else
      log "FAILED to install into $name (see above)"
    fi
  done
  if [ -n "$doctor_python" ]; then
    log "nbsecrets doctor:"
    as_user "$doctor_python" -m nbsecrets.cli doctor >>"$LOG" 2>&1 \
      || log "doctor found problems (above); the fix is in each FAIL/WARN line"
  else
    log "nbsecrets is installed in no environment; nothing to check"
  fi
  log "done"
}

touch "$LOG"
chown "$NB_USER" "$LOG" 2>/dev/null || true
log "on-start: pip spec $NBSECRETS_PIP_SPEC, environments in $ENVS_DIR"
write_ipython_config
export NBSECRETS_PIP_SPEC NB_USER NB_HOME ENVS_DIR LOG
export -f log as_user install_all
nohup bash -c install_all >>"$LOG" 2>&1 </dev/null &
log "installing in the background (pid $!); this script returns now"
