"""The execution role, resolved as SageMaker's ``get_execution_role`` does: resource metadata,
SageMaker's describe calls (Studio ones with botocore's Stubber: moto answers them with HTTP 500),
then STS GetCallerIdentity on the emulator."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from nbsecrets.aws import session

ACCOUNT = "123456789012"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


@pytest.fixture
def iam(aws_env):
    return boto3.client("iam", region_name="us-east-1")


@pytest.mark.parametrize(("arn", "role"), [
    ("arn:aws:sts::123456789012:assumed-role/AmazonSageMaker-ExecutionRole-2024/SageMaker",
     "arn:aws:iam::123456789012:role/AmazonSageMaker-ExecutionRole-2024"),
    ("arn:aws-cn:sts::123456789012:assumed-role/nb/s", "arn:aws-cn:iam::123456789012:role/nb"),
    ("arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice"),
    ("arn:aws:iam::123456789012:role/nb", "arn:aws:iam::123456789012:role/nb"),
])
def test_role_from_identity(arn, role):
    assert session.role_from_identity(arn) == role


def test_role_from_assumed_role_credentials(iam, tmp_path):
    iam.create_role(RoleName="nb", AssumeRolePolicyDocument=TRUST)
    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/nb", RoleSessionName="SageMaker")["Credentials"]
    sts = boto3.client("sts", aws_access_key_id=creds["AccessKeyId"],
                       aws_secret_access_key=creds["SecretAccessKey"],
                       aws_session_token=creds["SessionToken"], region_name="us-east-1")
    sm = boto3.client("sagemaker", region_name="us-east-1")
    role, how = session.execution_role(sm, sts, tmp_path / "absent.json")
    assert (role, how) == (f"arn:aws:iam::{ACCOUNT}:role/nb", "from STS GetCallerIdentity")


def test_plain_user_has_no_role(tmp_path):
    role, how = session.execution_role(boto3.client("sagemaker", region_name="us-east-1"),
                                      boto3.client("sts", region_name="us-east-1"),
                                      tmp_path / "absent.json")
    assert role is None and "not a role" in how


def test_studio_domain_default_role(tmp_path, aws_env):
    sm = boto3.client("sagemaker", region_name="us-east-1")
    domain = sm.create_domain(
        DomainName="d", AuthMode="IAM", SubnetIds=["subnet-1"], VpcId="vpc-1",
        DefaultUserSettings={"ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/user-default"},
    )["DomainArn"].rsplit("/", 1)[-1]
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"DomainId": domain,
                                "ResourceArn": "arn:aws:sagemaker:us-east-1:1:app/x"}))
    role, how = session.execution_role(sm, boto3.client("sts", region_name="us-east-1"), meta)
    assert (role, how) == (f"arn:aws:iam::{ACCOUNT}:role/user-default", f"domain {domain}")


@pytest.mark.parametrize(("sharing", "expected"), [
    ("Private", (f"arn:aws:iam::{ACCOUNT}:role/alice", "user profile alice, owner of space s1")),
    ("Shared", (f"arn:aws:iam::{ACCOUNT}:role/space-default", "space s1 of domain d-1")),
])
def test_studio_space_role(tmp_path, aws_env, sharing, expected):
    # The emulator serves neither spaces nor user profiles: stub the SageMaker client.
    sm = boto3.client("sagemaker", region_name="us-east-1")
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"DomainId": "d-1", "SpaceName": "s1"}))
    with Stubber(sm) as stub:
        stub.add_response("describe_space", {
            "SpaceSharingSettings": {"SharingType": sharing},
            "OwnershipSettings": {"OwnerUserProfileName": "alice"}},
            {"DomainId": "d-1", "SpaceName": "s1"})
        if sharing == "Private":
            stub.add_response("describe_user_profile", {"UserSettings": {
                "ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/alice"}},
                {"DomainId": "d-1", "UserProfileName": "alice"})
        else:
            stub.add_response("describe_domain", {"DefaultSpaceSettings": {
                "ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/space-default"}},
                {"DomainId": "d-1"})
        assert session.execution_role(sm, boto3.client("sts", region_name="us-east-1"),
                                     meta) == expected
        stub.assert_no_pending_responses()


def test_studio_user_profile_role(tmp_path, aws_env):
    # The emulator does not serve user profiles: stub the SageMaker client.
    sm = boto3.client("sagemaker", region_name="us-east-1")
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"DomainId": "d-1", "UserProfileName": "alice"}))
    with Stubber(sm) as stub:
        stub.add_response("describe_user_profile",
                          {"UserSettings": {"ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/a"}},
                          {"DomainId": "d-1", "UserProfileName": "alice"})
        assert session.execution_role(sm, boto3.client("sts", region_name="us-east-1"), meta) == (
            f"arn:aws:iam::{ACCOUNT}:role/a", "user profile alice")
        stub.assert_no_pending_responses()
    with Stubber(sm) as stub:  # no role on the profile: the domain's default
        stub.add_response("describe_user_profile", {"UserSettings": {}},
                          {"DomainId": "d-1", "UserProfileName": "alice"})
        stub.add_response("describe_domain", {"DefaultUserSettings": {
            "ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/default"}}, {"DomainId": "d-1"})
        assert session.execution_role(
            sm, boto3.client("sts", region_name="us-east-1"), meta)[0] == \
            f"arn:aws:iam::{ACCOUNT}:role/default"


def test_metadata_execution_role_arn_wins(tmp_path, aws_env):
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/m",
                                "ResourceName": "nb"}))
    sm = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(sm):  # no SageMaker request may be made
        role, how = session.execution_role(sm, boto3.client("sts", region_name="us-east-1"), meta)
    assert role == f"arn:aws:iam::{ACCOUNT}:role/m" and how == f"from {meta}"


# -- issue 10: the role's path, and a private space whose owner inherits the domain's role --

def test_sts_role_gets_its_path_from_iam(aws_env):
    from nbsecrets.aws.session import with_path

    iam = boto3.client("iam", region_name="us-east-1")
    trust = '{"Version":"2012-10-17","Statement":[]}'
    real = iam.create_role(RoleName="nb-role", Path="/service-role/team/",
                           AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    assert real.endswith(":role/service-role/team/nb-role")
    assert with_path("arn:aws:iam::123456789012:role/nb-role", iam) == real


def test_console_role_gets_service_role_path_without_iam():
    from nbsecrets.aws.session import with_path

    name = "AmazonSageMaker-ExecutionRole-20240101T000000"
    assert with_path(f"arn:aws:iam::1:role/{name}") == f"arn:aws:iam::1:role/service-role/{name}"
    assert with_path("arn:aws:iam::1:role/other") == "arn:aws:iam::1:role/other"
    assert with_path("arn:aws:iam::1:role/p/x") == "arn:aws:iam::1:role/p/x"


def test_private_space_owner_inherits_the_domains_user_role(tmp_path, aws_env, monkeypatch):
    """A private space runs as its owner; an owner with no role of its own has the domain's
    DefaultUserSettings role, not DefaultSpaceSettings (which is for shared spaces)."""
    from tests.sagemaker_api import SageMakerApi

    api = SageMakerApi()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", api.url)
        user_role = f"arn:aws:iam::{ACCOUNT}:role/users"
        api.add_domain("d-1", DefaultUserSettings={"ExecutionRole": user_role},
                       DefaultSpaceSettings={"ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/sp"})
        api.spaces["s1"] = {"SpaceName": "s1", "SpaceSharingSettings": {"SharingType": "Private"},
                            "OwnershipSettings": {"OwnerUserProfileName": "bob"}}
        api.profiles["bob"] = {"UserProfileName": "bob", "UserSettings": {}}
        meta = tmp_path / "meta.json"
        meta.write_text(json.dumps({"DomainId": "d-1", "SpaceName": "s1",
                                    "ResourceArn": "arn:aws:sagemaker:us-east-1:1:app/x"}))
        sm = boto3.client("sagemaker", region_name="us-east-1")
        role, how = session.execution_role(sm, boto3.client("sts", region_name="us-east-1"),
                                           meta)
        assert role == user_role and "owner of space s1" in how
        assert "DescribeSpace" in api.ops() and "DescribeUserProfile" in api.ops()
    finally:
        api.close()
