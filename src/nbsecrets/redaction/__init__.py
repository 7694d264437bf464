"""Redaction: the values loaded in this process, and their removal from any text or object.

Core code (it imports nothing of nbsecrets but itself): the API registers every value it
loads, the AWS layer keeps them out of log records, the job guard looks for them in requests,
and the kernel hooks (``nbsecrets.notebook``) redact what a kernel sends and keeps.

- :mod:`~nbsecrets.redaction.registry`: the registered values, the listeners told of each new
  one, the ``NBSECRETS_REDACT`` setting, and ``redact``/``redact_text``/... over them;
- :mod:`~nbsecrets.redaction.matcher`: :class:`Redactor`, what is matched and how it is
  replaced in text, bytes, pieces of a stream and containers;
- :mod:`~nbsecrets.redaction.index`: the forms of a value (base64, URL, JSON, ...) and
  :class:`Index`, the one structure built from them that the search and the matcher read;
- :mod:`~nbsecrets.redaction.search`: the byte search for an index's forms in large outputs.
- :mod:`~nbsecrets.redaction.markup`: text as a reader sees it rendered (ANSI and HTML markup
  taken out), mapped back to the raw string.
"""

from __future__ import annotations

from nbsecrets.redaction import registry
from nbsecrets.redaction.index import (
    MARKER,
    MAX_RUN_VALUE,
    MIN_EXACT,
    RUN,
    Index,
    forms,
    marker,
)
from nbsecrets.redaction.matcher import Redactor
from nbsecrets.redaction.registry import *  # noqa: F403 - its functions are the package's

__all__ = [
    "MARKER",
    "MAX_RUN_VALUE",
    "MIN_EXACT",
    "RUN",
    "Index",
    "Redactor",
    "forms",
    "marker",
    *registry.__all__,
]
