"""The nbsecrets:fingerprint tag value: format, limits, matching."""

from __future__ import annotations

import re
import uuid

from nbsecrets import fingerprint

VALUE = "sk-proj-" + "Ab3" * 40


def test_an_entry_matches_only_its_value():
    e = fingerprint.entry(VALUE, "v1")
    assert e.matches(VALUE)
    assert not e.matches(VALUE[:-1] + "X") and not e.matches(VALUE + "X")


def test_the_tag_holds_no_part_of_the_value_and_only_allowed_characters():
    tag = fingerprint.tag_value(fingerprint.entry(VALUE, str(uuid.uuid4())))
    assert VALUE[:12] not in tag and VALUE[-12:] not in tag
    assert re.fullmatch(r"[A-Za-z0-9 _.:/=+\-@]+", tag)  # what Secrets Manager allows
    assert len(tag) <= 256


def test_two_entries_newest_first_within_256_characters():
    a = fingerprint.entry(VALUE, str(uuid.uuid4()))
    b = fingerprint.entry(VALUE[::-1], str(uuid.uuid4()))
    c = fingerprint.entry("x" * 40, str(uuid.uuid4()))
    tag = fingerprint.tag_value(c, fingerprint.tag_value(b, fingerprint.tag_value(a)))
    assert [e.version_id for e in fingerprint.parse(tag)] == [c.version_id, b.version_id]
    assert len(tag) <= 256


def test_rewriting_the_same_version_keeps_one_entry():
    a = fingerprint.entry(VALUE, "same")
    tag = fingerprint.tag_value(fingerprint.entry(VALUE, "same"), fingerprint.tag_value(a))
    assert len(fingerprint.parse(tag)) == 1


def test_malformed_parts_are_skipped():
    good = fingerprint.entry(VALUE, "v1").text()
    assert [e.version_id for e in fingerprint.parse(f"junk v2:a:b:c:d {good} v1:x:12:!!:??")] == [
        "v1"
    ]
    assert fingerprint.parse(None) == []
