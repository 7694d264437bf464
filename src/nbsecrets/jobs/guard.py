"""The job guard: a SageMaker request that would carry a loaded key is refused before it is sent.

A job's ``Environment`` (and its hyperparameters, a pipeline's definition, a lifecycle
script...) is stored by SageMaker and returned by Describe* to anyone allowed to describe, and
shown in the console. Once a key is loaded in this process (``%aikey``, the picker, or
``nbsecrets.load/get``), every request to one of the :data:`GUARDED` operations is searched
for the loaded values (exact, encoded forms and any 12-character run, as redaction matches
them) and refused with :class:`KeyInRequestError` when one is found; nothing is sent.

How: :func:`install` wraps ``botocore.client.BaseClient._make_api_call``, the one method
every botocore client calls for every operation (the SageMaker Python SDK's clients, boto3's
default session, any session, and clients made before the key was loaded). The same place
is what AWS X-Ray and OpenTelemetry instrument. It runs before botocore validates or signs
anything. ``NBSECRETS_GUARD=0`` (or ``guard = false`` in the config file) turns the check
off; it is read when a loaded value is found, so it can be changed at any time.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Iterator
from typing import Any

from nbsecrets import redaction
from nbsecrets.errors import NbSecretsError

__all__ = ["GUARDED", "KeyInRequestError", "check", "install", "install_when_ready", "installed"]

# SageMaker operations whose input is kept by SageMaker and shown to others: job, model and
# pipeline definitions (Environment, HyperParameters, PipelineDefinition...), lifecycle and
# image scripts. Every string of their input is searched, wherever it sits.
GUARDED = frozenset(
    {
        "CreateAlgorithm",
        "CreateAppImageConfig",
        "CreateAutoMLJob",
        "CreateAutoMLJobV2",
        "CreateCompilationJob",
        "CreateDataQualityJobDefinition",
        "CreateEndpoint",
        "CreateEndpointConfig",
        "CreateHyperParameterTuningJob",
        "CreateInferenceComponent",
        "CreateInferenceRecommendationsJob",
        "CreateModel",
        "CreateModelBiasJobDefinition",
        "CreateModelExplainabilityJobDefinition",
        "CreateModelPackage",
        "CreateModelQualityJobDefinition",
        "CreateMonitoringSchedule",
        "CreateNotebookInstanceLifecycleConfig",
        "CreateOptimizationJob",
        "CreatePipeline",
        "CreateProcessingJob",
        "CreateStudioLifecycleConfig",
        "CreateTrainingJob",
        "CreateTransformJob",
        "StartPipelineExecution",
        "UpdateAppImageConfig",
        "UpdateEndpoint",
        "UpdateInferenceComponent",
        "UpdateModelPackage",
        "UpdateMonitoringSchedule",
        "UpdateNotebookInstanceLifecycleConfig",
        "UpdatePipeline",
    }
)
SERVICE = "sagemaker"
_lock = threading.Lock()


class _State:
    """Whether the guard is in place, and the import hook that waits for botocore (if any)."""

    installed = False
    waiting: Any = None  # the _OnImport finder in sys.meta_path, until botocore loads


_state = _State()


class KeyInRequestError(NbSecretsError):
    """A SageMaker request would have stored a loaded key; it was not sent."""


def _strings(obj: Any, path: str, depth: int = 0) -> Iterator[tuple[str, str | bytes]]:
    """Every string (and bytes) in ``obj`` with where it is, e.g. ``Containers[0].Environment``.

    Dict keys are yielded too; in paths they are redacted, so a path never holds a value.
    """
    if depth > 50:  # deeper than any AWS request: search its text whole
        yield path, repr(obj)
        return
    if isinstance(obj, str | bytes):
        yield path, obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            name = redaction.redact_text(key) if isinstance(key, str) else repr(type(key))
            where = f"{path}.{name}" if path else name
            if isinstance(key, str):
                yield where, key
            yield from _strings(value, where, depth + 1)
    elif isinstance(obj, list | tuple):
        for i, item in enumerate(obj):
            yield from _strings(item, f"{path}[{i}]", depth + 1)


def _find(params: Any) -> tuple[str, str] | None:
    """The first place in ``params`` holding a loaded value, and the value's provider."""
    for where, text in _strings(params, ""):
        if isinstance(text, bytes):
            safe = redaction.redact_bytes(text)
            found = safe.decode("utf-8", "replace") if safe is not text else None
        else:
            clean = redaction.redact_text(text)
            found = clean if clean is not text else None
        if found is not None:
            match = redaction.MARKER.search(found)
            return where or "the request", match.group(1) if match else ""
    return None


def _enabled() -> bool:
    from nbsecrets.config import safety_switch

    return safety_switch("guard")


def check(operation: str, params: Any) -> None:
    """Refuse ``operation`` if ``params`` hold a value loaded in this process.

    Raises
    ------
    KeyInRequestError
        Naming the operation, where the value is (never the value) and the fix.
    """
    if operation not in GUARDED or not redaction.registered():
        return
    found = _find(params)
    if found is None or not _enabled():
        return
    where, label = found
    which = f"the {label} key" if label else "a key"
    raise KeyInRequestError(
        f"{operation} was not sent: {where} holds {which} loaded in this process, and "
        "SageMaker would show it to anyone who can describe the job; pass the key by reference "
        f"instead, environment=nbsecrets.job_environment({label or 'PROVIDER'!r}), and start "
        "the entry "
        "point with `nbsecrets run -- python train.py` or call nbsecrets.load_environment() "
        "in it (NBSECRETS_GUARD=0 turns this check off)."
    )


def installed() -> bool:
    """Whether the guard is in place on botocore's clients."""
    return _state.installed


def install() -> bool:
    """Put the guard in front of every botocore client's operations, once per process.

    Returns
    -------
    bool
        True if it was installed now, False if it already was.
    """
    with _lock:
        if _state.installed:
            return False
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        if getattr(original, "_nbsecrets_guard", False):
            _state.installed = True
            return False

        @functools.wraps(original)
        def _make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
            if operation_name in GUARDED:
                model = getattr(getattr(self, "meta", None), "service_model", None)
                if getattr(model, "service_name", None) == SERVICE:
                    check(operation_name, api_params)
            return original(self, operation_name, api_params)

        _make_api_call._nbsecrets_guard = True  # type: ignore[attr-defined]
        BaseClient._make_api_call = _make_api_call
        _state.installed = True
        return True


class _OnImport:
    """A meta path finder that installs the guard right after ``botocore.client`` loads.

    A value registered before any AWS call (``redaction.register`` directly) must not import
    botocore, yet the clients made later must be guarded: this waits for botocore's import.
    """

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "botocore.client":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module: Any) -> None:
            run(module)
            _stop_waiting()
            install()

        loader.exec_module = exec_module  # type: ignore[method-assign] # this loader only
        return spec


def _stop_waiting() -> None:
    finder, _state.waiting = _state.waiting, None
    if finder is not None and finder in sys.meta_path:
        sys.meta_path.remove(finder)


def install_when_ready() -> None:
    """Install the guard now if botocore is loaded, else as soon as it is (no import here)."""
    if installed():
        return
    if "botocore.client" in sys.modules:
        install()
    elif _state.waiting is None:
        finder = _state.waiting = _OnImport()
        sys.meta_path.insert(0, finder)
