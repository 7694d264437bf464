"""`nbsecrets audit` against a loopback CloudTrail (JSON 1.1 LookupEvents) with a seeded history:
reads by notebooks and users, paging, throttling, filters, JSON output, the audit policy."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone

import pytest

from nbsecrets import cli
from nbsecrets.aws.audit import AuditLog, secret_name
from nbsecrets.aws.transport import Transport
from nbsecrets.config import Config
from tests.aws.cloudtrail import TARGET, CloudTrail, read_event

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def history() -> list[dict]:
    ago = lambda hours: NOW - timedelta(hours=hours)  # noqa: E731
    events = [
        read_event("nbsecrets/openai", ago(1), session="SageMaker", stage="AWSCURRENT"),
        read_event(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:nbsecrets/anthropic-AbCdEf",
            ago(2),
            session="alice-notebook",
            ip="10.0.9.9",
        ),
        read_event(
            "nbsecrets/openai",
            ago(3),
            user="bob",
            ip="203.0.113.5",
            version="6f1e2d3c-0000-4000-8000-000000000001",
        ),
        read_event("nbsecrets/openai", ago(4), role="OtherRole", error="AccessDenied"),
        read_event("payments/db-password", ago(5)),  # outside the prefix
        read_event("nbsecrets/openai", ago(24 * 10)),  # older than --days 7
        read_event("nbsecrets/openai", ago(6), name="PutSecretValue"),  # not a read
    ]
    # BatchGetSecretValue: one GetSecretValue event per secret, same call time.
    events += [read_event(f"nbsecrets/p{i}", ago(7), session="batch") for i in range(120)]
    return events


@pytest.fixture
def trail(aws_env):
    t = CloudTrail(history())
    os.environ["AWS_ENDPOINT_URL_CLOUDTRAIL"] = t.url
    yield t
    t.stop()


def audit_log(**kwargs) -> AuditLog:
    return AuditLog(Transport(Config.load()), min_interval_s=0.0, **kwargs)


def test_secret_name_strips_the_arn_suffix():
    assert (
        secret_name("arn:aws:secretsmanager:eu-west-1:1:secret:team/openai-Ab12Cd") == "team/openai"
    )
    assert secret_name("nbsecrets/openai") == "nbsecrets/openai"


def test_cli_prints_who_read_which_key(trail, capsys):
    assert cli.main(["audit", "openai", "anthropic"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["time", "(UTC)", "principal"]
    rows = lines[2:]
    assert len(rows) == 4  # three openai reads (one denied) and one anthropic read
    assert "role AmazonSageMaker-ExecutionRole, session SageMaker" in rows[0]
    assert "AWSCURRENT" in rows[0] and "nbsecrets/openai" in rows[0]
    assert "session alice-notebook" in rows[1] and "nbsecrets/anthropic" in rows[1]
    assert "10.0.9.9" in rows[1]
    assert "arn:aws:iam::123456789012:user/bob" in rows[2] and "6f1e2d3c" in rows[2]
    assert "AccessDenied" in rows[3] and "role OtherRole" in rows[3]
    assert "payments" not in out and "PutSecretValue" not in out
    # Every request was a LookupEvents for GetSecretValue within the window.
    for req in trail.requests:
        assert req["target"] == TARGET
        assert req["body"]["LookupAttributes"] == [
            {"AttributeKey": "EventName", "AttributeValue": "GetSecretValue"}
        ]
        span = req["body"]["EndTime"] - req["body"]["StartTime"]
        assert span == pytest.approx(7 * 86400, abs=1)


def test_pages_follow_next_token_and_json_lists_every_read(trail, capsys):
    assert cli.main(["audit", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    # Under the prefix in the last 7 days: 3 openai + 1 anthropic + 120 batch reads.
    assert len(rows) == 124
    assert len(trail.requests) == 3  # 125 GetSecretValue events in the window: 50 + 50 + 25
    assert [r["body"].get("NextToken") for r in trail.requests] == [None, "50", "100"]
    assert {"time", "secret", "principal", "source_ip", "user_agent", "version", "result"} <= set(
        rows[0]
    )
    assert rows[0]["time"] > rows[-1]["time"]


def test_throttling_is_retried_with_backoff_then_succeeds(aws_env):
    trail = CloudTrail(history(), throttle=2)
    os.environ["AWS_ENDPOINT_URL_CLOUDTRAIL"] = trail.url
    waits: list[float] = []
    try:
        reads = audit_log(sleep=waits.append).reads(["nbsecrets/openai"], prefix="nbsecrets/")
    finally:
        trail.stop()
    assert len(reads) == 3
    assert len(trail.requests) == 2 + 3  # two throttled, then the three pages
    assert waits[:2] == [1.0, 2.0]  # exponential backoff, not botocore's retries


def test_throttled_for_good_is_one_sentence(aws_env, capsys):
    trail = CloudTrail(history(), throttle=100)
    os.environ["AWS_ENDPOINT_URL_CLOUDTRAIL"] = trail.url
    try:
        log = audit_log(sleep=lambda s: None, retries=3)
        with pytest.raises(Exception, match="kept throttling LookupEvents") as info:
            log.reads([], prefix="nbsecrets/")
    finally:
        trail.stop()
    assert len(trail.requests) == 4 and "\n" not in str(info.value)


def test_requests_are_paced_under_two_per_second(trail):
    clock = [0.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        clock[0] += s

    log = AuditLog(Transport(Config.load()), sleep=sleep, clock=lambda: clock[0])
    log.reads([], prefix="nbsecrets/")
    assert log.requests == 3 and waits == [0.5, 0.5]


def test_days_out_of_range_is_refused_before_any_request(trail, capsys):
    assert cli.main(["audit", "--days", "120"]) == 1
    assert "1 to 90 days" in capsys.readouterr().err
    assert trail.requests == []


def test_denied_lookup_points_to_the_audit_policy(aws_env, capsys):
    trail = CloudTrail(history())
    os.environ["AWS_ENDPOINT_URL_CLOUDTRAIL"] = trail.url
    trail.throttle = -1
    trail._answer = lambda body: (
        400,
        {
            "__type": "AccessDeniedException",  # type: ignore
            "message": "not authorized",
        },
    )
    try:
        assert cli.main(["audit"]) == 1
    finally:
        trail.stop()
    err = capsys.readouterr().err
    assert "nbsecrets policy --audit" in err and err.count("\n") == 1


def test_policy_audit_is_lookup_events_and_metadata_only(capsys):
    assert cli.main(["policy", "--audit"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["Statement"] == [
        {
            "Sid": "ReadSecretAccessEvents",
            "Effect": "Allow",
            "Action": "cloudtrail:LookupEvents",
            "Resource": "*",
        },
        {  # the replica regions, whose CloudTrail holds the reads there; never a value
            "Sid": "FindReplicaRegions",
            "Effect": "Allow",
            "Action": "secretsmanager:DescribeSecret",
            "Resource": "arn:aws:secretsmanager:*:*:secret:*",
        },
        {
            "Sid": "ListSecretsToAudit",
            "Effect": "Allow",
            "Action": "secretsmanager:ListSecrets",
            "Resource": "*",
        },
    ]


def test_an_arn_prefix_matches_secret_names(trail):
    prefix = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nbsecrets/"
    reads = audit_log().reads([], prefix=prefix)
    assert len(reads) == 124 and all(r.secret.startswith("nbsecrets/") for r in reads)
