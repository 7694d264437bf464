"""Redaction of what the kernel process writes to its own stdout and stderr (the server log).

Output written at file-descriptor level (``os.system``, ``subprocess.run(['env'])``,
``os.write(1, ...)``, ``sys.__stdout__``, a multiprocessing child) and the kernel's own log
records bypass the kernel's messages: they reach the kernel's original stdout and stderr,
which is the Jupyter server's log (CloudWatch on SageMaker). ipykernel 6+ watches fds 1 and 2
itself (``capture_fd_output``): it relays what it reads as stream messages (redacted by the
``Session.send`` hook) and copies the raw bytes to a duplicate of the original descriptor.

:func:`install` puts a pipe in the place of the descriptor that reaches the outside (that
duplicate, or fds 1 and 2 themselves when ipykernel does not watch them). A thread reads the
pipe, replaces registered values and writes to the original descriptor:

- nothing is lost or reordered: one reader per descriptor, writing in the order it read;
- nothing waits long: complete lines go out as soon as they are read, a partial line after
  ``IDLE`` seconds without more output (a progress bar), and at most ``LIMIT`` bytes wait;
- a key split across reads is caught: each piece is checked together with the raw tail of
  what went out before it (:func:`nbsecrets.redaction.redact_after`), as stream messages are;
- at exit the original descriptors are put back and what is in the pipe is written out.

While redaction is off (``NBSECRETS_REDACT=0``) or no key is loaded, bytes are copied as read.
"""

from __future__ import annotations

import atexit
import os
import select
import sys
import threading
from typing import Any

from nbsecrets import redaction

__all__ = ["IDLE", "LIMIT", "Tee", "install", "targets"]

IDLE = 0.05  # seconds without output before a partial line goes out
LIMIT = 1 << 16  # bytes of a partial line held at most
_TAIL = 512  # bytes of what went out kept to check the next piece against
_tees: dict[int, Tee] = {}
_lock = threading.Lock()


class Tee:
    """A pipe in the place of ``fd``; a thread redacts what is written to it into the original.

    Parameters
    ----------
    fd : int
        The descriptor to take over; it stays open, now writing into the pipe.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.original = os.dup(fd)
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        self._read_end = read_end
        self._before = b""
        self._pending = b""
        self._closing = False
        self.thread = threading.Thread(target=self._pump, name=f"nbsecrets-fd{fd}", daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        try:
            while True:
                wait = IDLE if (self._pending or self._closing) else None
                ready, _, _ = select.select([self._read_end], [], [], wait)
                if not ready:
                    self._emit(len(self._pending))
                    if self._closing:
                        return
                    continue
                data = os.read(self._read_end, LIMIT)
                if not data:
                    self._emit(len(self._pending))
                    return
                self._pending += data
                if not redaction.active():
                    self._emit(len(self._pending))
                    continue
                end = self._pending.rfind(b"\n") + 1
                if len(self._pending) >= LIMIT:
                    end = len(self._pending)
                if end:
                    self._emit(end)
        except (OSError, ValueError):  # the descriptors went away: nothing left to relay
            return
        finally:
            try:
                os.close(self._read_end)
            except OSError:
                pass

    def _emit(self, n: int) -> None:
        if not n:
            return
        chunk, self._pending = self._pending[:n], self._pending[n:]
        out = redaction.redact_after(self._before, chunk) if redaction.active() else chunk
        self._before = (self._before + chunk[-_TAIL:])[-_TAIL:]
        view = memoryview(out)
        while view:
            try:
                written = os.write(self.original, view)
            except InterruptedError:
                continue
            except OSError:
                return  # the reader of the original went away; keep draining the pipe
            view = view[written:]

    def close(self, timeout: float = 2.0) -> None:
        """Put the original descriptor back and write out what is still in the pipe."""
        self._closing = True
        try:
            os.dup2(self.original, self.fd)
        except OSError:
            return
        self.thread.join(timeout)
        if not self.thread.is_alive():
            os.close(self.original)


def targets() -> list[int]:
    """The descriptors that reach the kernel's original stdout and stderr."""
    found = []
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name, None)
        copy = getattr(stream, "_original_stdstream_copy", None)
        watched = getattr(stream, "_should_watch", False)
        found.append(copy if isinstance(copy, int) and watched else fd)
    return found


def install() -> None:
    """Take over the descriptors of :func:`targets` (once per descriptor; POSIX only)."""
    if os.name != "posix":
        return
    with _lock:
        for fd in targets():
            if fd in _tees:
                continue
            try:
                os.fstat(fd)
            except OSError:
                continue
            if not _tees:
                atexit.register(close_all)
            _tees[fd] = Tee(fd)


def close_all(*_args: Any) -> None:
    """Put every original descriptor back (at exit)."""
    with _lock:
        for tee in list(_tees.values()):
            tee.close()
        _tees.clear()
