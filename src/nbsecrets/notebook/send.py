"""The send path: every message the kernel sends to the front end, redacted on its way out.

``Session.send`` of the kernel's session(s) is the one choke point for every message to the
front end (streams, display data, execute results, errors, execute_input, execute and
inspect replies, comm messages that carry widget state, debugger replies). :func:`wrap_session`
redacts the message ``content``, ``metadata`` and binary ``buffers``; headers are left alone.

- :class:`StreamSeams`: a key printed in pieces shorter than 12 characters, one stream message
  each (``print(piece, end='', flush=True)`` in a loop), shows whole once a front end joins
  consecutive stream outputs. Each stream message is checked together with the raw tail of the
  previous one on the same stream, and what belongs to the current message is replaced.
- :func:`redact_buffers`: the binary buffers of a message (comm and widget messages, such as
  ``ipywidgets.Image(value=...)``), which also become the widget state saved with a notebook.
- :func:`send_in_pieces`: a large stream message goes out in pieces, each redacted as the one
  before is delivered.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from nbsecrets.redaction import active, redact, redact_after, redact_bytes

__all__ = [
    "PIECE",
    "TAIL",
    "StreamSeams",
    "redact_buffers",
    "redact_message",
    "send_in_pieces",
    "sessions",
    "wrap_session",
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


PIECE = 1 << 18  # large stream messages go out in pieces of about this many characters


def send_in_pieces(
    session: Any, original: Any, args: tuple[Any, ...], kwargs: dict[str, Any], seams: StreamSeams
) -> bool:
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
    if not isinstance(content, dict):
        return False
    text = content.get("text")
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
        new = session.msg(
            "stream",
            seams.content(piece),
            parent=msg.get("parent_header"),
            metadata=redact(msg.get("metadata")),
        )
        original(stream, new, **kwargs)
        start = end
    return True


class _Direct:
    """A stand-in for ipykernel's IOPub thread object that sends at once (in that thread)."""

    def __init__(self, send: Any) -> None:
        self.send_multipart = send


_SEAMS = StreamSeams()


def redact_message(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments of a ``Session.send`` call with the message's parts redacted."""
    # Session.send(stream, msg_or_type, content=None, parent=None, ident=None, buffers=None,
    #              track=False, header=None, metadata=None)
    args_l = list(args)
    msg_type = args_l[1] if len(args_l) > 1 else kwargs.get("msg_or_type")
    if isinstance(msg_type, dict):
        msg = msg_type
        new = dict(msg)
        for part in ("content", "metadata"):
            if part in new:
                new[part] = (
                    _SEAMS.content(new[part])
                    if part == "content" and msg.get("msg_type") == "stream"
                    else redact(new[part])
                )
        if "buffers" in new:
            new["buffers"] = redact_buffers(new["buffers"])
        if len(args_l) > 1:
            args_l[1] = new
        else:
            kwargs["msg_or_type"] = new
    stream = msg_type == "stream"
    for pos, name in ((2, "content"), (8, "metadata"), (5, "buffers")):
        fix = (
            redact_buffers
            if name == "buffers"
            else (_SEAMS.content if stream and name == "content" else redact)
        )
        if len(args_l) > pos:
            args_l[pos] = fix(args_l[pos])
        elif name in kwargs:
            kwargs[name] = fix(kwargs[name])
    return tuple(args_l), kwargs


def wrap_session(session: Any) -> None:
    """Redact every message ``session`` sends while redaction is active (wrap it once)."""
    original = session.send

    def send(*args: Any, **kwargs: Any) -> Any:
        if active():
            if send_in_pieces(session, original, args, kwargs, _SEAMS):
                return None
            args, kwargs = redact_message(args, kwargs)
        return original(*args, **kwargs)

    session.send = send


def sessions(shell: Any) -> list[Any]:
    """The distinct sessions that send for ``shell`` (kernel, display publisher, streams)."""
    found: list[Any] = []
    kernel = getattr(shell, "kernel", None)
    for owner in (
        kernel,
        getattr(shell, "display_pub", None),
        getattr(shell, "displayhook", None),
        sys.stdout,
        sys.stderr,
    ):
        session = getattr(owner, "session", None)
        if (
            session is not None
            and hasattr(session, "send")
            and all(session is not s for s in found)
        ):
            found.append(session)
    return found
