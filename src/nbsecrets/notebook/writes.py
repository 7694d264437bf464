"""Writes the user asks for: ``%store``, ``%save``, ``%load`` and ``%pastebin`` of a loaded value.

These magics put what they are given somewhere that outlives the kernel: ``%store name``
pickles ``name`` into the IPython profile (``<profile>/db/autorestore/name``, restored into
later kernels; on SageMaker the home volume keeps it), ``%store name >file`` and
``%save -f file.py name`` write it into the notebook's folder (from where files get
committed), ``%load name`` into the next cell's source (saved with the notebook), and
``%pastebin name`` to a public paste service. When what would be written holds a loaded value,
the magic refuses, in one sentence that says what would have gone where and what to do instead
(``%aikey`` in the next kernel), and nothing is written. Running the same command again as the
very next cell ("asking twice") does it anyway.

Each magic is replaced through the documented ``register_function`` of the shell's magics
manager, by a wrapper that calls the magic IPython registered. The values are looked up where
the magic looks them up: ``%store`` reads ``user_ns`` (checked before the magic runs) and
``shell.ev`` (for ``>file``); ``%save``, ``%load`` and ``%pastebin`` call
``shell.find_user_code``, which is shadowed on the shell for the length of the call, so the
check sees exactly what the magic would write, and no URL or file is read twice.

What IPython writes from history (``%history -f``, ``%save`` of input ranges, ``%logstart``)
is not refused: history is redacted (:mod:`nbsecrets.notebook.history`), so those files are.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from typing import Any

from nbsecrets.redaction import MARKER, active, redact, redact_bytes, redact_text

__all__ = ["Confirmations", "guard", "held_labels", "install"]

_FLAG = "_nbsecrets_writes"


def held_labels(obj: Any) -> list[str]:
    """The providers of the loaded values that ``obj`` holds (as its pickle or text would).

    Parameters
    ----------
    obj : object
        A value about to be written: a string, bytes, or any object (checked through its
        pickle, what ``%store`` writes, or its ``repr`` when it cannot be pickled).

    Returns
    -------
    list of str
        Sorted provider labels; empty when ``obj`` holds no loaded value.
    """
    if isinstance(obj, str):
        found = redact_text(obj)
        shown = found if found is not obj else ""
    elif isinstance(obj, (bytes, bytearray)):
        safe = redact_bytes(bytes(obj))
        shown = safe.decode("ascii", "replace") if safe is not obj else ""
    else:
        try:
            data = pickle.dumps(obj)
        except Exception:  # any object: fall back to what it shows
            text = repr(obj)
            safe_text = redact_text(text)
            shown = safe_text if safe_text is not text else ""
        else:
            safe = redact_bytes(data)
            shown = safe.decode("ascii", "replace") if safe is not data else ""
            if not shown:  # a pickle holds str as UTF-8; walk containers for other forms
                walked = redact(obj)
                shown = redact_text(repr(walked)) if walked is not obj else ""
    return sorted(set(MARKER.findall(shown)))


class Confirmations:
    """The write refused last, so that the same command in the next cell goes through."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.refused: tuple[str, str, int] | None = None

    def confirmed(self, magic: str, line: str) -> bool:
        """Whether ``%magic line`` repeats the command refused in the cell just before."""
        count = int(getattr(self.shell, "execution_count", 0) or 0)
        refused, self.refused = self.refused, None
        return (
            refused is not None
            and refused[:2] == (magic, line.strip())
            and count in (refused[2], refused[2] + 1)
        )

    def refuse(self, magic: str, line: str, what: str, where: str, labels: list[str]) -> None:
        """Remember the refused command and raise the one sentence that says why."""
        from IPython.core.error import UsageError

        count = int(getattr(self.shell, "execution_count", 0) or 0)
        self.refused = (magic, line.strip(), count)
        names = " ".join(labels)
        kind = "key" if len(labels) == 1 else "keys"
        raise UsageError(
            f"%{magic} would write the loaded {names} {kind} in {what} {where}: in a later "
            f"kernel, load it with `%aikey {names}` instead, or run `%{magic} {line.strip()}` "
            "again as the next cell to write it anyway."
        )


def _options(shell: Any, line: str, spec: str, mode: str) -> tuple[Any, Any]:
    """``line`` parsed as the magic parses it (``Magics.parse_options``, documented API)."""
    from IPython.core.magic import Magics, magics_class

    global _Parser
    if _Parser is None:

        @magics_class
        class Parser(Magics):
            """Only its ``parse_options``: the one every magic uses."""

        _Parser = Parser
    return _Parser(shell=shell).parse_options(line, spec, mode=mode)


_Parser: Any = None


