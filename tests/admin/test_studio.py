"""Studio lifecycle configurations through `nbsecrets lifecycle --studio`, on the loopback
SageMaker API (moto has no Studio calls): content names for JupyterLab and Code Editor, the
domain's built-in configuration for private and shared spaces, an upgrade that leaves attached
configurations in place, `--prune` deleting only what nothing uses, user profiles with their
own settings."""

from __future__ import annotations

import base64

import pytest

from nbsecrets import cli
from nbsecrets.admin import lifecycle, studio
from nbsecrets.admin.lifecycle import Settings
from nbsecrets.errors import ConfigError

ROLE = "arn:aws:iam::1:role/r"
# Digits no key an earlier test leaves loaded has (the job guard would refuse the deploy).
URI = "s3://team-artifacts/nbsecrets/nbsecrets-wheelhouse-0.1.0-a1b2c3d4e5f6.tar.gz"
OTHER = "arn:aws:sagemaker:us-east-1:123456789012:studio-lifecycle-config/someone-elses"


def deploy(sha: str, *extra: str) -> int:
    return cli.main(
        [
            "lifecycle",
            "--studio",
            "--name",
            "team",
            "--domain-id",
            "d-team",
            "--artifact",
            URI,
            "--artifact-sha256",
            sha,
            *extra,
        ]
    )


def content(sha: str) -> str:
    text = lifecycle.script_text(
        "studio/on-start.sh", Settings(artifact_uri=URI, artifact_sha256=sha)
    )
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def domain(sm_api):
    sm_api.add_domain(
        "d-team",
        DefaultUserSettings={
            "ExecutionRole": ROLE,
            "JupyterLabAppSettings": {
                "LifecycleConfigArns": [OTHER],
                "DefaultResourceSpec": {"InstanceType": "ml.t3.medium"},
            },
        },
        DefaultSpaceSettings={"ExecutionRole": ROLE},
    )
    return sm_api


def arn_of(sm_api, name: str) -> str:
    return sm_api.studio[name]["StudioLifecycleConfigArn"]


def test_names_come_from_content_and_app_type():
    a, b = content("ab" * 32), content("cd" * 32)
    names = {studio.config_name("team", t, c) for t in studio.APP_TYPES for c in (a, b)}
    assert len(names) == 4 and all(n.startswith("team-") and len(n) == 13 for n in names)
    assert studio.config_name("team", "JupyterLab", a) == studio.config_name(
        "team", "JupyterLab", a
    )
    assert studio.is_ours("team", "team-0123abcd") and studio.is_ours("team", "team")
    assert studio.is_ours("team", "team-0123abcd-0123456789ab")
    assert not studio.is_ours("team", "team-b-0123abcd") and not studio.is_ours("team", "teams")
    for bad in ("Team", "team_a", "t" * 42, "-team", ""):
        with pytest.raises(ConfigError, match="lower-case letters"):
            studio.check_base_name(bad)


def test_deploy_attach_upgrade_and_prune(domain, capsys):
    sm_api = domain
    assert deploy("ab" * 32) == 0
    out = capsys.readouterr().out
    first = {t: studio.config_name("team", t, content("ab" * 32)) for t in studio.APP_TYPES}
    for app_type, name in first.items():
        config = sm_api.studio[name]
        assert config["StudioLifecycleConfigAppType"] == app_type
        assert config["StudioLifecycleConfigContent"] == content("ab" * 32)  # the same script
        assert f"Studio {app_type} lifecycle configuration {name}" in out
    user = sm_api.domains["d-team"]["DefaultUserSettings"]
    lab, code = user["JupyterLabAppSettings"], user["CodeEditorAppSettings"]
    first_lab, first_code = arn_of(sm_api, first["JupyterLab"]), arn_of(sm_api, first["CodeEditor"])
    assert lab == {
        "LifecycleConfigArns": [OTHER, first_lab],
        "DefaultResourceSpec": {"InstanceType": "ml.t3.medium"},
        "BuiltInLifecycleConfigArn": first_lab,
    }
    assert code == {"LifecycleConfigArns": [first_code], "BuiltInLifecycleConfigArn": first_code}
    shared = sm_api.domains["d-team"]["DefaultSpaceSettings"]
    assert shared == {
        "ExecutionRole": ROLE,
        "JupyterLabAppSettings": {
            "BuiltInLifecycleConfigArn": first_lab,
            "LifecycleConfigArns": [first_lab],
        },
    }
    assert user["ExecutionRole"] == ROLE  # untouched
    # A private space created now pre-selects the first configuration as its own default,
    # as Studio does when the user picks it; a shared one has none.
    sm_api.spaces["alice"] = {
        "SpaceName": "alice",
        "SpaceSharingSettings": {"SharingType": "Private"},
        "SpaceSettings": {
            "JupyterLabAppSettings": {"DefaultResourceSpec": {"LifecycleConfigArn": first_lab}}
        },
    }
    # The same deploy again: nothing to do.
    n = len(sm_api.requests)
    assert deploy("ab" * 32) == 0
    assert not {"UpdateDomain", "CreateStudioLifecycleConfig"} & set(sm_api.ops()[n:])
    assert "already runs them" in capsys.readouterr().out

    # The upgrade: a new artifact, new configurations, the built-ins switch, the old ones stay
    # (and stay allowed: a space still pre-selects one).
    assert deploy("cd" * 32) == 0
    out = capsys.readouterr().out
    second = {t: studio.config_name("team", t, content("cd" * 32)) for t in studio.APP_TYPES}
    second_lab = arn_of(sm_api, second["JupyterLab"])
    user = sm_api.domains["d-team"]["DefaultUserSettings"]
    assert user["JupyterLabAppSettings"]["BuiltInLifecycleConfigArn"] == second_lab
    assert user["JupyterLabAppSettings"]["LifecycleConfigArns"] == [OTHER, first_lab, second_lab]
    assert "DeleteStudioLifecycleConfig" not in sm_api.ops()
    assert set(first.values()) <= set(sm_api.studio)
    assert f"Older configurations stay allowed while spaces may use them: {first_lab}" in out
    # Both scripts run at alice's next launch: the new built-in one first, then her old
    # pre-selected default, which is still allowed.
    ran = sm_api.launch("d-team", "alice", "JupyterLab")
    assert ran.index("cd" * 32) < ran.index("ab" * 32)

    # Prune: the old Code Editor configuration is unused (only allowed) and goes, from the
    # allowed list too; the old JupyterLab one is used by alice's space and by her running
    # app, and stays allowed.
    assert cli.main(["lifecycle", "--studio", "--name", "team", "--prune"]) == 0
    out = capsys.readouterr().out
    assert f"Deleted the unused Studio lifecycle configuration {first['CodeEditor']}." in out
    assert f"Kept {first['JupyterLab']}: used by space alice, running app alice/JupyterLab" in out
    assert f"Kept {second['JupyterLab']}: used by domain d-team" in out
    assert first["CodeEditor"] not in sm_api.studio and first["JupyterLab"] in sm_api.studio
    user = sm_api.domains["d-team"]["DefaultUserSettings"]
    assert first_code not in user["CodeEditorAppSettings"]["LifecycleConfigArns"]
    assert first_lab in user["JupyterLabAppSettings"]["LifecycleConfigArns"]
    assert OTHER in user["JupyterLabAppSettings"]["LifecycleConfigArns"]  # not ours: kept
    # alice stops her app and drops the old default: the next prune deletes it.
    sm_api.stop("alice", "JupyterLab")
    del sm_api.spaces["alice"]["SpaceSettings"]["JupyterLabAppSettings"]["DefaultResourceSpec"]
    assert (
        cli.main(["lifecycle", "--studio", "--name", "team", "--prune", "--domain-id", "d-team"])
        == 0
    )
    assert f"Deleted the unused Studio lifecycle configuration {first['JupyterLab']}." in (
        capsys.readouterr().out
    )
    assert set(sm_api.studio) == set(second.values())
    assert user["JupyterLabAppSettings"]["LifecycleConfigArns"] == [OTHER, second_lab]
    assert sm_api.launch("d-team", "alice", "JupyterLab").count("cd" * 32) >= 1


