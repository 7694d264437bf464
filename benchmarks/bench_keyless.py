"""A federated ``%aikey openai anthropic`` beside today's load of two keys, in one process.

    python benchmarks/bench_keyless.py [--reps 7]     standalone, servers of its own

benchmarks/run.py calls :func:`run` and puts :func:`table` in docs/benchmarks.md (``--only
keyless`` splices just this section). Each load starts from an empty cache (``api.reset``),
in a process whose clients are warm (one load before timing). Requests are counted at the
servers: the Secrets Manager batch read at a counting proxy in front of moto, STS
GetWebIdentityToken and the OpenAI exchange at the loopback servers the tests use
(tests/federation/servers.py: a real RSA-signed JWT, verified against the issuer's JWKS over
HTTP at each exchange, as a provider does). The loopback providers answer in well under a
millisecond beyond that verification; real ones add a network round trip each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OPENAI_AUD, ANTHROPIC_AUD = "https://api.openai.com/v1", "https://api.anthropic.com"


def _servers():
    from moto.server import ThreadedMotoServer

    from tests.federation.servers import ROLE_ARN, AnthropicApi, OpenAIApi, StsApi
    from tests.proxy import Proxy

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    upstream = f"http://{host}:{port}"
    proxy = Proxy(upstream).start()
    sts, oai, ant = StsApi(upstream), OpenAIApi(), AnthropicApi()
    pid = oai.add_provider(sts.issuer, OPENAI_AUD)
    oai.add_rule(pid, {"sub": ROLE_ARN}, "svc_b")
    rid = ant.add_rule(
        ant.add_issuer(sts.issuer),
        {"subject_prefix": ROLE_ARN, "audience": ANTHROPIC_AUD},
        "svac_b",
    )
    return moto, proxy, sts, oai, ant, pid, rid


def run(reps: int = 7) -> dict:
    """Median times and request counts of the two loads."""
    moto, proxy, sts, oai, ant, pid, rid = _servers()
    saved = dict(os.environ)
    try:
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": proxy.url,
                "AWS_ENDPOINT_URL_STS": sts.url,
                "AWS_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "NBSECRETS_CONFIG": "/nonexistent",
                "AWS_CONFIG_FILE": "/nonexistent",
                "ANTHROPIC_BASE_URL": ant.url,
            }
        )
        import boto3

        sm = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=moto_url(moto))
        sm.create_secret(Name="keys/openai", SecretString="sk-bench-" + "a" * 40)
        sm.create_secret(Name="keys/anthropic", SecretString="sk-ant-bench-" + "b" * 40)
        sm.create_secret(
            Name="fed/openai",
            SecretString=json.dumps(
                {
                    "federation": {
                        "audience": OPENAI_AUD,
                        "identity_provider_id": pid,
                        "service_account_id": "svc_b",
                        "token_url": f"{oai.url}/oauth/token",
                    }
                }
            ),
        )
        sm.create_secret(
            Name="fed/anthropic",
            SecretString=json.dumps(
                {
                    "federation": {
                        "audience": ANTHROPIC_AUD,
                        "federation_rule_id": rid,
                        "organization_id": ant.organization_id,
                        "service_account_id": "svac_b",
                    }
                }
            ),
        )
        import nbsecrets
        from nbsecrets import api

        out: dict[str, dict] = {}
        # The baseline of the other tables: raw boto3, two GetSecretValue on a warm client.
        raw = boto3.client("secretsmanager", region_name="us-east-1")
        times, counts = [], []
        for i in range(reps + 1):
            before = len(proxy.requests)
            t0 = time.perf_counter()
            for name in ("keys/openai", "keys/anthropic"):
                raw.get_secret_value(SecretId=name)
            elapsed = time.perf_counter() - t0
            if i:
                times.append(elapsed)
                counts.append((len(proxy.requests) - before, 0, 0, 0))
        out["boto3"] = {
            "s": statistics.median(times),
            "requests": counts[-1],
            "same_counts": len(set(counts)) == 1,
        }
        for mode, prefix in (("keys", "keys/"), ("federated", "fed/")):
            os.environ["NBSECRETS_PREFIX"] = prefix
            times, counts = [], []
            for i in range(reps + 1):
                api.reset()
                before = (len(proxy.requests), len(sts.calls), oai.exchanges, ant.exchanges)
                t0 = time.perf_counter()
                nbsecrets.load("openai", "anthropic")
                elapsed = time.perf_counter() - t0
                after = (len(proxy.requests), len(sts.calls), oai.exchanges, ant.exchanges)
                if i:  # the first load warms clients and connections
                    times.append(elapsed)
                    counts.append(tuple(b - a for a, b in zip(before, after, strict=True)))
            api.reset()
            out[mode] = {
                "s": statistics.median(times),
                "requests": counts[-1],
                "same_counts": len(set(counts)) == 1,
            }
        return out
    finally:
        os.environ.clear()
        os.environ.update(saved)
        for server in (proxy, sts, oai, ant):
            server.stop() if hasattr(server, "stop") else server.close()
        moto.stop()


def moto_url(moto) -> str:
    host, port = moto.get_host_and_port()
    return f"http://{host}:{port}"


def table(r: dict) -> str:
    """The markdown table of :func:`run`'s result."""
    rows = [
        "| load | time (median) | x raw boto3 | x two keys | Secrets Manager | "
        "STS GetWebIdentityToken | OpenAI exchange | Anthropic exchange |",
        "|---|---|---|---|---|---|---|---|",
    ]
    names = {
        "boto3": "raw boto3: two `get_secret_value`",
        "keys": "`%aikey openai anthropic`, two keys (today)",
        "federated": "`%aikey openai anthropic`, both federated",
    }
    base, keys = r["boto3"]["s"], r["keys"]["s"]
    for mode in ("boto3", "keys", "federated"):
        if mode not in r:
            continue
        sm, sts, oai, ant = r[mode]["requests"]
        rows.append(
            f"| {names[mode]} | {r[mode]['s'] * 1000:.1f} ms | {r[mode]['s'] / base:.2f}x | "
            f"{r[mode]['s'] / keys:.2f}x | {sm} | {sts} | {oai} | {ant} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args(argv)
    print(table(run(args.reps)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
