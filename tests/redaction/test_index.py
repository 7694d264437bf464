"""What is matched: the forms of a value, the marker, and the index built from them."""

from __future__ import annotations

import urllib.parse

from nbsecrets.redaction import MIN_EXACT, RUN, Index, forms, marker

KEY = "sk-proj-Q2h7xY0aLm3NpRt5VwZ9bCdEfGhJkMnPqRsTuVwXyZ+/Ab_c-d12"


def test_forms_are_unique_and_start_with_the_value():
    got = forms(KEY)
    assert got[0] == KEY
    assert len(got) == len(set(got))
    assert urllib.parse.quote(KEY, safe="") in got


def test_marker_is_safe_text():
    assert marker("openai") == "[REDACTED:openai]"
    assert marker('x<y>"z') == "[REDACTED:x_y__z]"


def test_the_index_keeps_run_forms_and_exact_forms_apart():
    short = "sk-" + "x" * (MIN_EXACT - 3)  # 8 characters: matched exactly, never by runs
    index = Index.of({KEY: "openai", short: "short", "tiny": "tiny"})
    assert index is not None
    assert index.forms[0] == KEY.encode() and set(index.form_labels) == {"openai"}
    assert (short.encode(), "short") in index.exact
    assert (KEY.encode().hex().encode(), "openai") in index.exact  # hex: whole only
    assert not any(b"tiny" in f for f, _ in index.exact) and b"tiny" not in index.forms
    assert index.shortest == min(RUN, len(short))
    assert Index.of({"tiny": "tiny"}) is None
