"""History: what the shell keeps of cells and outputs, scrubbed of loaded values.

- ``history_manager.store_inputs`` (:func:`wrap_store_inputs`): ``In``, ``_ih``, ``_i``,
  ``_iN`` and the history database never receive a cell source holding a key (a pasted
  ``%env OPENAI_API_KEY=sk-...``);
- ``logger.log_write`` (:func:`wrap_log_write`): ``%logstart`` files;
- after each cell (:func:`cell_handlers`), the streams, displays and exceptions IPython 9
  keeps per cell in ``history_manager.outputs`` and ``history_manager.exceptions``; and all
  of them right before ``%notebook`` writes them out (:func:`scrubbing_notebook`).

When a new value is registered, everything the shell kept before is scrubbed once
(:func:`scrub_history`), including this session's input and output rows already written to
the history database (``HistoryManager.db_log_output``) and the ``%logstart`` file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from nbsecrets.redaction import active, redact, redact_text

__all__ = [
    "DEFER_FROM",
    "cell_handlers",
    "kept_size",
    "scrub_history",
    "scrub_input_rows",
    "scrub_logfile",
    "scrub_output_rows",
    "scrub_outputs",
    "scrubbing_notebook",
    "wrap_log_write",
    "wrap_reads",
    "wrap_store_inputs",
]

_UNDERSCORES = ("_", "__", "___", "_i", "_ii", "_iii")
_NUMBERED = re.compile(r"_i?[0-9]+")


def wrap_store_inputs(hm: Any) -> None:
    """Redact each cell source before the history manager ``hm`` keeps or writes it."""
    original = hm.store_inputs

    def store_inputs(line_num: int, source: str, source_raw: str | None = None) -> Any:
        if active():
            source = redact_text(source)
            source_raw = redact_text(source_raw) if source_raw is not None else None
        return original(line_num, source, source_raw)

    hm.store_inputs = store_inputs


_READS = ("get_range", "get_range_by_str", "get_tail", "search")


def wrap_reads(hm: Any) -> None:
    """Redact each row the history manager ``hm`` gives back (its documented read methods).

    What IPython writes from history goes through these: ``%history`` (and its ``-f FILE``),
    ``%save`` and ``%load`` of input ranges, ``%recall``, ``%rerun``, ``%macro`` and the
    kernel's ``history_request`` replies. Rows in the database from before a value was loaded
    (earlier sessions) are redacted as they are read, so those files are too.
    """
    for name in _READS:
        original = getattr(hm, name, None)
        if callable(original):
            setattr(hm, name, _redacting_rows(original))


def _redacting_rows(original: Callable[..., Any]) -> Callable[..., Any]:
    def read(*args: Any, **kwargs: Any) -> Any:
        rows = original(*args, **kwargs)
        if not active():
            return rows
        if isinstance(rows, list):  # get_tail gives a list; the others generators
            return [redact(row) for row in rows]
        return (redact(row) for row in rows)

    read.__doc__ = original.__doc__
    return read


def wrap_log_write(logger: Any) -> None:
    """Redact what the ``%logstart`` logger writes to its file."""
    original = logger.log_write

    def log_write(data: Any, *args: Any, **kwargs: Any) -> Any:
        if active():
            data = redact(data)
        return original(data, *args, **kwargs)

    logger.log_write = log_write


def scrub_outputs(hm: Any, counts: Any = None) -> None:
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
                    item.bundle = redact(bundle)
    exceptions = getattr(hm, "exceptions", None)
    if isinstance(exceptions, dict):
        for count in list(exceptions) if counts is None else counts:
            if count in exceptions:
                exceptions[count] = redact(exceptions[count])


def scrubbing_notebook(shell: Any, original: Callable[..., Any]) -> Callable[..., Any]:
    """The ``%notebook`` magic ``original``, scrubbing every kept output before it writes.

    The after-cell scrub covers the cell just run; output that reaches a cell's record after
    that (``os.system`` output relayed late by ipykernel's capture thread, or from a thread
    the user started) would otherwise be exported as it came.
    """

    def notebook(*args: Any, **kwargs: Any) -> Any:
        hm = getattr(shell, "history_manager", None)
        if hm is not None and active():
            scrub_outputs(hm)
        return original(*args, **kwargs)

    notebook.__doc__ = original.__doc__
    return notebook


def cell_handlers(shell: Any) -> tuple[Callable[..., None], Callable[..., None]]:
    """The ``pre_run_cell`` and ``post_run_cell`` handlers that scrub each cell's outputs."""
    pending: list[tuple[int, int]] = []

    def post_run_cell(*_args: Any) -> None:
        if not active():
            return
        hm = getattr(shell, "history_manager", None)
        if hm is not None:
            count = shell.execution_count
            counts = (count - 1, count)
            if kept_size(hm, counts) < DEFER_FROM:
                scrub_outputs(hm, counts)
            else:
                # A large print is still on its way to the front end (ipykernel sends it
                # after this hook): scrub IPython's copy once it has gone, not before it.
                # Nothing reads that copy in between; %notebook scrubs all before it writes.
                pending.append(counts)

    def pre_run_cell(*_args: Any) -> None:
        hm = getattr(shell, "history_manager", None)
        while pending and hm is not None:
            scrub_outputs(hm, pending.pop())

    return pre_run_cell, post_run_cell


