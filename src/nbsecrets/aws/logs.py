"""Log records made while nbsecrets talks to AWS carry no secret material.

With ``logging.basicConfig(level=logging.DEBUG)``, botocore logs every response body
("Response body: b'{...\"SecretString\": ...}'") and the parameters of every request
("Making request ... with params: {... 'body': ...}"). For a read, that is the key and every
other field of a bundle secret, logged before the value is registered for redaction, and
fields that are never asked for are never registered at all. Redacting by value cannot catch
those, so records are judged by what they hold.

:func:`quiet` marks the calls nbsecrets makes (a context variable: this thread or task only).
While it is in force, every log record created, whichever logger makes it and wherever its
handlers are, is checked as it is made (a wrapper around the logging module's record factory,
installed on first use and chained to the factory that was there):

- a record whose message holds a field that carries secret material in an AWS request or
  response (``SecretString``, ``SecretBinary``, ``SecretAccessKey``, ``SessionToken``) keeps
  its logger, level and the constant start of its message, and loses the rest;
- any other record has the values registered so far replaced, as output has.

Records made outside nbsecrets' calls are left alone: the cost for them is one context
variable lookup, and only when their level is enabled. ``NBSECRETS_REDACT=0`` (or
``redact = false``) turns this off too.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from nbsecrets.redaction import redact_text

__all__ = ["WITHHELD", "quiet"]

# fields of AWS requests and responses that hold secret material
WITHHELD = ("SecretString", "SecretBinary", "SecretAccessKey", "SessionToken")
_NOTE = "[nbsecrets withheld the rest: it holds secret material]"
_inside: ContextVar[bool] = ContextVar("nbsecrets_aws_call", default=False)
_installed: list[Any] = []
_lock = threading.Lock()


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a record that cannot be formatted: keep only its logger and level
        message = "%"
    if message == "%" or any(field in message for field in WITHHELD):
        head = record.msg if isinstance(record.msg, str) and record.args else ""
        head = head.split("%", 1)[0].split("\n", 1)[0].strip()
        record.msg = f"{head} {_NOTE}" if head else _NOTE
        record.args = None
        record.exc_info = record.exc_text = record.stack_info = None
        return
    safe = redact_text(message)
    if safe is not message:
        record.msg, record.args = safe, None


def _install() -> None:
    with _lock:
        if _installed and logging.getLogRecordFactory() is _installed[0]:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if _inside.get():
                _scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed[:] = [factory]


@contextlib.contextmanager
def quiet(enabled: bool = True) -> Iterator[None]:
    """Inside the block, log records hold no secret material (see the module docstring).

    Parameters
    ----------
    enabled : bool
        False (``NBSECRETS_REDACT=0``) makes this a no-op.
    """
    if not enabled:
        yield
        return
    _install()
    token = _inside.set(True)
    try:
        yield
    finally:
        _inside.reset(token)
