#!/bin/bash
# nbsecrets on-start script for SageMaker notebook instances (runs as root at every start):
# installs nbsecrets into every conda environment under ~ec2-user/anaconda3/envs except
# JupyterSystemEnv, as ec2-user. What it does is ../common.sh, which deploys put in place of
# the include below.
set -euo pipefail

export NB_USER="${NBSECRETS_USER:-ec2-user}"
export NB_HOME="${NBSECRETS_HOME:-/home/$NB_USER}"
export ENVS="${NBSECRETS_ENVS_DIR:-$NB_HOME/anaconda3/envs}/*"
export SKIP_ENV="JupyterSystemEnv"
# shellcheck source=/dev/null
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
