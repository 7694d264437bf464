"""A corpus of notebooks made by a real kernel (nbclient), with keys in every place a scan
reads, and clean notebooks with look-alike strings that must not be reported.

One kernel runs one notebook holding every cell; each cell is then saved as a notebook of its
own (with its outputs, and the widget state where the cell made a widget), so a finding in a
file is a finding in that place. Attachments, metadata, checkpoints, ``.env`` and text files
are written around the executed cells, as JupyterLab and editors write them. Keys are random
strings of each provider's shape from a seeded generator: no real key is in the corpus.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import string
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ALNUM = string.ascii_letters + string.digits
BODY = ALNUM + "-_"


def keys(seed: int = 23) -> dict[str, str]:
    """One random key of each provider's shape."""
    r = random.Random(seed)

    def s(n: int, alphabet: str = ALNUM) -> str:
        return "".join(r.choice(alphabet) for _ in range(n))

    return {
        "openai": f"sk-proj-{s(58, BODY)}T3BlbkFJ{s(58, BODY)}",
        "openai-legacy": f"sk-{s(20)}T3BlbkFJ{s(20)}",
        "anthropic": f"sk-ant-api03-{s(93, BODY)}AA",
        "huggingface": f"hf_{s(34)}",
        "google": f"AIza{s(35, BODY)}",
        "groq": f"gsk_{s(52)}",
        "xai": f"xai-{s(80, ALNUM + '_')}",
        "openrouter": f"sk-or-v1-{s(64, '0123456789abcdef')}",
        "perplexity": f"pplx-{s(48)}",
        "replicate": f"r8_{s(37, BODY)}",
        "pinecone": f"pcsk_{s(5)}_{s(63)}",
        "langsmith": f"lsv2_pt_{s(32, '0123456789abcdef')}_{s(10, '0123456789abcdef')}",
        "mistral": "A1" + s(30),
        "cohere": "Z9" + s(38),
    }


