"""The least-privilege IAM policy for a notebook role, and putting it on a role.

:func:`policy_document` is a pure function from :class:`PolicyOptions` to the policy JSON.
:func:`cloudformation_policy` gives the same policy for a template, with the region, account
and partition left to CloudFormation's pseudo parameters unless given.
:mod:`nbsecrets.admin.provision` puts it on a role.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from nbsecrets.admin.cfn import to_yaml
from nbsecrets.aws.admin_records import NAMESPACE
from nbsecrets.config import DEFAULT_PREFIX
from nbsecrets.errors import ConfigError
from nbsecrets.federation.settings import DEFAULT_AUDIENCES, DEFAULT_DURATION_S, FEDERATED
from nbsecrets.providers import Registry

if TYPE_CHECKING:
    from nbsecrets.config import Config

__all__ = [
    "ADMIN_PREFIX",
    "CLIENT_TAG_KEYS",
    "POLICY_NAME",
    "READ_ACTIONS",
    "WRITE_ACTIONS",
    "PolicyOptions",
    "cloudformation_policy",
    "cloudformation_yaml",
    "fn_sub",
    "partition_of",
    "policy_document",
    "policy_json",
    "primary_key_arn",
    "secret_arns",
    "token_statement",
]

POLICY_NAME = "nbsecrets"
READ_ACTIONS = ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")
# TagResource: CreateSecret with tags (as `%aikey --set` does) also needs it, on the new secret.
WRITE_ACTIONS = (
    "secretsmanager:PutSecretValue",
    "secretsmanager:TagResource",
    "secretsmanager:UpdateSecretVersionStage",
)
# The tag keys nbsecrets' clients write (`%aikey --set`, `nbsecrets set`, the scanner's
# fingerprint), and a notebook may set no other: not another nbsecrets: key (rotation once read
# its settings from such tags), and not e.g. "SageMaker" (AmazonSageMakerFullAccess grants
# GetSecretValue on every secret tagged SageMaker=true).
CLIENT_TAG_KEYS = ("nbsecrets:provider", "nbsecrets:managed", "nbsecrets:fingerprint")
TAG_KEYS_CONDITION = {"ForAllValues:StringEquals": {"aws:TagKeys": list(CLIENT_TAG_KEYS)}}
# The admin namespace: admin keys, rotation's settings and its records of minted keys. No
# notebook policy grants anything under it, and no notebook prefix may reach it.
ADMIN_PREFIX = NAMESPACE
# Secrets Manager appends "-" and six random characters to every secret's ARN. "-??????"
# matches exactly that suffix; "-*" would also match "{prefix}openai-extra-AbCdEf".
ARN_SUFFIX = "-??????"
_CFN_REGION, _CFN_ACCOUNT, _CFN_PARTITION = (
    "${AWS::Region}",
    "${AWS::AccountId}",
    "${AWS::Partition}",
)


def partition_of(region: str) -> str:
    """The ARN partition of ``region``: ``aws``, ``aws-cn`` or ``aws-us-gov``."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@dataclass(frozen=True)
