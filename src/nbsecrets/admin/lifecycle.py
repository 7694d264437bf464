"""SageMaker lifecycle configurations from the scripts in ``lifecycle-config/``.

:func:`assemble` puts the shared part (``common.sh``) into each on-start script, and
:func:`script_text` fills its settings block (install source, prefix, region, fallback
regions, KMS key) from :class:`Settings`; :func:`deploy` creates or updates a configuration
through boto3's SageMaker client. The template lives in :mod:`nbsecrets.admin.template`.
"""

from __future__ import annotations

import base64
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbsecrets.aws import errors as awserrors
from nbsecrets.errors import AccessDeniedError, ConfigError, NbSecretsError

if TYPE_CHECKING:
    from nbsecrets.admin.studio import StudioDeployed

__all__ = [
    "MAX_SCRIPT_BYTES",
    "Deployed",
    "Settings",
    "assemble",
    "deploy",
    "script_text",
    "scripts_dir",
]

MAX_SCRIPT_BYTES = 12_000  # SageMaker takes 16,384 characters of base64 per script
MAX_BASE64_CHARS = 16_384
# Characters a setting may hold: it is written inside double quotes in bash.
_SAFE = re.compile(r'^[^"$`\\\n\r]*$')
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def scripts_dir() -> Path:
    """``lifecycle-config/``: shipped in the wheel, or in the source tree."""
    here = Path(__file__).resolve().parents[1]  # the nbsecrets package
    for candidate in (here / "_shipped" / "lifecycle-config", here.parents[1] / "lifecycle-config"):
        if (candidate / "notebook-instance" / "on-start.sh").is_file():
            return candidate
    raise FileNotFoundError("lifecycle-config/ is missing from this installation")


@dataclass(frozen=True)
class Settings:
    """What ``nbsecrets lifecycle`` writes into the scripts' settings block.

    Exactly one install source: ``artifact_uri`` with its ``artifact_sha256`` (the pinned
    wheelhouse in S3), or ``pip_requirement`` with ``==VERSION`` and ``--hash=sha256:...``.
    """

    artifact_uri: str = ""
    artifact_sha256: str = ""
    pip_requirement: str = ""
    prefix: str = ""
    region: str = ""
    fallback_regions: tuple[str, ...] = field(default=())
    kms_key_id: str = ""

    def __post_init__(self) -> None:
        for name, value in self.values().items():
            if not _SAFE.match(value):
                raise ConfigError(
                    f"The {name} setting {value!r} has a quote, $, backquote, "
                    "backslash or newline; give a plain value."
                )
        if self.artifact_uri:
            from nbsecrets.admin.artifact import parse_s3_uri

            parse_s3_uri(self.artifact_uri)
            if not _SHA256.match(self.artifact_sha256):
                raise ConfigError(
                    "An artifact needs its sha256 (64 lowercase hex digits), "
                    "as `nbsecrets artifact` prints it."
                )
            if self.pip_requirement:
                raise ConfigError("Give one install source: --artifact or --pip-requirement.")
        elif self.pip_requirement:
            req = self.pip_requirement
            if "==" not in req or "--hash=sha256:" not in req:
                raise ConfigError(
                    f"The pip requirement {req!r} must pin a version and a hash, "
                    "e.g. 'nbsecrets==0.1.0 --hash=sha256:HEX'."
                )
        if self.prefix and not self.prefix.endswith("/"):
            raise ConfigError(
                f"The prefix {self.prefix!r} must end in '/'; use {self.prefix + '/'!r}."
            )

    def values(self) -> dict[str, str]:
        """Script variable -> value."""
        return {
            "ARTIFACT_URI": self.artifact_uri,
            "ARTIFACT_SHA256": self.artifact_sha256,
            "PIP_REQUIREMENT": self.pip_requirement,
            "PREFIX": self.prefix,
            "REGION": self.region,
            "FALLBACK_REGIONS": ",".join(self.fallback_regions),
            "KMS_KEY_ID": self.kms_key_id,
        }

    @property
    def has_source(self) -> bool:
        return bool(self.artifact_uri or self.pip_requirement)


def _line(line: str, _match: re.Match[str]) -> str:
    return line


def fill(text: str, values: dict[str, str]) -> str:
    """Set ``VAR="..."`` lines of the settings block to ``values`` (raw, already safe)."""
    for var, value in values.items():
        # the replacement is a function so that no backslash in it is read as an escape
        text, n = re.subn(
            rf'^{var}="[^"\n]*"$',
            functools.partial(_line, f'{var}="{value}"'),
            text,
            count=1,
            flags=re.M,
        )
        if n != 1:
            raise FileNotFoundError(f"the settings line {var}= is missing from the script")
    return text


# An on-start script's include of the part the scripts share (lifecycle-config/common.sh).
_INCLUDE = re.compile(
    r"^# shellcheck source=/dev/null\n"
    r'\. "\$\(dirname "\$\{BASH_SOURCE\[0\]\}"\)/(?P<path>[^"\n]+)"\n',
    re.M,
)


