"""A value's JSON is read within bounds: its depth is counted over its brackets outside
strings before it is parsed, so no document, however deep, makes parsing (or anything that
walks the document after) recurse without end; and the sealed envelope's schema bounds its
ciphertext as the inbox does."""

from __future__ import annotations

import json
import time

import pytest

from services.contract.codec import MAX_DEPTH, TooDeep, decode, depth
from services.contract.registry import default_registry
from services.exchange.records import MAX_CIPHERTEXT, MAX_RECORD_BYTES, size
from tests.harness.inbox_world import Record


@pytest.mark.parametrize(("value", "expected"), [
    (b"{}", 1), (b"[]", 1), (b"1", 0), (b'"[[[["', 0), (b'{"a": [1, {"b": [2]}]}', 4),
    (b'["\\"[[[", [[]]]', 3), (b'"\\\\"[[', 2), (b"[[[", 3), (b"]]][[", 0),
])
def test_the_depth_counts_brackets_outside_strings(value: bytes, expected: int) -> None:
    assert depth(value) == expected


def test_a_document_deeper_than_the_bound_is_refused_unparsed() -> None:
    at_bound = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert decode(at_bound) == json.loads(at_bound)
    with pytest.raises(TooDeep):
        decode(b"[" + at_bound + b"]")
    with pytest.raises(TooDeep):  # a ValueError too: callers that catch that catch it
        decode(b"[" * 100_000 + b"]" * 100_000)
    assert issubclass(TooDeep, ValueError)


def test_brackets_in_strings_do_not_count() -> None:
    value = json.dumps({"note": "[" * 5000, "list": [1, 2]}).encode()
    assert decode(value)["list"] == [1, 2]


def test_counting_a_whole_record_of_brackets_takes_little_time() -> None:
    value = b"[" * (MAX_RECORD_BYTES // 2) + b"]" * (MAX_RECORD_BYTES // 2)
    started = time.monotonic()
    with pytest.raises(TooDeep):
        decode(value)
    assert time.monotonic() - started < 1.0


def test_no_value_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        decode(None)


def test_a_record_is_measured_whole_whatever_its_parts_are() -> None:
    assert size(Record(b"abc", b"k", [("h", b"vv")])) == 7
    assert size(Record(None, None, None)) == 0
    assert size(Record(b"x", "ké", [("h",), 42])) == 1 + 3 + len("('h',)") + 2


def test_the_sealed_envelope_schema_bounds_the_ciphertext_as_the_inbox_does() -> None:
    schema = default_registry().schema("envelope", 2)
    assert schema["properties"]["sealed"]["properties"]["ciphertext"]["maxLength"] \
        == MAX_CIPHERTEXT
    assert MAX_CIPHERTEXT < MAX_RECORD_BYTES
