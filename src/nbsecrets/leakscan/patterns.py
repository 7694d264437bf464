"""Provider key formats: what an AI provider's key looks like, for keys nbsecrets does not manage.

The formats are the ones open scanners use (gitleaks ``config/gitleaks.toml`` and trufflehog
``pkg/detectors``; see docs/decisions.md for the table and its sources). Only Hugging Face
documents its format. Keys with no prefix (Cohere, Mistral, DeepSeek, Weights & Biases, Voyage)
are matched only near a word that names the provider, as gitleaks and trufflehog do, and must
mix letters and digits, so a hash, an id or a UUID next to the word is not taken for a key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Candidate", "candidates", "public_prefix"]

_K = r"A-Za-z0-9_\-"  # the characters of most key bodies
# Prefixed formats: (provider, regex), each starting with its literal prefix.
_PREFIXED: tuple[tuple[str, str], ...] = (
    ("anthropic", rf"sk-ant-(?:api|admin)\d\d-[{_K}]{{93}}AA(?![{_K}])"),
    ("openrouter", r"sk-or-v1-[0-9a-f]{64}(?![0-9a-f])"),
    # legacy 51-character keys and sk-proj- / sk-svcacct- / sk-admin- keys of any length
    ("openai", rf"sk-(?:(?:proj|svcacct|admin|service)-)?[{_K}]{{10,90}}?T3BlbkFJ[{_K}]{{10,90}}"),
    ("openai", r"sk-None-[A-Za-z0-9]{48}(?![A-Za-z0-9])"),
    ("huggingface", r"(?:hf_[A-Za-z0-9]{34}|api_org_[A-Za-z]{34})(?![A-Za-z0-9])"),
    ("google", rf"AIza[{_K}]{{35}}(?![{_K}])"),
    ("groq", r"gsk_[A-Za-z0-9]{52}(?![A-Za-z0-9])"),
    ("xai", r"xai-[0-9A-Za-z_]{80}(?![0-9A-Za-z_])"),
    ("perplexity", r"pplx-[A-Za-z0-9]{48}(?![A-Za-z0-9])"),
    ("replicate", rf"r8_[{_K}]{{37}}(?![{_K}])"),
    ("pinecone", r"pcsk_[A-Za-z0-9]{5,6}_[A-Za-z0-9]{63}(?![A-Za-z0-9])"),
    ("langsmith", r"lsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}(?![0-9a-f])"),
    ("together", rf"tgp_v1_[{_K}]{{43}}(?![{_K}])"),
)
# Each format starts with a literal: str.find (C speed) locates the literal, and the format's
# regex is tried there only. One alternation of all formats is 5x slower in CPython's re, which
# tries every alternative at every position.
_BY_LITERAL: dict[str, list[tuple[str, re.Pattern[str], re.Pattern[str]]]] = {}
for _provider, _rx in _PREFIXED:
    _literal = re.match(r"(?:\(\?:)?([A-Za-z0-9_-]+)", _rx)
    assert _literal is not None
    _lit = _literal.group(1)
    # In decoded binary data a key is followed by any byte (a PNG chunk's CRC): no guard after
    _loose = re.sub(r"\(\?!\[[^\]]*\]\)", "", _rx)
    _BY_LITERAL.setdefault(_lit, []).append((_provider, re.compile(_rx), re.compile(_loose)))
    if _rx.startswith("(?:hf_"):  # the one format with two literals
        _BY_LITERAL.setdefault("api_org_", []).append(
            (_provider, re.compile(_rx), re.compile(_loose))
        )

# Keys without a prefix: a word naming the provider, then the key within 60 characters.
_NEAR = 60
_CONTEXT: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "cohere": (
        re.compile(r"(?i)cohere|co_api_key"),
        re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{40}(?![A-Za-z0-9])"),
    ),
    "mistral": (
        re.compile(r"(?i)mistral"),
        re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{32}(?![A-Za-z0-9])"),
    ),
    "deepseek": (
        re.compile(r"(?i)deepseek"),
        re.compile(r"(?<![A-Za-z0-9])sk-[a-z0-9]{32}(?![A-Za-z0-9])"),
    ),
    "wandb": (re.compile(r"(?i)wandb"), re.compile(r"(?<![A-Za-z0-9])[0-9a-f]{40}(?![A-Za-z0-9])")),
    "voyage": (
        re.compile(r"(?i)voyage"),
        re.compile(rf"(?<![A-Za-z0-9])pa-[{_K}]{{40,48}}(?![{_K}])"),
    ),
}
_CONTEXT_WORDS = ("cohere", "co_api_key", "mistral", "deepseek", "wandb", "voyage")
_PREFIXES = (
    "sk-ant-api03-",
    "sk-ant-admin01-",
    "sk-or-v1-",
    "sk-proj-",
    "sk-svcacct-",
    "sk-admin-",
    "sk-None-",
    "sk-",
    "hf_",
    "api_org_",
    "AIza",
    "gsk_",
    "xai-",
    "pplx-",
    "r8_",
    "pcsk_",
    "lsv2_pt_",
    "lsv2_sk_",
    "tgp_v1_",
    "pa-",
)


@dataclass(frozen=True)
class Candidate:
    """A string shaped like a provider's key, at ``start:end`` of the text it was found in."""

    provider: str
    start: int
    end: int
    value: str  # never printed: see public_prefix


def public_prefix(value: str) -> str:
    """The documented prefix of a key (``sk-proj-``, ``hf_``, ...), or "" for none.

    This is all a report shows of a key, followed by an ellipsis.
    """
    return next((p for p in _PREFIXES if value.startswith(p)), "")


def _random_enough(value: str, *, mixed: bool = False) -> bool:
    """Not a placeholder (``hf_xxxx...``) and, with ``mixed``, letters and digits mixed
    (a random 32-character key lacks digits or capitals with odds near 1 in 10^8; a hex hash or
    a word does not)."""
    body = value[len(public_prefix(value)) :]
    if len(set(body)) < 10:
        return False
    if mixed:
        return (
            any(c.isdigit() for c in body)
            and any(c.isupper() for c in body)
            and any(c.islower() for c in body)
        )
    return True


def candidates(text: str, *, loose: bool = False) -> Iterator[Candidate]:
    """Every provider-shaped key in ``text``, in order of position (linear in ``len(text)``).

    ``loose``: ``text`` is decoded binary data, where a key may be followed by any byte.
    """
    found: list[Candidate] = []
    for literal, formats in _BY_LITERAL.items():
        at = text.find(literal)
        while at >= 0:
            for provider, strict, lenient in formats:
                m = (lenient if loose else strict).match(text, at)
                if m and _random_enough(m.group()):
                    found.append(Candidate(provider, m.start(), m.end(), m.group()))
                    break
            at = text.find(literal, at + 1)
    found.sort(key=lambda c: c.start)
    last = -1
    for c in found:  # sk-proj-... holds no other literal, but be sure: no overlaps
        if c.start >= last:
            last = c.end
            yield c
    low = text.lower()
    if not any(w in low for w in _CONTEXT_WORDS):
        return
    seen: set[int] = set()
    for provider, (word, key) in _CONTEXT.items():
        for w in word.finditer(text):
            for m in key.finditer(text, w.end(), min(len(text), w.end() + _NEAR)):
                mixed = provider in ("cohere", "mistral")
                if m.start() not in seen and _random_enough(m.group(), mixed=mixed):
                    seen.add(m.start())
                    yield Candidate(provider, m.start(), m.end(), m.group())
