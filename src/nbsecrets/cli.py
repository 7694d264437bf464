"""The ``nbsecrets`` command. Each sub-command is a small function over the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from nbsecrets._version import __version__
from nbsecrets.errors import NbSecretsError

__all__ = ["main"]


def _cmd_list(args: argparse.Namespace) -> int:
    from nbsecrets.magics import list_table

    print(list_table())
    return 0


def _read_secret(prompt: str) -> str:
    """The value from a hidden prompt on a terminal, or from piped stdin (one newline dropped)."""
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return getpass.getpass(prompt)
    data = sys.stdin.read() if sys.stdin is not None else ""
    return data.removesuffix("\n").removesuffix("\r")


def _cmd_set(args: argparse.Namespace) -> int:
    from nbsecrets import api

    provider = api.store().config.providers.get(args.name).name
    value = _read_secret(f"{provider} API key (input hidden): ")
    version = api.store_key(provider, value)
    print(f"{provider}: stored as {version.name} (version {version.version_id[:8]}).")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from nbsecrets import demo

    return demo.run(lab=args.lab, keep=args.output)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbsecrets",
        description="AI provider API keys from AWS Secrets Manager for Jupyter and SageMaker.")
    parser.add_argument("--version", action="version", version=f"nbsecrets {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str
            ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    add("list", _cmd_list, "List the keys under the prefix that these credentials can see.")
    p = add("set", _cmd_set, "Store a new value for a provider's key, read from a hidden prompt "
            "or from stdin (never from an argument).")
    p.add_argument("name", metavar="NAME", help="provider, e.g. openai")
    p = add("demo", _cmd_demo, "Run the quickstart notebook against a local emulator.")
    p.add_argument("--lab", action="store_true", help="open JupyterLab against the emulator")
    p.add_argument("--output", type=Path, default=None,
                   help="where to save the executed notebook (default ./nbsecrets-demo.ipynb)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NbSecretsError as exc:
        print(f"nbsecrets: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
