"""One measurement process for benchmarks/run.py (not meant to be run by hand).

    python benchmarks/measure.py cold TOOL          first fetch in this fresh process
    python benchmarks/measure.py warm TOOL          the same key again and again, cached
    python benchmarks/measure.py inproc TOOL N...   N keys cache-cold, in a warm process
    python benchmarks/measure.py import             `import nbsecrets`
    python benchmarks/measure.py load_ext           `%load_ext nbsecrets`

Prints one JSON object. Times are ``time.perf_counter`` seconds. In-process request counts
come from botocore's ``before-send`` event on the clients used; fresh-process counts are
taken by run.py at the server.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

KEY_SECRET = "nbsecrets/openai"  # the single key; nbsecrets reads it as provider "openai"
# Calls per timed round of the warm get: about 50 ms a round for each library.
WARM_CALLS = {"boto3": 20, "caching": 1_000, "powertools": 20_000, "nbsecrets": 20_000}
WARM_ROUNDS = 7
REPS = 7


def secret_names(n: int) -> list[str]:
    return [f"nbsecrets/b{i:02d}" for i in range(n)]


def providers(n: int) -> list[str]:
    return [f"b{i:02d}" for i in range(n)]


def cold(tool: str) -> dict:
    t0 = time.perf_counter()
    if tool == "boto3":
        import boto3

        value = boto3.client("secretsmanager").get_secret_value(SecretId=KEY_SECRET)["SecretString"]
    elif tool == "caching":
        import boto3
        from aws_secretsmanager_caching import SecretCache

        value = SecretCache(client=boto3.client("secretsmanager")).get_secret_string(KEY_SECRET)
    elif tool == "powertools":
        from aws_lambda_powertools.utilities import parameters

        value = parameters.get_secret(KEY_SECRET)
    elif tool == "nbsecrets":
        import nbsecrets

        value = nbsecrets.get("openai")
    else:
        raise SystemExit(f"unknown tool {tool}")
    elapsed = time.perf_counter() - t0
    assert value.startswith("sk-bench-")
    return {"s": elapsed, "modules": len(sys.modules)}


class Tool:
    """One library's way to get one key (cached) and N keys (cache cold)."""

    def __init__(self, name: str):
        self.name = name
        self.sent = 0
        if name == "boto3":
            import boto3

            self.client = boto3.client("secretsmanager")
            self._count(self.client)
        elif name == "caching":
            import boto3
            from aws_secretsmanager_caching import SecretCache

            self.client = boto3.client("secretsmanager")
            self._count(self.client)
            self.cache = SecretCache(client=self.client)
            self._SecretCache = SecretCache
        elif name in ("powertools", "powertools-batch"):
            from aws_lambda_powertools.utilities import parameters
            from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

            self.parameters = parameters
            parameters.get_secret(KEY_SECRET)  # builds its default provider and client
            self._count(DEFAULT_PROVIDERS["secrets"].client)
        elif name == "nbsecrets":
            import nbsecrets
            from nbsecrets import api

            self.nbsecrets = nbsecrets
            self._count(api.store().client())
        else:
            raise SystemExit(f"unknown tool {name}")

    def _count(self, client) -> None:
        def sent(**_kwargs):
            self.sent += 1

        client.meta.events.register("before-send", sent)

    def get_one(self) -> str:
        if self.name == "boto3":
            return self.client.get_secret_value(SecretId=KEY_SECRET)["SecretString"]
        if self.name == "caching":
            return self.cache.get_secret_string(KEY_SECRET)
        if self.name.startswith("powertools"):
            return self.parameters.get_secret(KEY_SECRET)
        return self.nbsecrets.get("openai")

    def get_many(self, n: int) -> int:
        """Fetch n keys with an empty cache (a warm client); return how many were fetched."""
        names = secret_names(n)
        if self.name == "boto3":
            got = [self.client.get_secret_value(SecretId=s)["SecretString"] for s in names]
        elif self.name == "caching":
            cache = self._SecretCache(client=self.client)
            got = [cache.get_secret_string(s) for s in names]
        elif self.name == "powertools":
            got = [self.parameters.get_secret(s, force_fetch=True) for s in names]
        elif self.name == "powertools-batch":
            got = list(self.parameters.get_secrets_by_name(names, force_fetch=True).values())
        else:
            got = list(self.nbsecrets.load(*providers(n), refresh=True))
        return len(got)


def warm(tool: str) -> dict:
    """Per-call time of a cached get: the best of WARM_ROUNDS rounds, and requests per call."""
    t = Tool(tool)
    t.get_one()  # first fetch: client, connection and cache are warm from here on
    calls = WARM_CALLS[tool]
    get_one = t.get_one
    per_call = []
    before = t.sent
    for _ in range(WARM_ROUNDS):
        t0 = time.perf_counter()
        for _ in range(calls):
            get_one()
        per_call.append((time.perf_counter() - t0) / calls)
    return {
        "s": min(per_call),
        "median_s": statistics.median(per_call),
        "requests_per_call": (t.sent - before) / (WARM_ROUNDS * calls),
    }


def inproc(tool: str, counts: list[int]) -> dict:
    t = Tool(tool)
    t.get_one()  # first fetch: client, connection and cache are warm from here on
    many = {}
    for n in counts:
        times, sent = [], []
        for _ in range(REPS):
            before = t.sent
            t0 = time.perf_counter()
            assert t.get_many(n) == n
            times.append(time.perf_counter() - t0)
            sent.append(t.sent - before)
        many[str(n)] = {"s": statistics.median(times), "requests": max(sent)}
    return {"many": many}


def import_nbsecrets() -> dict:
    before = set(sys.modules)
    t0 = time.perf_counter()
    import nbsecrets  # noqa: F401

    elapsed = time.perf_counter() - t0
    new = set(sys.modules) - before
    return {
        "s": elapsed,
        "modules": len(new),
        "heavy": sorted(m for m in new if m.split(".")[0] in ("boto3", "botocore")),
    }


def import_other(statement: str) -> dict:
    before = set(sys.modules)
    t0 = time.perf_counter()
    exec(statement, {})  # a fixed import statement from run.py
    return {"s": time.perf_counter() - t0, "modules": len(set(sys.modules) - before)}


def load_ext() -> dict:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    before = set(sys.modules)
    t0 = time.perf_counter()
    shell.run_line_magic("load_ext", "nbsecrets")
    elapsed = time.perf_counter() - t0
    new = set(sys.modules) - before
    assert "aikey" in shell.magics_manager.magics["line"]
    return {
        "s": elapsed,
        "modules": len(new),
        "heavy": sorted(m for m in new if m.split(".")[0] in ("boto3", "botocore")),
    }


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "cold":
        out = cold(argv[1])
    elif mode == "warm":
        out = warm(argv[1])
    elif mode == "inproc":
        out = inproc(argv[1], [int(n) for n in argv[2:]])
    elif mode == "import":
        out = import_nbsecrets()
    elif mode == "import-other":
        out = import_other(argv[1])
    elif mode == "load_ext":
        out = load_ext()
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
