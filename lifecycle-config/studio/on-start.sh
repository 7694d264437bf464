#!/bin/bash
# nbsecrets on-start script for SageMaker Studio JupyterLab spaces (runs at every start of the
# space, as sagemaker-user or root): installs nbsecrets into /opt/conda as sagemaker-user.
# What it does is ../common.sh, which deploys put in place of the include below.
set -euo pipefail

NB_USER="${NBSECRETS_USER:-sagemaker-user}"
NB_HOME="${NBSECRETS_HOME:-/home/$NB_USER}"
ENVS="${NBSECRETS_CONDA:-/opt/conda}"
SKIP_ENV="-"
export NB_USER NB_HOME ENVS SKIP_ENV

# The shared part: lifecycle-config/common.sh, put here at deploy (one file per script).
# shellcheck source=/dev/null
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
