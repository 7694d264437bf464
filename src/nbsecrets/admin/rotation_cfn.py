"""The rotation part of ``template.yaml``: the Lambda, its least-privilege role, the schedule.

Everything here is Conditional on ``RotationCodeBucket`` and ``RotationCodeKey``: the S3
object of the pinned nbsecrets artifact (the bare wheel: a pure-Python wheel is a zip with the
package at its root, which Lambda accepts; boto3 comes with the Lambda runtime). Without them
the template deploys no rotation at all.
"""

from __future__ import annotations

import json
from typing import Any

from nbsecrets.admin.ops_policy import ADMIN_SECRETS, rotation_policy_document
from nbsecrets.admin.policy import fn_sub

__all__ = ["CONDITION", "rotation_parts"]

CONDITION = "EnableRotation"
RUNTIME = "python3.12"
_FUNCTION = "${AWS::StackName}-rotation"


def rotation_policy(kms_key_arn: str = "") -> dict[str, Any]:
    """The rotation role's policy with the stack's region, account, secret and function; with
    the customer managed key of the secrets (``--kms-key-arn``), its KMS statement."""
    doc = rotation_policy_document(
        region="${AWS::Region}",
        account="${AWS::AccountId}",
        secrets=["${RotationSecretName}"],
        admin_secrets=ADMIN_SECRETS,
        function_name=_FUNCTION,
        kms_key_arn=kms_key_arn or None,
    )
    return fn_sub(doc, partition_arns=True)


