#!/bin/bash
# nbsecrets on-start script for SageMaker Studio JupyterLab spaces (runs at every start of the
# space, as sagemaker-user or root): installs nbsecrets into /opt/conda as sagemaker-user.
# What it does is ../common.sh, which deploys put in place of the include below.
set -euo pipefail

export NB_USER="${NBSECRETS_USER:-sagemaker-user}"
export NB_HOME="${NBSECRETS_HOME:-/home/$NB_USER}"
export ENVS="${NBSECRETS_CONDA:-/opt/conda}"
# shellcheck source=/dev/null
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
