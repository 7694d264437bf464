"""The ``%aikey`` line magic: argument parsing and printing, over :mod:`nbsecrets.api`."""

from __future__ import annotations

import getpass
import sys

from IPython.core.error import StdinNotImplementedError, UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from nbsecrets import api
from nbsecrets.errors import ConfigError, NbSecretsError
from nbsecrets.report import list_table, loaded_line, stored_line

__all__ = ["AikeyMagics"]


def _widget_frontend(shell: object) -> bool:
    """True in a kernel that can talk to widgets (ipykernel has a comm manager), not a terminal."""
    return getattr(getattr(shell, "kernel", None), "comm_manager", None) is not None


@magics_class
class AikeyMagics(Magics):
    """``%aikey``: AI provider keys from AWS Secrets Manager into environment variables."""

    @magic_arguments()
    @argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="provider (openai, anthropic, ...) or provider=SECRET_ID[#FIELD]",
    )
    @argument(
        "--env", metavar="VAR", help="set VAR instead of the provider's variables (one NAME only)"
    )
    @argument(
        "--stage",
        metavar="LABEL",
        help="read the version with this staging label, e.g. AWSPREVIOUS (default AWSCURRENT)",
    )
    @argument("--version-id", metavar="ID", help="read this version id")
    @argument("--refresh", action="store_true", help="bypass the cache")
    @argument("--list", action="store_true", help="list the keys the role can see")
    @argument(
        "--unload",
        metavar="NAME",
        help="remove NAME's variables and drop it from the cache (its value stays redacted)",
    )
    @argument(
        "--set",
        metavar="NAME",
        help="store a new value for NAME from a hidden prompt, then load it",
    )
    @line_magic
    def aikey(self, line: str = "") -> None:
        """Load AI provider API keys from AWS Secrets Manager into environment variables.

        ``%aikey openai anthropic`` sets OPENAI_API_KEY and ANTHROPIC_API_KEY in one request
        and prints where each came from, never the value. All or nothing: if one key fails,
        no variable changes. ``%aikey`` alone shows the key picker in a notebook (the list in
        a terminal); ``%aikey --list`` prints the list everywhere.
        """
        try:
            args = parse_argstring(self.aikey, line)
        except ValueError as exc:  # shlex: "No closing quotation"
            raise UsageError(f"Cannot read the arguments ({exc}); check the quotes.") from None
        try:
            self._run(args)
        except NbSecretsError as exc:
            raise UsageError(str(exc)) from None
        finally:
            api.print_notices(file=sys.stdout)

    def _run(self, args) -> None:
        actions = sum(bool(x) for x in (args.names, args.list, args.unload, args.set))
        if actions > 1:
            raise ConfigError("Use one of NAME..., --list, --unload or --set at a time.")
        if args.unload:
            env_vars = api.unload(args.unload)
            print(f"{args.unload}: removed {', '.join(env_vars)} (its value stays redacted).")
        elif args.set:
            self._set(args.set)
        elif args.names:
            self._load(args.names, args)
        elif not args.list and _widget_frontend(self.shell):
            from IPython.display import display

            from nbsecrets.notebook.picker import picker

            display(picker())
        else:
            print(list_table())

    @staticmethod
    def _load(names, args) -> None:
        results = api.load_keys(
            names, stage=args.stage, version_id=args.version_id, refresh=args.refresh, env=args.env
        )
        region = api.store().region
        for key, env_vars in results:
            print(loaded_line(key, env_vars, region))

    @staticmethod
    def _set(name: str) -> None:
        provider = api.store().config.providers.get(name).name
        try:
            value = getpass.getpass(f"{provider} API key (input hidden): ")
        except (EOFError, StdinNotImplementedError):
            raise ConfigError(
                f"{provider}: no value could be read from a prompt here, so nothing was stored; "
                f"run `nbsecrets set {provider}` in a terminal instead."
            ) from None
        version = api.store_key(provider, value)
        print(stored_line(provider, version))
        for key, env_vars in api.load_keys([provider], refresh=True):
            print(loaded_line(key, env_vars, api.store().region))
