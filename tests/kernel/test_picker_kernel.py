"""``%aikey`` with no arguments in a real kernel shows the picker widget, not the table."""

from __future__ import annotations

import os

import nbformat
import pytest

from nbsecrets import demo

pytestmark = pytest.mark.kernel
KEY = "sk-kernel-picker-0123456789abcdef"


def test_no_arguments_shows_the_picker_in_a_kernel(tmp_path, seed):
    seed("nbsecrets/openai", KEY)
    os.environ["IPYTHONDIR"] = str(tmp_path / "ipython")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext nbsecrets"),
        nbformat.v4.new_code_cell("%aikey"),
    ]
    demo.execute(nb, tmp_path)
    [out] = nb.cells[1].outputs
    assert out.output_type == "display_data"
    assert "application/vnd.jupyter.widget-view+json" in out.data
    assert out.data["text/plain"] == "KeyPicker(openai: available)"
    assert KEY not in nbformat.writes(nb)
