"""The scan of one document: formats, encodings, places, locations; never a value shown."""

from __future__ import annotations

import base64
import html
import json
import urllib.parse

import pytest

from nbsecrets import fingerprint
from nbsecrets.leakscan.engine import scan_bytes, scan_notebook, scan_text
from nbsecrets.leakscan.managed import Fingerprints
from nbsecrets.leakscan.report import text_line
from tests.scan.corpus import keys

KEYS = keys(7)
OPENAI = KEYS["openai"]


def nb(*cells: dict, metadata: dict | None = None) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata or {}, "cells": list(cells)}


def code(source: str = "", outputs: list | None = None, **extra) -> dict:
    return {
        "cell_type": "code",
        "source": source,
        "metadata": {},
        "outputs": outputs or [],
        "execution_count": 1,
        **extra,
    }


def stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


@pytest.mark.parametrize("provider", sorted(set(KEYS) - {"mistral", "cohere"}))
def test_each_prefixed_format_is_found_as_written(provider):
    key = KEYS[provider]
    found = scan_text("f.py", f'x = "{key}"\n')
    assert [f.provider for f in found] == [provider.removesuffix("-legacy")]
    assert found[0].kind == "pattern" and found[0].secret is None


def test_keys_without_a_prefix_need_the_providers_name_before_them():
    text = f"MISTRAL_API_KEY={KEYS['mistral']}\nco = cohere.Client('{KEYS['cohere']}')\n"
    assert [f.provider for f in scan_text(".env", text)] == ["mistral", "cohere"]
    assert scan_text("x.txt", f"token {KEYS['mistral']}\n") == []


@pytest.mark.parametrize(
    "text",
    [
        "d41d8cd98f00b204e9800998ecf8427e mistral d41d8cd98f00b204e9800998ecf8427e",
        "mistral sha1 a94a8fe5ccb19ba61c4c0873d391e987982fbbd3 cohere "
        "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
        "123e4567-e89b-12d3-a456-426614174000 550e8400-e29b-41d4-a716-446655440000",
        "hf_" + "x" * 34,
        "sk-proj-XXXXXXXXXXXXXXXXXXXXT3BlbkFJXXXXXXXXXXXXXXXXXXXX",
        "AIza" + "0" * 35,
        "task-skip mask-ant-colony sk-learn gsk_test",
        base64.b64encode(bytes(range(256)) * 8).decode(),
    ],
)
def test_look_alikes_are_not_keys(text):
    assert scan_text("x.txt", text) == []


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        (base64.b64encode(b"Bearer " + OPENAI.encode()).decode(), "base64"),
        (base64.b64encode(b"xy" + OPENAI.encode() + b"z").decode(), "base64"),  # any offset
        (base64.urlsafe_b64encode(b"k=" + OPENAI.encode()).decode(), "base64"),
        ("".join(f"%{b:02X}" for b in OPENAI.encode()), "url"),
        ("".join(f"&#{ord(c)};" for c in OPENAI), "html"),
        (json.dumps(OPENAI.replace("-", "\u2010"))[1:-1].replace("\\u2010", "\\u002d"), "json"),
    ],
)
def test_encoded_forms_are_found(encoded, encoding):
    found = scan_text("log.txt", f"value: {encoded}\n")
    assert [(f.provider, f.encoding) for f in found] == [("openai", encoding)]


def test_a_key_in_pieces_over_consecutive_stream_outputs():
    doc = nb(code("", [stream("noise\n"), stream(OPENAI[:40]), stream(OPENAI[40:] + "\n")]))
    (f,) = scan_notebook("a.ipynb", doc)
    assert (f.cell, f.output, f.line, f.encoding) == (0, 1, 1, "split")


def test_a_key_printed_over_two_lines():
    doc = nb(code("", [stream(f"a\n{OPENAI[:50]}\n{OPENAI[50:]}\n")]))
    (f,) = scan_notebook("a.ipynb", doc)
    assert (f.output, f.line, f.encoding) == (0, 2, "split")