DEFER_FROM = 1 << 18  # kept stream text this long is scrubbed when the next cell starts


def kept_size(hm: Any, counts: tuple[int, int]) -> int:
    """Characters of stream output IPython keeps for the cells ``counts``."""
    outputs = getattr(hm, "outputs", None)
    if not isinstance(outputs, dict):
        return 0
    return sum(
        len(x)
        for count in counts
        for item in outputs.get(count, ())
        for x in (getattr(item, "bundle", None) or {}).get("stream", ())
        if isinstance(x, str)
    )


def _scrub_list(items: list[Any]) -> list[int]:
    changed = []
    for i, item in enumerate(items):
        safe = redact(item)
        if safe is not item:
            items[i] = safe
            changed.append(i)
    return changed


def scrub_history(shell: Any) -> None:
    """Redact everything ``shell`` kept before the latest value was registered.

    Input history (``In``, ``_ih``, ``_i*``, the input cache and this session's rows in the
    history database), output reprs and caches, ``Out``/``_``/``_N``, IPython 9's per-cell
    outputs and exceptions, and the ``%logstart`` file.
    """
    hm = getattr(shell, "history_manager", None)
    ns = getattr(shell, "user_ns", None)
    if hm is not None:
        _scrub_list(hm.input_hist_parsed)
        _scrub_list(hm.input_hist_raw)
        for name in ("_i", "_ii", "_iii", "_i00"):
            value = getattr(hm, name, None)
            if isinstance(value, str):
                setattr(hm, name, redact_text(value))
        lock = getattr(hm, "db_input_cache_lock", None)
        if lock is not None:
            with lock:
                hm.db_input_cache[:] = [redact(row) for row in hm.db_input_cache]
            with hm.db_output_cache_lock:
                hm.db_output_cache[:] = [redact(row) for row in hm.db_output_cache]
        reprs = getattr(hm, "output_hist_reprs", {})
        for k in list(reprs):
            reprs[k] = redact(reprs[k])
        out = getattr(hm, "output_hist", {})
        for k in list(out):
            if redact(out[k]) is not out[k] and isinstance(out[k], (str, bytes)):
                out[k] = redact(out[k])
        scrub_outputs(hm)
        scrub_input_rows(hm)
        scrub_output_rows(hm)
    scrub_logfile(shell)
    if isinstance(ns, dict):
        for name, value in list(ns.items()):
            if (name in _UNDERSCORES or _NUMBERED.fullmatch(name)) and isinstance(
                value, (str, bytes)
            ):
                safe = redact(value)
                if safe is not value:
                    ns[name] = safe


def scrub_input_rows(hm: Any) -> None:
    """Redact this session's input rows in the history database, row by row.

    The rows are read from the database rather than taken from ``input_hist_parsed`` by index:
    that list's positions need not be the rows' line numbers (a cell IPython does not store
    still advances the count), and a row written under another index would keep the value.
    """
    db = getattr(hm, "db", None)
    if db is None or not hasattr(db, "execute"):
        return
    try:
        with db:
            rows = db.execute(
                "SELECT line, source, source_raw FROM history WHERE session=?",
                (hm.session_number,),
            ).fetchall()
            for line, source, source_raw in rows:
                safe = redact_text(source) if source else source
                safe_raw = redact_text(source_raw) if source_raw else source_raw
                if safe != source or safe_raw != source_raw:
                    db.execute(
                        "UPDATE history SET source=?, source_raw=? WHERE session=? AND line=?",
                        (safe, safe_raw, hm.session_number, line),
                    )
    except Exception:  # noqa: S110 - a busy or read-only history file must not break loading
        pass


def scrub_output_rows(hm: Any) -> None:
    """Redact this session's rows of ``output_history`` already in the history database."""
    db = getattr(hm, "db", None)
    session = getattr(hm, "session_number", None)
    if db is None or not hasattr(db, "execute") or session is None:
        return
    try:
        with db:
            rows = db.execute(
                "SELECT line, output FROM output_history WHERE session=?", (session,)
            ).fetchall()
            for line, output in rows:
                if isinstance(output, str):
                    safe = redact(output)
                    if safe is not output:
                        db.execute(
                            "UPDATE output_history SET output=? WHERE session=? AND line=?",
                            (safe, session, line),
                        )
    except Exception:  # noqa: S110 - a busy or read-only history file must not break loading
        pass


def scrub_logfile(shell: Any) -> None:
    """Rewrite the ``%logstart`` file with registered values replaced, if it holds any."""
    logger = getattr(shell, "logger", None)
    handle = getattr(logger, "logfile", None)
    name = getattr(logger, "logfname", None)
    if handle is None or not name or getattr(handle, "closed", True):
        return
    try:
        handle.flush()
        with open(name, encoding="utf-8") as f:
            text = f.read()
        safe = redact(text)
        if safe is text:
            return
        # through the logger's own handle, so its position ('w' mode) stays at the end
        handle.seek(0)
        handle.truncate()
        handle.write(safe)
        handle.flush()
    except (OSError, ValueError, UnicodeError):
        pass
