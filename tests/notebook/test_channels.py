"""Stream seams, message buffers and the %logstart scrub (notebook/channels.py)."""

from __future__ import annotations

import secrets
from types import SimpleNamespace

from nbsecrets import redact
from nbsecrets.notebook.channels import StreamSeams, redact_buffers, scrub_logfile


def _key() -> str:
    key = "sk-proj-" + secrets.token_urlsafe(36)
    redact.register("openai", key)
    return key


def test_pieces_across_stream_messages_are_caught():
    key = _key()
    seams = StreamSeams()
    shown = []
    for i in range(0, len(key), 7):
        content = seams.content({"name": "stdout", "text": key[i:i + 7]})
        shown.append(content["text"])
    joined = "".join(shown)
    assert joined.startswith(key[:7]) and "[REDACTED:openai]" in joined
    assert not any(key[i:i + 12] in joined for i in range(len(key) - 11))
    # another stream has its own tail; unrelated text is the same object
    other = {"name": "stderr", "text": "hello"}
    assert seams.content(other) is other


def test_buffers_are_redacted_as_bytes():
    key = _key()
    buffers = [memoryview(b"\x89PNG" + key.encode()), b"plain bytes here"]
    out = redact_buffers(buffers)
    assert out[0] == b"\x89PNG[REDACTED:openai]" and out[1] is buffers[1]
    clean = [b"nothing to see in here"]
    assert redact_buffers(clean) is clean


def test_logstart_file_rewritten_and_still_appended(tmp_path):
    key = _key()
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
