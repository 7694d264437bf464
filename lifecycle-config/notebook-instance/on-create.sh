#!/bin/bash
# nbsecrets on-create script for SageMaker notebook instances (runs once, as root, when the
# instance is created, before on-start).
#
# Nothing to install here: everything outside /home/ec2-user/SageMaker is reset when the
# instance stops, so on-start.sh installs nbsecrets and writes the settings and the IPython
# config at every start. This script only starts the log (stdout, which reaches CloudWatch,
# and the file below), so an admin can see that the configuration ran.
#
#   NBSECRETS_LOG  log file (/home/ec2-user/nbsecrets-lifecycle.log)
# It never changes the execution role it runs as.
set -euo pipefail

LOG="${NBSECRETS_LOG:-${NBSECRETS_HOME:-/home/${NBSECRETS_USER:-ec2-user}}/nbsecrets-lifecycle.log}"
printf '%s nbsecrets: on-create: instance created; on-start.sh installs nbsecrets\n' \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" | tee -a "$LOG"
