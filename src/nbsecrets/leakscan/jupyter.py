"""The Jupyter server save hook: a notebook saved with a key in it is redacted before it
reaches disk.

Enable it in ``jupyter_server_config.py``::

    c.FileContentsManager.pre_save_hook = "nbsecrets.jupyter_pre_save_hook"

On each save the
contents manager hands the hook the model it is about to write; the hook finds keys by their
provider's format (in every cell, output, MIME type, attachment and widget state, as
``nbsecrets scan`` does, without AWS calls) and replaces each, in all its forms, by
``[REDACTED:provider]``.

The notice: a successful save has no channel to the user in JupyterLab. The hook logs a
warning in the server log and sets the model's ``message``, which the contents API returns in
the save response (JupyterLab 4 does not show it). The open tab still holds the keys until it
is reloaded from disk; each autosave is redacted again. If the hook itself fails, it rejects
the save (HTTP 500 with one sentence, which JupyterLab shows as "File Save Error") rather than
write an unchecked file: an exception of another kind would be logged and the file saved as
it was.
"""

from __future__ import annotations

import logging
from typing import Any

from nbsecrets.leakscan.engine import Finding, scan_notebook, scan_text
from nbsecrets.redaction import Redactor

__all__ = ["notice", "pre_save_hook"]

_log = logging.getLogger("nbsecrets.jupyter")


def notice(path: str, found: list[Finding]) -> str:
    """The one-line notice for a save that was redacted."""
    providers = ", ".join(sorted({f.provider for f in found}))
    return (
        f"nbsecrets: {len(found)} API key(s) ({providers}) replaced by "
        f"[REDACTED:provider] in the saved {path}; the open tab still shows them: reload it "
        "from disk, and rotate the keys (they were in the notebook)."
    )


def _redact(model: dict[str, Any], path: str) -> list[Finding]:
    kind = model.get("type")
    content = model.get("content")
    if kind == "notebook" and isinstance(content, dict):
        found = scan_notebook(path, content)
        if found:
            red = Redactor.of({f.value: f.provider for f in found})
            if red is not None:
                model["content"] = red.obj(content)
        return found
    if kind == "file" and model.get("format") == "text" and isinstance(content, str):
        found = scan_text(path, content)
        if found:
            red = Redactor.of({f.value: f.provider for f in found})
            if red is not None:
                model["content"] = red.text(content)
        return found
    return []


def pre_save_hook(
    model: dict[str, Any], path: str, contents_manager: Any = None, **kwargs: Any
) -> None:
    """Redact provider keys from ``model`` in place (the contents manager then writes it).

    Parameters
    ----------
    model : dict
        The REST model being saved (``type``, ``format``, ``content``).
    path : str
        The API path of the file.
    contents_manager : ContentsManager, optional
        The manager saving it; its logger receives the notice.
    """
    log = getattr(contents_manager, "log", None) or _log
    try:
        found = _redact(model, path)
    except Exception as exc:  # fail closed: never write an unchecked file
        from tornado.web import HTTPError

        log.error(
            "nbsecrets: the save hook failed on %s (%s); the save was refused",
            path,
            type(exc).__name__,
        )
        raise HTTPError(
            500,
            f"nbsecrets could not check {path} for API keys, so it was not "
            "saved; save it again, or disable the nbsecrets save hook.",
        ) from None
    if found:
        text = notice(path, found)
        log.warning("%s", text)
        model["message"] = text
