"""`nbsecrets run -- python -c pass` against a raw boto3 script doing the same job, cold.

    python benchmarks/bench_run.py [--reps 15]     standalone, on a moto server of its own

benchmarks/run.py calls :func:`run` with its own server and environment and puts the table in
docs/benchmarks.md. Both sides do the whole hand-off a job's container does: start Python,
fetch one key, put it in the environment and exec ``python -c pass``. Times are wall clock
from the parent, interpreter start-ups included, medians of interleaved runs after a warm-up
(bytecode cached, as after ``pip install``).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAW = """\
import os, sys
import boto3
value = boto3.client("secretsmanager").get_secret_value(SecretId="nbsecrets/openai")
os.environ["OPENAI_API_KEY"] = value["SecretString"]
os.execv(sys.executable, [sys.executable, "-c", "pass"])
"""
# The same with the request nbsecrets sends (moto answers it a little slower).
RAW_BATCH = RAW.replace(
    'get_secret_value(SecretId="nbsecrets/openai")',
    'batch_get_secret_value(SecretIdList=["nbsecrets/openai"])["SecretValues"][0]',
)
TARGET = 1.1


def commands(tmp: Path) -> dict[str, list[str]]:
    raw, raw_batch = tmp / "raw_boto3_run.py", tmp / "raw_boto3_batch_run.py"
    raw.write_text(RAW)
    raw_batch.write_text(RAW_BATCH)
    script = Path(sys.executable).with_name("nbsecrets")
    cli = [str(script)] if script.is_file() else [sys.executable, "-m", "nbsecrets.cli"]
    return {
        "nbsecrets": [*cli, "run", "openai", "--", sys.executable, "-c", "pass"],
        "boto3": [sys.executable, str(raw)],
        "boto3-batch": [sys.executable, str(raw_batch)],
        "python": [sys.executable, "-c", "pass"],
    }


def _once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time, and the CPU time (user + system) of the process and what it exec'd."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def run(env: dict[str, str], reps: int = 15) -> dict:
    """Median wall time of each command (seconds), and the ratio nbsecrets / raw boto3."""
    with tempfile.TemporaryDirectory(prefix="nbsecrets-bench-run-") as tmp:
        cmds = commands(Path(tmp))
        for argv in cmds.values():  # warm-up: bytecode caches, OS file cache
            _once(argv, env)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
        for _ in range(reps):  # interleaved, so drift on a shared machine hits all alike
            for name, argv in cmds.items():
                times[name].append(_once(argv, env))
    med = {name: statistics.median(t[0] for t in ts) for name, ts in times.items()}
    cpu = {name: statistics.median(t[1] for t in ts) for name, ts in times.items()}
    return {
        "s": med,
        "cpu_s": cpu,
        "reps": reps,
        "ratio": med["nbsecrets"] / med["boto3"],
        "target": TARGET,
    }


def table(r: dict) -> str:
    """The Markdown rows for docs/benchmarks.md."""
    s, cpu = r["s"], r["cpu_s"]
    rows = [
        ("`nbsecrets run openai -- python -c pass`", "nbsecrets"),
        ("raw boto3 script: `get_secret_value`, set the variable, exec `python -c pass`", "boto3"),
        (
            "the same script with `batch_get_secret_value`, the request nbsecrets sends",
            "boto3-batch",
        ),
        ("`python -c pass` alone (interpreter start-up)", "python"),
    ]
    lines = [
        "| command | wall time | x raw boto3 | CPU time | x raw boto3 |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {what} | {s[k] * 1000:.1f} ms | {s[k] / s['boto3']:.2f}x | "
        f"{cpu[k] * 1000:.1f} ms | {cpu[k] / cpu['boto3']:.2f}x |"
        for what, k in rows
    ]
    met = "met" if r["ratio"] <= r["target"] else "**missed**"
    lines += [
        "",
        f"Target ≤ {r['target']}x raw boto3: **{r['ratio']:.2f}x**, {met} "
        f"(medians of {r['reps']} interleaved runs).",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    tmp = Path(tempfile.mkdtemp(prefix="nbsecrets-bench-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "NBSECRETS_")) and k != "PYTHONDONTWRITEBYTECODE"
    }  # bytecode cached, as after pip install
    env.update(
        {
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(tmp / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"),
            "NBSECRETS_CONFIG": str(tmp / "none.toml"),
            "PYTHONPYCACHEPREFIX": str(tmp / "pycache"),
        }
    )
    boto3.client(
        "secretsmanager",
        region_name="us-east-1",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    ).create_secret(Name="nbsecrets/openai", SecretString="sk-bench-" + "o" * 40)
    try:
        print(table(run(env, args.reps)))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
