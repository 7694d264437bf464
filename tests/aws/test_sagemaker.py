"""The execution role, resolved as SageMaker's ``get_execution_role`` does: resource metadata,
SageMaker's describe calls (Studio spaces and user profiles, which moto answers with HTTP 500,
from the loopback SageMaker server in tests/sagemaker_api.py, asserting the requests it
recorded), then STS GetCallerIdentity on the emulator."""

from __future__ import annotations

import json

import boto3
import pytest

from nbsecrets.aws import sagemaker
from tests.conftest import SAGEMAKER_TRUST

ACCOUNT = "123456789012"


def sts():
    return boto3.client("sts", region_name="us-east-1")


@pytest.mark.parametrize(
    ("arn", "role"),
    [
        (
            "arn:aws:sts::123456789012:assumed-role/AmazonSageMaker-ExecutionRole-2024/SageMaker",
            "arn:aws:iam::123456789012:role/AmazonSageMaker-ExecutionRole-2024",
        ),
        ("arn:aws-cn:sts::123456789012:assumed-role/nb/s", "arn:aws-cn:iam::123456789012:role/nb"),
        ("arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice"),
        ("arn:aws:iam::123456789012:role/nb", "arn:aws:iam::123456789012:role/nb"),
    ],
)
def test_role_from_identity(arn, role):
    assert sagemaker.role_from_identity(arn) == role


def test_role_from_assumed_role_credentials(iam, tmp_path):
    iam.create_role(RoleName="nb", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/nb", RoleSessionName="SageMaker"
    )["Credentials"]
    sts = boto3.client(
        "sts",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    )
    sm = boto3.client("sagemaker", region_name="us-east-1")
    role, how = sagemaker.execution_role(sm, sts, tmp_path / "absent.json")
    assert (role, how) == (f"arn:aws:iam::{ACCOUNT}:role/nb", "from STS GetCallerIdentity")


def test_plain_user_has_no_role(tmp_path):
    role, how = sagemaker.execution_role(
        boto3.client("sagemaker", region_name="us-east-1"),
        boto3.client("sts", region_name="us-east-1"),
        tmp_path / "absent.json",
    )
    assert role is None and "not a role" in how


def test_studio_domain_default_role(tmp_path, aws_env):
    sm = boto3.client("sagemaker", region_name="us-east-1")
    domain = sm.create_domain(
        DomainName="d",
        AuthMode="IAM",
        SubnetIds=["subnet-1"],
        VpcId="vpc-1",
        DefaultUserSettings={"ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/user-default"},
    )["DomainArn"].rsplit("/", 1)[-1]
    meta = tmp_path / "meta.json"
    meta.write_text(
        json.dumps({"DomainId": domain, "ResourceArn": "arn:aws:sagemaker:us-east-1:1:app/x"})
    )
    role, how = sagemaker.execution_role(sm, boto3.client("sts", region_name="us-east-1"), meta)
    assert (role, how) == (f"arn:aws:iam::{ACCOUNT}:role/user-default", f"domain {domain}")


@pytest.mark.parametrize(
    ("sharing", "expected", "asked"),
    [
        (
            "Private",
            (f"arn:aws:iam::{ACCOUNT}:role/alice", "user profile alice, owner of space s1"),
            [("DescribeUserProfile", {"DomainId": "d-1", "UserProfileName": "alice"})],
        ),
        (
            "Shared",
            (f"arn:aws:iam::{ACCOUNT}:role/space-default", "space s1 of domain d-1"),
            [("DescribeDomain", {"DomainId": "d-1"})],
        ),
    ],
)
def test_studio_space_role(tmp_path, sm_api, sharing, expected, asked):
    # The emulator serves neither spaces nor user profiles: the loopback server does.
    sm_api.add_domain(
        "d-1",
        DefaultSpaceSettings={"ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/space-default"},
        DefaultUserSettings={"ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/user-default"},
    )
    sm_api.spaces["s1"] = {
        "SpaceName": "s1",
        "SpaceSharingSettings": {"SharingType": sharing},
        "OwnershipSettings": {"OwnerUserProfileName": "alice"},
    }
    sm_api.profiles["alice"] = {
        "UserProfileName": "alice",
        "UserSettings": {"ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/alice"},
    }
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"DomainId": "d-1", "SpaceName": "s1"}))
    sm = boto3.client("sagemaker", region_name="us-east-1")
    assert sagemaker.execution_role(sm, sts(), meta) == expected
    assert sm_api.requests == [("DescribeSpace", {"DomainId": "d-1", "SpaceName": "s1"}), *asked]


