"""Where redaction hooks into IPython and ipykernel.

:func:`install` wraps, on the running shell's own objects (never the classes):

- ``Session.send`` of the kernel's session(s): the one choke point for every message to the
  front end (streams, display data, execute results, errors, execute_input, execute and
  inspect replies, comm messages that carry widget state, debugger replies). The message
  ``content``, ``metadata`` and binary ``buffers`` are redacted; headers are left alone.
  Stream messages are checked together with the tail of the previous one on the same
  stream, and a large one goes out in pieces (:mod:`nbsecrets.notebook.channels`);
- ``display_pub.publish`` and the display hook's ``compute_format_data``, so what IPython keeps
  of displayed data (the ``%notebook`` export, ``output_hist_reprs`` written to the history
  database when ``HistoryManager.db_log_output`` is on) is redacted too;
- the display hook's ``update_user_ns``: a result that shows a key is kept in ``Out``, ``_``,
  ``__``, ``___`` and ``_N`` as its redacted text, not as the object;
- ``_showtraceback`` (error ``evalue`` and traceback, also for a shell without a kernel);
- ``history_manager.store_inputs``: ``In``, ``_ih``, ``_i``, ``_iN`` and the history database
  never receive a cell source holding a key (a pasted ``%env OPENAI_API_KEY=sk-...``);
- ``logger.log_write`` (``%logstart`` files);
- a ``post_run_cell`` handler that scrubs the streams, displays and exceptions IPython 9 keeps
  per cell in ``history_manager.outputs`` and ``history_manager.exceptions``.

In a kernel, the descriptors that reach its original stdout and stderr (the server's log)
are taken over by :mod:`nbsecrets.notebook.fdtee`.

When a new value is registered, everything the shell kept before is scrubbed once
(:func:`scrub_history`), including this session's input and output rows already written to
the history database and the ``%logstart`` file. The hooks cost one boolean test while no key
is loaded or ``NBSECRETS_REDACT=0``.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from nbsecrets import redact
from nbsecrets.notebook import fdtee
from nbsecrets.notebook.channels import (
    DEFER_FROM,
    StreamSeams,
    kept_size,
    redact_buffers,
    scrub_input_rows,
    scrub_logfile,
    scrub_output_rows,
    send_in_pieces,
)
from nbsecrets.redact import redact as _r
from nbsecrets.redact import redact_text

__all__ = ["install", "on_register", "scrub_history"]

_FLAG = "_nbsecrets_redaction"
_UNDERSCORES = ("_", "__", "___", "_i", "_ii", "_iii")
_NUMBERED = re.compile(r"_i?[0-9]+")


def _mark(obj: Any) -> bool:
    """Mark ``obj`` as hooked; False if it already was."""
    if obj is None or getattr(obj, _FLAG, False):
        return False
    try:
        setattr(obj, _FLAG, True)
    except (AttributeError, TypeError):
        return False
    return True


_SEAMS = StreamSeams()


def _redact_send(args: tuple[Any, ...], kwargs: dict[str, Any]
                 ) -> tuple[tuple[Any, ...], dict[str, Any]]:
    # Session.send(stream, msg_or_type, content=None, parent=None, ident=None, buffers=None,
    #              track=False, header=None, metadata=None)
    args_l = list(args)
    msg_type = args_l[1] if len(args_l) > 1 else kwargs.get("msg_or_type")
    if isinstance(msg_type, dict):
        msg = msg_type
        new = dict(msg)
        for part in ("content", "metadata"):
            if part in new:
                new[part] = (_SEAMS.content(new[part])
                             if part == "content" and msg.get("msg_type") == "stream"
                             else _r(new[part]))
        if "buffers" in new:
            new["buffers"] = redact_buffers(new["buffers"])
        if len(args_l) > 1:
            args_l[1] = new
        else:
            kwargs["msg_or_type"] = new
    stream = msg_type == "stream"
    for pos, name in ((2, "content"), (8, "metadata"), (5, "buffers")):
        fix = redact_buffers if name == "buffers" else (
            _SEAMS.content if stream and name == "content" else _r)
        if len(args_l) > pos:
            args_l[pos] = fix(args_l[pos])
        elif name in kwargs:
            kwargs[name] = fix(kwargs[name])
    return tuple(args_l), kwargs


def _wrap_session(session: Any) -> None:
    if not _mark(session):
        return
    original = session.send

    def send(*args: Any, **kwargs: Any) -> Any:
        if redact.active():
            if send_in_pieces(session, original, args, kwargs, _SEAMS):
                return None
            args, kwargs = _redact_send(args, kwargs)
        return original(*args, **kwargs)

    session.send = send


def _sessions(shell: Any) -> list[Any]:
    found = []
    kernel = getattr(shell, "kernel", None)
    for owner in (kernel, getattr(shell, "display_pub", None),
                  getattr(shell, "displayhook", None), sys.stdout, sys.stderr):
        session = getattr(owner, "session", None)
        if session is not None and hasattr(session, "send") and \
                all(session is not s for s in found):
            found.append(session)
    return found


def _wrap_display_pub(shell: Any) -> None:
    pub = getattr(shell, "display_pub", None)
    if not _mark(pub):
        return
    original = pub.publish

    def publish(data: Any, metadata: Any = None, *args: Any, **kwargs: Any) -> Any:
        if redact.active():
            data, metadata = _r(data), _r(metadata)
        return original(data, metadata, *args, **kwargs)

    pub.publish = publish


def _stand_in(result: Any, shown: dict[str, Any]) -> Any:
    """What ``Out``/``_`` keep of a result whose display showed a key."""
    if isinstance(result, (str, bytes, bytearray)):
        return _r(result)
    text = shown.get("text/plain")
    return text if isinstance(text, str) else redact_text(repr(result))


def _wrap_displayhook(shell: Any) -> None:
    hook = getattr(shell, "displayhook", None)
    if not _mark(hook):
        return
    compute = hook.compute_format_data
    update = hook.update_user_ns
    last: dict[str, Any] = {"changed": False, "shown": {}}

    def compute_format_data(result: Any) -> Any:
        format_dict, md_dict = compute(result)
        last["changed"] = False
        if redact.active():
            new_format, new_md = _r(format_dict), _r(md_dict)
            last["changed"] = new_format is not format_dict
            last["shown"] = new_format
            format_dict, md_dict = new_format, new_md
        return format_dict, md_dict

    def update_user_ns(result: Any) -> Any:
        if redact.active() and (last["changed"] or (
                isinstance(result, (str, bytes)) and _r(result) is not result)):
            result = _stand_in(result, last["shown"])
        last["changed"] = False
        return update(result)

    hook.compute_format_data = compute_format_data
    hook.update_user_ns = update_user_ns


def _wrap_showtraceback(shell: Any) -> None:
    if getattr(shell, "_nbsecrets_tb", False):
        return
    shell._nbsecrets_tb = True
    original = shell._showtraceback

    def _showtraceback(etype: Any, evalue: Any, stb: Any) -> Any:
        if redact.active():
            text = str(evalue)
            safe = redact_text(text)
            if safe is not text:
                evalue = safe  # ipykernel and IPython only use str(evalue)
            stb = _r(stb)
        return original(etype, evalue, stb)

    shell._showtraceback = _showtraceback


def _wrap_history(shell: Any) -> None:
    hm = getattr(shell, "history_manager", None)
    if not _mark(hm):
        return
    original = hm.store_inputs

    def store_inputs(line_num: int, source: str, source_raw: str | None = None) -> Any:
        if redact.active():
            source = redact_text(source)
            source_raw = redact_text(source_raw) if source_raw is not None else None
        return original(line_num, source, source_raw)

    hm.store_inputs = store_inputs


def _wrap_logger(shell: Any) -> None:
    logger = getattr(shell, "logger", None)
    if not _mark(logger) or not hasattr(logger, "log_write"):
        return
    original = logger.log_write

    def log_write(data: Any, *args: Any, **kwargs: Any) -> Any:
        if redact.active():
            data = _r(data)
        return original(data, *args, **kwargs)

    logger.log_write = log_write


def _scrub_outputs(hm: Any, counts: Any = None) -> None:
    """Redact what IPython 9 keeps per cell (streams, displays, exceptions) for ``counts``."""
    outputs = getattr(hm, "outputs", None)
    if isinstance(outputs, dict):
        for count in list(outputs) if counts is None else counts:
            for item in outputs.get(count, ()):
                bundle = getattr(item, "bundle", None)
                if isinstance(bundle, dict) and isinstance(bundle.get("stream"), list):
                    joined = "".join(x for x in bundle["stream"] if isinstance(x, str))
                    safe = redact_text(joined)
                    if safe is not joined:
                        item.bundle = {**bundle, "stream": [safe]}
                elif bundle is not None:
                    item.bundle = _r(bundle)
    exceptions = getattr(hm, "exceptions", None)
    if isinstance(exceptions, dict):
        for count in list(exceptions) if counts is None else counts:
            if count in exceptions:
                exceptions[count] = _r(exceptions[count])


def _wrap_notebook_magic(shell: Any) -> None:
    """Scrub every kept output right before ``%notebook`` writes them to a file.

    The after-cell scrub covers the cell just run; output that reaches a cell's record after
    that (``os.system`` output relayed late by ipykernel's capture thread, or from a thread
    the user started) would otherwise be exported as it came.
    """
    manager = getattr(shell, "magics_manager", None)
    line_magics = getattr(manager, "magics", {}).get("line", {})
    original = line_magics.get("notebook")
    if original is None or getattr(original, _FLAG, False):
        return
    if hasattr(manager, "find"):  # IPython 9 registers it lazily: load the real one to wrap
        original = manager.find("line", "notebook") or original

    def notebook(*args: Any, **kwargs: Any) -> Any:
        hm = getattr(shell, "history_manager", None)
        if hm is not None and redact.active():
            _scrub_outputs(hm)
        return original(*args, **kwargs)

    notebook.__doc__ = original.__doc__
    _mark(notebook)
    line_magics["notebook"] = notebook


def _post_run_cell(shell: Any) -> Any:
    pending: list[tuple[int, int]] = []

    def post_run_cell(*_args: Any) -> None:
        if not redact.active():
            return
        hm = getattr(shell, "history_manager", None)
        if hm is not None:
            count = shell.execution_count
            counts = (count - 1, count)
            if kept_size(hm, counts) < DEFER_FROM:
                _scrub_outputs(hm, counts)
            else:
                # A large print is still on its way to the front end (ipykernel sends it
                # after this hook): scrub IPython's copy once it has gone, not before it.
                # Nothing reads that copy in between; %notebook scrubs all before it writes.
                pending.append(counts)

    def pre_run_cell(*_args: Any) -> None:
        hm = getattr(shell, "history_manager", None)
        while pending and hm is not None:
            _scrub_outputs(hm, pending.pop())

    shell.events.register("pre_run_cell", pre_run_cell)
    return post_run_cell


def _scrub_list(items: list[Any]) -> list[int]:
    changed = []
    for i, item in enumerate(items):
        safe = _r(item)
        if safe is not item:
            items[i] = safe
            changed.append(i)
    return changed


def scrub_history(shell: Any) -> None:
    """Redact everything ``shell`` kept before the latest value was registered.

    Input history (``In``, ``_ih``, ``_i*``, the input cache and this session's rows in the
    history database), output reprs and caches, ``Out``/``_``/``_N``, and IPython 9's per-cell
    outputs and exceptions.
    """
    hm = getattr(shell, "history_manager", None)
    ns = getattr(shell, "user_ns", None)
    if hm is not None:
        lines = set(_scrub_list(hm.input_hist_parsed)) | set(_scrub_list(hm.input_hist_raw))
        for name in ("_i", "_ii", "_iii", "_i00"):
            value = getattr(hm, name, None)
            if isinstance(value, str):
                setattr(hm, name, redact_text(value))
        lock = getattr(hm, "db_input_cache_lock", None)
        if lock is not None:
            with lock:
                hm.db_input_cache[:] = [_r(row) for row in hm.db_input_cache]
            with hm.db_output_cache_lock:
                hm.db_output_cache[:] = [_r(row) for row in hm.db_output_cache]
        reprs = getattr(hm, "output_hist_reprs", {})
        for k in list(reprs):
            reprs[k] = _r(reprs[k])
        out = getattr(hm, "output_hist", {})
        for k in list(out):
            if _r(out[k]) is not out[k] and isinstance(out[k], (str, bytes)):
                out[k] = _r(out[k])
        _scrub_outputs(hm)
        if lines:
            scrub_input_rows(hm, sorted(lines))
        scrub_output_rows(hm)
    scrub_logfile(shell)
    if isinstance(ns, dict):
        for name, value in list(ns.items()):
            if (name in _UNDERSCORES or _NUMBERED.fullmatch(name)) \
                    and isinstance(value, (str, bytes)):
                safe = _r(value)
                if safe is not value:
                    ns[name] = safe


def install(shell: Any) -> None:
    """Install every redaction hook on ``shell`` (idempotent)."""
    if shell is None:
        return
    redact.refresh_setting()
    for session in _sessions(shell):
        _wrap_session(session)
    _wrap_display_pub(shell)
    _wrap_displayhook(shell)
    _wrap_showtraceback(shell)
    _wrap_history(shell)
    _wrap_logger(shell)
    if getattr(shell, "kernel", None) is not None:  # a kernel: its stdout/stderr are a log
        fdtee.install()
    if not getattr(shell, "_nbsecrets_post_run", False):
        shell._nbsecrets_post_run = True
        shell.events.register("post_run_cell", _post_run_cell(shell))


def _current_shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    return get_ipython()


def on_register(new_value: bool) -> None:
    """Called by :func:`nbsecrets.redact.register`: hook the running shell, scrub the past."""
    shell = _current_shell()
    if shell is None:
        return
    install(shell)
    # Only once a key exists: loading the %notebook magic's module is not free, and
    # %load_ext nbsecrets stays instant.
    _wrap_notebook_magic(shell)
    if new_value and redact.active():
        scrub_history(shell)
