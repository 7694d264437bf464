"""template.yaml's rotation part: all of it Conditional on the code location, the Lambda's
handler and runtime, its role's policy (the same generator as `ops_policy`), the schedule."""

from __future__ import annotations

import json

from nbsecrets.admin.evaluator import allows
from nbsecrets.admin.rotation_cfn import CONDITION, rotation_parts
from nbsecrets.admin.template import template_text


def test_every_rotation_resource_is_conditional():
    parts = rotation_parts()
    assert parts["Resources"] and all(
        r["Condition"] == CONDITION for r in parts["Resources"].values()
    )
    assert parts["Outputs"]["RotationFunctionArn"]["Condition"] == CONDITION
    assert parts["Outputs"]["RotationRoleArn"] == {
        "Condition": CONDITION,
        "Value": {"Fn::GetAtt": ["RotationRole", "Arn"]},
    }
    text = template_text()
    assert "RotationCodeBucket" in text and "nbsecrets.rotation.handler" in text


def test_function_schedule_and_permission():
    res = rotation_parts()["Resources"]
    fn = res["RotationFunction"]["Properties"]
    assert fn["Handler"] == "nbsecrets.rotation.handler" and fn["Runtime"] in (
        "python3.11",
        "python3.12",
    )
    assert fn["Code"]["S3Bucket"] == {"Ref": "RotationCodeBucket"}
    assert fn["Code"]["S3Key"] == {"Ref": "RotationCodeKey"}
    assert fn["Code"]["S3ObjectVersion"]["Fn::If"][0] == "RotationCodePinned"
    perm = res["RotationInvokePermission"]["Properties"]
    assert perm["Principal"] == "secretsmanager.amazonaws.com"
    assert perm["SourceAccount"] == {"Ref": "AWS::AccountId"}
    sched = res["RotationSchedule"]["Properties"]
    assert sched["RotationRules"] == {"AutomaticallyAfterDays": {"Ref": "RotationDays"}}
    assert rotation_parts()["Parameters"]["RotationDays"]["Default"] == 30
    sweep = json.loads(res["RevokeSchedule"]["Properties"]["Targets"][0]["Input"]["Fn::Sub"])
    assert sweep["Step"] == "revokePrevious"


def test_role_policy_rendered_for_a_stack_rotates_only_its_secret():
    doc = rotation_parts()["Resources"]["RotationRole"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]
    stack = {
        "${AWS::Partition}": "aws",
        "${AWS::Region}": "eu-west-1",
        "${AWS::AccountId}": "111122223333",
        "${AWS::StackName}": "nb",
        "${RotationSecretName}": "nbsecrets/openai",
    }

    def render(value):  # what CloudFormation's Fn::Sub does with the stack's values
        if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
            text = value["Fn::Sub"]
            for name, sub in stack.items():
                text = text.replace(name, sub)
            assert "${" not in text
            return text
        if isinstance(value, dict):
            return {k: render(v) for k, v in value.items()}
        return [render(v) for v in value] if isinstance(value, list) else value

    rendered = render(doc)
    arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:"
    assert allows([rendered], "secretsmanager:PutSecretValue", f"{arn}nbsecrets/openai-AbCdEf")
    assert not allows(
        [rendered], "secretsmanager:PutSecretValue", f"{arn}nbsecrets/anthropic-AbCdEf"
    )
    assert allows(
        [rendered], "secretsmanager:GetSecretValue", f"{arn}nbsecrets-admin/openai-AbCdEf"
    )
