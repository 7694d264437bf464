"""The ``nbsecrets`` command. Each sub-command is a small function over the library."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nbsecrets._version import __version__
from nbsecrets.errors import ConfigError, NbSecretsError

if TYPE_CHECKING:
    from nbsecrets.admin.policy import PolicyOptions

__all__ = ["main"]


def _cmd_list(args: argparse.Namespace) -> int:
    from nbsecrets.report import list_table

    print(list_table())
    return 0


def _secret_id(name: str) -> str:
    """The secret a provider or ``provider=SECRET_ID[#FIELD]`` reference names."""
    from nbsecrets import api

    return api.store().config.ref(name).secret_id


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
    print(
        f"{secret_id}: AWSCURRENT is now version {now} (was {before}, now AWSPREVIOUS); "
        "run rollback again to undo."
    )
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
    from nbsecrets.report import stored_line

    provider = api.store().config.providers.get(args.name).name
    value = _read_secret(f"{provider} API key (input hidden): ")
    version = api.store_key(provider, value)
    print(stored_line(provider, version))
    return 0


def _cmd_rotate(args: argparse.Namespace) -> int:
    from nbsecrets.rotation.manual import rotate

    done = rotate(
        args.name,
        _read_secret,
        prompt=args.prompt,
        revoke_only=args.revoke_previous,
        grace_days=args.grace_days,
    )
    print("\n".join(done.lines))
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from nbsecrets.report import audit_text

    print(audit_text(args.name, days=args.days, as_json=args.json))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from nbsecrets import demo

    return demo.run(lab=args.lab, keep=args.output)


def _policy_options(args: argparse.Namespace, *, need_ids: bool = True) -> PolicyOptions:
    """The policy options on the command line, resolved by :meth:`PolicyOptions.resolve`."""
    from nbsecrets.admin.policy import PolicyOptions
    from nbsecrets.config import Config

    opts = PolicyOptions.resolve(
        region=args.region,
        account=args.account,
        prefix=args.prefix,
        providers=args.provider,
        kms_key_arns=args.kms_key_arn,
        allow_write=args.allow_write,
        list_secrets=not args.no_list,
        secrets_account=args.secrets_account,
        install_artifact=args.artifact,
        fallback_regions=args.fallback_region,
        federated=args.federated,
        token_duration_s=args.token_duration,
        defaults=Config.load(),
        need_ids=need_ids,
    )
    if opts.allow_write and not opts.providers:
        print(
            f"note: --allow-write with no --provider allows writing every key under the "
            f"prefix {opts.prefix}",
            file=sys.stderr,
        )
    return opts


def _cmd_policy(args: argparse.Namespace) -> int:
    from nbsecrets.admin import policy as iam

    if args.audit:
        from nbsecrets.admin.ops_policy import audit_policy_document

        print(json.dumps(audit_policy_document(), indent=2))
    elif args.scan:
        from nbsecrets.admin.scan_policy import scan_policy_document

        print(json.dumps(scan_policy_document(_policy_options(args)), indent=2))
    elif args.resource_policy or args.key_policy:
        from nbsecrets.admin.resource_policy import policy_text

        print(
            policy_text(
                _policy_options(args, need_ids=args.key_policy),
                args.role,
                args.admin_role,
                key=args.key_policy,
            )
        )
    elif args.role or args.admin_role:
        raise ConfigError("--role and --admin-role go with --resource-policy or --key-policy.")
    elif args.format == "cloudformation":
        print(iam.cloudformation_yaml(_policy_options(args, need_ids=False)), end="")
    else:
        print(iam.policy_json(_policy_options(args)))
    return 0


def _cmd_provision(args: argparse.Namespace) -> int:
    from nbsecrets.admin import policy as iam
    from nbsecrets.admin.provision import provision
    from nbsecrets.aws.store import Store

    opts, store = _policy_options(args), Store()
    if args.resource_policy:
        from nbsecrets.admin.secret_policy import provision_secrets

        text, local = provision_secrets(
            store.client(), opts, args.role, args.admin_role, store.client(service="iam")
        )
        print(text)
        if not local:
            return 0
    result = provision(
        store.client(service="iam"), args.role, iam.policy_document(opts), replace=args.replace
    )
    if result.changed:
        print(result.diff)
        print(f"Put the inline policy {iam.POLICY_NAME} on role {result.role}.")
    else:
        print(
            f"Role {result.role} already has this inline policy {iam.POLICY_NAME}; nothing changed."
        )
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from nbsecrets.admin import doctor

    report = doctor.run(providers=args.provider, role=args.role, at_start=args.at_start)
    print(report.text())
    print("All good." if report.ok else "Something is wrong: see FAIL and WARN above.")
    return 0 if report.ok else 1


def _cmd_lifecycle(args: argparse.Namespace) -> int:
    from nbsecrets.admin import deploy_cli

    return deploy_cli.run_lifecycle(args)


def _cmd_artifact(args: argparse.Namespace) -> int:
    from nbsecrets.admin import deploy_cli

    return deploy_cli.run_artifact(args)


def _cmd_federate(args: argparse.Namespace) -> int:
    from nbsecrets import api
    from nbsecrets.admin.federate import FederateOptions, federate

    opts = FederateOptions(
        provider=args.provider_name.lower(),
        roles=tuple(args.role),
        service_account_id=args.service_account_id,
        project_id=args.project_id,
        organization_id=args.organization_id,
        workspace_id=args.workspace_id,
        audience=args.audience,
        per_user=tuple(args.per_user),
        duration_s=args.duration_seconds,
        token_url=args.token_url,
        oauth_scope=args.oauth_scope,
        dry_run=args.dry_run,
    )
    federate(opts, api.store())
    return 0


def _cmd_scan(args: argparse.Namespace) -> int:
    from nbsecrets.leakscan.run import Options
    from nbsecrets.leakscan.run import main as scan

    return scan(
        Options(paths=tuple(args.path) or (".",), git=args.git, fix=args.fix, format=args.format)
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from nbsecrets import jobs

    return jobs.run(*jobs.split_command(args.rest))


def _add_policy_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prefix", help="secret name prefix (default: the configured one, nbsecrets/)")
    p.add_argument(
        "--provider",
        action="append",
        default=[],
        metavar="NAME",
        help="a provider whose key is readable (repeat; default: every key under the prefix)",
    )
    p.add_argument("--region", help="region of the secrets (default: the resolved region)")
    p.add_argument("--account", metavar="ID", help="account ID (default: from STS)")
    p.add_argument(
        "--kms-key-arn",
        metavar="[REGION=]ARN",
        action="append",
        default=[],
        help="customer managed KMS key of the secrets (kms:Decrypt through Secrets "
        "Manager only); repeat as REGION=ARN for each fallback region's key",
    )
    p.add_argument(
        "--fallback-region",
        action="append",
        metavar="R",
        help="replica region reads fail over to (repeat; default NBSECRETS_FALLBACK_REGIONS)",
    )
    p.add_argument(
        "--artifact",
        metavar="S3_URI",
        help="s3://BUCKET/KEY of the install artifact (s3:GetObject on that object only)",
    )
    p.add_argument(
        "--allow-write", action="store_true", help="also allow storing new values and rollback"
    )
    p.add_argument("--no-list", action="store_true", help="do not allow ListSecrets")
    from nbsecrets.admin.deploy_cli import add_federation_arguments

    add_federation_arguments(p)
    p.add_argument(
        "--secrets-account",
        metavar="ID",
        help="account that holds the keys, when "
        "not the role's own (needs --kms-key-arn: a customer managed key)",
    )
    p.add_argument(
        "--admin-role",
        action="append",
        default=[],
        metavar="ARN",
        help="with --resource-policy: a role exempt from its deny (admins, rotation Lambda)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbsecrets",
        description="AI provider API keys from AWS Secrets Manager for Jupyter and SageMaker.",
    )
    parser.add_argument("--version", action="version", version=f"nbsecrets {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help_: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    add("list", _cmd_list, "List the keys under the prefix that these credentials can see.")
    p = add(
        "versions",
        _cmd_versions,
        "List a key's versions: ids, staging labels and dates (never values).",
    )
    p.add_argument("name", metavar="NAME", help="provider or provider=SECRET_ID[#FIELD]")
    p = add(
        "rollback",
        _cmd_rollback,
        "Move AWSCURRENT back to the AWSPREVIOUS version (run again to undo).",
    )
    p.add_argument("name", metavar="NAME", help="provider or provider=SECRET_ID[#FIELD]")
    p = add(
        "set",
        _cmd_set,
        "Store a new value for a provider's key, read from a hidden prompt "
        "or from stdin (never from an argument).",
    )
    p.add_argument("name", metavar="NAME", help="provider, e.g. openai")
    p = add(
        "rotate",
        _cmd_rotate,
        "Rotate a key: the new one (minted, or read from a hidden "
        "prompt or stdin) is tested at the provider before it becomes AWSCURRENT.",
    )
    p.add_argument("name", metavar="NAME", help="provider or provider=SECRET_ID")
    p.add_argument("--prompt", action="store_true", help="ask for the key even if it can be minted")
    p.add_argument("--grace-days", type=float, metavar="N", help="days the old key stays valid")
    p.add_argument(
        "--revoke-previous",
        action="store_true",
        help="only revoke the AWSPREVIOUS key if its grace period has passed",
    )
    p = add("audit", _cmd_audit, "Who read which key and when, from CloudTrail.")
    p.add_argument(
        "name",
        metavar="NAME",
        nargs="*",
        help="provider or provider=SECRET_ID (default: every key under the prefix)",
    )
    p.add_argument(
        "--days", type=float, default=7, metavar="N", help="how far back (1-90, default 7)"
    )
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    p = add(
        "scan",
        _cmd_scan,
        "Find API keys that already leaked into notebooks (every cell, "
        "output, MIME type, attachment, widget state), .env and text files, or a "
        "repository's history; exit 0 clean, 1 found, 2 error.",
    )
    p.add_argument(
        "path",
        metavar="PATH",
        nargs="*",
        help="files or folders (default: .); with --git, repositories",
    )
    p.add_argument(
        "--git",
        action="store_true",
        help="scan every commit of the repository's history (each blob once)",
    )
    p.add_argument(
        "--fix",
        action="store_true",
        help="replace each key found by [REDACTED:provider] in place, after a backup",
    )
    p.add_argument(
        "--format",
        choices=("text", "json", "sarif"),
        default="text",
        help="json: the findings as JSON; sarif: SARIF 2.1.0 for code scanning",
    )
    p = add("demo", _cmd_demo, "Run the quickstart notebook against a local emulator.")
    p.add_argument("--lab", action="store_true", help="open JupyterLab against the emulator")
    p.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where to save the executed notebook (default ./nbsecrets-demo.ipynb)",
    )
    p = add("policy", _cmd_policy, "Print the least-privilege IAM policy for a notebook role.")
    _add_policy_options(p)
    p.add_argument(
        "--format",
        choices=("json", "cloudformation"),
        default="json",
        help="cloudformation: a Policies: entry for an AWS::IAM::Role",
    )
    p.add_argument(
        "--audit",
        action="store_true",
        help="print instead the policy for "
        "`nbsecrets audit` (cloudtrail:LookupEvents); never for a notebook role",
    )
    p.add_argument(
        "--scan",
        action="store_true",
        help="print instead the policy for `nbsecrets scan` (ListSecrets and DescribeSecret "
        "only: the fingerprint tags, no value)",
    )
    p.add_argument(
        "--resource-policy",
        action="store_true",
        help="print each secret's "
        "resource policy instead: only the --role roles (and --admin-role) read",
    )
    p.add_argument(
        "--key-policy",
        action="store_true",
        help="print the KMS key policy "
        "statement for the --role roles instead (kms:Decrypt via Secrets Manager)",
    )
    p.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ARN",
        help="with --resource-policy or --key-policy: a reader role (repeat)",
    )
    p = add(
        "provision",
        _cmd_provision,
        "Put the least-privilege policy on a role as its "
        "inline policy nbsecrets (admin credentials); prints what changed.",
    )
    p.add_argument(
        "--role",
        required=True,
        metavar="NAME_OR_ARN",
        help="the notebook (or job) execution role to give the policy",
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="replace the inline policy instead of merging into it (drops grants it had)",
    )
    _add_policy_options(p)
    p.add_argument(
        "--resource-policy",
        action="store_true",
        help="also put the resource "
        "policy on each secret (BlockPublicPolicy; merged, the diff is printed)",
    )
    p = add(
        "doctor",
        _cmd_doctor,
        "Check identity, region, role, readable keys and over-broad "
        "grants; exit 1 when something is wrong.",
    )
    p.add_argument(
        "--provider",
        action="append",
        default=[],
        metavar="NAME",
        help="key to check (repeat; default: every key under the prefix)",
    )
    p.add_argument(
        "--role",
        metavar="NAME_OR_ARN",
        help="check this role's policies instead of the execution role (admins)",
    )
    p.add_argument(
        "--at-start",
        action="store_true",
        help="only checks that cause no AccessDenied (the lifecycle script's check at each start)",
    )
    p = add(
        "lifecycle",
        _cmd_lifecycle,
        "Create or update the SageMaker lifecycle "
        "configuration from the scripts in lifecycle-config/.",
    )
    from nbsecrets.admin import deploy_cli

    deploy_cli.add_lifecycle_arguments(p)
    p = add(
        "artifact",
        _cmd_artifact,
        "Build the pinned install artifact (wheelhouse) and "
        "upload it and the nbsecrets wheel to S3; prints their URIs and sha256s.",
    )
    deploy_cli.add_artifact_arguments(p)
    p = add(
        "federate",
        _cmd_federate,
        "Make openai or anthropic keyless: AWS outbound identity "
        "federation, the provider's issuer and a rule per role, and the federation settings "
        "in the provider's secret (admin credentials; idempotent).",
    )
    p.add_argument(
        "provider_name",
        metavar="PROVIDER",
        choices=("openai", "anthropic"),
        help="openai or anthropic",
    )
    p.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="NAME_OR_ARN",
        help="a role whose tokens the provider accepts (repeat; no wildcards)",
    )
    p.add_argument(
        "--service-account-id",
        required=True,
        metavar="ID",
        help="the provider's service account the tokens act as",
    )
    p.add_argument("--project-id", metavar="ID", help="openai: the service account's project")
    p.add_argument("--organization-id", metavar="UUID", help="anthropic: the organization")
    p.add_argument(
        "--workspace-id",
        metavar="ID",
        help="anthropic: the workspace (wrkspc_... or default; default: all the rule's workspaces)",
    )
    p.add_argument("--audience", help="the JWT audience (default: the provider's API URL)")
    p.add_argument(
        "--per-user",
        action="append",
        default=[],
        metavar="PROFILE",
        help="a Studio user profile: its own rule, matching the token's "
        "source_identity (repeat; one --role)",
    )
    p.add_argument(
        "--duration-seconds",
        type=int,
        default=300,
        metavar="N",
        help="the JWT lifetime notebooks ask for (60-3600, default 300)",
    )
    p.add_argument("--token-url", metavar="URL", help="openai: another token endpoint")
    p.add_argument(
        "--oauth-scope",
        default="workspace:inference",
        help="anthropic: the scope the rule grants (default workspace:inference)",
    )
    p.add_argument("--dry-run", action="store_true", help="make only reads; print the plan")
    p = add(
        "run",
        _cmd_run,
        "Run COMMAND with the keys in its environment only (no NAME: the "
        "keys that NBSECRETS_KEYS names, as nbsecrets.job_environment writes them).",
    )
    p.add_argument("rest", nargs=argparse.REMAINDER, metavar="[NAME ...] -- COMMAND ...")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if (
        argv[:1] == ["run"]
        and "--" in argv
        and not {"-h", "--help"} & set(argv[: argv.index("--")])
    ):
        args = argparse.Namespace(func=_cmd_run, rest=argv[1:])  # a job's start: no parser
    else:
        args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NbSecretsError as exc:
        from nbsecrets.api import next_step

        print(f"nbsecrets: {next_step(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
