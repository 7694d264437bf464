"""The ``nbsecrets artifact`` and ``nbsecrets lifecycle`` commands: arguments and runs.

Kept out of :mod:`nbsecrets.cli` so the command module stays small; cli.py only wires them.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from nbsecrets.errors import ConfigError

__all__ = ["add_artifact_arguments", "add_lifecycle_arguments", "run_artifact", "run_lifecycle"]


def add_artifact_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``nbsecrets artifact``."""
    p.add_argument(
        "--s3",
        required=True,
        metavar="s3://BUCKET/PREFIX/",
        help="where to upload the wheelhouse archive and the bare nbsecrets wheel",
    )
    p.add_argument(
        "--wheel",
        type=Path,
        metavar="PATH",
        help="an nbsecrets wheel to ship (default: build one from the source tree)",
    )


def add_lifecycle_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``nbsecrets lifecycle``."""
    p.add_argument("--name", help="name of the lifecycle configuration")
    p.add_argument(
        "--studio",
        action="store_true",
        help="Studio JupyterLab and Code Editor configurations, named NAME-XXXXXXXX after "
        "their content (default: notebook instance)",
    )
    p.add_argument(
        "--domain-id",
        metavar="d-xxxx",
        help="with --studio: make them this domain's built-in configurations, for private and "
        "shared spaces (an attached one is never deleted)",
    )
    p.add_argument(
        "--user-profile",
        action="append",
        default=[],
        metavar="NAME",
        help="with --domain-id: also a user profile that has its own JupyterLab or Code "
        "Editor settings (repeat)",
    )
    p.add_argument(
        "--prune",
        action="store_true",
        help="with --studio: delete the NAME-* configurations that no domain, user profile, "
        "space or running app uses (all domains, or --domain-id), and nothing else",
    )
    p.add_argument(
        "--artifact",
        metavar="S3_URI",
        help="s3://BUCKET/PREFIX/: build and upload "
        "a pinned wheelhouse there; or s3://BUCKET/KEY of one already uploaded, with "
        "--artifact-sha256",
    )
    p.add_argument("--artifact-sha256", metavar="HEX", help="sha256 of --artifact KEY")
    p.add_argument(
        "--wheel",
        type=Path,
        metavar="PATH",
        help="nbsecrets wheel to put in the wheelhouse (default: build from the source tree)",
    )
    p.add_argument(
        "--pip-requirement",
        metavar="REQ",
        help="instead of an artifact: a pinned "
        "requirement with a hash, 'nbsecrets==X --hash=sha256:HEX' (CodeArtifact, a "
        "mirror)",
    )
    p.add_argument("--prefix", help="secret name prefix the kernels use (ends in '/')")
    p.add_argument("--region", help="region of the secrets (default: the notebook's)")
    p.add_argument(
        "--fallback-region",
        action="append",
        default=[],
        metavar="R",
        help="replica region reads fail over to (repeat)",
    )
    p.add_argument(
        "--kms-key-arn",
        action="append",
        default=[],
        metavar="[REGION=]ARN",
        help="customer managed key new secrets are created with (the one with no "
        "REGION=); in --template also the policy's keys",
    )
    p.add_argument(
        "--template",
        action="store_true",
        help="print lifecycle-config/template.yaml instead of deploying",
    )
    # The role policy's own options, for --template (the same as `nbsecrets policy`'s).
    p.add_argument(
        "--provider",
        action="append",
        default=[],
        metavar="NAME",
        help="with --template: a provider whose key the role reads (repeat; "
        "default: every key under the Prefix parameter)",
    )
    p.add_argument(
        "--allow-write",
        action="store_true",
        help="with --template: also allow storing new values and rollback",
    )
    p.add_argument(
        "--no-list", action="store_true", help="with --template: do not allow ListSecrets"
    )
    add_federation_arguments(
        p,
        "with --template (the defaults of the FederatedAudiences and "
        "FederationTokenSeconds parameters): ",
    )


def add_federation_arguments(p: argparse.ArgumentParser, when: str = "") -> None:
    """``--federated`` and ``--token-duration``, the keyless providers' STS grant."""
    p.add_argument(
        "--federated",
        action="append",
        default=[],
        metavar="PROVIDER[=AUDIENCE]",
        help=f"{when}a keyless provider (openai, anthropic; repeat): sts:GetWebIdentityToken "
        "for its audience only (default: the provider's, as `nbsecrets federate` uses)",
    )
    p.add_argument(
        "--token-duration",
        type=int,
        metavar="SECONDS",
        help=f"{when}the longest JWT lifetime the role may ask of STS (60-3600; default 300)",
    )


def _print_artifact(found) -> None:
    print(f"ARTIFACT_URI={found.uri}")
    print(f"ARTIFACT_SHA256={found.sha256}")
    print(f"WHEEL_URI=s3://{found.bucket}/{found.wheel_key}")
    print(f"WHEEL_SHA256={found.wheel_sha256}")