def test_studio_user_profile_role(tmp_path, sm_api):
    # The emulator does not serve user profiles: the loopback server does.
    sm_api.add_domain(
        "d-1", DefaultUserSettings={"ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/default"}
    )
    sm_api.profiles["alice"] = {
        "UserProfileName": "alice",
        "UserSettings": {"ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/a"},
    }
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"DomainId": "d-1", "UserProfileName": "alice"}))
    sm = boto3.client("sagemaker", region_name="us-east-1")
    assert sagemaker.execution_role(sm, sts(), meta) == (
        f"arn:aws:iam::{ACCOUNT}:role/a",
        "user profile alice",
    )
    profile = ("DescribeUserProfile", {"DomainId": "d-1", "UserProfileName": "alice"})
    assert sm_api.requests == [profile]
    sm_api.requests.clear()
    sm_api.profiles["alice"]["UserSettings"] = {}  # no role on the profile: the domain's default
    assert sagemaker.execution_role(sm, sts(), meta) == (
        f"arn:aws:iam::{ACCOUNT}:role/default",
        "domain d-1",
    )
    assert sm_api.requests == [profile, ("DescribeDomain", {"DomainId": "d-1"})]


def test_metadata_execution_role_arn_wins(tmp_path, sm_api):
    meta = tmp_path / "meta.json"
    meta.write_text(
        json.dumps({"ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/m", "ResourceName": "nb"})
    )
    sm = boto3.client("sagemaker", region_name="us-east-1")
    assert sm.meta.endpoint_url == sm_api.url
    role, how = sagemaker.execution_role(sm, sts(), meta)
    assert role == f"arn:aws:iam::{ACCOUNT}:role/m" and how == f"from {meta}"
    assert sm_api.requests == []  # no SageMaker request was made


# -- issue 10: the role's path, and a private space whose owner inherits the domain's role --


def test_sts_role_gets_its_path_from_iam(aws_env):
    from nbsecrets.aws.sagemaker import with_path

    iam = boto3.client("iam", region_name="us-east-1")
    trust = '{"Version":"2012-10-17","Statement":[]}'
    real = iam.create_role(
        RoleName="nb-role", Path="/service-role/team/", AssumeRolePolicyDocument=trust
    )["Role"]["Arn"]
    assert real.endswith(":role/service-role/team/nb-role")
    assert with_path("arn:aws:iam::123456789012:role/nb-role", iam) == real


def test_console_role_gets_service_role_path_without_iam():
    from nbsecrets.aws.sagemaker import with_path

    name = "AmazonSageMaker-ExecutionRole-20240101T000000"
    assert with_path(f"arn:aws:iam::1:role/{name}") == f"arn:aws:iam::1:role/service-role/{name}"
    assert with_path("arn:aws:iam::1:role/other") == "arn:aws:iam::1:role/other"
    assert with_path("arn:aws:iam::1:role/p/x") == "arn:aws:iam::1:role/p/x"


def test_private_space_owner_inherits_the_domains_user_role(tmp_path, sm_api):
    """A private space runs as its owner; an owner with no role of its own has the domain's
    DefaultUserSettings role, not DefaultSpaceSettings (which is for shared spaces)."""
    user_role = f"arn:aws:iam::{ACCOUNT}:role/users"
    sm_api.add_domain(
        "d-1",
        DefaultUserSettings={"ExecutionRole": user_role},
        DefaultSpaceSettings={"ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/sp"},
    )
    sm_api.spaces["s1"] = {
        "SpaceName": "s1",
        "SpaceSharingSettings": {"SharingType": "Private"},
        "OwnershipSettings": {"OwnerUserProfileName": "bob"},
    }
    sm_api.profiles["bob"] = {"UserProfileName": "bob", "UserSettings": {}}
    meta = tmp_path / "meta.json"
    meta.write_text(
        json.dumps(
            {
                "DomainId": "d-1",
                "SpaceName": "s1",
                "ResourceArn": "arn:aws:sagemaker:us-east-1:1:app/x",
            }
        )
    )
    sm = boto3.client("sagemaker", region_name="us-east-1")
    role, how = sagemaker.execution_role(sm, sts(), meta)
    assert (role, how) == (user_role, "domain d-1 user default, for the owner of space s1")
    assert sm_api.ops() == ["DescribeSpace", "DescribeUserProfile", "DescribeDomain"]
