"""History: the %logstart file scrubbed when a key is loaded, and the %notebook export
scrubbed of output kept after the cell (notebook/history.py), once per key shape."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from nbsecrets import redaction
from nbsecrets.notebook.history import scrub_logfile
from tests.keys import make_key


def test_logstart_file_rewritten_and_still_appended(tmp_path, key):
    path = tmp_path / "session.log"
    handle = open(path, "w", encoding="utf-8")  # %logstart -o over ('w' mode)
    try:
        handle.write(f"value = {key!r}\n")
        shell = SimpleNamespace(logger=SimpleNamespace(logfile=handle, logfname=str(path)))
        scrub_logfile(shell)
        handle.write("after = 1\n")
        handle.flush()
    finally:
        handle.close()
    assert path.read_text(encoding="utf-8") == "value = '[REDACTED:openai]'\nafter = 1\n"


def test_notebook_export_scrubs_output_kept_after_the_cell(ip, tmp_path, key):
    """Output that reaches IPython's per-cell record after the after-cell scrub (a late
    thread's print) is scrubbed again right before %notebook writes the file."""
    import IPython
    import nbformat

    if IPython.version_info < (9,):
        pytest.skip("IPython 8's %notebook export holds no outputs")
    from IPython.core.history import HistoryOutput

    ip.run_cell("x = 1", store_history=True)
    count = ip.execution_count - 1
    ip.history_manager.outputs[count].append(
        HistoryOutput(output_type="out_stream", bundle={"stream": [f"late: {key[2:]}\n"]})
    )
    path = tmp_path / "export.ipynb"
    ip.run_cell(f"%notebook {path}", store_history=True)
    text = path.read_text()
    assert "late: [REDACTED:openai]" in text
    assert not [key[i : i + 12] for i in range(2, len(key) - 11) if key[i : i + 12] in text]
    nbformat.validate(nbformat.reads(text, as_version=4))


def test_database_rows_are_scrubbed_by_what_they_hold(ip, key_shape):
    """A row of this session whose line is not its position in the input lists (IPython's
    lists append, the count can advance without them) is scrubbed all the same."""
    from nbsecrets.notebook.history import scrub_history

    value = make_key(key_shape)
    hm = ip.history_manager
    hm.writeout_cache()
    line = ip.execution_count + 1000
    with hm.db:
        hm.db.execute(
            "INSERT INTO history VALUES (?, ?, ?, ?)",
            (hm.session_number, line, f"x = {value!r}", f"x = {value!r}"),
        )
    redaction.register("openai", value)
    scrub_history(ip)
    row = hm.db.execute(
        "SELECT source, source_raw FROM history WHERE session=? AND line=?",
        (hm.session_number, line),
    ).fetchone()
    assert row == ("x = '[REDACTED:openai]'", "x = '[REDACTED:openai]'")