def test_an_old_nbsecrets_default_is_removed_and_a_shared_space_runs_the_built_in(domain, capsys):
    sm_api = domain
    legacy = "arn:aws:sagemaker:us-east-1:123456789012:studio-lifecycle-config/team"
    sm_api.studio["team"] = {
        "StudioLifecycleConfigName": "team",
        "StudioLifecycleConfigArn": legacy,
        "StudioLifecycleConfigAppType": "JupyterLab",
        "StudioLifecycleConfigContent": content("ef" * 32),
    }
    lab = sm_api.domains["d-team"]["DefaultUserSettings"]["JupyterLabAppSettings"]
    lab["LifecycleConfigArns"].append(legacy)
    lab["DefaultResourceSpec"]["LifecycleConfigArn"] = legacy  # an earlier version's default
    assert deploy("ab" * 32) == 0
    lab = sm_api.domains["d-team"]["DefaultUserSettings"]["JupyterLabAppSettings"]
    assert lab["DefaultResourceSpec"] == {"InstanceType": "ml.t3.medium"}
    assert legacy in lab["LifecycleConfigArns"]
    sm_api.spaces["team-shared"] = {
        "SpaceName": "team-shared",
        "SpaceSharingSettings": {"SharingType": "Shared"},
    }
    assert "ab" * 32 in sm_api.launch("d-team", "team-shared", "JupyterLab")
    capsys.readouterr()


def test_user_profiles_with_their_own_settings(domain, capsys):
    sm_api = domain
    sm_api.profiles["bob"] = {"UserProfileName": "bob", "UserSettings": {"ExecutionRole": ROLE}}
    sm_api.profiles["carol"] = {
        "UserProfileName": "carol",
        "UserSettings": {"JupyterLabAppSettings": {"LifecycleConfigArns": [OTHER]}},
    }
    assert deploy("ab" * 32) == 0
    out = capsys.readouterr().out
    assert "User profile carol has its own JupyterLab or Code Editor settings" in out
    assert "--user-profile carol" in out and "bob" not in out
    assert "UpdateUserProfile" not in sm_api.ops()
    assert deploy("ab" * 32, "--user-profile", "carol") == 0
    carol = sm_api.profiles["carol"]["UserSettings"]
    lab_arn = arn_of(sm_api, studio.config_name("team", "JupyterLab", content("ab" * 32)))
    assert carol["JupyterLabAppSettings"] == {
        "LifecycleConfigArns": [OTHER, lab_arn],
        "BuiltInLifecycleConfigArn": lab_arn,
    }
    assert "CodeEditorAppSettings" in carol and sm_api.profiles["bob"]["UserSettings"] == {
        "ExecutionRole": ROLE
    }
    assert "profile carol" in capsys.readouterr().out
    assert deploy("ab" * 32, "--user-profile", "dave") != 0
    assert "no user profile 'dave'" in capsys.readouterr().err


def test_studio_options_without_studio_are_one_sentence(capsys):
    assert cli.main(["lifecycle", "--name", "x", "--prune"]) != 0
    err = capsys.readouterr().err
    assert "add --studio" in err and err.count("\n") == 1