def png(text: bytes, seed: int) -> bytes:
    """A real 8x8 PNG with random pixels and ``text`` in a tEXt chunk (b"" for none)."""
    r = random.Random(seed)
    raw = b"".join(b"\0" + bytes(r.randrange(256) for _ in range(24)) for _ in range(8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    body = chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
    if text:
        body += chunk(b"tEXt", b"Comment\0" + text)
    body += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


# place -> (provider, cell source run by the kernel). K is the key, bound in a first cell.
KERNEL_PLACES: dict[str, tuple[str, str]] = {
    "source": ("openai", 'client = OpenAI(api_key="{K}")'),
    "stream": ("anthropic", "print('key:', K)"),
    "stream-split": (
        "groq",
        "import sys\nsys.stdout.write(K[:30]); sys.stdout.flush()\n"
        "import time; time.sleep(0.3)\nsys.stdout.write(K[30:] + '\\n')",
    ),
    "stream-lines": ("xai", "print(K[:40])\nprint(K[40:])"),
    "stderr": ("perplexity", "import sys; print('token', K, file=sys.stderr)"),
    "execute-result": ("google", "{'api_key': K, 'model': 'gemini'}"),
    "html": (
        "huggingface",
        "from IPython.display import HTML\n"
        "HTML('<b>' + ''.join('&#%d;' % ord(c) for c in K) + '</b>')",
    ),
    "json": ("replicate", "from IPython.display import JSON\nJSON({'auth': {'token': K}})"),
    "image": ("pinecone", "from IPython.display import Image\nImage(data=PNG)"),
    "base64-text": (
        "openrouter",
        "import base64\nprint(base64.b64encode(b'Authorization: Bearer ' + K.encode()).decode())",
    ),
    "url": (
        "langsmith",
        "print('https://api.example/?k=' + ''.join('%%%02X' % b for b in K.encode()))",
    ),
    "error": ("openai-legacy", "raise ValueError('rejected key ' + K)"),
    "widget-state": (
        "huggingface",
        "import ipywidgets\nw = ipywidgets.Password(value=K, description='HF token')\nw",
    ),
}
# places written around the kernel's notebooks: place -> provider
FILE_PLACES = {
    "attachment": "cohere",
    "metadata": "google",
    "checkpoint": "anthropic",
    "dotenv": "mistral",
    "text-file": "openai",
}

# Clean cells: look-alikes that must not be reported.
CLEAN_CELLS = {
    "hashes": "import hashlib, uuid\nfor i in range(20):\n"
    "    b = str(i).encode()\n"
    "    print(hashlib.sha256(b).hexdigest(), hashlib.md5(b).hexdigest(),\n"
    "          hashlib.sha1(b).hexdigest(), uuid.UUID(int=i * 7919 + 1))",
    "mistral-near-hash": "import hashlib\nprint('mistral model digest',"
    " hashlib.md5(b'm').hexdigest())\n"
    "print('cohere checkpoint', hashlib.sha1(b'c').hexdigest())",
    "image": "from IPython.display import Image\nImage(data=PNG_CLEAN)",
    "base64-random": "import base64, random\nr = random.Random(5)\n"
    "print(base64.b64encode(bytes(r.randrange(256) for _ in range(3000))).decode())",
    "placeholders": "print('OPENAI_API_KEY=sk-...')\nprint('HF_TOKEN=hf_' + 'x' * 34)\n"
    "print('sk-proj-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX')\nprint('AIza' + '0' * 35)",
    "uuids-json": "import uuid, json\nfrom IPython.display import JSON\n"
    "JSON({'ids': [str(uuid.UUID(int=i)) for i in range(50)],"
    " 'sha': 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3'})",
    "identifiers": "task_skip_prefix = 'sk-learn'\nprint('mask-ant-colony', 'xai-model', "
    "'pplx-tools', 'gsk_test')",
}


@dataclass
class Corpus:
    root: Path
    keys: dict[str, str]
    planted: dict[str, tuple[str, str]]  # file (relative) -> (place, provider)
    clean: list[str]  # files (relative) that hold no key


def _notebook(cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def _env() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NBSECRETS_", "PYTEST_"))
    }


def build(root: Path) -> Corpus:
    """Run the kernel, write the corpus under ``root``."""
    ks = keys()
    planted: dict[str, tuple[str, str]] = {}
    cells = []
    names = []
    for place, (provider, code) in KERNEL_PLACES.items():
        key = ks[provider]
        if place == "source":
            code = code.replace("{K}", key)
            prelude = ""
        else:
            prelude = f"K = {key!r}\n"
            if place == "image":
                prelude += f"PNG = {png(b'api_key=' + key.encode(), 1)!r}\n"
        cells.append(prelude + code if place != "source" else code)
        names.append(place)
    clean_names = list(CLEAN_CELLS)
    cells.extend(
        f"PNG_CLEAN = {png(b'', 2)!r}\n" + c if n == "image" else c for n, c in CLEAN_CELLS.items()
    )
    nb = _notebook(cells)
    root.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        store_widget_state=True,
        resources={"metadata": {"path": str(root)}},
    )
    client.execute(env=_env())
    (root / "leaky").mkdir(parents=True, exist_ok=True)
    (root / "clean").mkdir(parents=True, exist_ok=True)
    widgets = nb.metadata.get("widgets")

    def save(name: str, cell: nbformat.NotebookNode, *, with_widgets: bool = False) -> str:
        one = _notebook([])
        one.cells = [cell]
        if with_widgets and widgets:
            one.metadata["widgets"] = widgets
        # The kernel's prelude (K = ...) is test scaffolding, not the place under test:
        # a real notebook would have loaded the key another way.
        if name != "source":
            src = cell.source.split("\n")
            cell.source = "\n".join(line for line in src if not line.startswith(("K = ", "PNG")))
        rel = f"leaky/{name}.ipynb"
        nbformat.write(one, root / rel)
        return rel

    for i, name in enumerate(names):
        rel = save(name, nb.cells[i], with_widgets=name == "widget-state")
        planted[rel] = (name, KERNEL_PLACES[name][0])
    clean: list[str] = []
    for j, name in enumerate(clean_names):
        cell = nb.cells[len(names) + j]
        cell.source = "\n".join(
            x for x in cell.source.split("\n") if not x.startswith("PNG_CLEAN = ")
        )
        one = _notebook([])
        one.cells = [cell]
        rel = f"clean/{name}.ipynb"
        nbformat.write(one, root / rel)
        clean.append(rel)

    # An attachment (pasted image) holding a key, in a markdown cell, as JupyterLab saves it.
    md = nbformat.v4.new_markdown_cell("![pasted](attachment:shot.png)")
    md.attachments = {
        "shot.png": {
            "image/png": base64.b64encode(png(b"cohere token=" + ks["cohere"].encode(), 3)).decode()
        }
    }
    att = _notebook([])
    att.cells = [md]
    nbformat.write(att, root / "leaky/attachment.ipynb")
    planted["leaky/attachment.ipynb"] = ("attachment", "cohere")
    # Notebook metadata (a tool that saved its settings there).
    meta = _notebook(["1 + 1"])
    meta.metadata["my_tool"] = {"endpoint": "https://gemini.example", "key": ks["google"]}
    nbformat.write(meta, root / "leaky/metadata.ipynb")
    planted["leaky/metadata.ipynb"] = ("metadata", "google")
    # A checkpoint that kept an old output.
    ckpt = root / "leaky/.ipynb_checkpoints"
    ckpt.mkdir()
    shutil.copy(root / "leaky/stream.ipynb", ckpt / "old-checkpoint.ipynb")
    planted["leaky/.ipynb_checkpoints/old-checkpoint.ipynb"] = ("checkpoint", "anthropic")
    (root / "leaky/.env").write_text(
        f"# local settings\nMISTRAL_API_KEY={ks['mistral']}\nDEBUG=1\n", encoding="utf-8"
    )
    planted["leaky/.env"] = ("dotenv", "mistral")
    (root / "leaky/settings.py").write_text(
        f'import os\n\nOPENAI_KEY = "{ks["openai"]}"\n', encoding="utf-8"
    )
    planted["leaky/settings.py"] = ("text-file", "openai")
    # Clean text files: a requirements lock with hashes, a .env without keys.
    (root / "clean/requirements.txt").write_text(
        "requests==2.32.3 --hash=sha256:70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d"
        "061d6dcc6\n",
        encoding="utf-8",
    )
    (root / "clean/.env").write_text(
        "MISTRAL_MODEL=mistral-large-latest\nOPENAI_API_KEY=\n", encoding="utf-8"
    )
    clean += ["clean/requirements.txt", "clean/.env"]
    (root / "keys.json").unlink(missing_ok=True)
    return Corpus(root, ks, planted, clean)


def load_json(path: Path) -> dict[str, object]:
    return json.loads(path.read_text(encoding="utf-8"))
