"""lifecycle-config/pulumi run offline with Pulumi's unit-test mocks: no Pulumi CLI, no
account. What it declares for several configurations, its role policy equal to
`nbsecrets policy` (and to template.yaml's: the three deploy paths grant the same), its
resource policies under the evaluator and parliament, and no key value in clear anywhere.

pulumi_aws is large and slow to import: it is imported once, here, for the whole module.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest

from nbsecrets import cli
from nbsecrets.admin import lifecycle
from nbsecrets.admin.policy import PolicyOptions, policy_document
from nbsecrets.admin.resource_policy import broad_principals, decide, resource_policy
from nbsecrets.admin.template import template_text

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "lifecycle-config" / "pulumi" / "__main__.py"
ACCOUNT, R = "123456789012", "us-east-1"
KEY_VALUE = "sk-pulumi-secret-0123456789abcdefghijklmnop"
KMS = f"arn:aws:kms:{R}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KMS_WEST = KMS.replace(R, "us-west-2")
CONSUMER = "arn:aws:iam::111122223333:role/analyst"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/admin"
ROTATION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/nbsecrets-rotation"
LAMBDA = f"arn:aws:lambda:{R}:{ACCOUNT}:function:nbsecrets-rotation"
SECRET_SIG = pulumi.runtime.rpc._special_secret_sig
SIG_KEY = pulumi.runtime.rpc._special_sig_key


class Mocks(pulumi.runtime.Mocks):
    """Answers like AWS would, with ARNs built from names; records every resource."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        self.calls: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        self.resources.append(args)
        state = dict(args.inputs)
        name = args.inputs.get("name") or args.name
        if args.typ == "aws:iam/role:Role":
            state["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{name}"
        elif args.typ == "aws:secretsmanager/secret:Secret":
            state["arn"] = f"arn:aws:secretsmanager:{R}:{ACCOUNT}:secret:{name}-AbCdEf"
        else:
            state.setdefault("arn", f"arn:aws:mock:{R}:{ACCOUNT}:{args.typ}/{args.name}")
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        self.calls.append(args.token)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/admin",
                "userId": "AIDAEXAMPLE",
                "id": ACCOUNT,
            }
        return {}


def _load_program() -> Any:
    spec = importlib.util.spec_from_file_location("nbsecrets_pulumi_program", PROGRAM)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


program = _load_program()


def run(
    config: dict[str, Any], secrets: dict[str, str] | None = None
) -> tuple[Mocks, dict[str, Any]]:
    """Run the program under mocks with this stack config; return the mocks and the
    resolved exports."""
    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, project="nbsecrets", stack="test", preview=False)
    values = {
        f"nbsecrets:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()
    }
    values.update({f"nbsecrets:{k}": v for k, v in (secrets or {}).items()})
    values.setdefault("aws:region", R)
    pulumi.runtime.set_all_config(values, [f"nbsecrets:{k}" for k in (secrets or {})])
    exported: dict[str, Any] = {}

    @pulumi.runtime.test
    def go():
        exports = program.main()
        return pulumi.Output.from_input(exports).apply(exported.update)

    go()
    return mocks, exported


