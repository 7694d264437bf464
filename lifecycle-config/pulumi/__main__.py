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

from nbsecrets.admin import lifecycle, studio
from nbsecrets.admin.artifact import parse_s3_uri
from nbsecrets.admin.ops_policy import rotation_policy_document
from nbsecrets.admin.policy import POLICY_NAME, PolicyOptions, policy_document
from nbsecrets.admin.resource_policy import resource_policy, role_arns
from nbsecrets.admin.template import LOGS_POLICY_NAME, logs_policy_document
from nbsecrets.errors import NbSecretsError

TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}
LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}
KINDS = ("instance", "studio")
TRUST_CONDITIONS = ("none", "account", "arn")
PLATFORM = "notebook-al2023-v1"  # AL2 notebook instances can no longer be created
# Keys the rotation Lambda can mint (nbsecrets.rotation's providers with can_mint); the others
# are rotated by hand with `nbsecrets rotate NAME`. Kept literal so the program does not import
# the Lambda's code.
MINTABLE = ("openai",)


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
    install: lifecycle.Settings  # install source and settings written into the scripts
    policy: PolicyOptions  # the role policy's options, as `nbsecrets policy` resolves them
    rotation_lambda_arn: str | None
    rotation_days: int
    rotation_code: tuple[str, str] | None = None  # (bucket, key) of the nbsecrets wheel
    rotation_grace_days: int = 1
    openai_project_id: str = ""
    trust_condition: str = "none"
    managed_policy_arns: tuple[str, ...] = ()
    platform_identifier: str = PLATFORM
    direct_internet_access: str = "Enabled"
    subnet_id: str | None = None
    security_group_ids: tuple[str, ...] = ()

    @property
    def rotated(self) -> tuple[str, ...]:
        """The providers whose secrets get a rotation schedule: those the Lambda can mint."""
        if not (self.rotation_lambda_arn or self.rotation_code):
            return ()
        return tuple(p for p in self.providers if p in MINTABLE)

    def options(self, account: str) -> PolicyOptions:
        """The policy options in ``account``: what ``nbsecrets policy`` takes on its command
        line."""
        return dataclasses.replace(self.policy, account=account)


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
    code = _rotation_code(cfg.get("rotationCodeUri"), rotation)
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
    install = _install(cfg, region, replicas, kms)
    allow_write = cfg.get_bool("allowWrite") or False
    list_secrets = cfg.get_bool("listSecrets") is not False
    try:  # the package's own resolution and checks, before anything is declared
        policy = PolicyOptions.resolve(
            region=region, account=account, prefix=cfg.get("prefix"), providers=providers,
            kms_key_arns=(*([kms] if kms else []),
                          *(f"{r}={k}" for r, k in dict(replica_keys).items())),
            allow_write=allow_write, list_secrets=list_secrets, fallback_regions=replicas,
            install_artifact=install.artifact_uri or None)
    except NbSecretsError as exc:
        raise pulumi.RunError(str(exc)) from None
    s = Settings(
        providers=policy.providers, prefix=policy.prefix, region=region,
        account=account, replica_regions=replicas,
        replica_kms_key_arns=dict(replica_keys), kind=kind, kms_key_arn=kms,
        consumer_roles=consumers, admin_roles=admins,
        allow_write=allow_write, list_secrets=list_secrets,
        role_name=cfg.get("roleName") or "nbsecrets-notebook",
        lifecycle_name=cfg.get("lifecycleConfigName") or "nbsecrets",
        notebook_instance=cfg.get("notebookInstanceName") or None,
        notebook_instance_type=cfg.get("notebookInstanceType") or "ml.t3.medium",
        install=install, policy=policy, rotation_lambda_arn=rotation,
        rotation_days=cfg.get_int("rotationDays") or 30, rotation_code=code,
        rotation_grace_days=1 if cfg.get_int("rotationGraceDays") is None
        else cfg.get_int("rotationGraceDays"),
        openai_project_id=cfg.get("openaiProjectId") or "")
    trust = cfg.get("trustCondition") or "none"
    if trust not in TRUST_CONDITIONS:
        raise pulumi.RunError(f"trustCondition is none, account or arn, not {trust!r}.")
    internet = cfg.get("directInternetAccess") or "Enabled"
    if internet not in ("Enabled", "Disabled"):
        raise pulumi.RunError(f"directInternetAccess is Enabled or Disabled, not {internet!r}.")
    if internet == "Disabled" and not cfg.get("subnetId"):
        raise pulumi.RunError("directInternetAccess Disabled needs a subnet: pulumi config set "
                              "subnetId subnet-...")
    s = dataclasses.replace(
        s, trust_condition=trust, managed_policy_arns=tuple(_list(cfg, "managedPolicyArns")),
        platform_identifier=cfg.get("platformIdentifier") or PLATFORM,
        direct_internet_access=internet, subnet_id=cfg.get("subnetId") or None,
        security_group_ids=tuple(_list(cfg, "securityGroupIds")))
    if (rotation or code) and not s.rotated:
        raise pulumi.RunError(f"The rotation Lambda mints keys for {', '.join(MINTABLE)} only; "
                              f"rotate {providers[0]} by hand with `nbsecrets rotate "
                              f"{providers[0]}`, or leave rotationLambdaArn/rotationCodeUri "
                              "unset.")
    return s