class PolicyOptions:
    """What the policy grants.

    Attributes
    ----------
    region, account : str
        Where the secrets live. In :func:`cloudformation_policy` either may be None, to use
        ``${AWS::Region}`` / ``${AWS::AccountId}``.
    prefix : str
        The secret name prefix (``nbsecrets/``).
    providers : tuple[str, ...]
        Providers whose keys are readable; empty means every secret under the prefix.
        Aliases resolve to the provider's canonical name (``claude`` is ``anthropic``).
    kms_key_arn : str, optional
        The customer managed KMS key that encrypts the secrets; kms:Decrypt is granted on
        it alone, and only through Secrets Manager. ``REGION=ARN`` is accepted too.
    kms_key_arns : tuple[str, ...]
        More keys, ``ARN`` or ``REGION=ARN``: one per region (a replica in a fallback region
        is encrypted with a key of its own region). An alias ARN is refused: in Resource it
        never matches the key.
    allow_write : bool
        Also allow storing new values (``%aikey --set``) and rollback.
    list_secrets : bool
        Allow ListSecrets (``%aikey --list`` and the picker).
    fallback_regions : tuple[str, ...]
        Regions of replicas that reads fail over to: their ARNs are granted too.
    install_artifact : str, optional
        ``s3://BUCKET/KEY`` of the pinned install artifact; s3:GetObject on that object only.
    secrets_account : str, optional
        The account that holds the secrets, when not the role's own (cross-account): the
        secret ARNs name it, and a customer managed ``kms_key_arn`` is required.
    federated : tuple[str, ...]
        Keyless providers, ``PROVIDER`` or ``PROVIDER=AUDIENCE`` (default audience: the
        provider's, as ``nbsecrets federate`` sets it up), normalised to
        ``PROVIDER=AUDIENCE``: sts:GetWebIdentityToken is granted for exactly those audiences
        (``ForAllValues:StringEquals sts:IdentityTokenAudience``). When ``providers`` names
        keys, the federated providers' secrets (which hold their settings) are added to them.
    token_duration_s : int
        The longest JWT lifetime the role may ask of STS (``NumericLessThanEquals
        sts:DurationSeconds``), 60-3600, default 300: at least each provider's
        ``duration_seconds``.
    """

    region: str | None
    account: str | None
    prefix: str = DEFAULT_PREFIX
    providers: tuple[str, ...] = ()
    kms_key_arn: str | None = None
    allow_write: bool = False
    list_secrets: bool = True
    partition: str | None = None  # default: from the region
    fallback_regions: tuple[str, ...] = ()
    kms_key_arns: tuple[str, ...] = ()
    install_artifact: str | None = None
    secrets_account: str | None = None  # default: account
    federated: tuple[str, ...] = ()
    token_duration_s: int = DEFAULT_DURATION_S

    def __post_init__(self) -> None:
        if not self.prefix or any(c in self.prefix for c in "*?"):
            raise ConfigError(
                f"The prefix {self.prefix!r} must be a plain, non-empty name start "
                "such as nbsecrets/."
            )
        if not self.prefix.endswith("/"):
            raise ConfigError(
                f"The prefix {self.prefix!r} must end in '/' ({self.prefix!r} "
                f"would also cover {self.prefix + 'x/...'!r}); use "
                f"{self.prefix + '/'!r}."
            )
        if self.prefix.startswith(ADMIN_PREFIX):
            raise ConfigError(
                f"The prefix {self.prefix!r} is in the admin namespace {ADMIN_PREFIX} (admin "
                "keys and rotation's records), which no notebook role may reach; use "
                "a prefix of its own such as nbsecrets/."
            )
        federated = tuple(dict.fromkeys(_federated(f) for f in self.federated))
        object.__setattr__(self, "federated", federated)
        names = tuple(dict.fromkeys(Registry().get(p).name for p in self.providers))
        if names:  # the federated providers' secrets hold their settings: readable too
            names = tuple(dict.fromkeys(names + tuple(f.split("=", 1)[0] for f in federated)))
        object.__setattr__(self, "providers", names)
        duration = self.token_duration_s
        if (
            isinstance(duration, bool)
            or not isinstance(duration, int)
            or not 60 <= duration <= 3600
        ):
            raise ConfigError(
                f"--token-duration takes seconds from 60 to 3600 (what STS vends), not "
                f"{duration!r}."
            )
        keys = ((self.kms_key_arn,) if self.kms_key_arn else ()) + tuple(self.kms_key_arns)
        object.__setattr__(
            self, "kms_key_arns", tuple(dict.fromkeys("=".join(_key_arn(k)) for k in keys))
        )  # normalized: "REGION=ARN"
        regions = tuple(dict.fromkeys(r.strip() for r in self.fallback_regions if r.strip()))
        object.__setattr__(self, "fallback_regions", tuple(r for r in regions if r != self.region))
        if self.install_artifact is not None and (
            not self.install_artifact.startswith("s3://")
            or "/" not in self.install_artifact[5:].strip("/")
        ):
            raise ConfigError(
                f"The install artifact {self.install_artifact!r} must be "
                "s3://BUCKET/KEY of one object."
            )
        if self.secrets_account is not None and self.secrets_account != self.account:
            if not (self.secrets_account.isdigit() and len(self.secrets_account) == 12):
                raise ConfigError(
                    f"--secrets-account takes a 12-digit account ID, not {self.secrets_account!r}."
                )
            if self.allow_write:
                raise ConfigError(
                    f"--allow-write does not reach keys in account {self.secrets_account}: "
                    "their resource policy grants other accounts reads only, so store "
                    "and rotate them there (drop --allow-write here)."
                )
            if not self.kms_key_arns:
                raise ConfigError(
                    "Keys read from another account must be encrypted with a "
                    "customer managed KMS key (the AWS managed key cannot be shared);"
                    " pass --kms-key-arn with that key's ARN."
                )

    @classmethod
    def resolve(
        cls,
        *,
        region: str | None = None,
        account: str | None = None,
        prefix: str | None = None,
        providers: Iterable[str] = (),
        kms_key_arns: Iterable[str] = (),
        allow_write: bool = False,
        list_secrets: bool = True,
        secrets_account: str | None = None,
        install_artifact: str | None = None,
        fallback_regions: Iterable[str] | None = None,
        federated: Iterable[str] = (),
        token_duration_s: int | None = None,
        defaults: Config | None = None,
        need_ids: bool = False,
    ) -> PolicyOptions:
        """The options every deploy path uses: ``nbsecrets policy`` and ``provision``,
        ``nbsecrets lifecycle --template`` and the Pulumi program.

        Parameters
        ----------
        region, account, prefix, providers, kms_key_arns, allow_write, list_secrets,
        secrets_account, install_artifact, fallback_regions, federated, token_duration_s
            As given by the admin; None (or nothing) takes the default.
        defaults : Config, optional
            Where a missing prefix and fallback regions come from (the CLI passes the loaded
            configuration); without it, the package's defaults (``nbsecrets/``, none).
        need_ids : bool
            Resolve a missing region and account from the AWS credentials (region chain,
            STS GetCallerIdentity); otherwise they stay None, for a template to fill in.

        An ARN prefix (``arn:aws:secretsmanager:R:ID:secret:team/``, keys in another account)
        gives the region, the secrets account and the name prefix, unless given.

        Raises
        ------
        ConfigError
            If an option is malformed, or ``need_ids`` and the region or account cannot be
            resolved (the message says which option to pass).
        """
        from nbsecrets.config import arn_prefix

        federated = tuple(federated)

        if prefix is None:
            prefix = defaults.prefix if defaults is not None else DEFAULT_PREFIX
        if fallback_regions is None:
            fallback_regions = defaults.fallback_regions if defaults is not None else ()
        if parts := arn_prefix(prefix):  # keys in another account: its region, account, names
            region, secrets_account, prefix = (
                region or parts[0],
                secrets_account or parts[1],
                parts[2],
            )
        if token_duration_s is not None and not federated:
            raise ConfigError(
                "--token-duration goes with --federated PROVIDER; add one or drop it."
            )
        if need_ids and not (region and account):
            region, account = _resolve_ids(region, account, defaults)
        return cls(
            region=region,
            account=account,
            prefix=prefix,
            providers=tuple(providers),
            kms_key_arns=tuple(kms_key_arns),
            allow_write=allow_write,
            list_secrets=list_secrets,
            secrets_account=secrets_account,
            install_artifact=install_artifact,
            fallback_regions=tuple(fallback_regions),
            federated=federated,
            token_duration_s=DEFAULT_DURATION_S if token_duration_s is None else token_duration_s,
        )

    @property
    def audiences(self) -> tuple[str, ...]:
        """The audiences of the federated providers, each once, in order."""
        return tuple(dict.fromkeys(f.split("=", 1)[1] for f in self.federated))

    @property
    def primary_kms_key(self) -> str:
        """The key ARN of the primary region (given without ``REGION=``, and not naming a
        fallback region), or ""."""
        return next((arn for r, arn in _region_keys(self) if r == str(self.region)), "")


