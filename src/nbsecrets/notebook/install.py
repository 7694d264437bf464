"""Where redaction hooks into IPython and ipykernel: each hook installed once, on the running
shell's own objects (never the classes).

:func:`install` puts in place

- the send path (:mod:`nbsecrets.notebook.send`): ``Session.send`` of the kernel's
  session(s), every message to the front end;
- display (:mod:`nbsecrets.notebook.display`): ``display_pub.publish``, the display hook
  (``Out``, ``_``, ``_N``) and ``_showtraceback``;
- history (:mod:`nbsecrets.notebook.history`): ``history_manager.store_inputs``, its read
  methods (``%history -f``, ``%save`` of input ranges), ``logger.log_write`` (``%logstart``)
  and the after-cell scrub of IPython 9's per-cell outputs;
- writes (:mod:`nbsecrets.notebook.writes`): ``%store``, ``%save``, ``%load`` and
  ``%pastebin`` refuse to write a loaded value unless the command is repeated;
- in a kernel, the tee of the descriptors that reach its original stdout and stderr (the
  server's log): :mod:`nbsecrets.notebook.fdtee`.

:func:`on_register` runs when a value is registered: it installs the hooks on the running
shell, wraps ``%notebook`` and scrubs what the shell kept before
(:func:`~nbsecrets.notebook.history.scrub_history`). The hooks cost one boolean test while
no key is loaded or ``NBSECRETS_REDACT=0``.
"""

from __future__ import annotations

from typing import Any

from nbsecrets import redaction
from nbsecrets.notebook import display, fdtee, history, send, writes

__all__ = ["install", "on_register"]

_FLAG = "_nbsecrets_redaction"


def _mark(obj: Any, flag: str = _FLAG) -> bool:
    """Mark ``obj`` as hooked; False if it already was (or cannot be marked)."""
    if obj is None or getattr(obj, flag, False):
        return False
    try:
        setattr(obj, flag, True)
    except (AttributeError, TypeError):
        return False
    return True


def _wrap_notebook_magic(shell: Any) -> None:
    """Scrub every kept output right before ``%notebook`` writes them to a file."""
    manager = getattr(shell, "magics_manager", None)
    if manager is None:
        return
    line_magics = getattr(manager, "magics", {}).get("line", {})
    original = line_magics.get("notebook")
    if original is None or getattr(original, _FLAG, False):
        return
    if hasattr(manager, "find"):  # IPython 9 registers it lazily: load the real one to wrap
        original = manager.find("line", "notebook") or original
    notebook = history.scrubbing_notebook(shell, original)
    _mark(notebook)
    line_magics["notebook"] = notebook


def install(shell: Any) -> None:
    """Install every redaction hook on ``shell`` (idempotent)."""
    if shell is None:
        return
    redaction.refresh_setting()
    for session in send.sessions(shell):
        if _mark(session):
            send.wrap_session(session)
    pub = getattr(shell, "display_pub", None)
    if _mark(pub):
        display.wrap_publish(pub)
    hook = getattr(shell, "displayhook", None)
    if _mark(hook):
        display.wrap_displayhook(hook)
    if _mark(shell, "_nbsecrets_tb"):
        display.wrap_showtraceback(shell)
    hm = getattr(shell, "history_manager", None)
    if _mark(hm):
        history.wrap_store_inputs(hm)
        history.wrap_reads(hm)
    logger = getattr(shell, "logger", None)
    if _mark(logger) and hasattr(logger, "log_write"):
        history.wrap_log_write(logger)
    if getattr(shell, "kernel", None) is not None:  # a kernel: its stdout/stderr are a log
        fdtee.install()
    if _mark(shell, "_nbsecrets_post_run"):
        pre_run_cell, post_run_cell = history.cell_handlers(shell)
        shell.events.register("pre_run_cell", pre_run_cell)
        shell.events.register("post_run_cell", post_run_cell)


def _current_shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    return get_ipython()


def on_register(new_value: bool) -> None:
    """Called by :func:`nbsecrets.redaction.register`: hook the running shell, scrub the past."""
    shell = _current_shell()
    if shell is None:
        return
    install(shell)
    # Only once a key exists: loading the %notebook magic's module is not free, and
    # %load_ext nbsecrets stays instant.
    _wrap_notebook_magic(shell)
    writes.install(shell)
    if new_value and redaction.active():
        history.scrub_history(shell)