def assemble(relative: str) -> str:
    """A script as SageMaker runs it: one file, each include replaced by the included text.

    Every deploy path (``nbsecrets lifecycle``, template.yaml, Pulumi, provision.sh) reads the
    scripts through this, so they deploy the same content.
    """
    root = scripts_dir()
    path = root / relative

    def inline(match: re.Match[str]) -> str:
        included = (path.parent / match["path"]).resolve()
        if root.resolve() not in included.parents:
            raise FileNotFoundError(
                f"{relative} includes {match['path']}, outside lifecycle-config/"
            )
        return included.read_text(encoding="utf-8")

    return _INCLUDE.sub(inline, path.read_text(encoding="utf-8"))


def script_text(relative: str, settings: Settings | None = None) -> str:
    """A script's text (:func:`assemble`), with its settings block filled from ``settings``
    if given.

    Raises
    ------
    ConfigError
        If the script is over :data:`MAX_SCRIPT_BYTES`.
    """
    text = assemble(relative)
    if settings is not None and relative.endswith("on-start.sh"):
        text = fill(text, settings.values())
    size = len(text.encode("utf-8"))
    if size > MAX_SCRIPT_BYTES:
        raise ConfigError(
            f"{relative} is {size} bytes; SageMaker takes at most about "
            f"{MAX_SCRIPT_BYTES}. Shorten it."
        )
    return text


def _b64(text: str) -> str:
    content = base64.b64encode(text.encode("utf-8")).decode("ascii")
    assert len(content) <= MAX_BASE64_CHARS
    return content


@dataclass(frozen=True)
class Deployed:
    """What :func:`deploy` did to a notebook-instance configuration: ``created``,
    ``updated`` or ``unchanged``, its ARN and name."""

    name: str
    action: str
    arn: str
    studio: bool = False


def _exists_error(exc: BaseException) -> bool:
    # SageMaker answers a describe of a missing configuration with ValidationException
    # (notebook instances) or ResourceNotFound (Studio).
    return awserrors.error_code(exc) in ("ValidationException", "ResourceNotFound")


def _sm_error(exc: BaseException, action: str, name: str) -> NbSecretsError:
    if awserrors.error_code(exc) in awserrors.DENIED_CODES:
        return AccessDeniedError(
            f"the credentials in use are not allowed sagemaker:{action} on "
            f"{name}; run this with admin credentials."
        )
    return awserrors.translate(exc, action=f"sagemaker:{action}", target=name, region="")


def _need_source(settings: Settings) -> None:
    if not settings.has_source:
        raise ConfigError(
            "Give the install source: --artifact s3://BUCKET/PREFIX/ (builds and "
            "uploads a pinned wheelhouse) or --pip-requirement "
            "'nbsecrets==X --hash=sha256:HEX'."
        )


def deploy(
    sagemaker: Any,
    name: str,
    settings: Settings,
    *,
    studio: bool = False,
    domain_id: str | None = None,
    user_profiles: tuple[str, ...] = (),
) -> Deployed | StudioDeployed:
    """Create or update the lifecycle configuration ``name``.

    Notebook instances get ``OnCreate`` and ``OnStart`` from ``notebook-instance/``. Studio
    gets ``studio/on-start.sh`` as a JupyterLab and a Code Editor configuration named after
    their content, attached to ``domain_id`` (and ``user_profiles``) as the built-in ones:
    see :mod:`nbsecrets.admin.studio`.

    Raises
    ------
    NbSecretsError
        If there is no install source, or SageMaker refuses.
    """
    _need_source(settings)
    if studio:
        from nbsecrets.admin import studio as studio_configs

        return studio_configs.deploy(
            sagemaker,
            name,
            _b64(script_text("studio/on-start.sh", settings)),
            domain_id=domain_id,
            user_profiles=user_profiles,
        )
    on_create = _b64(script_text("notebook-instance/on-create.sh", settings))
    on_start = _b64(script_text("notebook-instance/on-start.sh", settings))
    kwargs = {
        "NotebookInstanceLifecycleConfigName": name,
        "OnCreate": [{"Content": on_create}],
        "OnStart": [{"Content": on_start}],
    }
    try:
        old = sagemaker.describe_notebook_instance_lifecycle_config(
            NotebookInstanceLifecycleConfigName=name
        )
    except Exception as exc:
        if not _exists_error(exc):
            raise _sm_error(exc, "DescribeNotebookInstanceLifecycleConfig", name) from None
        old = None
    try:
        if old is None:
            arn = sagemaker.create_notebook_instance_lifecycle_config(**kwargs)[
                "NotebookInstanceLifecycleConfigArn"
            ]
            return Deployed(name, "created", arn, False)
        arn = old["NotebookInstanceLifecycleConfigArn"]
        if old.get("OnCreate") == kwargs["OnCreate"] and old.get("OnStart") == kwargs["OnStart"]:
            return Deployed(name, "unchanged", arn, False)
        sagemaker.update_notebook_instance_lifecycle_config(**kwargs)
        return Deployed(name, "updated", arn, False)
    except Exception as exc:
        raise _sm_error(exc, "CreateNotebookInstanceLifecycleConfig", name) from None