def _federated(entry: str) -> str:
    """``PROVIDER=AUDIENCE`` from ``PROVIDER`` (its default audience) or ``PROVIDER=AUDIENCE``."""
    name, sep, audience = entry.partition("=")
    try:
        provider = Registry().get(name.strip()).name
    except ConfigError:
        provider = name.strip()
    if provider not in FEDERATED:
        raise ConfigError(
            f"--federated takes {' or '.join(FEDERATED)} (optionally =AUDIENCE), not {entry!r}."
        )
    audience = audience.strip() if sep else DEFAULT_AUDIENCES[provider]
    if not audience or any(c in audience for c in "*?$,") or len(audience) > 1000:
        raise ConfigError(
            f"--federated {entry!r}: the audience must be the exact value the provider's issuer "
            "expects (no wildcards or commas, at most 1000 characters), e.g. "
            f"{DEFAULT_AUDIENCES[provider]}."
        )
    return f"{provider}={audience}"


def token_statement(audiences: Any, duration_s: Any) -> dict[str, Any]:
    """The one grant of sts:GetWebIdentityToken: only for ``audiences`` (every audience asked
    must be one of them, and one must be asked) and a lifetime of at most ``duration_s``.

    ``ForAllValues`` (not ``ForAnyValue``, which allows extra audiences beside one listed) with
    a ``Null`` guard (``ForAllValues`` holds vacuously when no audience is in the request). A
    request without DurationSeconds has no ``sts:DurationSeconds`` and fails the numeric test,
    so it is denied; nbsecrets always sends it. A template passes ``Ref`` values.
    """
    return {
        "Sid": "FederatedTokens",
        "Effect": "Allow",
        "Action": "sts:GetWebIdentityToken",
        "Resource": "*",
        "Condition": {
            "ForAllValues:StringEquals": {"sts:IdentityTokenAudience": audiences},
            "Null": {"sts:IdentityTokenAudience": "false"},
            "NumericLessThanEquals": {"sts:DurationSeconds": duration_s},
        },
    }