def _rotation_code(uri: str | None, lambda_arn: str | None) -> tuple[str, str] | None:
    """``(bucket, key)`` of the wheel ``nbsecrets artifact`` printed as WHEEL_URI."""
    if not uri:
        return None
    if lambda_arn:
        raise pulumi.RunError("Set rotationCodeUri (this stack creates the Lambda) or "
                              "rotationLambdaArn (an existing one), not both.")
    try:
        bucket, key = parse_s3_uri(uri)
    except NbSecretsError as exc:
        raise pulumi.RunError(str(exc)) from None
    if not key.endswith(".whl"):
        raise pulumi.RunError(f"rotationCodeUri is the nbsecrets wheel, the WHEEL_URI that "
                              f"`nbsecrets artifact` prints (…/nbsecrets-VERSION-py3-none-any"
                              f".whl), not {uri}.")
    return bucket, key


def _rotation_function(s: Settings, account: Any) -> tuple[Any, Any]:
    """The rotation Lambda from the pinned wheel, as template.yaml's rotation part declares
    it: its least-privilege role, log group, the permission for Secrets Manager (this account)
    and a daily rule that revokes old keys after their grace. Returns its ARN and role ARN."""
    name = f"{s.role_name}-rotation"
    secrets = [f"{s.prefix}{p}" for p in s.rotated]
    role = aws.iam.Role("rotation-role", assume_role_policy=json.dumps(LAMBDA_TRUST))
    aws.iam.RolePolicy("rotation-policy", name="nbsecrets-rotation", role=role.id,
                       policy=pulumi.Output.from_input(account).apply(
                           lambda a: json.dumps(rotation_policy_document(
                               region=s.region, account=a, secrets=secrets,
                               function_name=name, kms_key_arn=s.kms_key_arn))))
    logs = aws.cloudwatch.LogGroup("rotation-logs", name=f"/aws/lambda/{name}",
                                   retention_in_days=90)
    bucket, key = s.rotation_code or ("", "")
    function = aws.lambda_.Function(
        "rotation", name=name, runtime="python3.12", handler="nbsecrets.rotation.handler",
        s3_bucket=bucket, s3_key=key, role=role.arn, timeout=120, memory_size=256,
        environment=aws.lambda_.FunctionEnvironmentArgs(variables={
            "NBSECRETS_ROTATION_GRACE_DAYS": str(s.rotation_grace_days),
            "NBSECRETS_OPENAI_PROJECT_ID": s.openai_project_id}),
        opts=pulumi.ResourceOptions(depends_on=[logs]))
    aws.lambda_.Permission("rotation-invoke", action="lambda:InvokeFunction",
                           function=function.name, principal="secretsmanager.amazonaws.com",
                           source_account=account)
    rule = aws.cloudwatch.EventRule("revoke-previous", schedule_expression="rate(1 day)")
    for secret in secrets:
        aws.cloudwatch.EventTarget(
            f"revoke-{secret.rsplit('/', 1)[-1]}", rule=rule.name, arn=function.arn,
            input=json.dumps({"SecretId": secret, "Step": "revokePrevious"}))
    aws.lambda_.Permission("revoke-invoke", action="lambda:InvokeFunction",
                           function=function.name, principal="events.amazonaws.com",
                           source_arn=rule.arn)
    return function.arn, role.arn


def _key_value(cfg: pulumi.Config, provider: str) -> pulumi.Output[str] | None:
    """The key from secret config ``{provider}ApiKey``; a plain-text one is refused."""
    key = f"{provider}ApiKey"
    if cfg.get(key) is None:
        return None
    if not is_config_secret(f"{cfg.name}:{key}"):
        raise pulumi.RunError(f"{key} is in plain text in the stack config; remove it and set "
                              f"it with: pulumi config set --secret {key}")
    return cfg.require_secret(key)


def _install(cfg: pulumi.Config, region: str, replicas: tuple[str, ...], kms: str | None
             ) -> lifecycle.Settings:
    """The scripts' settings: the pinned artifact (or a hashed pip requirement) and where the
    keys are; an unpinned install source is refused with one sentence."""
    try:
        return lifecycle.Settings(
            artifact_uri=cfg.get("artifactUri") or "",
            artifact_sha256=cfg.get("artifactSha256") or "",
            pip_requirement=cfg.get("pipRequirement") or "",
            prefix=cfg.get("prefix") or "", region=region, fallback_regions=replicas,
            kms_key_id=kms or "")
    except NbSecretsError as exc:
        raise pulumi.RunError(str(exc)) from None


