"""Redaction of what the kernel sends in pieces or keeps outside IPython's own caches.

- :class:`StreamSeams`: a key printed in pieces shorter than 12 characters, one stream message
  each (``print(piece, end='', flush=True)`` in a loop), shows whole once a front end joins
  consecutive stream outputs. Each stream message is checked together with the raw tail of the
  previous one on the same stream, and what belongs to the current message is replaced.
- :func:`redact_buffers`: the binary buffers of a message (comm and widget messages, such as
  ``ipywidgets.Image(value=...)``), which also become the widget state saved with a notebook.
- :func:`scrub_output_rows` and :func:`scrub_logfile`: the history database's output rows
  (``HistoryManager.db_log_output``) and the ``%logstart`` file, as written before a value
  was loaded.
"""

from __future__ import annotations

import threading
from typing import Any

from nbsecrets.redact import redact, redact_after, redact_bytes

__all__ = [
    "DEFER_FROM", "PIECE", "TAIL", "StreamSeams", "kept_size", "redact_buffers",
    "scrub_input_rows", "scrub_logfile", "scrub_output_rows", "send_in_pieces",
]

TAIL = 512  # characters of each stream kept to check the next message against


class StreamSeams:
    """The raw tail of the last message on each stream (``stdout``, ``stderr``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tails: dict[str, str] = {}

    def content(self, content: Any) -> Any:
        """A stream message's ``content`` with its text redacted across the seam."""
        if not isinstance(content, dict) or not isinstance(content.get("text"), str):
            return redact(content)
        name = str(content.get("name", ""))
        text = content["text"]
        with self._lock:
            before = self._tails.get(name, "")
            self._tails[name] = (before + text[-TAIL:])[-TAIL:]
        safe = redact_after(before, text)
        rest = {k: v for k, v in content.items() if k != "text"}
        safe_rest = redact(rest)
        if safe is text and safe_rest is rest:
            return content
        return {**safe_rest, "text": safe}


def redact_buffers(buffers: Any) -> Any:
    """``buffers`` (bytes or memoryviews) with registered values replaced; same list if none."""
    if not isinstance(buffers, (list, tuple)) or not buffers:
        return buffers
    out = []
    changed = False
    for buf in buffers:
        try:
            raw = bytes(buf)
        except TypeError:
            out.append(buf)
            continue
        safe = redact_bytes(raw)
        changed = changed or safe is not raw
        out.append(safe if safe is not raw else buf)
    return out if changed else buffers


def scrub_input_rows(hm: Any, lines: list[int]) -> None:
    """Write the (redacted) inputs ``lines`` of this session over their database rows."""
    db = getattr(hm, "db", None)
    if db is None or not hasattr(db, "execute"):
        return
    try:
        with db:
            for line in lines:
                if 0 < line < len(hm.input_hist_parsed):
                    db.execute("UPDATE history SET source=?, source_raw=? WHERE session=? AND "
                               "line=?", (hm.input_hist_parsed[line], hm.input_hist_raw[line],
                                          hm.session_number, line))
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
            rows = db.execute("SELECT line, output FROM output_history WHERE session=?",
                              (session,)).fetchall()
            for line, output in rows:
                if isinstance(output, str):
                    safe = redact(output)
                    if safe is not output:
                        db.execute("UPDATE output_history SET output=? WHERE session=? AND "
                                   "line=?", (safe, session, line))
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


PIECE = 1 << 18  # large stream messages go out in pieces of about this many characters


def send_in_pieces(session: Any, original: Any, args: tuple[Any, ...],
                   kwargs: dict[str, Any], seams: StreamSeams) -> bool:
    """Send a large stream message as consecutive messages of about ``PIECE`` characters.

    Each piece is redacted (across the seams) and sent before the next is looked at, so the
    front end receives and renders output while the kernel redacts the rest: the redaction
    of a 10 MB print overlaps its delivery instead of coming before it. Front ends join
    consecutive stream outputs, so what shows is the same. Returns False (nothing sent) for
    any other message.
    """
    if len(args) != 2 or not isinstance(args[1], dict) or args[1].get("msg_type") != "stream":
        return False
    msg = args[1]
    content = msg.get("content")
    text = content.get("text") if isinstance(content, dict) else None
    if not isinstance(text, str) or len(text) <= 2 * PIECE or set(content) != {"name", "text"}:
        return False
    stream = args[0]
    # In ipykernel's IOPub thread, a send is queued until the current callback returns: send
    # each piece at once instead (what the queue would do next; order is kept), so the
    # front end works on one piece while the next is redacted.
    really = getattr(stream, "_really_send", None)
    if callable(really) and getattr(stream, "thread", None) is threading.current_thread():
        stream = _Direct(really)
    start = 0
    while start < len(text):
        end = min(len(text), start + PIECE)
        if end < len(text):
            newline = text.rfind("\n", start, end)
            end = newline + 1 if newline > start else end
        piece = {"name": content["name"], "text": text[start:end]}
        new = session.msg("stream", seams.content(piece), parent=msg.get("parent_header"),
                          metadata=redact(msg.get("metadata")))
        original(stream, new, **kwargs)
        start = end
    return True


class _Direct:
    """A stand-in for ipykernel's IOPub thread object that sends at once (in that thread)."""

    def __init__(self, send: Any) -> None:
        self.send_multipart = send


DEFER_FROM = 1 << 18  # kept stream text this long is scrubbed when the next cell starts


def kept_size(hm: Any, counts: tuple[int, int]) -> int:
    """Characters of stream output IPython keeps for the cells ``counts``."""
    outputs = getattr(hm, "outputs", None)
    if not isinstance(outputs, dict):
        return 0
    return sum(len(x) for count in counts for item in outputs.get(count, ())
               for x in (getattr(item, "bundle", None) or {}).get("stream", ())
               if isinstance(x, str))
