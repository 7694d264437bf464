"""nbsecrets as a Pulumi program: the secrets, their resource policies and rotation, the
notebook execution role with its least-privilege inline policy, and the lifecycle
configuration. The same deployment as ``../template.yaml`` and ``nbsecrets provision``.

Nothing here decides a grant or a script on its own: the role policy is
:func:`nbsecrets.admin.policy.policy_document`, the secrets' resource policy
:func:`nbsecrets.admin.resource_policy.resource_policy`, the scripts
:func:`nbsecrets.admin.lifecycle.script_text`. Key values come only from secret stack config
(``pulumi config set --secret openaiApiKey``), stay Pulumi secrets, and are never exported.
The settings are listed in README.md.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi.runtime.config import is_config_secret

from nbsecrets.admin import lifecycle
from nbsecrets.admin.policy import POLICY_NAME, PolicyOptions, policy_document
from nbsecrets.admin.resource_policy import resource_policy, role_arns
from nbsecrets.errors import NbSecretsError

TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}
KINDS = ("instance", "studio")


def _list(cfg: pulumi.Config, key: str) -> list[str]:
    """A list setting: a JSON array (``pulumi config set --path``) or a comma list."""
    raw = cfg.get(key)
    if not raw:
        return []
    value = json.loads(raw) if raw.lstrip().startswith("[") else raw.split(",")
    return [str(v).strip() for v in value if str(v).strip()]


@dataclasses.dataclass(frozen=True)
class Settings:
    """The stack's settings, checked before any resource is declared."""

    providers: tuple[str, ...]
    prefix: str
    region: str
    account: str | None
    replica_regions: tuple[str, ...]
    replica_kms_key_arns: dict[str, str]
    kind: str
    kms_key_arn: str | None
    consumer_roles: tuple[str, ...]
    admin_roles: tuple[str, ...]
    allow_write: bool
    list_secrets: bool
    role_name: str
    lifecycle_name: str
    notebook_instance: str | None
    notebook_instance_type: str
    pip_spec: str | None
    rotation_lambda_arn: str | None
    rotation_days: int

    def options(self, account: str) -> PolicyOptions:
        """The policy options: what ``nbsecrets policy`` takes on its command line."""
        extra: dict[str, Any] = {}
        if "fallback_regions" in {f.name for f in dataclasses.fields(PolicyOptions)}:
            extra["fallback_regions"] = self.replica_regions  # when the package has them
        return PolicyOptions(region=self.region, account=account, prefix=self.prefix,
                             providers=self.providers, kms_key_arn=self.kms_key_arn,
                             allow_write=self.allow_write, list_secrets=self.list_secrets,
                             **extra)


def settings(cfg: pulumi.Config) -> Settings:
    """Read and check the stack config.

    Raises
    ------
    pulumi.RunError
        With one sentence saying what to set, for a missing or malformed setting.
    """
    providers = tuple(_list(cfg, "providers"))
    if not providers:
        raise pulumi.RunError('Name the keys to create: pulumi config set --path '
                              '"providers[0]" openai (one entry per provider).')
    region = cfg.get("region") or pulumi.Config("aws").get("region")
    if not region:
        raise pulumi.RunError("Set the region: pulumi config set aws:region us-east-1.")
    kind = cfg.get("notebookKind") or "instance"
    if kind not in KINDS:
        raise pulumi.RunError(f"notebookKind is instance or studio, not {kind!r}.")
    replicas = tuple(_list(cfg, "replicaRegions"))
    replica_keys = cfg.get_object("replicaKmsKeyArns") or {}
    kms = cfg.get("kmsKeyArn")
    if kms and (missing := [r for r in replicas if r not in replica_keys]):
        raise pulumi.RunError(f"A KMS key is regional: give one for each replica region, "
                              f"e.g. pulumi config set --path replicaKmsKeyArns.{missing[0]} "
                              "ARN.")
    rotation = cfg.get("rotationLambdaArn")
    try:
        consumers = role_arns(_list(cfg, "consumerRoles"), "consumerRoles")
        admins = role_arns([*_list(cfg, "adminRoles"),
                            *([cfg.get("rotationRoleArn")] if cfg.get("rotationRoleArn")
                              else [])], "adminRoles")
    except NbSecretsError as exc:
        raise pulumi.RunError(str(exc)) from None
    account = cfg.get("account")
    if not kms and [r for r in consumers if r.split(":")[4] != account]:
        raise pulumi.RunError("Roles in another account cannot decrypt secrets under the AWS "
                              "managed key; set kmsKeyArn to a customer managed key (or set "
                              "account, if the consumer roles are in this one).")
    s = Settings(
        providers=providers, prefix=cfg.get("prefix") or "nbsecrets/", region=region,
        account=account, replica_regions=replicas,
        replica_kms_key_arns=dict(replica_keys), kind=kind, kms_key_arn=kms,
        consumer_roles=consumers, admin_roles=admins,
        allow_write=cfg.get_bool("allowWrite") or False,
        list_secrets=cfg.get_bool("listSecrets") is not False,
        role_name=cfg.get("roleName") or "nbsecrets-notebook",
        lifecycle_name=cfg.get("lifecycleConfigName") or "nbsecrets",
        notebook_instance=cfg.get("notebookInstanceName") or None,
        notebook_instance_type=cfg.get("notebookInstanceType") or "ml.t3.medium",
        pip_spec=cfg.get("pipSpec"), rotation_lambda_arn=rotation,
        rotation_days=cfg.get_int("rotationDays") or 30)
    try:
        s.options(s.account or "000000000000")  # the package's own checks, before anything
    except NbSecretsError as exc:
        raise pulumi.RunError(str(exc)) from None
    return s


