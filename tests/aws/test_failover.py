"""Region failover with two moto servers, one per region, behind a region-routing proxy.

us-east-1 is a moto process of its own (stopped mid-test: its port closes); eu-west-1 is the
session's moto server, holding the replica. boto3 sends both regions to the one
AWS_ENDPOINT_URL (the proxy), which routes each request by its SigV4 signing region.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest

import nbsecrets
from nbsecrets import api
from nbsecrets.aws import transport
from tests.proxy import Proxy
from tests.regions import MotoProcess

PRIMARY, REPLICA = "us-east-1", "eu-west-1"
KEY = "sk-test-0123456789abcdefghij"
OTHER = "sk-ant-test-abcdefghij0123456789"


@pytest.fixture
def regions(moto_endpoint: str, aws_env) -> Iterator[tuple[Proxy, MotoProcess]]:
    primary = MotoProcess().start()
    router = Proxy(primary.url, routes={PRIMARY: primary.url, REPLICA: moto_endpoint}).start()
    os.environ["AWS_ENDPOINT_URL"] = router.url
    os.environ["NBSECRETS_FALLBACK_REGIONS"] = REPLICA
    for region in (PRIMARY, REPLICA):
        sm = boto3.client("secretsmanager", region_name=region)
        sm.create_secret(Name="nbsecrets/openai", SecretString=KEY)
        sm.create_secret(Name="nbsecrets/anthropic", SecretString=OTHER)
    router.requests.clear()
    router.regions.clear()
    yield router, primary
    router.stop()
    primary.stop()


def test_router_sends_each_region_to_its_own_server(regions):
    router, _ = regions
    boto3.client("secretsmanager", region_name=REPLICA).create_secret(
        Name="only-in-replica", SecretString="x"
    )
    router.requests.clear()
    router.regions.clear()
    with pytest.raises(nbsecrets.KeyNotFoundError):
        nbsecrets.get("openai=only-in-replica")
    assert set(router.regions) == {PRIMARY}


def test_reads_fail_over_when_primary_stops(regions, ip, capsys):
    router, primary = regions
    ip.run_line_magic("aikey", "openai")
    assert router.actions_in(PRIMARY) == ["BatchGetSecretValue"]
    assert "replica" not in capsys.readouterr().out

    primary.stop()  # region 1 goes down mid-session
    router.requests.clear()
    router.regions.clear()
    os.environ.pop("OPENAI_API_KEY")
    ip.run_line_magic("aikey", "openai --refresh")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("openai: OPENAI_API_KEY <- nbsecrets/openai (")
    assert "replica in eu-west-1" in out[0]
    assert out[1:] == [
        f"Secrets Manager in {PRIMARY} is unreachable; read from replica region {REPLICA}."
    ]
    assert os.environ["OPENAI_API_KEY"] == KEY
    # botocore's retries on the dead region are bounded, then one request to the replica.
    assert router.actions_in(PRIMARY) == ["BatchGetSecretValue"] * transport.MAX_ATTEMPTS
    assert router.actions_in(REPLICA) == ["BatchGetSecretValue"]

    # While the primary is known to be down, reads go straight to the replica.
    router.requests.clear()
    router.regions.clear()
    ip.run_line_magic("aikey", "anthropic")
    out = capsys.readouterr().out.splitlines()
    assert "replica in eu-west-1" in out[0] and len(out) == 2
    assert "was unreachable recently" in out[1]
    assert router.regions == [REPLICA]
    assert os.environ["ANTHROPIC_API_KEY"] == OTHER


def test_server_errors_fail_over_after_retries(regions, capsys):
    router, _ = regions
    router.fail(503, "ServiceUnavailable", times=100, region=PRIMARY)
    assert nbsecrets.get("openai") == KEY
    assert router.actions_in(PRIMARY) == ["BatchGetSecretValue"] * transport.MAX_ATTEMPTS
    assert router.actions_in(REPLICA) == ["BatchGetSecretValue"]
    # The Python API says it on stderr, in the magic's words.
    assert capsys.readouterr().err == (
        f"Secrets Manager in {PRIMARY} is unreachable; read from replica region {REPLICA}.\n"
    )
    assert api.take_notices() == []


def test_not_found_in_primary_does_not_fail_over(regions):
    router, _ = regions
    with pytest.raises(nbsecrets.KeyNotFoundError, match="us-east-1"):
        nbsecrets.get("openai=nbsecrets/missing")
    assert REPLICA not in router.regions


def test_writes_never_fail_over_to_a_replica(regions):
    router, primary = regions
    primary.stop()
    with pytest.raises(nbsecrets.StoreUnavailableError, match="us-east-1") as info:
        api.store_key("openai", "sk-test-new-value-0123456789")
    assert "sk-test-new-value" not in str(info.value)
    assert router.actions_in(REPLICA) == []
    assert router.actions_in(PRIMARY) == ["CreateSecret"] * transport.MAX_ATTEMPTS  # created first
    replica = boto3.client("secretsmanager", region_name=REPLICA)
    versions = replica.list_secret_version_ids(SecretId="nbsecrets/openai")["Versions"]
    assert len(versions) == 1
    router.requests.clear()
    router.regions.clear()
    with pytest.raises(nbsecrets.StoreUnavailableError, match="us-east-1"):
        api.store().rollback("nbsecrets/openai")
    assert router.actions_in(REPLICA) == []


def test_everything_down_is_one_clear_error_and_changes_nothing(regions):
    router, primary = regions
    primary.stop()
    router.fail(503, "ServiceUnavailable", times=100, region=REPLICA)
    with pytest.raises(nbsecrets.StoreUnavailableError) as info:
        nbsecrets.load("openai", "anthropic")
    message = str(info.value)
    assert message.count(".") >= 1 and "\n" not in message
    assert "Cannot reach Secrets Manager in us-east-1" in message
    assert "OPENAI_API_KEY" not in os.environ and "ANTHROPIC_API_KEY" not in os.environ
    assert router.actions_in(REPLICA) == ["BatchGetSecretValue"] * transport.MAX_ATTEMPTS
