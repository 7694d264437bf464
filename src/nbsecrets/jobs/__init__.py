"""Keys for the jobs a notebook launches, by reference, never by value.

- :mod:`~nbsecrets.jobs.environment` (the notebook side): :func:`job_environment` returns
  environment entries that name keys, for a SageMaker job, a model or any process;
- :mod:`~nbsecrets.jobs.entry` (the container side): :func:`load_environment` and
  ``nbsecrets run -- COMMAND`` load what the entries name, with the job's own role;
- :mod:`~nbsecrets.jobs.guard` (the notebook side, once a key is loaded): a SageMaker request
  that would carry a loaded key is refused before it is sent. The package root installs it;
  it is not imported here.

Uses nbsecrets.api, aws/ and the core; only the package root and the CLI import from here.
"""

from __future__ import annotations

from nbsecrets.jobs.entry import load_environment, run, split_command
from nbsecrets.jobs.environment import KEYS_VAR, job_environment, keys_named

__all__ = ["KEYS_VAR", "job_environment", "keys_named", "load_environment", "run", "split_command"]