def _resolve_ids(region: str | None, account: str | None, config: Config | None) -> tuple[str, str]:
    """The region and account of the credentials in use, where not given."""
    from nbsecrets.aws.store import Store
    from nbsecrets.config import Config
    from nbsecrets.errors import NbSecretsError

    store = Store(config or Config.load())
    if not region:
        try:
            region = store.region
        except NbSecretsError:
            raise ConfigError(
                "Cannot resolve the AWS region for the policy; pass --region R (or set AWS_REGION)."
            ) from None
    if not account:
        account = store.account()
        if not account:
            raise ConfigError(
                "Cannot resolve the AWS account ID (STS GetCallerIdentity failed: no or "
                "invalid credentials); pass --account ID, or use --format cloudformation, "
                "which leaves it to ${AWS::AccountId}."
            )
    return region, account


def primary_key_arn(entries: Iterable[str]) -> str:
    """The KMS key ARN among ``entries`` (``ARN`` or ``REGION=ARN``) given without a region:
    the primary region's key, as the lifecycle scripts' ``KMS_KEY_ID``; "" if none.

    Raises
    ------
    ConfigError
        If an entry is not a key ARN.
    """
    return next((arn for region, arn in map(_key_arn, entries) if not region), "")


def _region_keys(opts: PolicyOptions) -> list[tuple[str, str]]:
    """``(region, key ARN)`` for each key: the region given as ``REGION=``; else the region its
    ARN names when that is a fallback region (a replica's key); else the primary region."""
    out = []
    for region, _, arn in (k.partition("=") for k in opts.kms_key_arns):
        named = arn.split(":")[3]
        out.append((region or (named if named in opts.fallback_regions else str(opts.region)), arn))
    return out


