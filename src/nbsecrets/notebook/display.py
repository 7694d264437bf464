"""Display: what IPython shows and keeps of results, displays and errors, redacted.

- ``display_pub.publish`` (:func:`wrap_publish`) and the display hook's
  ``compute_format_data`` (:func:`wrap_displayhook`), so what IPython keeps of displayed data
  (the ``%notebook`` export, ``output_hist_reprs`` written to the history database when
  ``HistoryManager.db_log_output`` is on) is redacted, not only what is sent;
- the display hook's ``update_user_ns``: a result that shows a key is kept in ``Out``, ``_``,
  ``__``, ``___`` and ``_N`` as its redacted text, not as the object;
- ``_showtraceback`` (:func:`wrap_showtraceback`): an error's ``evalue`` and traceback, also
  for a shell without a kernel.

Each function wraps the running shell's own object (never the class); call each once per
object (:mod:`nbsecrets.notebook.install` does).
"""

from __future__ import annotations

from typing import Any

from nbsecrets.redaction import active, redact, redact_text

__all__ = ["wrap_displayhook", "wrap_publish", "wrap_showtraceback"]


def wrap_publish(pub: Any) -> None:
    """Redact the data and metadata that the display publisher ``pub`` publishes."""
    original = pub.publish

    def publish(data: Any, metadata: Any = None, *args: Any, **kwargs: Any) -> Any:
        if active():
            data, metadata = redact(data), redact(metadata)
        return original(data, metadata, *args, **kwargs)

    pub.publish = publish


def _stand_in(result: Any, shown: dict[str, Any]) -> Any:
    """What ``Out``/``_`` keep of a result whose display showed a key."""
    if isinstance(result, (str, bytes, bytearray)):
        return redact(result)
    text = shown.get("text/plain")
    return text if isinstance(text, str) else redact_text(repr(result))


def wrap_displayhook(hook: Any) -> None:
    """Redact what the display hook formats, and keep a stand-in of a result that shows a key."""
    compute = hook.compute_format_data
    update = hook.update_user_ns
    last: dict[str, Any] = {"changed": False, "shown": {}}

    def compute_format_data(result: Any) -> Any:
        format_dict, md_dict = compute(result)
        last["changed"] = False
        if active():
            new_format, new_md = redact(format_dict), redact(md_dict)
            last["changed"] = new_format is not format_dict
            last["shown"] = new_format
            format_dict, md_dict = new_format, new_md
        return format_dict, md_dict

    def update_user_ns(result: Any) -> Any:
        if active() and (
            last["changed"] or (isinstance(result, (str, bytes)) and redact(result) is not result)
        ):
            result = _stand_in(result, last["shown"])
        last["changed"] = False
        return update(result)

    hook.compute_format_data = compute_format_data
    hook.update_user_ns = update_user_ns


def wrap_showtraceback(shell: Any) -> None:
    """Redact the error value and traceback that ``shell`` shows."""
    original = shell._showtraceback

    def _showtraceback(etype: Any, evalue: Any, stb: Any) -> Any:
        if active():
            text = str(evalue)
            safe = redact_text(text)
            if safe is not text:
                evalue = safe  # ipykernel and IPython only use str(evalue)
            stb = redact(stb)
        return original(etype, evalue, stb)

    shell._showtraceback = _showtraceback
