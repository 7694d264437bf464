"""template.yaml across an upgrade, as CloudFormation would run it: every variant passes
cfn-lint, and a second deploy with a new artifact replaces only resources that CloudFormation
can replace (a custom-named resource whose create-only properties change must get a new
name), retains the replaced Studio configurations, and leaves the role, the notebook instance
and its lifecycle configuration in place.

The template is resolved for each parameter set by a small evaluator of the intrinsic
functions it uses; which properties force a replacement comes from the resource schemas that
cfn-lint ships (``createOnlyProperties``)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import loads
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from nbsecrets import cli

ROOT = Path(__file__).resolve().parents[2]
PSEUDO = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::StackName": "nbsecrets",
}
NO_VALUE = object()
KEY_1 = "nbsecrets/nbsecrets-wheelhouse-0.1.0-0123456789ab.tar.gz"
KEY_2 = "nbsecrets/nbsecrets-wheelhouse-0.2.0-fedcba987654.tar.gz"
BASE = {
    "ArtifactBucket": "team-artifacts",
    "ArtifactKey": KEY_1,
    "ArtifactSha256": "ab" * 32,
    "NotebookInstanceName": "nb-1",
    "DirectInternetAccess": "Disabled",
    "SubnetId": "subnet-0123",
    "SecurityGroupIds": "sg-1,sg-2",
    "ManagedPolicyArns": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
    "TrustCondition": "arn",
    "RotationCodeBucket": "team-artifacts",
    "RotationCodeKey": "nbsecrets/fedcba987654/nbsecrets-0.1.0-py3-none-any.whl",
}
VARIANTS = [
    [],
    ["--provider", "openai", "--provider", "anthropic"],
    ["--fallback-region", "us-west-2"],
    ["--kms-key-arn", "arn:aws:kms:us-east-1:111122223333:key/k", "--allow-write"],
    ["--no-list", "--prefix", "team-a/", "--region", "eu-west-1"],
]


def render(argv: list[str], capsys) -> str:
    assert cli.main(["lifecycle", "--template", *argv]) == 0
    return capsys.readouterr().out


class Stack:
    """The template resolved for one set of parameters."""

    def __init__(self, template: dict[str, Any], params: dict[str, str]) -> None:
        self.template = template
        self.params: dict[str, Any] = {}
        for name, spec in template["Parameters"].items():
            value = params.get(name, spec.get("Default"))
            assert value is not None, f"parameter {name} has no value"
            value = str(value)
            if "AllowedPattern" in spec:
                assert re.fullmatch(spec["AllowedPattern"], value), (name, value)
            if "AllowedValues" in spec:
                assert value in [str(v) for v in spec["AllowedValues"]], (name, value)
            if spec["Type"] == "CommaDelimitedList":
                self.params[name] = value.split(",") if value else [""]
            else:
                self.params[name] = value
        self.conditions = {n: self.value(c) for n, c in template.get("Conditions", {}).items()}
        self.resources = {
            name: {**res, "Properties": self.value(res.get("Properties", {}))}
            for name, res in template["Resources"].items()
            if "Condition" not in res or self.conditions[res["Condition"]]
        }

    def sub(self, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            name = match[1]
            if name is None:  # "${!" is a literal "${"
                return "${"
            if name in self.params:
                return self.params[name]
            if name in PSEUDO:
                return PSEUDO[name]
            res, _, att = name.partition(".")
            return f"<{res}.{att}>"

        return re.sub(r"\$\{!|\$\{([A-Za-z0-9_:.]+)\}", one, text)

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(x) for x in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((fn, arg),) = node.items()
            if fn == "Ref":
                if arg == "AWS::NoValue":
                    return NO_VALUE
                return self.params.get(arg, PSEUDO.get(arg, f"<{arg}>"))
            if fn == "Fn::Sub":
                return self.sub(arg)
            if fn == "Fn::Join":
                return arg[0].join(self.value(arg[1]))
            if fn == "Fn::Split":
                return self.value(arg[1]).split(arg[0])
            if fn == "Fn::Select":
                return self.value(arg[1])[int(arg[0])]
            if fn == "Fn::If":
                return self.value(arg[1] if self.conditions[arg[0]] else arg[2])
            if fn == "Fn::Equals":
                return self.value(arg[0]) == self.value(arg[1])
            if fn == "Fn::Not":
                return not self.value(arg[0])
            if fn == "Fn::And":
                return all(self.value(a) for a in arg)
            if fn == "Condition":
                return self.conditions[arg]
            if fn == "Fn::Base64":
                return base64.b64encode(self.value(arg).encode()).decode()
            if fn == "Fn::GetAtt":
                return f"<{arg[0]}.{arg[1]}>"
        return {k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not NO_VALUE}


def create_only(type_name: str) -> list[str]:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", type_name).schema
    return [p.removeprefix("/properties/") for p in schema.get("createOnlyProperties", [])]


def replaced(before: Stack, after: Stack) -> dict[str, list[str]]:
    """Resource -> the create-only properties whose value changes."""
    out = {}
    for name, res in after.resources.items():
        if name not in before.resources:
            continue
        old, new = before.resources[name]["Properties"], res["Properties"]
        changed = [p for p in create_only(res["Type"]) if old.get(p) != new.get(p)]
        if changed:
            out[name] = changed
    return out


@pytest.mark.parametrize("argv", VARIANTS, ids=lambda a: " ".join(a) or "default")
def test_every_variant_passes_cfn_lint_and_upgrades(argv, tmp_path, capsys):
    text = render(argv, capsys)
    path = tmp_path / "template.yaml"
    path.write_text(text)
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    template = json.loads(json.dumps(loads(text)))
    first = Stack(template, BASE)
    second = Stack(template, {**BASE, "ArtifactKey": KEY_2, "ArtifactSha256": "cd" * 32})
    changes = replaced(first, second)
    # Only the Studio configurations are replaced, and under new names; the old ones stay.
    assert set(changes) == {"StudioLifecycleConfig", "StudioCodeEditorLifecycleConfig"}
    for name in changes:
        res = second.resources[name]
        assert res["DeletionPolicy"] == res["UpdateReplacePolicy"] == "Retain"
        old = first.resources[name]["Properties"]["StudioLifecycleConfigName"]
        new = res["Properties"]["StudioLifecycleConfigName"]
        assert old != new
        for config_name in (old, new):
            assert re.fullmatch(r"[a-z0-9](-*[a-z0-9]){0,62}", config_name), config_name
    assert first.resources["StudioLifecycleConfig"]["Properties"]["StudioLifecycleConfigName"] == (
        "nbsecrets-studio-"
        + template["Resources"]["StudioLifecycleConfig"]["Properties"]["StudioLifecycleConfigName"][
            "Fn::Join"
        ][1][1]
        + "-0123456789ab"
    )
    # The two app types are two configurations of the same script.
    lab = first.resources["StudioLifecycleConfig"]["Properties"]
    code = first.resources["StudioCodeEditorLifecycleConfig"]["Properties"]
    assert (lab["StudioLifecycleConfigAppType"], code["StudioLifecycleConfigAppType"]) == (
        "JupyterLab",
        "CodeEditor",
    )
    assert lab["StudioLifecycleConfigContent"] == code["StudioLifecycleConfigContent"]
    assert lab["StudioLifecycleConfigName"] != code["StudioLifecycleConfigName"]
    script = base64.b64decode(lab["StudioLifecycleConfigContent"]).decode()
    assert f'ARTIFACT_URI="s3://team-artifacts/{KEY_1}"' in script and "${!" not in script
    # The notebook-instance configuration is updated in place, with the new artifact.
    on_start = second.resources["LifecycleConfig"]["Properties"]["OnStart"][0]["Content"]
    assert KEY_2 in base64.b64decode(on_start).decode()


def test_notebook_instance_role_and_rotation_properties(capsys):
    template = json.loads(json.dumps(loads(render([], capsys))))
    stack = Stack(template, BASE)
    notebook = stack.resources["Notebook"]["Properties"]
    assert notebook["PlatformIdentifier"] == "notebook-al2023-v1"
    assert notebook["InstanceMetadataServiceConfiguration"] == {
        "MinimumInstanceMetadataServiceVersion": "2"
    }
    assert notebook["DirectInternetAccess"] == "Disabled"
    assert notebook["SubnetId"] == "subnet-0123" and notebook["SecurityGroupIds"] == [
        "sg-1",
        "sg-2",
    ]
    role = stack.resources["NotebookRole"]["Properties"]
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"] == {
        "ArnLike": {"aws:SourceArn": "arn:aws:sagemaker:us-east-1:123456789012:*"}
    }
    policies = {p["PolicyName"]: p["PolicyDocument"] for p in role["Policies"]}
    [logs] = policies["nbsecrets-lifecycle-logs"]["Statement"]
    assert logs["Resource"] == [
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/NotebookInstances",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/NotebookInstances"
        ":log-stream:*",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/studio",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/studio:log-stream:*",
    ]
    assert stack.resources["RotationSchedule"]["Properties"]["RotateImmediatelyOnUpdate"] is False
    # The defaults: no condition, no managed policy, SageMaker's network, rotation off.
    plain = Stack(
        template, {k: BASE[k] for k in ("ArtifactBucket", "ArtifactKey", "ArtifactSha256")}
    )
    role = plain.resources["NotebookRole"]["Properties"]
    assert "Condition" not in role["AssumeRolePolicyDocument"]["Statement"][0]
    assert "ManagedPolicyArns" not in role and "Notebook" not in plain.resources
    assert "RotationSchedule" not in plain.resources
    account = Stack(
        template, {**BASE, "TrustCondition": "account", "RotateImmediatelyOnUpdate": "true"}
    )
    [trust] = account.resources["NotebookRole"]["Properties"]["AssumeRolePolicyDocument"][
        "Statement"
    ]
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert account.resources["RotationSchedule"]["Properties"]["RotateImmediatelyOnUpdate"] is True
    # A VPC-only instance without a subnet is refused by the template's rule.
    [rule] = template["Rules"].values()
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "DirectInternetAccess"}, "Disabled"]}


def test_an_artifact_key_not_named_by_nbsecrets_artifact_is_refused(capsys):
    template = json.loads(json.dumps(loads(render([], capsys))))
    for key in ("nbsecrets/wheelhouse.tar.gz", "a/nbsecrets-wheelhouse-0.1.0-0123.tar.gz"):
        with pytest.raises(AssertionError):
            Stack(template, {**BASE, "ArtifactKey": key})


def test_checked_in_template_is_the_default_rendering(capsys):
    assert (ROOT / "lifecycle-config" / "template.yaml").read_text() == render([], capsys)
