"""SageMaker lifecycle configurations from the scripts in ``lifecycle-config/``.

:func:`deploy` creates or updates one through boto3's SageMaker client; :func:`template_text`
renders ``lifecycle-config/template.yaml`` (role, least-privilege policy, lifecycle
configuration with the scripts) so the template never drifts from the scripts and the policy.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbsecrets.aws import errors as awserrors
from nbsecrets.errors import AccessDeniedError, ConfigError, NbSecretsError

__all__ = [
    "MAX_SCRIPT_BYTES",
    "Deployed",
    "deploy",
    "script_text",
    "scripts_dir",
    "template_text",
]

MAX_SCRIPT_BYTES = 12_000  # SageMaker takes 16,384 characters of base64 per script
MAX_BASE64_CHARS = 16_384
DEFAULT_PIP_SPEC = "nbsecrets"
_SPEC_LINE = re.compile(r'^NBSECRETS_PIP_SPEC="\$\{NBSECRETS_PIP_SPEC:-[^}]*\}"$', re.M)


def scripts_dir() -> Path:
    """``lifecycle-config/``: shipped in the wheel, or in the source tree."""
    here = Path(__file__).resolve().parents[1]  # the nbsecrets package
    for candidate in (here / "_shipped" / "lifecycle-config",
                      here.parents[1] / "lifecycle-config"):
        if (candidate / "notebook-instance" / "on-start.sh").is_file():
            return candidate
    raise FileNotFoundError("lifecycle-config/ is missing from this installation")


def script_text(relative: str, pip_spec: str | None = None) -> str:
    """A script's text, with the default pip requirement replaced by ``pip_spec`` if given.

    Raises
    ------
    ConfigError
        If the script (after the replacement) is over :data:`MAX_SCRIPT_BYTES`.
    """
    text = (scripts_dir() / relative).read_text(encoding="utf-8")
    if pip_spec is not None and pip_spec != DEFAULT_PIP_SPEC:
        if not pip_spec.strip() or "\n" in pip_spec:
            raise ConfigError("--pip-spec takes one pip requirement, e.g. a wheel URL.")
        # The default of "${VAR:-default}" is read inside double quotes: escape \ " $ ` and }.
        quoted = re.sub(r'([\\"$`}])', r"\\\1", pip_spec)
        line = f'NBSECRETS_PIP_SPEC="${{NBSECRETS_PIP_SPEC:-{quoted}}}"'
        text = _SPEC_LINE.sub(lambda _: line, text, count=1)
    size = len(text.encode("utf-8"))
    if size > MAX_SCRIPT_BYTES:
        raise ConfigError(f"{relative} is {size} bytes; SageMaker takes at most about "
                          f"{MAX_SCRIPT_BYTES}. Shorten it.")
    return text


def _b64(text: str) -> str:
    content = base64.b64encode(text.encode("utf-8")).decode("ascii")
    assert len(content) <= MAX_BASE64_CHARS
    return content


@dataclass(frozen=True)
class Deployed:
    """What :func:`deploy` did: ``created``, ``updated`` or ``unchanged``, and the ARN."""

    name: str
    action: str
    arn: str
    studio: bool


def _exists_error(exc: BaseException) -> bool:
    # SageMaker answers a describe of a missing configuration with ValidationException
    # (notebook instances) or ResourceNotFound (Studio).
    return awserrors.error_code(exc) in ("ValidationException", "ResourceNotFound")


def _sm_error(exc: BaseException, action: str, name: str) -> NbSecretsError:
    if awserrors.error_code(exc) in awserrors.DENIED_CODES:
        return AccessDeniedError(f"the credentials in use are not allowed sagemaker:{action} on "
                                 f"{name}; run this with admin credentials.")
    return awserrors.translate(exc, action=f"sagemaker:{action}", target=name, region="")


def deploy(sagemaker: Any, name: str, *, studio: bool = False, pip_spec: str | None = None
           ) -> Deployed:
    """Create or update the lifecycle configuration ``name``.

    Notebook instances get ``OnCreate`` and ``OnStart`` from ``notebook-instance/``. Studio
    gets a JupyterLab configuration from ``studio/on-start.sh``; Studio has no update call, so
    a changed one is deleted and created again (which fails while a domain or user profile
    still uses it: detach it first).

    Raises
    ------
    NbSecretsError
        If SageMaker refuses.
    """
    if studio:
        return _deploy_studio(sagemaker, name, pip_spec)
    on_create = _b64(script_text("notebook-instance/on-create.sh", pip_spec))
    on_start = _b64(script_text("notebook-instance/on-start.sh", pip_spec))
    kwargs = {"NotebookInstanceLifecycleConfigName": name,
              "OnCreate": [{"Content": on_create}], "OnStart": [{"Content": on_start}]}
    try:
        old = sagemaker.describe_notebook_instance_lifecycle_config(
            NotebookInstanceLifecycleConfigName=name)
    except Exception as exc:
        if not _exists_error(exc):
            raise _sm_error(exc, "DescribeNotebookInstanceLifecycleConfig", name) from None
        old = None
    try:
        if old is None:
            arn = sagemaker.create_notebook_instance_lifecycle_config(**kwargs)[
                "NotebookInstanceLifecycleConfigArn"]
            return Deployed(name, "created", arn, False)
        arn = old["NotebookInstanceLifecycleConfigArn"]
        if old.get("OnCreate") == kwargs["OnCreate"] and old.get("OnStart") == kwargs["OnStart"]:
            return Deployed(name, "unchanged", arn, False)
        sagemaker.update_notebook_instance_lifecycle_config(**kwargs)
        return Deployed(name, "updated", arn, False)
    except Exception as exc:
        raise _sm_error(exc, "CreateNotebookInstanceLifecycleConfig", name) from None


def _deploy_studio(sagemaker: Any, name: str, pip_spec: str | None) -> Deployed:
    content = _b64(script_text("studio/on-start.sh", pip_spec))
    try:
        old = sagemaker.describe_studio_lifecycle_config(StudioLifecycleConfigName=name)
    except Exception as exc:
        if not _exists_error(exc):
            raise _sm_error(exc, "DescribeStudioLifecycleConfig", name) from None
        old = None
    try:
        if old is not None:
            if (old.get("StudioLifecycleConfigContent") == content
                    and old.get("StudioLifecycleConfigAppType") == "JupyterLab"):
                return Deployed(name, "unchanged", old["StudioLifecycleConfigArn"], True)
            sagemaker.delete_studio_lifecycle_config(StudioLifecycleConfigName=name)
        arn = sagemaker.create_studio_lifecycle_config(
            StudioLifecycleConfigName=name, StudioLifecycleConfigContent=content,
            StudioLifecycleConfigAppType="JupyterLab")["StudioLifecycleConfigArn"]
    except Exception as exc:
        raise _sm_error(exc, "CreateStudioLifecycleConfig", name) from None
    return Deployed(name, "created" if old is None else "updated", arn, True)


# -- template.yaml ----------------------------------------------------------------------------

_TEMPLATE_HEAD = """\
# nbsecrets: a SageMaker notebook execution role that reads exactly its API keys, and the
# notebook-instance lifecycle configuration that installs nbsecrets.
#
# Generated by `nbsecrets lifecycle --template` from the scripts in this directory and the
# policy of `nbsecrets policy --format cloudformation`; regenerate it rather than editing it
# (add policy options, e.g. --provider openai --provider anthropic, or --pip-spec SPEC).
# Deploy:
#   aws cloudformation deploy --template-file template.yaml --stack-name nbsecrets \\
#     --capabilities CAPABILITY_NAMED_IAM --parameter-overrides NotebookInstanceName=my-notebook
"""


def template_text(opts: Any = None, pip_spec: str | None = None) -> str:
    """``template.yaml``: role, least-privilege inline policy, lifecycle configuration and,
    when ``NotebookInstanceName`` is given, a notebook instance using both.

    Parameters
    ----------
    opts : PolicyOptions, optional
        The policy; by default every key under ``nbsecrets/`` in the stack's region/account.
    """
    from nbsecrets.admin.cfn import to_yaml
    from nbsecrets.admin.policy import POLICY_NAME, PolicyOptions, cloudformation_policy

    opts = opts or PolicyOptions(region=None, account=None)
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "nbsecrets: notebook execution role with least-privilege access to its "
                       "API keys in Secrets Manager, and the lifecycle configuration.",
        "Parameters": {
            "RoleName": {"Type": "String", "Default": "nbsecrets-notebook",
                         "Description": "Name of the notebook execution role to create."},
            "LifecycleConfigName": {"Type": "String", "Default": "nbsecrets",
                                    "Description": "Name of the lifecycle configuration."},
            "NotebookInstanceName": {"Type": "String", "Default": "",
                                     "Description": "Also create this notebook instance "
                                                    "(leave empty for none)."},
            "NotebookInstanceType": {"Type": "String", "Default": "ml.t3.medium"},
        },
        "Conditions": {"CreateNotebook": {"Fn::Not": [
            {"Fn::Equals": [{"Ref": "NotebookInstanceName"}, ""]}]}},
        "Resources": {
            "NotebookRole": {"Type": "AWS::IAM::Role", "Properties": {
                "RoleName": {"Ref": "RoleName"},
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                    "Action": "sts:AssumeRole"}]},
                "Policies": [{"PolicyName": POLICY_NAME,
                              "PolicyDocument": cloudformation_policy(opts)}],
            }},
            "LifecycleConfig": {"Type": "AWS::SageMaker::NotebookInstanceLifecycleConfig",
                                "Properties": {
                "NotebookInstanceLifecycleConfigName": {"Ref": "LifecycleConfigName"},
                "OnCreate": [{"Content": {"Fn::Base64": script_text(
                    "notebook-instance/on-create.sh", pip_spec)}}],
                "OnStart": [{"Content": {"Fn::Base64": script_text(
                    "notebook-instance/on-start.sh", pip_spec)}}],
            }},
            "Notebook": {"Type": "AWS::SageMaker::NotebookInstance",
                         "Condition": "CreateNotebook", "Properties": {
                "NotebookInstanceName": {"Ref": "NotebookInstanceName"},
                "InstanceType": {"Ref": "NotebookInstanceType"},
                "RoleArn": {"Fn::GetAtt": ["NotebookRole", "Arn"]},
                "LifecycleConfigName": {"Fn::GetAtt": [
                    "LifecycleConfig", "NotebookInstanceLifecycleConfigName"]},
            }},
        },
        "Outputs": {
            "RoleArn": {"Value": {"Fn::GetAtt": ["NotebookRole", "Arn"]}},
            "LifecycleConfigName": {"Value": {"Fn::GetAtt": [
                "LifecycleConfig", "NotebookInstanceLifecycleConfigName"]}},
        },
    }
    from nbsecrets.admin.rotation_cfn import rotation_parts

    for section, entries in rotation_parts().items():  # Conditional on RotationCodeBucket/Key
        template[section].update(entries)
    return _TEMPLATE_HEAD + to_yaml(template)
