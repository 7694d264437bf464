#!/bin/bash
# nbsecrets on-start script for SageMaker Studio JupyterLab spaces (runs at every start of
# the space, as sagemaker-user or as root).
#
# In seconds it writes the IPython config that loads nbsecrets (so %aikey works with no
# %load_ext) and returns; in the background (nohup) it installs nbsecrets into /opt/conda as
# sagemaker-user, then runs `nbsecrets doctor` and logs what it found to the log file below.
# It never changes the execution role it runs as: an admin gives that role its policy with
# `nbsecrets provision` or lifecycle-config/template.yaml.
#
# Settings, from the environment (defaults are Studio's layout):
#   NBSECRETS_PIP_SPEC  the pip requirement to install (default: nbsecrets). nbsecrets is not
#                       on PyPI yet: point it at a wheel URL or a git URL, or edit the default
#                       below (`nbsecrets lifecycle --studio --pip-spec SPEC` does that for you).
#   NBSECRETS_USER      user that runs the kernels (sagemaker-user)
#   NBSECRETS_HOME      that user's home directory (/home/sagemaker-user)
#   NBSECRETS_CONDA     the conda environment of the kernels (/opt/conda)
#   NBSECRETS_LOG       log file ($NBSECRETS_HOME/nbsecrets-lifecycle.log)
set -euo pipefail

NBSECRETS_PIP_SPEC="${NBSECRETS_PIP_SPEC:-nbsecrets}"
NB_USER="${NBSECRETS_USER:-sagemaker-user}"
NB_HOME="${NBSECRETS_HOME:-/home/$NB_USER}"
CONDA="${NBSECRETS_CONDA:-/opt/conda}"
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
  log "installing $NBSECRETS_PIP_SPEC into $CONDA"
  if as_user "$CONDA/bin/python" -m pip install --quiet --disable-pip-version-check \
      "$NBSECRETS_PIP_SPEC" >>"$LOG" 2>&1; then
    log "installed into $CONDA"
    log "nbsecrets doctor:"
    as_user "$CONDA/bin/python" -m nbsecrets.cli doctor >>"$LOG" 2>&1 \
      || log "doctor found problems (above); the fix is in each FAIL/WARN line"
  else
    log "FAILED to install into $CONDA (see above)"
  fi
  log "done"
}

touch "$LOG"
chown "$NB_USER" "$LOG" 2>/dev/null || true
log "on-start: pip spec $NBSECRETS_PIP_SPEC, environment $CONDA"
write_ipython_config
export NBSECRETS_PIP_SPEC NB_USER NB_HOME CONDA LOG
export -f log as_user install_all
nohup bash -c install_all >>"$LOG" 2>&1 </dev/null &
log "installing in the background (pid $!); this script returns now"
