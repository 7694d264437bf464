"""`nbsecrets lifecycle`: the policy options it takes with --template, and refuses without."""

from __future__ import annotations

import pytest

from nbsecrets import cli
from nbsecrets.admin.policy import PolicyOptions
from nbsecrets.admin.template import template_text


def test_template_takes_the_policy_options(capsys):
    assert (
        cli.main(["lifecycle", "--template", "--provider", "claude", "--allow-write", "--no-list"])
        == 0
    )
    out = capsys.readouterr().out
    assert out == template_text(
        PolicyOptions(
            region=None,
            account=None,
            providers=("anthropic",),
            allow_write=True,
            list_secrets=False,
        )
    )
    assert "${Prefix}anthropic-??????" in out and "secretsmanager:ListSecrets" not in out
    assert "secretsmanager:PutSecretValue" in out


@pytest.mark.parametrize("option", [["--provider", "openai"], ["--allow-write"], ["--no-list"]])
def test_a_deploy_refuses_policy_options_before_any_request(option, aws_env, capsys):
    # aws_env: a request would reach the emulator and create the configuration; none is made.
    import boto3

    assert cli.main(["lifecycle", "--name", "team-a", *option]) == 1
    err = capsys.readouterr().err
    assert "give them to `nbsecrets provision`" in err and len(err.strip().splitlines()) == 1
    from botocore.exceptions import ClientError

    sm = boto3.client("sagemaker", region_name=aws_env["AWS_REGION"])
    with pytest.raises(ClientError):  # nothing was created
        sm.describe_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="team-a")