def _trust(s: Settings, account: str) -> dict[str, Any]:
    """The role's trust policy, with the confused-deputy condition ``trustCondition`` asks."""
    statement: dict[str, Any] = dict(TRUST["Statement"][0])
    if s.trust_condition == "account":
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account}}
    elif s.trust_condition == "arn":
        statement["Condition"] = {"ArnLike": {
            "aws:SourceArn": f"arn:aws:sagemaker:{s.region}:{account}:*"}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def _b64(relative: str, settings: lifecycle.Settings) -> str:
    return base64.b64encode(lifecycle.script_text(relative, settings).encode()).decode()


def main() -> dict[str, Any]:
    """Declare the resources; export (and return) their ARNs and names, never a value."""
    cfg = pulumi.Config()
    s = settings(cfg)
    account = s.account or aws.get_caller_identity_output().account_id

    role = aws.iam.Role("notebook-role", name=s.role_name,
                        assume_role_policy=pulumi.Output.from_input(account).apply(
                            lambda a: json.dumps(_trust(s, a))),
                        managed_policy_arns=list(s.managed_policy_arns) or None)
    aws.iam.RolePolicy("notebook-policy", name=POLICY_NAME, role=role.id,
                       policy=pulumi.Output.from_input(account).apply(
                           lambda a: json.dumps(policy_document(s.options(a)))))
    aws.iam.RolePolicy("notebook-logs", name=LOGS_POLICY_NAME, role=role.id,
                       policy=pulumi.Output.from_input(account).apply(
                           lambda a: json.dumps(logs_policy_document(s.region, a))))

    lambda_arn, rotation_role = s.rotation_lambda_arn, None
    if s.rotation_code and s.rotated:
        lambda_arn, rotation_role = _rotation_function(s, account)
    # The rotation role reads and writes the values: exempt from the deny, as an admin role.
    readers_policy = pulumi.Output.all(role.arn, rotation_role).apply(lambda arns: json.dumps(
        resource_policy([arns[0], *s.consumer_roles],
                        [*s.admin_roles, *([arns[1]] if arns[1] else [])])))
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
        if lambda_arn and provider in s.rotated:
            aws.secretsmanager.SecretRotation(
                f"{provider}-rotation", secret_id=secret.id,
                rotation_lambda_arn=lambda_arn,
                rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                    automatically_after_days=s.rotation_days))
        secret_arns[provider], secret_names[provider] = secret.arn, secret.name

    extra: dict[str, Any] = {}
    if s.kind == "studio":
        # Immutable, and SageMaker refuses to delete one in use: named after the content, so
        # a new artifact is a new configuration (create before delete), and the old one is
        # retained (deleted later by `nbsecrets lifecycle --studio --prune`).
        content = _b64("studio/on-start.sh", s.install)
        made = {
            app_type: aws.sagemaker.StudioLifecycleConfig(
                "lifecycle" if app_type == "JupyterLab" else "lifecycle-code-editor",
                studio_lifecycle_config_name=studio.config_name(
                    s.lifecycle_name, app_type, content),
                studio_lifecycle_config_app_type=app_type,
                studio_lifecycle_config_content=content,
                opts=pulumi.ResourceOptions(retain_on_delete=True))
            for app_type in studio.APP_TYPES
        }
        lcc = made["JupyterLab"]
        lcc_name = lcc.studio_lifecycle_config_name
        extra = {"codeEditorLifecycleConfigArn": made["CodeEditor"].arn,
                 "codeEditorLifecycleConfigName":
                     made["CodeEditor"].studio_lifecycle_config_name}
    else:
        lcc = aws.sagemaker.NotebookInstanceLifecycleConfiguration(
            "lifecycle", name=s.lifecycle_name,
            on_create=_b64("notebook-instance/on-create.sh", s.install),
            on_start=_b64("notebook-instance/on-start.sh", s.install))
        lcc_name = lcc.name
    exports: dict[str, Any] = {
        "roleArn": role.arn, "roleName": role.name, "policyName": POLICY_NAME,
        "secretArns": secret_arns, "secretNames": secret_names,
        "lifecycleConfigArn": lcc.arn, "lifecycleConfigName": lcc_name, **extra,
    }
    if rotation_role is not None:
        exports["rotationFunctionArn"], exports["rotationRoleArn"] = lambda_arn, rotation_role
    if s.notebook_instance and s.kind == "instance":
        notebook = aws.sagemaker.NotebookInstance(
            "notebook", name=s.notebook_instance, instance_type=s.notebook_instance_type,
            role_arn=role.arn, lifecycle_config_name=lcc_name,
            platform_identifier=s.platform_identifier,
            instance_metadata_service_configuration=aws.sagemaker.
            NotebookInstanceInstanceMetadataServiceConfigurationArgs(
                minimum_instance_metadata_service_version="2"),
            direct_internet_access=s.direct_internet_access, subnet_id=s.subnet_id,
            security_groups=list(s.security_group_ids) or None)
        exports["notebookInstanceName"] = notebook.name
    for name, value in exports.items():
        pulumi.export(name, value)
    return exports


if __name__ == "__main__":
    main()