def of_type(mocks: Mocks, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
    return [r for r in mocks.resources if r.typ == typ]


def unwrap(value: Any) -> Any:
    if isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG:
        return unwrap(value["value"])
    return value


def clear_strings(value: Any) -> list[str]:
    """Every string in ``value`` that is not inside a Pulumi secret."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return []
        return [s for k, v in value.items() for s in (k, *clear_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in clear_strings(v)]
    return [value] if isinstance(value, str) else []


def cli_policy(*args: str, capsys) -> dict[str, Any]:
    assert cli.main(["policy", "--region", R, "--account", ACCOUNT, *args]) == 0
    return json.loads(capsys.readouterr().out)


# -- configurations ---------------------------------------------------------------------------

CONFIGS = {
    "instance": ({"providers": ["openai", "anthropic"]}, ()),
    "studio, KMS, write, no list": (
        {
            "providers": "openai",
            "notebookKind": "studio",
            "kmsKeyArn": KMS,
            "allowWrite": "true",
            "listSecrets": "false",
            "prefix": "team/",
        },
        (
            "--provider",
            "openai",
            "--kms-key-arn",
            KMS,
            "--allow-write",
            "--no-list",
            "--prefix",
            "team/",
        ),
    ),
    "rotation, consumers, replicas, notebook": (
        {
            "providers": ["openai"],
            "rotationLambdaArn": LAMBDA,
            "rotationRoleArn": ROTATION_ROLE,
            "consumerRoles": [CONSUMER],
            "adminRoles": [ADMIN],
            "replicaRegions": ["us-west-2"],
            "kmsKeyArn": KMS,
            "replicaKmsKeyArns": {"us-west-2": KMS.replace(R, "us-west-2")},
            "notebookInstanceName": "my-notebook",
        },
        (
            "--provider",
            "openai",
            "--kms-key-arn",
            KMS,
            "--fallback-region",
            "us-west-2",
            "--kms-key-arn",
            f"us-west-2={KMS.replace(R, 'us-west-2')}",
        ),
    ),
}


@pytest.mark.parametrize("case", list(CONFIGS))
def test_resources_and_role_policy_equal_the_cli(case, capsys):
    config, cli_args = CONFIGS[case]
    mocks, exports = run(config, {"openaiApiKey": KEY_VALUE})
    providers = (
        [config["providers"]] if isinstance(config["providers"], str) else config["providers"]
    )
    prefix = config.get("prefix", "nbsecrets/")
    # The role: trusted by SageMaker, one inline policy equal to `nbsecrets policy`.
    [role] = of_type(mocks, "aws:iam/role:Role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    inline, logs = sorted(
        of_type(mocks, "aws:iam/rolePolicy:RolePolicy"), key=lambda r: r.inputs["name"]
    )
    assert (inline.inputs["name"], logs.inputs["name"]) == ("nbsecrets", "nbsecrets-lifecycle-logs")
    [logs_statement] = json.loads(logs.inputs["policy"])["Statement"]
    assert (
        f"arn:aws:logs:{R}:{ACCOUNT}:log-group:/aws/sagemaker/NotebookInstances"
        in (logs_statement["Resource"])
    )
    if not cli_args:  # every key under the prefix, as the CLI gives with no --provider
        cli_args = tuple(a for p in providers for a in ("--provider", p))
    assert json.loads(inline.inputs["policy"]) == cli_policy(*cli_args, capsys=capsys)
    # One secret, one resource policy per provider; a value only where one was configured.
    secrets = of_type(mocks, "aws:secretsmanager/secret:Secret")
    # Pulumi registers resources asynchronously: their order is not the program's.
    assert sorted(s.inputs["name"] for s in secrets) == sorted(f"{prefix}{p}" for p in providers)
    assert all(s.inputs["tags"]["nbsecrets:managed"] == "true" for s in secrets)
    policies = of_type(mocks, "aws:secretsmanager/secretPolicy:SecretPolicy")
    assert len(policies) == len(providers)
    assert all(p.inputs["blockPublicPolicy"] is True for p in policies)
    versions = of_type(mocks, "aws:secretsmanager/secretVersion:SecretVersion")
    assert len(versions) == ("openai" in providers)
    # The lifecycle configuration carries the package's scripts.
    if config.get("notebookKind") == "studio":
        lcc, code = of_type(mocks, "aws:sagemaker/studioLifecycleConfig:StudioLifecycleConfig")
        if lcc.inputs["studioLifecycleConfigAppType"] != "JupyterLab":
            lcc, code = code, lcc
        assert code.inputs["studioLifecycleConfigAppType"] == "CodeEditor"
        assert (
            code.inputs["studioLifecycleConfigContent"]
            == lcc.inputs["studioLifecycleConfigContent"]
        )
        import base64

        text = base64.b64decode(lcc.inputs["studioLifecycleConfigContent"]).decode()
        # The package's script, with the stack's settings in its settings block.
        assert text == lifecycle.script_text(
            "studio/on-start.sh",
            lifecycle.Settings(prefix=prefix, region=R, kms_key_id=config.get("kmsKeyArn", "")),
        )
    else:
        [lcc] = of_type(
            mocks,
            "aws:sagemaker/notebookInstanceLifecycleConfiguration:"
            "NotebookInstanceLifecycleConfiguration",
        )
        assert set(lcc.inputs) >= {"onCreate", "onStart"}
    assert exports["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/nbsecrets-notebook"
    assert exports["secretNames"] == {p: f"{prefix}{p}" for p in providers}


def test_rotation_consumers_replicas_and_notebook():
    mocks, exports = run(CONFIGS["rotation, consumers, replicas, notebook"][0])
    [rotation] = of_type(mocks, "aws:secretsmanager/secretRotation:SecretRotation")
    assert rotation.inputs["rotationLambdaArn"] == LAMBDA
    assert rotation.inputs["rotationRules"]["automaticallyAfterDays"] == 30
    [secret] = of_type(mocks, "aws:secretsmanager/secret:Secret")
    assert secret.inputs["replicas"] == [
        {"region": "us-west-2", "kmsKeyId": KMS.replace(R, "us-west-2")}
    ]
    assert secret.inputs["kmsKeyId"] == KMS
    [notebook] = of_type(mocks, "aws:sagemaker/notebookInstance:NotebookInstance")
    assert notebook.inputs["roleArn"] == exports["roleArn"]
    assert exports["notebookInstanceName"] == "my-notebook"
    [policy] = of_type(mocks, "aws:secretsmanager/secretPolicy:SecretPolicy")
    assert json.loads(policy.inputs["policy"]) == resource_policy(
        [exports["roleArn"], CONSUMER], [ADMIN, ROTATION_ROLE]
    )
    # No value configured: no secret version at all (store it later with `nbsecrets set`).
    assert of_type(mocks, "aws:secretsmanager/secretVersion:SecretVersion") == []


def test_no_rotation_without_a_lambda():
    mocks, _ = run({"providers": ["openai"]})
    assert of_type(mocks, "aws:secretsmanager/secretRotation:SecretRotation") == []
    mocks, _ = run({"providers": ["openai"], "rotationLambdaArn": LAMBDA, "rotationDays": "7"})
    [rotation] = of_type(mocks, "aws:secretsmanager/secretRotation:SecretRotation")
    assert rotation.inputs["rotationRules"]["automaticallyAfterDays"] == 7


ARTIFACT = "s3://team-artifacts/nbsecrets/nbsecrets-wheelhouse-0.1.0-0123456789ab.tar.gz"
WHEEL = "s3://team-artifacts/nbsecrets/0123456789ab/nbsecrets-0.1.0-py3-none-any.whl"


def test_rotation_lambda_from_the_pinned_wheel(capsys):
    """rotationCodeUri (the WHEEL_URI `nbsecrets artifact` prints) makes the stack create the
    Lambda as template.yaml does; only keys the Lambda can mint get a schedule."""
    from nbsecrets.admin.ops_policy import rotation_policy_document

    mocks, exports = run(
        {
            "providers": ["openai", "anthropic"],
            "rotationCodeUri": WHEEL,
            "rotationGraceDays": "0",
            "openaiProjectId": "proj_abc",
            "kmsKeyArn": KMS,
        }
    )
    [function] = of_type(mocks, "aws:lambda/function:Function")
    assert (function.inputs["s3Bucket"], function.inputs["s3Key"]) == (
        "team-artifacts",
        "nbsecrets/0123456789ab/nbsecrets-0.1.0-py3-none-any.whl",
    )
    assert function.inputs["handler"] == "nbsecrets.rotation.handler"
    assert function.inputs["runtime"] == "python3.12"
    assert function.inputs["environment"]["variables"] == {
        "NBSECRETS_ROTATION_GRACE_DAYS": "0",
        "NBSECRETS_OPENAI_PROJECT_ID": "proj_abc",
    }
    # Its role: trusted by Lambda, the rotation policy for the openai secret only.
    roles = {r.name: r for r in of_type(mocks, "aws:iam/role:Role")}
    trust = json.loads(roles["rotation-role"].inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    policies = {r.name: r for r in of_type(mocks, "aws:iam/rolePolicy:RolePolicy")}
    assert json.loads(policies["rotation-policy"].inputs["policy"]) == rotation_policy_document(
        region=R,
        account=ACCOUNT,
        secrets=["nbsecrets/openai"],
        function_name="nbsecrets-notebook-rotation",
        kms_key_arn=KMS,
    )
    # Only openai rotates (anthropic keys cannot be minted: `nbsecrets rotate anthropic`).
    [rotation] = of_type(mocks, "aws:secretsmanager/secretRotation:SecretRotation")
    assert rotation.name == "openai-rotation"
    assert rotation.inputs["rotationLambdaArn"] == exports["rotationFunctionArn"]
    invoke = {p.name: p.inputs for p in of_type(mocks, "aws:lambda/permission:Permission")}
    assert invoke["rotation-invoke"]["principal"] == "secretsmanager.amazonaws.com"
    assert invoke["rotation-invoke"]["sourceAccount"] == ACCOUNT
    assert invoke["revoke-invoke"]["principal"] == "events.amazonaws.com"
    [target] = of_type(mocks, "aws:cloudwatch/eventTarget:EventTarget")
    assert json.loads(target.inputs["input"]) == {
        "SecretId": "nbsecrets/openai",
        "Step": "revokePrevious",
    }
    # The rotation role is exempt from the resource policies' deny, as an admin role.
    rotation_role = f"arn:aws:iam::{ACCOUNT}:role/rotation-role"
    assert exports["rotationRoleArn"] == rotation_role
    for put in of_type(mocks, "aws:secretsmanager/secretPolicy:SecretPolicy"):
        assert json.loads(put.inputs["policy"]) == resource_policy(
            [exports["roleArn"]], [rotation_role]
        )
    # The notebook role's policy is unchanged by rotation: still the CLI's.
    assert json.loads(policies["notebook-policy"].inputs["policy"]) == cli_policy(
        "--provider", "openai", "--provider", "anthropic", "--kms-key-arn", KMS, capsys=capsys
    )


def test_mintable_providers_are_the_rotation_packages():
    from nbsecrets.rotation.steps import PROVIDERS

    assert program.MINTABLE == tuple(p for p, cls in PROVIDERS.items() if cls.can_mint)


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"rotationCodeUri": WHEEL, "rotationLambdaArn": LAMBDA}, "not both"),
        ({"rotationCodeUri": ARTIFACT}, "the WHEEL_URI that `nbsecrets artifact` prints"),
        ({"rotationCodeUri": "https://example.com/x.whl"}, "is not an S3 location"),
        ({"rotationCodeUri": WHEEL, "providers": ["anthropic"]}, "nbsecrets rotate anthropic"),
    ],
)
def test_bad_rotation_settings_are_one_sentence(config, words):
    with pytest.raises(Exception, match=words.replace(".", r"\.").replace("`", ".")):
        run({"providers": ["openai"], **config})


# -- the resource policy ----------------------------------------------------------------------


def test_resource_policy_under_the_evaluator_and_parliament():
    mocks, exports = run({"providers": ["openai"], "adminRoles": [ADMIN]})
    [put] = of_type(mocks, "aws:secretsmanager/secretPolicy:SecretPolicy")
    doc = json.loads(put.inputs["policy"])
    secret = f"arn:aws:secretsmanager:{R}:{ACCOUNT}:secret:nbsecrets/openai-AbCdEf"
    get = "secretsmanager:GetSecretValue"
    broad = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}],
    }
    assert decide(doc, exports["roleArn"], get, secret).allowed
    assert decide(doc, ADMIN, get, secret, [broad]).allowed
    assert not decide(doc, f"arn:aws:iam::{ACCOUNT}:role/other", get, secret, [broad]).allowed
    assert not decide(doc, "arn:aws:iam::999988887777:role/x", get, secret, [broad]).allowed
    assert broad_principals(doc) == []  # nothing lets in '*' or a whole account
    from parliament import analyze_policy_string

    found = analyze_policy_string(json.dumps(doc), include_community_auditors=True).findings
    assert [f.issue for f in found if f.issue != "RESOURCE_STAR"] == []


# -- values -----------------------------------------------------------------------------------


def test_no_value_in_clear_anywhere():
    mocks, exports = run(
        {"providers": ["openai", "anthropic"]},
        {"openaiApiKey": KEY_VALUE, "anthropicApiKey": KEY_VALUE[::-1]},
    )
    versions = of_type(mocks, "aws:secretsmanager/secretVersion:SecretVersion")
    assert len(versions) == 2
    # The value reaches AWS (it is the secret's value) but only as a Pulumi secret ...
    assert sorted(unwrap(v.inputs["secretString"]) for v in versions) == sorted(
        [KEY_VALUE, KEY_VALUE[::-1]]
    )
    for v in versions:
        assert v.inputs["secretString"][SIG_KEY] == SECRET_SIG
    # ... and nowhere else in clear: no input of any resource, no export.
    for value in (KEY_VALUE, KEY_VALUE[::-1], KEY_VALUE[5:17]):
        for r in mocks.resources:
            assert not [s for s in clear_strings(r.inputs) if value in s], r.typ
        assert value not in json.dumps(exports)


def test_plain_text_value_is_refused():
    with pytest.raises(Exception, match="pulumi config set --secret openaiApiKey"):
        run({"providers": ["openai"], "openaiApiKey": KEY_VALUE})


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({}, "Name the keys to create"),
        ({"providers": ["openai"], "notebookKind": "domain"}, "instance or studio"),
        ({"providers": ["openai"], "consumerRoles": ["111122223333"]}, "takes a role ARN"),
        (
            {"providers": ["openai"], "kmsKeyArn": KMS, "replicaRegions": ["us-west-2"]},
            "replicaKmsKeyArns.us-west-2",
        ),
        ({"providers": ["openai"], "kmsKeyArn": "alias/mine"}, "--kms-key-arn takes a key ARN"),
        ({"providers": ["openai"], "consumerRoles": [CONSUMER]}, "set kmsKeyArn"),
        ({"providers": ["openai"], "pipRequirement": "nbsecrets"}, "must pin a version and a hash"),
        (
            {"providers": ["openai"], "artifactUri": "s3://team-artifacts/x.tar.gz"},
            "needs its sha256",
        ),
    ],
)
def test_bad_settings_are_one_sentence(config, words):
    with pytest.raises(Exception, match=words.replace(".", r"\.")):
        run(config)


# -- the three deploy paths -------------------------------------------------------------------


def _substitute(value: Any) -> Any:
    """A CloudFormation policy with the pseudo parameters and the template's parameters
    (prefix, artifact) filled in for one stack."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        bucket, _, key = ARTIFACT[len("s3://") :].partition("/")
        return (
            value["Fn::Sub"]
            .replace("${AWS::Region}", R)
            .replace("${AWS::AccountId}", ACCOUNT)
            .replace("${AWS::Partition}", "aws")
            .replace("${Prefix}", "nbsecrets/")
            .replace("${ArtifactBucket}", bucket)
            .replace("${ArtifactKey}", key)
        )
    if isinstance(value, dict):
        return {k: _substitute(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v) for v in value]
    return value


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"providers": ("openai", "anthropic")},
        {"providers": ("openai",), "kms_key_arn": KMS, "allow_write": True, "list_secrets": False},
        # A replica region with its own key: replica ARNs, both keys, each region's ViaService.
        {
            "providers": ("openai", "anthropic"),
            "kms_key_arn": KMS,
            "allow_write": True,
            "fallback_regions": ("us-west-2",),
            "kms_key_arns": (f"us-west-2={KMS_WEST}",),
        },
    ],
)
def test_three_deploy_paths_grant_the_same(kwargs, capsys):
    from cfnlint.decode.cfn_yaml import loads

    # 1. CLI
    args: list[str] = [a for p in kwargs.get("providers", ()) for a in ("--provider", p)]
    args += ["--kms-key-arn", KMS] if "kms_key_arn" in kwargs else []
    args += ["--allow-write"] if kwargs.get("allow_write") else []
    args += ["--no-list"] if kwargs.get("list_secrets") is False else []
    args += [a for r in kwargs.get("fallback_regions", ()) for a in ("--fallback-region", r)]
    args += [a for k in kwargs.get("kms_key_arns", ()) for a in ("--kms-key-arn", k)]
    by_cli = cli_policy(*args, "--artifact", ARTIFACT, capsys=capsys)
    # 2. CloudFormation: template.yaml as `nbsecrets lifecycle --template` renders it, with
    # the same policy options.
    assert cli.main(["lifecycle", "--template", *args]) == 0
    rendered = capsys.readouterr().out
    assert rendered == template_text(PolicyOptions(region=None, account=None, **kwargs))
    template = json.loads(json.dumps(loads(rendered)))
    [entry, _logs] = template["Resources"]["NotebookRole"]["Properties"]["Policies"]
    assert entry["PolicyName"] == "nbsecrets"
    by_cfn = _substitute(entry["PolicyDocument"])
    # 3. Pulumi
    config: dict[str, Any] = {
        "providers": list(kwargs.get("providers", ())) or ["openai"],
        "artifactUri": ARTIFACT,
        "artifactSha256": "ab" * 32,
    }
    if "kms_key_arn" in kwargs:
        config["kmsKeyArn"] = KMS
    if kwargs.get("allow_write"):
        config["allowWrite"] = "true"
    if kwargs.get("list_secrets") is False:
        config["listSecrets"] = "false"
    if "fallback_regions" in kwargs:
        config["replicaRegions"] = list(kwargs["fallback_regions"])
        config["replicaKmsKeyArns"] = dict(k.split("=", 1) for k in kwargs["kms_key_arns"])
    mocks, _ = run(config)
    [inline] = [
        r for r in of_type(mocks, "aws:iam/rolePolicy:RolePolicy") if r.name == "notebook-policy"
    ]
    by_pulumi = json.loads(inline.inputs["policy"])
    if not kwargs.get("providers"):
        # Pulumi creates named secrets, so it always names providers: compare with the CLI's
        # policy for the same providers.
        assert (
            by_cli
            == by_cfn
            == policy_document(PolicyOptions(region=R, account=ACCOUNT, install_artifact=ARTIFACT))
        )
        assert by_pulumi == cli_policy(
            "--provider", "openai", "--artifact", ARTIFACT, capsys=capsys
        )
    else:
        assert by_cli == by_cfn == by_pulumi
    if "fallback_regions" in kwargs:  # the replica really is granted, by all three
        [read] = [st for st in by_pulumi["Statement"] if st["Sid"] == "ReadKeys"]
        assert (
            f"arn:aws:secretsmanager:us-west-2:{ACCOUNT}:secret:nbsecrets/openai-??????"
            in read["Resource"]
        )
        # Each region's key through that region's Secrets Manager only.
        decrypt = {
            st["Resource"]: st["Condition"]["StringEquals"]["kms:ViaService"]
            for st in by_pulumi["Statement"]
            if st["Sid"].startswith("DecryptKeys")
        }
        assert decrypt == {
            KMS: f"secretsmanager.{R}.amazonaws.com",
            KMS_WEST: "secretsmanager.us-west-2.amazonaws.com",
        }
    # The checked-in template is the default rendering: the same policy as the CLI's.
    checked_in = json.loads(
        json.dumps(loads((ROOT / "lifecycle-config" / "template.yaml").read_text()))
    )
    [entry, _logs] = checked_in["Resources"]["NotebookRole"]["Properties"]["Policies"]
    assert _substitute(entry["PolicyDocument"]) == policy_document(
        PolicyOptions(region=R, account=ACCOUNT, install_artifact=ARTIFACT)
    )


