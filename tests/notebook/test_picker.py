"""The key picker, driven from code (``.click()``, trait changes) against the moto server."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import ipywidgets as widgets
import pytest
from ipywidgets.widgets.widget import _instances as widget_instances

from nbsecrets import api, picker
from nbsecrets.errors import NbSecretsError
from nbsecrets.notebook.picker import KeyPicker, SecretField, age_warning

OPENAI = "sk-widget-openai-0123456789abcdef"
ANTHROPIC = "sk-ant-widget-fedcba9876543210"
NEW = "gsk-widget-new-key-5555aaaa6666bbbb"


def states(root: widgets.Widget) -> dict[str, dict]:
    """``get_state()`` of every widget in the tree under ``root`` (children, layouts, styles)."""
    found: dict[str, dict] = {}

    def walk(w: widgets.Widget) -> None:
        if w.model_id in found:
            return
        found[w.model_id] = w.get_state()
        for name in w.keys:
            value = getattr(w, name)
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, widgets.Widget):
                    walk(item)

    walk(root)
    return found


def assert_no_secret(root: widgets.Widget, *values: str) -> None:
    found = states(root)
    assert len(found) > 20  # the walk really reached the rows, buttons, layouts
    dumped = json.dumps(found, default=str)
    live = json.dumps({k: w.get_state() for k, w in widget_instances.items()}, default=str)
    for value in values:
        for start in range(len(value) - 11):  # no 12-character run of it either
            assert value[start : start + 12] not in dumped
            assert value[start : start + 12] not in live


def shown(p: KeyPicker) -> str:
    """Everything the picker shows as text: title, cells, status line, button labels."""
    texts = []
    for state in states(p).values():
        for trait in ("value", "description", "placeholder"):
            if isinstance(state.get(trait), str):
                texts.append(state[trait])
    return "\n".join(texts)


@pytest.fixture
def two_keys(seed):
    seed("nbsecrets/openai", OPENAI)
    seed("nbsecrets/anthropic", {"api_key": ANTHROPIC})


def test_shows_each_key_with_status_and_no_value(two_keys, aws_env):
    with open(aws_env["NBSECRETS_CONFIG"], "w") as f:
        f.write('[providers]\nmistral = "MISTRAL_API_KEY"\n')
    api.load("openai")
    p = picker()
    statuses = {r.label: r.status for r in p.rows}
    assert statuses == {"anthropic": "available", "mistral": "missing", "openai": "loaded"}
    text = shown(p)
    today = datetime.now(timezone.utc).date().isoformat()
    for expected in (
        "nbsecrets/openai",
        "nbsecrets/anthropic",
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "MISTRAL_API_KEY",
        today,
        "no secret yet",
        ">missing<",
        ">available<",
        ">loaded<",
        "in us-east-1",
    ):
        assert expected in text
    assert p.checkbox("mistral").disabled  # nothing to load until one is stored
    assert p.load_button.disabled  # nothing ticked yet
    assert repr(p) == "KeyPicker(anthropic: available, mistral: missing, openai: loaded)"
    assert_no_secret(p, OPENAI, ANTHROPIC)


def test_age_warning_after_90_days():
    now = datetime(2026, 11, 25, tzinfo=timezone.utc)
    assert age_warning(now - timedelta(days=90), now) == ""
    assert age_warning(now - timedelta(days=91), now) == "91 days old: rotate it"
    assert age_warning(None, now) == ""


def test_old_key_shows_the_warning_in_its_row(two_keys):
    p = picker()
    assert "rotate it" not in shown(p)
    # Moto dates every secret now; age the listing the picker already holds, then redraw.
    old = datetime.now(timezone.utc) - timedelta(days=120)
    p._listing = [
        replace(k, info=replace(k.info, last_changed=old)) if k.info.provider == "openai" else k
        for k in p._listing
    ]
    p._render()
    text = shown(p)
    assert "120 days old: rotate it" in text and text.count("rotate it") == 1


def test_loads_ticked_keys_in_one_request(two_keys, proxy):
    p = picker()
    p.checkbox("openai").value = True
    p.checkbox("anthropic").value = True
    assert p.load_button.description == "Load selected (2)"
    proxy.requests.clear()
    p.load_button.click()
    assert proxy.actions() == ["BatchGetSecretValue"]
    assert os.environ["OPENAI_API_KEY"] == OPENAI
    assert os.environ["ANTHROPIC_API_KEY"] == ANTHROPIC
    lines = p.message.splitlines()
    assert lines[0].startswith("anthropic: ANTHROPIC_API_KEY <- nbsecrets/anthropic (version ")
    assert lines[1].startswith("openai: OPENAI_API_KEY <- nbsecrets/openai (version ")
    assert "anthropic: ANTHROPIC_API_KEY &lt;- nbsecrets/anthropic" in p.status.value
    assert {r.label: r.status for r in p.rows} == {"anthropic": "loaded", "openai": "loaded"}
    assert not p.checkbox("openai").value and p.load_button.disabled  # selection done
    assert not p.refresh_button.disabled and not p.store_button.disabled
    assert_no_secret(p, OPENAI, ANTHROPIC)


def test_buttons_disable_and_status_says_what_is_happening(two_keys):
    p = picker()
    p.checkbox("openai").value = True
    seen = []
    p.status.observe(
        lambda ch: seen.append(
            (ch["new"], p.load_button.disabled, p.refresh_button.disabled, p.store_button.disabled)
        ),
        "value",
    )
    p.load_button.click()
    busy = seen[0]
    assert "Loading openai" in busy[0] and "fa-spinner" in busy[0]
    assert busy[1:] == (True, True, True)
    assert "OPENAI_API_KEY &lt;- nbsecrets/openai" in seen[-1][0]


def test_refresh_lists_again(two_keys, seed, proxy):
    p = picker()
    seed("nbsecrets/groq", NEW)
    proxy.requests.clear()
    p.refresh_button.click()
    assert proxy.actions() == ["ListSecrets"]
    assert [r.label for r in p.rows] == ["anthropic", "groq", "openai"]
    assert "GROQ_API_KEY" not in os.environ  # listing loads nothing


def test_refresh_makes_the_next_load_read_current_values(seed, sm, proxy):
    seed("nbsecrets/openai", OPENAI)
    p = picker()
    p.checkbox("openai").value = True
    p.load_button.click()
    sm.put_secret_value(SecretId="nbsecrets/openai", SecretString=NEW)
    p.checkbox("openai").value = True
    proxy.requests.clear()
    p.load_button.click()
    assert proxy.actions() == []  # from the cache, as %aikey would
    assert os.environ["OPENAI_API_KEY"] == OPENAI
    p.refresh_button.click()
    p.checkbox("openai").value = True
    proxy.requests.clear()
    p.load_button.click()
    assert proxy.actions() == ["BatchGetSecretValue"]
    assert os.environ["OPENAI_API_KEY"] == NEW
    assert_no_secret(p, OPENAI, NEW)


def test_unexpected_error_is_shown_not_spinning(two_keys, monkeypatch):
    p = picker()
    p.checkbox("openai").value = True

    def broken(names):
        raise RuntimeError("a bug")

    monkeypatch.setattr(api, "load_keys", broken)
    p.load_button.click()
    assert p.message == (
        "Unexpected RuntimeError in the key picker; run the same with %aikey to see the details."
    )
    assert not p.load_button.disabled and not p.refresh_button.disabled


def test_store_clears_the_field_before_any_request(proxy, sm):
    p = picker()
    p.provider_field.value = "groq"
    # As a browser sends it: a state update from the front end.
    p.secret_field.set_state({"value": NEW})
    proxy.requests.clear()
    cleared_after = []
    p.secret_field.observe(lambda ch: cleared_after.append(len(proxy.requests)), "value")
    p.store_button.click()
    assert cleared_after == [0]  # emptied before the first AWS request
    assert p.secret_field.value == ""
    assert sm.get_secret_value(SecretId="nbsecrets/groq")["SecretString"] == NEW
    assert os.environ["GROQ_API_KEY"] == NEW
    lines = p.message.splitlines()
    assert lines[0].startswith("groq: stored as nbsecrets/groq (version ")
    assert lines[1].startswith("groq: GROQ_API_KEY <- nbsecrets/groq (version ")
    assert {r.label: r.status for r in p.rows} == {"groq": "loaded"}
    assert p.provider_field.value == ""
    assert_no_secret(p, NEW)


def test_store_error_shows_in_widget_and_still_clears(proxy):
    p = picker()
    p.provider_field.value = "groq"
    p.secret_field.value = f"  {NEW}\n"
    proxy.requests.clear()
    p.store_button.click()
    assert p.secret_field.value == ""
    assert proxy.actions() == []
    assert p.message == (
        "groq: the value has spaces or newlines around it; nothing was stored. Paste the key alone."
    )
    assert "GROQ_API_KEY" not in os.environ
    assert_no_secret(p, NEW)


def test_store_needs_a_provider(proxy):
    p = picker()
    p.secret_field.value = NEW
    proxy.requests.clear()
    p.store_button.click()
    assert p.secret_field.value == ""
    assert proxy.actions() == []
    assert "Name the provider" in p.message
    assert_no_secret(p, NEW)


def test_denied_shows_the_magic_sentence_and_sets_nothing(two_keys, proxy):
    p = picker()
    p.checkbox("openai").value = True
    p.checkbox("anthropic").value = True
    proxy.fail(400, "AccessDeniedException", times=5, only="BatchGetSecretValue")
    proxy.fail(400, "AccessDeniedException", times=5, only="GetSecretValue")
    p.load_button.click()
    api.store().forget()
    proxy.fail(400, "AccessDeniedException", times=5, only="GetSecretValue")
    with pytest.raises(NbSecretsError) as magic:  # what %aikey would print, same request
        api.load_keys(["anthropic", "openai"])
    assert p.message == str(magic.value)
    assert "not allowed secretsmanager:GetSecretValue" in p.message
    assert "nbsecrets provision --role ROLE" in p.message
    assert "#cf222e" in p.status.value  # shown as an error
    assert "OPENAI_API_KEY" not in os.environ and "ANTHROPIC_API_KEY" not in os.environ
    assert {r.label: r.status for r in p.rows} == {"anthropic": "available", "openai": "available"}
    assert p.checkbox("openai").value  # the selection stays for a retry
    assert not p.load_button.disabled
    assert_no_secret(p, OPENAI, ANTHROPIC)


def test_missing_secret_is_all_or_nothing(two_keys, sm):
    p = picker()
    p.checkbox("openai").value = True
    p.checkbox("anthropic").value = True
    sm.delete_secret(SecretId="nbsecrets/anthropic", ForceDeleteWithoutRecovery=True)
    p.load_button.click()
    assert p.message.startswith("anthropic: secret nbsecrets/anthropic was not found")
    assert "%aikey --set anthropic" in p.message
    assert "OPENAI_API_KEY" not in os.environ and "ANTHROPIC_API_KEY" not in os.environ
    assert_no_secret(p, OPENAI, ANTHROPIC)


def test_listing_denied_shows_the_error_and_configured_keys(two_keys, aws_env, proxy):
    with open(aws_env["NBSECRETS_CONFIG"], "w") as f:
        f.write('[providers]\nopenai = "OPENAI_API_KEY"\n')
    proxy.fail(400, "AccessDeniedException", times=1, only="ListSecrets")
    p = picker()
    assert "secretsmanager:ListSecrets" in p.message
    assert "#cf222e" in p.status.value
    assert [(r.label, r.status) for r in p.rows] == [("openai", "unlisted")]
    p.checkbox("openai").value = True  # it can still be loaded by name
    p.load_button.click()
    assert os.environ["OPENAI_API_KEY"] == OPENAI
    assert p.row("openai").status == "loaded"


def test_empty_prefix_says_how_to_start():
    p = picker()
    assert p.rows == []
    assert p.message == "No keys under the prefix yet; store one below."
    assert repr(p) == "KeyPicker(no keys)"


def test_key_typed_in_front_end_is_not_echoed_back():
    """ipywidgets 8 echoes front-end updates; the stock Password would send the key back."""

    def sent_after_update(field: widgets.Password) -> list[dict]:
        sent: list[dict] = []
        field._send = lambda msg, buffers=None: sent.append(msg)
        field.set_state({"value": NEW})
        return sent

    assert any(NEW in json.dumps(m) for m in sent_after_update(widgets.Password()))
    assert sent_after_update(SecretField()) == []


def test_rows_show_whether_rotation_is_on(two_keys):
    p = picker()
    assert [r.rotation for r in p.rows] == ["off", "off"]
    when = datetime(2026, 11, 20, tzinfo=timezone.utc)
    p._listing = [
        replace(k, info=replace(k.info, rotation_enabled=True, last_rotated=when))
        if k.info.provider == "openai"
        else k
        for k in p._listing
    ]
    p._render()
    assert {r.label: r.rotation for r in p.rows} == {
        "anthropic": "off",
        "openai": "on, last 2026-11-20",
    }
    text = shown(p)
    assert ">rotation<" in text and "on, last 2026-11-20" in text
