"""The send path: stream seams and message buffers (notebook/send.py)."""

from __future__ import annotations

from nbsecrets.notebook.send import StreamSeams, redact_buffers


def test_pieces_across_stream_messages_are_caught(key):
    seams = StreamSeams()
    shown = []
    for i in range(0, len(key), 7):
        content = seams.content({"name": "stdout", "text": key[i : i + 7]})
        shown.append(content["text"])
    joined = "".join(shown)
    assert joined.startswith(key[:7]) and "[REDACTED:openai]" in joined
    assert not any(key[i : i + 12] in joined for i in range(len(key) - 11))
    # another stream has its own tail; unrelated text is the same object
    other = {"name": "stderr", "text": "hello"}
    assert seams.content(other) is other


def test_buffers_are_redacted_as_bytes(key):
    buffers = [memoryview(b"\x89PNG" + key.encode()), b"plain bytes here"]
    out = redact_buffers(buffers)
    assert out[0] == b"\x89PNG[REDACTED:openai]" and out[1] is buffers[1]
    clean = [b"nothing to see in here"]
    assert redact_buffers(clean) is clean