# -- the same scripts on every path -----------------------------------------------------------


def _without_settings(text: str) -> str:
    """A script without its settings block, which each path fills with its own values."""
    head, rest = text.split("# >>> settings", 1)
    return head + rest.split("# <<< settings <<<\n", 1)[1]


def test_every_deploy_path_deploys_the_same_scripts(sm_api, iam, capsys):
    """`nbsecrets lifecycle`, provision.sh, template.yaml and Pulumi deploy each on-start
    script as one file: its layout with lifecycle-config/common.sh in place of the include."""
    import base64
    import os
    import subprocess

    from cfnlint.decode.cfn_yaml import loads

    from tests.conftest import SAGEMAKER_TRUST

    b64 = base64.b64decode
    # An artifact of its own: ARTIFACT's name shares a run of digits with a key that an
    # earlier test (test_enforcement) leaves loaded, which the job guard would refuse.
    artifact, sha = (
        "s3://team-artifacts/nbsecrets/nbsecrets-wheelhouse-0.1.0-fedcba.tar.gz",
        "ab" * 32,
    )
    expected = {
        kind: _without_settings(lifecycle.assemble(f"{kind}/on-start.sh"))
        for kind in ("notebook-instance", "studio")
    }
    common = _without_settings((ROOT / "lifecycle-config" / "common.sh").read_text())
    assert all(common in text for text in expected.values())
    found: dict[str, list[str]] = {kind: [] for kind in expected}
    api = sm_api
    api.add_domain("d-1")
    iam.create_role(RoleName="nb", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    for studio in (False, True):
        extra = ["--studio", "--domain-id", "d-1"] if studio else []
        assert (
            cli.main(
                [
                    "lifecycle",
                    "--name",
                    "cli",
                    "--artifact",
                    artifact,
                    "--artifact-sha256",
                    sha,
                    *extra,
                ]
            )
            == 0
        ), capsys.readouterr().err
        done = subprocess.run(
            [
                "bash",
                str(ROOT / "lifecycle-config" / "provision.sh"),
                "--role",
                "nb",
                "--name",
                "sh",
                "--artifact",
                artifact,
                "--artifact-sha256",
                sha,
                *extra,
            ],
            env={**os.environ, "NBSECRETS_CLI": f"{sys.executable} -m nbsecrets.cli"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    capsys.readouterr()
    for name in ("cli", "sh"):
        found["notebook-instance"].append(b64(api.notebook[name]["OnStart"][0]["Content"]))
        [config] = [
            c
            for n, c in api.studio.items()
            if n.startswith(f"{name}-") and c["StudioLifecycleConfigAppType"] == "JupyterLab"
        ]
        found["studio"].append(b64(config["StudioLifecycleConfigContent"]))
    template = json.loads(json.dumps(loads(template_text())))["Resources"]
    for kind, content in (
        ("notebook-instance", template["LifecycleConfig"]["Properties"]["OnStart"][0]["Content"]),
        ("studio", template["StudioLifecycleConfig"]["Properties"]["StudioLifecycleConfigContent"]),
    ):
        found[kind].append(content["Fn::Base64"]["Fn::Sub"].replace("${!", "${"))
    for notebook_kind, kind, typ, field in (
        (
            "instance",
            "notebook-instance",
            "aws:sagemaker/notebookInstanceLifecycle"
            "Configuration:NotebookInstanceLifecycleConfiguration",
            "onStart",
        ),
        (
            "studio",
            "studio",
            "aws:sagemaker/studioLifecycleConfig:StudioLifecycleConfig",
            "studioLifecycleConfigContent",
        ),
    ):
        mocks, _ = run(
            {
                "providers": ["openai"],
                "notebookKind": notebook_kind,
                "artifactUri": artifact,
                "artifactSha256": sha,
            }
        )
        [lcc] = [
            r
            for r in of_type(mocks, typ)
            if r.inputs.get("studioLifecycleConfigAppType", "JupyterLab") == "JupyterLab"
        ]
        found[kind].append(b64(lcc.inputs[field]).decode())
    for kind, texts in found.items():
        assert len(texts) == 4
        assert [_without_settings(t if isinstance(t, str) else t.decode()) for t in texts] == [
            expected[kind]
        ] * 4, kind


def test_a_provider_alias_names_the_secret_the_policy_grants(capsys):
    """`claude` is anthropic: the secret is nbsecrets/anthropic, the name the policy grants
    (both resolved by PolicyOptions.resolve)."""
    mocks, exports = run({"providers": ["claude"]})
    assert exports["secretNames"] == {"anthropic": "nbsecrets/anthropic"}
    [inline] = of_type(mocks, "aws:iam/rolePolicy:RolePolicy")
    assert json.loads(inline.inputs["policy"]) == cli_policy("--provider", "claude", capsys=capsys)


# -- an upgrade: two runs, the second with a new artifact ------------------------------------


class RecordingMonitor(pulumi.runtime.mocks.MockMonitor):
    """Pulumi's mock engine, also keeping each resource's retainOnDelete option."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.retained: dict[str, bool] = {}

    def RegisterResource(self, request):
        self.retained[request.name] = request.retainOnDelete
        return super().RegisterResource(request)


def run_recorded(config: dict[str, Any]) -> tuple[Mocks, RecordingMonitor]:
    mocks = Mocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(
        mocks, project="nbsecrets", stack="test", preview=False, monitor=monitor
    )
    pulumi.runtime.set_all_config(
        {
            **{
                f"nbsecrets:{k}": v if isinstance(v, str) else json.dumps(v)
                for k, v in config.items()
            },
            "aws:region": R,
        },
        [],
    )

    @pulumi.runtime.test
    def go():
        return pulumi.Output.from_input(program.main()).apply(lambda _: None)

    go()
    return mocks, monitor


# What the provider replaces when it changes (the resources' ForceNew inputs): Studio
# configurations are immutable; a notebook instance's name, platform and network are create-only.
CREATE_ONLY = {
    "aws:sagemaker/studioLifecycleConfig:StudioLifecycleConfig": (
        "studioLifecycleConfigName",
        "studioLifecycleConfigAppType",
        "studioLifecycleConfigContent",
    ),
    "aws:sagemaker/notebookInstance:NotebookInstance": (
        "name",
        "platformIdentifier",
        "directInternetAccess",
        "subnetId",
        "securityGroups",
    ),
    "aws:iam/role:Role": ("name",),
    "aws:sagemaker/notebookInstanceLifecycleConfiguration:NotebookInstanceLifecycleConfiguration": (
        "name",
    ),
}


@pytest.mark.parametrize("kind", ["studio", "instance"])
def test_an_upgrade_replaces_no_attached_configuration(kind):
    config = {
        "providers": ["openai"],
        "notebookKind": kind,
        "artifactUri": ARTIFACT,
        "artifactSha256": "ab" * 32,
        "notebookInstanceName": "nb-1",
        "directInternetAccess": "Disabled",
        "subnetId": "subnet-0123",
        "securityGroupIds": ["sg-1"],
    }
    first, monitor = run_recorded(config)
    second, _ = run_recorded(
        {
            **config,
            "artifactUri": ARTIFACT.replace("0.1.0-0123456789ab", "0.2.0-fedcba987654"),
            "artifactSha256": "cd" * 32,
        }
    )
    before = {(r.typ, r.name): r.inputs for r in first.resources}
    after = {(r.typ, r.name): r.inputs for r in second.resources}
    assert before.keys() == after.keys()
    replaced = {
        key
        for key, inputs in after.items()
        if any(before[key].get(f) != inputs.get(f) for f in CREATE_ONLY.get(key[0], ()))
    }
    studio_type = "aws:sagemaker/studioLifecycleConfig:StudioLifecycleConfig"
    if kind == "studio":
        # Only the Studio configurations are replaced: under a new name (Pulumi creates the new
        # one before the old one goes) and the old one is retained, not deleted.
        assert replaced == {(studio_type, "lifecycle"), (studio_type, "lifecycle-code-editor")}
        for key in replaced:
            assert (
                before[key]["studioLifecycleConfigName"] != after[key]["studioLifecycleConfigName"]
            )
            assert monitor.retained[key[1]] is True
    else:
        # The notebook instance's configuration is updated in place; nothing is replaced.
        assert replaced == set()
        [notebook] = of_type(second, "aws:sagemaker/notebookInstance:NotebookInstance")
        assert notebook.inputs["platformIdentifier"] == "notebook-al2023-v1"
        assert notebook.inputs["instanceMetadataServiceConfiguration"] == {
            "minimumInstanceMetadataServiceVersion": "2"
        }
        assert notebook.inputs["directInternetAccess"] == "Disabled"
        assert notebook.inputs["subnetId"] == "subnet-0123"
        assert notebook.inputs["securityGroups"] == ["sg-1"]
    assert not any(monitor.retained[name] for typ, name in before if typ != studio_type)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("none", None),
        ("account", {"StringEquals": {"aws:SourceAccount": ACCOUNT}}),
        ("arn", {"ArnLike": {"aws:SourceArn": f"arn:aws:sagemaker:{R}:{ACCOUNT}:*"}}),
    ],
)
def test_trust_condition_and_managed_policies(condition, expected):
    mocks, _ = run(
        {
            "providers": ["openai"],
            "account": ACCOUNT,
            "trustCondition": condition,
            "managedPolicyArns": ["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"],
        }
    )
    [role] = of_type(mocks, "aws:iam/role:Role")
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement.get("Condition") == expected
    assert role.inputs["managedPolicyArns"] == ["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"]