def _key_arn(entry: str) -> tuple[str, str]:
    """``(region, key ARN)`` from ``ARN`` (region "": the primary's) or ``REGION=ARN``."""
    region, _, arn = (
        entry.rpartition("=") if "=" in entry and not entry.startswith("arn:") else ("", "", entry)
    )
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "kms":
        raise ConfigError(
            f"--kms-key-arn takes a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), "
            f"optionally as REGION=ARN, not {entry!r}."
        )
    if parts[5].startswith("alias/"):
        raise ConfigError(
            f"{arn} is an alias ARN, which in a policy's Resource never matches "
            "the key; give the key ARN (aws kms describe-key --key-id ALIAS)."
        )
    key_region = parts[3]
    if region and key_region and "${" not in key_region and region != key_region:
        raise ConfigError(
            f"{entry}: the key is in {key_region}, not {region}; give each "
            "region its own key as REGION=ARN."
        )
    return (region, arn)  # no region: the primary region's key


def secret_arns(opts: PolicyOptions) -> list[str]:
    """The secret ARN patterns the policy reads: one per provider, or the whole prefix."""
    account = opts.secrets_account or opts.account
    if not opts.region or not account:
        raise ConfigError(
            "The policy needs a region and an account ID; pass --region and --account."
        )
    partition = opts.partition or partition_of(opts.region)
    base = f"arn:{partition}:secretsmanager:{opts.region}:{account}:secret:{opts.prefix}"
    if not opts.providers:
        return [base + "*"]
    return [f"{base}{p}{ARN_SUFFIX}" for p in opts.providers]


def policy_document(opts: PolicyOptions) -> dict[str, Any]:
    """The least-privilege identity policy for ``opts``.

    Reads: GetSecretValue and DescribeSecret on the secret ARNs, BatchGetSecretValue on ``*``
    (it has no resource type; each secret is still checked against GetSecretValue),
    ListSecrets on ``*`` unless ``list_secrets`` is off, kms:Decrypt on the named key through
    Secrets Manager only. With ``allow_write``: PutSecretValue, UpdateSecretVersionStage and
    TagResource (which CreateSecret with tags needs) on the same ARNs, and CreateSecret only
    for those names (condition ``secretsmanager:Name``). With ``federated``:
    sts:GetWebIdentityToken for those audiences and lifetime only (:func:`token_statement`).

    Raises
    ------
    ConfigError
        If the region or account is missing, or an option is malformed.
    """
    arns = secret_arns(opts)
    primary = f":secretsmanager:{opts.region}:"
    for region in opts.fallback_regions:  # a replica keeps the name and suffix: same ARN
        arns = arns + [
            a.replace(primary, f":secretsmanager:{region}:", 1) for a in secret_arns(opts)
        ]
    statements: list[dict[str, Any]] = [
        {"Sid": "ReadKeys", "Effect": "Allow", "Action": list(READ_ACTIONS), "Resource": arns},
        # BatchGetSecretValue has no resource type: AWS documents Resource "*" for it.
        {
            "Sid": "BatchReadKeys",
            "Effect": "Allow",
            "Action": "secretsmanager:BatchGetSecretValue",
            "Resource": "*",
        },
    ]
    if opts.list_secrets:
        statements.append(
            {
                "Sid": "ListKeys",
                "Effect": "Allow",
                "Action": "secretsmanager:ListSecrets",
                "Resource": "*",
            }
        )
    region_keys = _region_keys(opts)
    # One statement per region: a key is used only by its own region's Secrets Manager (a
    # replica's key by the replica's region, for failover reads), never through another's.
    for region in dict.fromkeys(r for r, _ in region_keys):
        keys = list(dict.fromkeys(arn for r, arn in region_keys if r == region))
        statements.append(
            {
                "Sid": "DecryptKeys" + ("" if region == opts.region else _sid_suffix(region)),
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": _one(keys),
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
                },
            }
        )
    if opts.allow_write:
        names = (
            [f"{opts.prefix}{p}" for p in opts.providers] if opts.providers else [f"{opts.prefix}*"]
        )
        primary_arns = secret_arns(opts)  # writes go to the primary region only
        statements.append(
            {
                "Sid": "WriteKeys",
                "Effect": "Allow",
                "Action": [a for a in WRITE_ACTIONS if not a.endswith("TagResource")],
                "Resource": primary_arns,
            }
        )
        statements.append(
            {
                "Sid": "TagKeys",
                "Effect": "Allow",
                "Action": "secretsmanager:TagResource",
                "Resource": primary_arns,
                "Condition": TAG_KEYS_CONDITION,
            }
        )
        own = [arn for r, arn in region_keys if r == opts.region]
        create: dict[str, Any] = {
            "StringLike": {"secretsmanager:Name": names},
            **TAG_KEYS_CONDITION,
        }
        if own:  # a new secret under aws/secretsmanager would escape the key's policy
            create["ArnEquals"] = {"secretsmanager:KmsKeyArn": _one(own)}
        statements.append(
            {
                "Sid": "CreateKeys",
                "Effect": "Allow",
                "Action": "secretsmanager:CreateSecret",
                "Resource": primary_arns,
                "Condition": create,
            }
        )
        if own:
            statements.append(
                {
                    "Sid": "EncryptNewValues",
                    "Effect": "Allow",
                    "Action": "kms:GenerateDataKey",
                    "Resource": _one(own),
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": f"secretsmanager.{opts.region}.amazonaws.com"
                        }
                    },
                }
            )
    if opts.install_artifact:
        bucket_key = opts.install_artifact[len("s3://") :]
        partition = opts.partition or partition_of(opts.region or "")
        statements.append(
            {
                "Sid": "ReadInstallArtifact",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"arn:{partition}:s3:::{bucket_key}",
            }
        )
    if opts.federated:  # last, as the template appends its conditional copy
        statements.append(token_statement(list(opts.audiences), str(opts.token_duration_s)))
    return {"Version": "2012-10-17", "Statement": statements}