def _key_value(cfg: pulumi.Config, provider: str) -> pulumi.Output[str] | None:
    """The key from secret config ``{provider}ApiKey``; a plain-text one is refused."""
    key = f"{provider}ApiKey"
    if cfg.get(key) is None:
        return None
    if not is_config_secret(f"{cfg.name}:{key}"):
        raise pulumi.RunError(f"{key} is in plain text in the stack config; remove it and set "
                              f"it with: pulumi config set --secret {key}")
    return cfg.require_secret(key)


def _b64(relative: str, pip_spec: str | None) -> str:
    return base64.b64encode(lifecycle.script_text(relative, pip_spec).encode()).decode()


def main() -> dict[str, Any]:
    """Declare the resources; export (and return) their ARNs and names, never a value."""
    cfg = pulumi.Config()
    s = settings(cfg)
    account = s.account or aws.get_caller_identity_output().account_id

    role = aws.iam.Role("notebook-role", name=s.role_name,
                        assume_role_policy=json.dumps(TRUST))
    aws.iam.RolePolicy("notebook-policy", name=POLICY_NAME, role=role.id,
                       policy=pulumi.Output.from_input(account).apply(
                           lambda a: json.dumps(policy_document(s.options(a)))))

    readers_policy = role.arn.apply(lambda arn: json.dumps(
        resource_policy([arn, *s.consumer_roles], s.admin_roles)))
    secret_arns: dict[str, Any] = {}
    secret_names: dict[str, Any] = {}
    for provider in s.providers:
        secret = aws.secretsmanager.Secret(
            f"{provider}-secret", name=f"{s.prefix}{provider}", kms_key_id=s.kms_key_arn,
            replicas=[aws.secretsmanager.SecretReplicaArgs(
                region=r, kms_key_id=s.replica_kms_key_arns.get(r)) for r in s.replica_regions],
            tags={"nbsecrets:provider": provider, "nbsecrets:managed": "true"})
        aws.secretsmanager.SecretPolicy(f"{provider}-policy", secret_arn=secret.arn,
                                        policy=readers_policy, block_public_policy=True)
        value = _key_value(cfg, provider)
        if value is not None:
            aws.secretsmanager.SecretVersion(
                f"{provider}-value", secret_id=secret.id, secret_string=value,
                opts=pulumi.ResourceOptions(additional_secret_outputs=["secret_string"]))
        if s.rotation_lambda_arn:
            aws.secretsmanager.SecretRotation(
                f"{provider}-rotation", secret_id=secret.id,
                rotation_lambda_arn=s.rotation_lambda_arn,
                rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                    automatically_after_days=s.rotation_days))
        secret_arns[provider], secret_names[provider] = secret.arn, secret.name

    if s.kind == "studio":
        lcc = aws.sagemaker.StudioLifecycleConfig(
            "lifecycle", studio_lifecycle_config_name=s.lifecycle_name,
            studio_lifecycle_config_app_type="JupyterLab",
            studio_lifecycle_config_content=_b64("studio/on-start.sh", s.pip_spec))
        lcc_name = lcc.studio_lifecycle_config_name
    else:
        lcc = aws.sagemaker.NotebookInstanceLifecycleConfiguration(
            "lifecycle", name=s.lifecycle_name,
            on_create=_b64("notebook-instance/on-create.sh", s.pip_spec),
            on_start=_b64("notebook-instance/on-start.sh", s.pip_spec))
        lcc_name = lcc.name
    exports: dict[str, Any] = {
        "roleArn": role.arn, "roleName": role.name, "policyName": POLICY_NAME,
        "secretArns": secret_arns, "secretNames": secret_names,
        "lifecycleConfigArn": lcc.arn, "lifecycleConfigName": lcc_name,
    }
    if s.notebook_instance and s.kind == "instance":
        notebook = aws.sagemaker.NotebookInstance(
            "notebook", name=s.notebook_instance, instance_type=s.notebook_instance_type,
            role_arn=role.arn, lifecycle_config_name=lcc_name)
        exports["notebookInstanceName"] = notebook.name
    for name, value in exports.items():
        pulumi.export(name, value)
    return exports


if __name__ == "__main__":
    main()