def test_every_place_of_a_notebook():
    png = base64.b64encode(
        b"\x89PNG\r\n\x1a\n" + b"\x07" * 9 + KEYS["groq"].encode() + b"Q\x01"
    ).decode()
    doc = nb(
        code(f"key = '{KEYS['google']}'"),
        code(
            "",
            [
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"text/plain": "<img>", "image/png": png},
                },
                {
                    "output_type": "execute_result",
                    "execution_count": 2,
                    "metadata": {},
                    "data": {"application/json": {"k": KEYS["replicate"]}},
                },
                {
                    "output_type": "error",
                    "ename": "ValueError",
                    "evalue": f"bad {KEYS['anthropic']}",
                    "traceback": [],
                },
            ],
        ),
        {
            "cell_type": "markdown",
            "source": "![x](attachment:a.png)",
            "metadata": {},
            "attachments": {
                "a.png": {"image/png": base64.b64encode(b"\x89PNG" + KEYS["xai"].encode()).decode()}
            },
        },
        metadata={
            "widgets": {
                "application/vnd.jupyter.widget-state+json": {
                    "state": {"m": {"state": {"value": KEYS["huggingface"]}}}
                }
            },
            "tool": {"key": KEYS["perplexity"]},
        },
    )
    got = {(f.provider, f.where, f.cell, f.output, f.mime) for f in scan_notebook("n", doc)}
    assert got == {
        ("google", "source", 0, None, None),
        ("groq", "output", 1, 0, "image/png"),
        ("replicate", "output", 1, 1, "application/json"),
        ("anthropic", "output", 1, 2, "error"),
        ("xai", "attachment", 2, None, "image/png"),
        ("huggingface", "widget-state", None, None, None),
        ("perplexity", "metadata", None, None, None),
    }


def test_a_piece_of_a_found_key_elsewhere_is_found_by_the_redaction_matcher():
    doc = nb(code(f"k = '{OPENAI}'"), code("", [stream(f"prefix {OPENAI[5:40]}\n")]))
    found = scan_notebook("a.ipynb", doc)
    assert [(f.cell, f.encoding) for f in found] == [(0, ""), (1, "piece")]


def test_lines_are_counted_in_the_cell_and_in_text_files():
    doc = nb(code(["import os\n", "\n", f"os.environ['K'] = '{OPENAI}'\n"]))
    assert scan_notebook("a.ipynb", doc)[0].line == 3
    assert scan_text(".env", f"A=1\nB=2\nOPENAI_API_KEY={OPENAI}\n")[0].line == 3


def test_a_malformed_notebook_is_scanned_as_text_with_a_note():
    res = scan_bytes("bad.ipynb", b'{"cells": [ "' + OPENAI.encode() + b'"\n')
    assert [f.provider for f in res.findings] == ["openai"]
    assert res.notes and res.notes[0].startswith("bad.ipynb: not a valid notebook")


def test_binary_files_are_skipped():
    assert scan_bytes("a.bin", b"\0\1" + OPENAI.encode()).findings == []


def test_no_report_shows_more_than_the_public_prefix():
    doc = nb(code(f"k = '{KEYS['anthropic']}'"))
    (f,) = scan_notebook("a.ipynb", doc)
    line = text_line(f)
    record = json.dumps(f.record())
    assert "sk-ant-api03-…" in line
    for text in (line, record, repr(f)):
        assert KEYS["anthropic"] not in text and KEYS["anthropic"][13:25] not in text


def test_a_fingerprint_match_is_the_managed_key_with_its_version():
    fps = Fingerprints()
    e = fingerprint.entry(OPENAI, "v-current")
    fps.add("nbsecrets/openai", "openai", fingerprint.tag_value(e), {"v-current": ("AWSCURRENT",)})
    (f,) = scan_text("x.py", f"k = '{OPENAI}'\n", fps)
    assert (f.kind, f.secret, f.version, f.stages) == (
        "managed",
        "nbsecrets/openai",
        "v-current",
        ("AWSCURRENT",),
    )
    assert "live key nbsecrets/openai, version v-current (AWSCURRENT)" in text_line(f)


def test_a_managed_key_with_no_known_format_is_found_by_its_length_and_fingerprint():
    inhouse = "Zq7" + "".join(KEYS["mistral"][::-1][:37])  # 40 characters, no prefix
    fps = Fingerprints()
    fps.add(
        "nbsecrets/my-llm",
        "my-llm",
        fingerprint.tag_value(fingerprint.entry(inhouse, "v1")),
        {"v1": ("AWSCURRENT",)},
    )
    found = scan_text("cfg.yaml", f"llm:\n  token: {inhouse}\n", fps)
    assert [(f.provider, f.kind, f.line) for f in found] == [("my-llm", "managed", 2)]
    assert scan_text("cfg.yaml", f"llm:\n  token: {inhouse}\n") == []


def test_url_and_html_escaped_forms_of_a_url():
    url = urllib.parse.quote(f"https://x/?key={OPENAI}&a=1", safe="")
    esc = html.escape(f'<a href="?k={OPENAI}">')
    assert [f.encoding for f in scan_text("a.txt", url + "\n" + esc)] == [""]