def _sid_suffix(region: str) -> str:
    """``us-west-2`` as ``UsWest2``, for a Sid (letters and digits only)."""
    return "".join(
        part.capitalize() for part in region.replace("$", "").split("-") if part.isalnum()
    )


def _one(items: list[str]) -> str | list[str]:
    return items[0] if len(items) == 1 else items


def policy_json(opts: PolicyOptions) -> str:
    """:func:`policy_document` as indented JSON text."""
    return json.dumps(policy_document(opts), indent=2)


def cloudformation_policy(opts: PolicyOptions) -> dict[str, Any]:
    """The policy for a CloudFormation template.

    A region or account left as None becomes ``${AWS::Region}`` / ``${AWS::AccountId}``, the
    partition ``${AWS::Partition}``, and every string using them is wrapped in ``Fn::Sub``.
    """
    cfn = replace(
        opts,
        region=opts.region or _CFN_REGION,
        account=opts.account or _CFN_ACCOUNT,
        partition=opts.partition or (partition_of(opts.region) if opts.region else _CFN_PARTITION),
    )
    return fn_sub(policy_document(cfn))


def fn_sub(value: Any, *, partition_arns: bool = False) -> Any:
    """``value`` for a template: strings with ``${...}`` become ``Fn::Sub``.

    ``partition_arns`` also puts ``${AWS::Partition}`` in the ``arn:aws:`` ARNs of those
    strings (for documents written with literal ARNs rather than through PolicyOptions).
    """
    if isinstance(value, dict):
        return {k: fn_sub(v, partition_arns=partition_arns) for k, v in value.items()}
    if isinstance(value, list):
        return [fn_sub(v, partition_arns=partition_arns) for v in value]
    if isinstance(value, str) and "${" in value:
        if partition_arns:
            value = value.replace("arn:aws:", "arn:${AWS::Partition}:")
        return {"Fn::Sub": value}
    return value


def cloudformation_yaml(opts: PolicyOptions, indent: int = 0) -> str:
    """A ``Policies:`` entry for an ``AWS::IAM::Role``, as YAML, ready to paste."""
    entry = {"PolicyName": POLICY_NAME, "PolicyDocument": cloudformation_policy(opts)}
    return to_yaml({"Policies": [entry]}, indent)
