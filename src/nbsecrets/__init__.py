"""nbsecrets: AI provider API keys from AWS Secrets Manager into notebooks, never shown.

``%load_ext nbsecrets`` then ``%aikey openai anthropic``; or from Python::

    import nbsecrets
    nbsecrets.load("openai", "anthropic")

Importing this package does not import boto3; the first fetch does.
"""

from __future__ import annotations

import sys
from typing import Any

from nbsecrets import errors, redaction
from nbsecrets._version import __version__
from nbsecrets.api import get, list_keys, load, unload
from nbsecrets.errors import *  # noqa: F403 - the exception classes, each named in errors.__all__
from nbsecrets.jobs import job_environment, load_environment

__all__ = [
    *errors.__all__,
    "__version__",
    "jupyter_pre_save_hook",
    "get",
    "job_environment",
    "list_keys",
    "load",
    "load_environment",
    "load_ipython_extension",
    "picker",
    "unload",
    "unload_ipython_extension",
]


def picker() -> Any:
    """The key picker widget (ipywidgets): see, load and store keys, never their values."""
    from nbsecrets.notebook.picker import picker as _picker

    return _picker()


def _kernel_hooks(new: bool) -> None:
    # The package root wires the layers: a value registered by the core (api) reaches the
    # kernel hooks, which install themselves and scrub what the shell kept before it.
    if "IPython" in sys.modules:
        from nbsecrets.notebook import install

        install.on_register(new)


redaction.on_register(_kernel_hooks)


def _job_guard(new: bool) -> None:
    # Once a value is loaded, SageMaker requests that would carry it are refused (jobs/guard.py):
    # at once when botocore is loaded (after a fetch), else as soon as it is imported.
    if new:
        from nbsecrets.jobs import guard

        guard.install_when_ready()


redaction.on_register(_job_guard)


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%aikey`` and the redaction hooks (called by ``%load_ext nbsecrets``)."""
    from nbsecrets.notebook.install import install
    from nbsecrets.notebook.magic import AikeyMagics

    install(ipython)
    ipython.register_magics(AikeyMagics)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove ``%aikey``. Values already loaded stay redacted until the kernel ends."""
    ipython.magics_manager.magics["line"].pop("aikey", None)


def jupyter_pre_save_hook(
    model: dict[str, Any], path: str, contents_manager: Any = None, **kwargs: Any
) -> None:
    """The Jupyter server save hook: redacts API keys from a notebook before it is written.

    Set it in ``jupyter_server_config.py``::

        c.FileContentsManager.pre_save_hook = "nbsecrets.jupyter_pre_save_hook"

    See :mod:`nbsecrets.leakscan.jupyter` for what it does and how the user is told.
    """
    from nbsecrets.leakscan.jupyter import pre_save_hook

    pre_save_hook(model=model, path=path, contents_manager=contents_manager, **kwargs)