def rotation_parts(kms_key_arn: str = "") -> dict[str, dict[str, Any]]:
    """``Parameters``, ``Conditions``, ``Resources`` and ``Outputs`` entries to add.

    ``kms_key_arn``: the primary region's customer managed key of the secrets, if any.
    """
    cond = {"Condition": CONDITION}
    sweep_input = json.dumps({"SecretId": "${RotationSecretName}", "Step": "revokePrevious"})
    return {
        "Parameters": {
            "RotationCodeBucket": {
                "Type": "String",
                "Default": "",
                "Description": "S3 bucket of the pinned nbsecrets wheel for the rotation "
                "Lambda (leave empty: no rotation).",
            },
            "RotationCodeKey": {
                "Type": "String",
                "Default": "",
                "Description": "S3 key of that wheel.",
            },
            "RotationCodeObjectVersion": {
                "Type": "String",
                "Default": "",
                "Description": "S3 object version of that wheel (pins it in a "
                "versioned bucket; empty: the key's latest).",
            },
            "RotationSecretName": {
                "Type": "String",
                "Default": "nbsecrets/openai",
                "Description": "The secret whose key the Lambda rotates.",
            },
            "RotationDays": {
                "Type": "Number",
                "Default": 30,
                "MinValue": 1,
                "MaxValue": 1000,
                "Description": "Days between rotations.",
            },
            "RotationGraceDays": {
                "Type": "Number",
                "Default": 1,
                "MinValue": 0,
                "MaxValue": 365,
                "Description": "Days the old key stays valid after a "
                "rotation, so running notebooks keep working.",
            },
            "OpenAIProjectId": {
                "Type": "String",
                "Default": "",
                "Description": "OpenAI project whose service accounts hold the minted keys.",
            },
            # Secrets Manager rotates at once by default, before the rotation role can be in
            # the secrets' resource policies; with false it still runs the testSecret step.
            "RotateImmediatelyOnUpdate": {
                "Type": "String",
                "Default": "false",
                "AllowedValues": ["false", "true"],
                "Description": "Rotate when the schedule is created or changed (true), or "
                "wait for the schedule (false; Secrets Manager still tests the function "
                "once). Set true only once the rotation role is in the secrets' resource "
                "policies.",
            },
        },
        "Conditions": {
            CONDITION: {
                "Fn::And": [
                    {"Fn::Not": [{"Fn::Equals": [{"Ref": "RotationCodeBucket"}, ""]}]},
                    {"Fn::Not": [{"Fn::Equals": [{"Ref": "RotationCodeKey"}, ""]}]},
                ]
            },
            "RotationCodePinned": {
                "Fn::Not": [{"Fn::Equals": [{"Ref": "RotationCodeObjectVersion"}, ""]}]
            },
            "RotateImmediately": {"Fn::Equals": [{"Ref": "RotateImmediatelyOnUpdate"}, "true"]},
        },
        "Resources": {
            "RotationRole": {
                "Type": "AWS::IAM::Role",
                **cond,
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                    "Policies": [
                        {
                            "PolicyName": "nbsecrets-rotation",
                            "PolicyDocument": rotation_policy(kms_key_arn),
                        }
                    ],
                },
            },
            "RotationLogGroup": {
                "Type": "AWS::Logs::LogGroup",
                **cond,
                "Properties": {
                    "LogGroupName": {"Fn::Sub": f"/aws/lambda/{_FUNCTION}"},
                    "RetentionInDays": 90,
                },
            },
            "RotationFunction": {
                "Type": "AWS::Lambda::Function",
                **cond,
                "DependsOn": "RotationLogGroup",
                "Properties": {
                    "FunctionName": {"Fn::Sub": _FUNCTION},
                    "Description": "nbsecrets: rotates AI provider keys in Secrets Manager",
                    "Runtime": RUNTIME,
                    "Handler": "nbsecrets.rotation.handler",
                    "Code": {
                        "S3Bucket": {"Ref": "RotationCodeBucket"},
                        "S3Key": {"Ref": "RotationCodeKey"},
                        "S3ObjectVersion": {
                            "Fn::If": [
                                "RotationCodePinned",
                                {"Ref": "RotationCodeObjectVersion"},
                                {"Ref": "AWS::NoValue"},
                            ]
                        },
                    },
                    "Role": {"Fn::GetAtt": ["RotationRole", "Arn"]},
                    "Timeout": 120,
                    "MemorySize": 256,
                    "Environment": {
                        "Variables": {
                            "NBSECRETS_ROTATION_GRACE_DAYS": {"Ref": "RotationGraceDays"},
                            "NBSECRETS_OPENAI_PROJECT_ID": {"Ref": "OpenAIProjectId"},
                        }
                    },
                },
            },
            "RotationInvokePermission": {
                "Type": "AWS::Lambda::Permission",
                **cond,
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": {"Fn::GetAtt": ["RotationFunction", "Arn"]},
                    "Principal": "secretsmanager.amazonaws.com",
                    "SourceAccount": {"Ref": "AWS::AccountId"},
                },
            },
            "RotationSchedule": {
                "Type": "AWS::SecretsManager::RotationSchedule",
                **cond,
                "DependsOn": "RotationInvokePermission",
                "Properties": {
                    "SecretId": {"Ref": "RotationSecretName"},
                    "RotationLambdaARN": {"Fn::GetAtt": ["RotationFunction", "Arn"]},
                    "RotationRules": {"AutomaticallyAfterDays": {"Ref": "RotationDays"}},
                    "RotateImmediatelyOnUpdate": {"Fn::If": ["RotateImmediately", True, False]},
                },
            },
            # Daily: revoke the old key once its grace period has passed.
            "RevokeSchedule": {
                "Type": "AWS::Events::Rule",
                **cond,
                "Properties": {
                    "ScheduleExpression": "rate(1 day)",
                    "Targets": [
                        {
                            "Id": "nbsecrets-revoke-previous",
                            "Arn": {"Fn::GetAtt": ["RotationFunction", "Arn"]},
                            "Input": {"Fn::Sub": sweep_input},
                        }
                    ],
                },
            },
            "RevokeInvokePermission": {
                "Type": "AWS::Lambda::Permission",
                **cond,
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": {"Fn::GetAtt": ["RotationFunction", "Arn"]},
                    "Principal": "events.amazonaws.com",
                    "SourceArn": {"Fn::GetAtt": ["RevokeSchedule", "Arn"]},
                },
            },
        },
        "Outputs": {
            "RotationFunctionArn": {**cond, "Value": {"Fn::GetAtt": ["RotationFunction", "Arn"]}},
            # For the secrets' resource policies: `--admin-role` (or Pulumi's rotationRoleArn).
            "RotationRoleArn": {**cond, "Value": {"Fn::GetAtt": ["RotationRole", "Arn"]}},
        },
    }
