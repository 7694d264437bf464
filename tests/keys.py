"""Key shapes for the leak tests: each test that seeds a key runs once per shape.

Providers publish no grammar (Hugging Face aside); the shapes are the ones open scanners use
(gitleaks, trufflehog; see the research note behind issue 22), drawn from a seeded RNG so a
failure can be reproduced, never copied from leaked keys:

- ``letters-digits``: 32 letters and digits, no prefix (Mistral): the shortest real key;
- ``openai-svcacct``: ``sk-svcacct-`` + 74 + ``T3BlbkFJ`` + 74 of ``[A-Za-z0-9_-]``, 167
  characters: the longest;
- ``anthropic``: ``sk-ant-api03-`` + 93 of ``[A-Za-z0-9_-]`` + ``AA`` (108);
- ``huggingface``: ``hf_`` + 34 letters (37), letters only;
- ``langsmith``: ``lsv2_pt_`` + 32 hex + ``_`` + 10 hex (51): digit groups between
  underscores;
- ``plus-slash``: not a provider's format but a secret with ``+`` and ``/`` in it (base64),
  so its URL-encoded and JSON forms differ from the value itself.

The bodies with dashes and underscores hold a dash-delimited group of digits, the piece that
highlighters (rich's number highlighter, pygments reading it as code) colour apart from the
rest, so a key of that shape reaches the output in pieces with markup between them.
"""

from __future__ import annotations

import random
import string

__all__ = ["SHAPES", "make_key"]

_ALNUM = string.ascii_letters + string.digits
_BODY = _ALNUM + "-_"
_HEX = "0123456789abcdef"


def _draw(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _body(rng: random.Random, n: int) -> str:
    """``n`` characters of ``[A-Za-z0-9_-]`` with a ``-NNNN-`` digit group and an ``_``."""
    chars = list(_draw(rng, _BODY, n))
    at = rng.randrange(8, n - 14)
    chars[at : at + 6] = "-" + _draw(rng, string.digits, 4) + "-"
    chars[at + 9] = "_"
    return "".join(chars)


def _letters_digits(rng: random.Random) -> str:
    key = _draw(rng, _ALNUM, 32)
    return key if any(c.isdigit() for c in key) else "7" + key[1:]


SHAPES = {
    "letters-digits": _letters_digits,
    "openai-svcacct": lambda rng: "sk-svcacct-" + _body(rng, 74) + "T3BlbkFJ" + _body(rng, 74),
    "anthropic": lambda rng: "sk-ant-api03-" + _body(rng, 93) + "AA",
    "huggingface": lambda rng: "hf_" + _draw(rng, string.ascii_letters, 34),
    "langsmith": lambda rng: f"lsv2_pt_{_draw(rng, _HEX, 32)}_{_draw(rng, _HEX, 10)}",
    "plus-slash": lambda rng: "sk-proj-" + _draw(rng, _BODY, 40) + "+/" + _draw(rng, _BODY, 12),
}

_drawn: dict[str, int] = {}


def make_key(shape: str) -> str:
    """A new key of ``shape`` (one of :data:`SHAPES`): the n-th drawn for it in this run."""
    n = _drawn.get(shape, 0)
    _drawn[shape] = n + 1
    return SHAPES[shape](random.Random(f"{shape}/{n}"))
