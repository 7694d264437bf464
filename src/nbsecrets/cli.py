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


def _secret_id(name: str) -> str:
    """The secret a provider or ``provider=SECRET_ID[#FIELD]`` reference names."""
    from nbsecrets import api
    from nbsecrets.refs import parse_ref

    config = api.store().config
    return parse_ref(name, config.providers, config.prefix).secret_id


def _cmd_versions(args: argparse.Namespace) -> int:
    from nbsecrets import api
    from nbsecrets.report import day, table

    secret_id = _secret_id(args.name)
    found = api.store().versions(secret_id)
    rows = [(v.version_id, ", ".join(v.stages) or "-", day(v.created)) for v in found]
    print(f"{secret_id}:")
    print(table(("version id", "stages", "created"), rows))
    return 0


def _cmd_rollback(args: argparse.Namespace) -> int:
    from nbsecrets import api

    secret_id = _secret_id(args.name)
    now, before = api.store().rollback(secret_id)
    print(f"{secret_id}: AWSCURRENT is now version {now} (was {before}, now AWSPREVIOUS); "
          "run rollback again to undo.")
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
    p = add("versions", _cmd_versions,
            "List a key's versions: ids, staging labels and dates (never values).")
    p.add_argument("name", metavar="NAME", help="provider or provider=SECRET_ID[#FIELD]")
    p = add("rollback", _cmd_rollback,
            "Move AWSCURRENT back to the AWSPREVIOUS version (run again to undo).")
    p.add_argument("name", metavar="NAME", help="provider or provider=SECRET_ID[#FIELD]")
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