def _publish(location: str, wheel: Path | None):
    from nbsecrets.admin import artifact
    from nbsecrets.aws.store import Store

    with tempfile.TemporaryDirectory(prefix="nbsecrets-artifact-") as work:
        return artifact.publish(Store().client(service="s3"), location, Path(work), wheel=wheel)


def run_artifact(args: argparse.Namespace) -> int:
    """Build the wheelhouse, upload it and the wheel, print their URIs and sha256s."""
    _print_artifact(_publish(args.s3, args.wheel))
    return 0


def run_lifecycle(args: argparse.Namespace) -> int:
    """Render the template, or deploy the lifecycle configuration."""
    from nbsecrets.admin import lifecycle

    if args.template:
        from nbsecrets.admin.policy import PolicyOptions
        from nbsecrets.admin.template import template_text
        from nbsecrets.config import Config

        opts = PolicyOptions.resolve(
            region=args.region,
            prefix=args.prefix,
            providers=args.provider,
            kms_key_arns=args.kms_key_arn,
            allow_write=args.allow_write,
            list_secrets=not args.no_list,
            fallback_regions=args.fallback_region or None,
            federated=args.federated,
            token_duration_s=args.token_duration,
            defaults=Config.load(),
        )
        print(template_text(opts), end="")
        return 0
    if not args.name:
        raise ConfigError("Give the lifecycle configuration a name: --name NAME.")
    if args.provider or args.allow_write or args.no_list or args.federated or args.token_duration:
        raise ConfigError(
            "--provider, --allow-write, --no-list, --federated and --token-duration shape the "
            "role policy: give "
            "them to `nbsecrets provision` (or with --template), not to a "
            "lifecycle deploy."
        )
    if (args.prune or args.user_profile or args.domain_id) and not args.studio:
        raise ConfigError(
            "--domain-id, --user-profile and --prune are for Studio: add --studio (a "
            "notebook-instance configuration is updated in place)."
        )
    if args.prune:
        return _prune(args)
    uri, sha = args.artifact or "", args.artifact_sha256 or ""
    if uri.endswith("/"):
        built = _publish(uri, args.wheel)
        _print_artifact(built)
        uri, sha = built.uri, built.sha256
    from nbsecrets.admin.policy import primary_key_arn

    kms = primary_key_arn(args.kms_key_arn)
    settings = lifecycle.Settings(
        artifact_uri=uri,
        artifact_sha256=sha,
        pip_requirement=args.pip_requirement or "",
        prefix=args.prefix or "",
        region=args.region or "",
        fallback_regions=tuple(args.fallback_region),
        kms_key_id=kms,
    )
    from nbsecrets.aws.store import Store

    done = lifecycle.deploy(
        Store().client(service="sagemaker"),
        args.name,
        settings,
        studio=args.studio,
        domain_id=args.domain_id,
        user_profiles=tuple(args.user_profile),
    )
    if isinstance(done, lifecycle.Deployed):
        kind = "notebook instance"
        if done.action == "unchanged":
            print(
                f"The {kind} lifecycle configuration {done.name} is already up to date "
                f"({done.arn})."
            )
        else:
            print(
                f"{done.action.capitalize()} the {kind} lifecycle configuration "
                f"{done.name} ({done.arn})."
            )
    else:
        _print_studio(done, args.name)
    if uri:
        print(
            f"The execution role needs s3:GetObject on {uri}: nbsecrets provision --role ROLE "
            f"--artifact {uri}"
        )
    return 0


def _print_studio(done, name: str) -> None:
    for config in done.configs:
        what = "Created" if config.action == "created" else "Already there:"
        print(
            f"{what} the Studio {config.app_type} lifecycle configuration {config.name} "
            f"({config.arn})."
        )
    attached = done.attached
    if attached is None:
        print("Attach them with --domain-id d-xxxx (the domain's built-in configurations).")
        return
    if attached.changed:
        print(
            f"{', '.join(attached.changed)}: spaces run them at their next start (built-in "
            "configurations; shared spaces: JupyterLab only, the API has no Code Editor "
            "settings for them)."
        )
    else:
        print(f"Domain {done.domain} already runs them.")
    if attached.kept:
        print(
            f"Older configurations stay allowed while spaces may use them: "
            f"{', '.join(attached.kept)}; nbsecrets lifecycle --studio --name {name} "
            "--prune deletes those nothing uses."
        )
    for profile in attached.own_settings:
        print(
            f"User profile {profile} has its own JupyterLab or Code Editor settings, which "
            f"win over the domain's for its private spaces: add --user-profile {profile}."
        )


def _prune(args: argparse.Namespace) -> int:
    from nbsecrets.admin import studio
    from nbsecrets.aws.store import Store

    done = studio.prune(Store().client(service="sagemaker"), args.name, args.domain_id)
    for name in done.deleted:
        print(f"Deleted the unused Studio lifecycle configuration {name}.")
    for name, where in done.kept.items():
        print(f"Kept {name}: used by {', '.join(where)}.")
    if not done.deleted and not done.kept:
        print(f"No Studio lifecycle configuration named {args.name}-* here.")
    return 0
