"""`nbsecrets audit` covers every region a secret is replicated to (DescribeSecret's
ReplicationStatus) and every form of secret id a caller may have used: its name, its full ARN
and its partial ARN (without the random suffix)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone

import pytest

from nbsecrets import cli
from tests.aws.cloudtrail import CloudTrail, read_event

NOW = datetime.now(timezone.utc).replace(microsecond=0)
KEY = "sk-audit-0123456789abcdefghijklmnop"


@pytest.fixture
def replicated(sm):
    """nbsecrets/openai in us-east-1, replicated to us-west-2; its ARN in each region."""
    made = sm.create_secret(
        Name="nbsecrets/openai", SecretString=KEY, AddReplicaRegions=[{"Region": "us-west-2"}]
    )
    status = sm.describe_secret(SecretId="nbsecrets/openai").get("ReplicationStatus", [])
    assert [r["Region"] for r in status] == ["us-west-2"]
    east = made["ARN"]
    return east, east.replace(":us-east-1:", ":us-west-2:")


@pytest.fixture
def trail(aws_env, replicated):
    east, west = replicated
    ago = lambda hours: NOW - timedelta(hours=hours)  # noqa: E731
    partial = east.rsplit("-", 1)[0]  # ...:secret:nbsecrets/openai, no suffix
    events = [
        read_event("nbsecrets/openai", ago(1), session="by-name", arn=east),
        read_event(east, ago(2), session="by-arn", arn=east),
        read_event(partial, ago(3), session="by-partial-arn", arn=east),
        # A failover read from the replica, recorded by us-west-2's CloudTrail.
        read_event(west, ago(4), session="from-replica", region="us-west-2", arn=west),
        read_event("nbsecrets/anthropic", ago(5), session="other-key"),
    ]
    t = CloudTrail(events)
    os.environ["AWS_ENDPOINT_URL_CLOUDTRAIL"] = t.url
    yield t
    t.stop()


def sessions(out: str) -> set[str]:
    return {r["principal"].split("session ")[-1] for r in json.loads(out)}


def test_every_region_and_every_form_of_id(trail, capsys):
    assert cli.main(["audit", "openai", "--json"]) == 0
    out = capsys.readouterr().out
    assert sessions(out) == {"by-name", "by-arn", "by-partial-arn", "from-replica"}
    assert {r["secret"] for r in json.loads(out)} == {"nbsecrets/openai"}
    assert {r["region"] for r in json.loads(out)} == {"us-east-1", "us-west-2"}
    assert sorted({r["region"] for r in trail.requests}) == ["us-east-1", "us-west-2"]
    assert KEY not in out


def test_every_key_under_the_prefix_includes_partial_arns_and_replicas(trail, capsys):
    assert cli.main(["audit", "--json"]) == 0
    got = sessions(capsys.readouterr().out)
    assert got == {"by-name", "by-arn", "by-partial-arn", "from-replica", "other-key"}


def test_a_name_given_as_an_arn_finds_the_same_reads(trail, replicated, capsys):
    east, _ = replicated
    for given in (east, east.rsplit("-", 1)[0]):
        assert cli.main(["audit", f"openai={given}", "--json"]) == 0
        assert sessions(capsys.readouterr().out) == {
            "by-name",
            "by-arn",
            "by-partial-arn",
            "from-replica",
        }