def _store_target(shell: Any, line: str) -> tuple[list[tuple[str, Any]], str] | None:
    """What ``%store line`` would write, and where; None when it writes no variable."""
    try:
        opts, argsl = _options(shell, line, "drz", "string")
    except Exception:  # let the magic itself report its usage error
        return None
    args = argsl.split()
    if opts or not args:  # -d, -r, -z and the listing write no value
        return None
    ns = getattr(shell, "user_ns", {})
    if len(args) > 1 and args[1].startswith(">"):
        path = os.path.expanduser(args[1].lstrip(">").lstrip())
        if args[0] in ns:
            return [(args[0], ns[args[0]])], f"to the file {path}"
        return [], f"to the file {path}"
    profile = getattr(getattr(shell, "profile_dir", None), "location", "the IPython profile")
    where = os.path.join(str(profile), "db", "autorestore")
    return [
        (a, ns[a]) for a in args if a in ns
    ], f"to {where} (pickled, and restored into later kernels by %store -r)"


def _save_target(shell: Any, line: str) -> tuple[str, str]:
    """What ``%save line`` saves and the file it writes to (as ``CodeMagics.save`` names it)."""
    try:
        opts, args = _options(shell, line, "fra", "list")
    except Exception:
        return "the code", "to a file"
    if not args:
        return "the code", "to a file"
    fname = args[0]
    if not fname.endswith((".py", ".ipy")):
        fname += ".ipy" if "r" in opts else ".py"
    what = f"`{' '.join(args[1:])}`" if args[1:] else "the code"
    return what, f"to the file {os.path.abspath(os.path.expanduser(fname))}"


_CODE_TARGETS = {
    "save": None,  # computed from the command line
    "load": "into the next cell's source (saved with the notebook)",
    "pastebin": "to a public paste service",
}


def guard(
    shell: Any, name: str, magic: Callable[..., Any], confirmations: Confirmations
) -> Callable[..., Any]:
    """The line magic ``magic`` (``%name``), refusing to write a loaded value unless asked twice.

    Parameters
    ----------
    shell : InteractiveShell
        The running shell.
    name : str
        ``store``, ``save``, ``load`` or ``pastebin``.
    magic : callable
        The magic IPython registered under ``name``.
    confirmations : Confirmations
        The shell's record of the last refused write.
    """

    def refuse_if_held(line: str, what: str, where: str) -> Callable[[Any], None]:
        def check(result: Any) -> None:
            labels = held_labels(result)
            if labels:
                confirmations.refuse(name, line, what, where, labels)

        return check

    def wrapper(line: str = "", *args: Any, **kwargs: Any) -> Any:
        def call() -> Any:
            return magic(line, *args, **kwargs)

        if not active() or confirmations.confirmed(name, line):
            return call()
        if name == "store":
            stored = _store_target(shell, line)
            if stored is None:
                return call()
            values, where = stored
            for var, value in values:
                refuse_if_held(line, f"`{var}`", where)(value)
            if not values:  # %store <expression> >file: checked as the magic evaluates it
                return _shadowing(shell, "ev", refuse_if_held(line, "the value", where), call)
            return call()
        target = _CODE_TARGETS[name]
        what, where = ("the code", target) if target else _save_target(shell, line)
        return _shadowing(shell, "find_user_code", refuse_if_held(line, what, where), call)

    wrapper.__doc__ = magic.__doc__
    setattr(wrapper, _FLAG, True)
    return wrapper


def _shadowing(
    shell: Any, method: str, check: Callable[[Any], None], call: Callable[[], Any]
) -> Any:
    """Run ``call`` with ``shell.<method>`` shadowed so ``check`` sees each of its results."""
    original = getattr(shell, method)
    own = vars(shell)
    had, before = method in own, own.get(method)

    def shadow(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        check(result)
        return result

    setattr(shell, method, shadow)
    try:
        return call()
    finally:
        if had:
            setattr(shell, method, before)
        else:
            own.pop(method, None)


def install(shell: Any) -> None:
    """Guard ``%store``, ``%save``, ``%load`` and ``%pastebin`` of ``shell`` (idempotent)."""
    manager = getattr(shell, "magics_manager", None)
    find = getattr(shell, "find_line_magic", None)
    if manager is None or find is None:
        return
    confirmations = getattr(shell, _FLAG, None)
    if not isinstance(confirmations, Confirmations):
        confirmations = Confirmations(shell)
        setattr(shell, _FLAG, confirmations)
    for name in ("store", *_CODE_TARGETS):  # each time: %load_ext storemagic may come later
        try:
            magic = find(name)
        except Exception:  # a lazily declared magic that fails to load
            magic = None
        if magic is None or getattr(magic, _FLAG, False):
            continue
        manager.register_function(guard(shell, name, magic, confirmations), "line", name)
