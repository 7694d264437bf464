"""The corpus (tests/scan/corpus.py): every planted key found, in every place, and nothing in
the clean set; detect-secrets 1.5.0 run on the same files for comparison (the table is printed
in the test output)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import Counter

import nbformat
import pytest

from nbsecrets.leakscan.engine import NoFingerprints
from nbsecrets.leakscan.run import Options
from nbsecrets.leakscan.run import main as run_scan
from tests.scan.corpus import Corpus, build

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return build(tmp_path_factory.mktemp("corpus") / "c")


def nbsecrets_findings(corpus: Corpus) -> dict[str, list[dict]]:
    out = io.StringIO()
    code = run_scan(
        Options(paths=(str(corpus.root),), format="json"),
        out=out,
        err=io.StringIO(),
        matcher=NoFingerprints(),
    )
    assert code == 1
    by_file: dict[str, list[dict]] = {}
    for f in json.loads(out.getvalue())["findings"]:
        by_file.setdefault(str(f["path"]).removeprefix(f"{corpus.root}/"), []).append(f)
    return by_file


def detect_secrets_findings(corpus: Corpus) -> dict[str, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan", "--all-files", "."],
        cwd=corpus.root,
        capture_output=True,
        text=True,
        check=True,
    )
    results = json.loads(proc.stdout)["results"]
    return {path: [r["type"] for r in found] for path, found in results.items()}


def test_the_kernel_made_the_places(corpus):
    split = nbformat.read(corpus.root / "leaky/stream-split.ipynb", as_version=4)
    kinds = [o.output_type for o in split.cells[0].outputs]
    assert kinds[:2] == ["stream", "stream"]  # two messages, not joined by nbclient
    widget = nbformat.read(corpus.root / "leaky/widget-state.ipynb", as_version=4)
    state = json.dumps(widget.metadata["widgets"])
    assert corpus.keys["huggingface"] in state
    image = nbformat.read(corpus.root / "leaky/image.ipynb", as_version=4)
    assert "image/png" in image.cells[0].outputs[0].data
    for rel in corpus.planted:
        if rel.endswith(".ipynb") and rel != "leaky/source.ipynb":
            nb = nbformat.read(corpus.root / rel, as_version=4)
            assert all("K = " not in c.source for c in nb.cells)  # only the place holds it


def test_every_planted_key_found_and_no_false_finding_beside_detect_secrets(corpus, capsys):
    ours = nbsecrets_findings(corpus)
    theirs = detect_secrets_findings(corpus)
    rows = []
    totals: Counter[str] = Counter()
    for rel, (place, provider) in sorted(corpus.planted.items(), key=lambda x: x[1]):
        found = ours.get(rel, [])
        true = sum(f["provider"] == provider.removesuffix("-legacy") for f in found)
        false = len(found) - true
        ds = theirs.get(rel, [])
        totals.update(ours_true=bool(true), ours_false=false, ds_true=bool(ds))
        rows.append((place, provider, true, false, ", ".join(sorted(set(ds))) or "-"))
    for rel in corpus.clean:
        found = ours.get(rel, [])
        ds = theirs.get(rel, [])
        totals.update(ours_false=len(found), ds_false=len(ds))
        rows.append(
            (f"clean: {rel.split('/')[-1]}", "-", 0, len(found), ", ".join(sorted(set(ds))) or "-")
        )
    width = max(len(r[0]) for r in rows)
    table = [f"{'place':<{width}}  {'provider':<13} nbsecrets true/false  detect-secrets 1.5.0"]
    table += [f"{p:<{width}}  {prov:<13} {t:>4} / {f:<13} {d}" for p, prov, t, f, d in rows]
    table.append(
        f"planted places found: nbsecrets {totals['ours_true']}/{len(corpus.planted)},"
        f" detect-secrets {totals['ds_true']}/{len(corpus.planted)}; false findings "
        f"on the clean set: nbsecrets {totals['ours_false']}, detect-secrets "
        f"{totals['ds_false']}"
    )
    with capsys.disabled():
        print("\n" + "\n".join(table))
    missed = [r[0] for r in rows if r[1] != "-" and r[2] == 0]
    wrong = [(r[0], r[3]) for r in rows if r[3]]
    assert missed == [] and wrong == []
    assert totals["ours_true"] == len(corpus.planted)
    # the comparison is real: detect-secrets ran and reported something on these files
    assert sum(len(v) for v in theirs.values()) > 0
