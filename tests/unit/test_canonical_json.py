"""Every signature is over RFC 8785 canonical JSON: `canonical_json` writes the same bytes as
the `rfc8785` package, or refuses what it refuses, whatever the document holds. The hash
chain's content (no floats) is written as the standard library writes it, byte for byte,
however fast it is written (`events.chain.canonical`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from events.chain import canonical
from services.signing import SAFE_INTEGER, canonical_json

KEYS = st.one_of(st.text(max_size=6), st.sampled_from(["a", "b", "\ue000", "\U0001f600", "é"]))
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-SAFE_INTEGER - 5, SAFE_INTEGER + 5),
    st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(), st.sampled_from(["\ud800", "\x7f", "\u2028", "\x00\x1f\"\\"]))
DOCUMENTS = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)), max_leaves=12)


def written(write: Any, value: Any) -> bytes | str:
    try:
        return bytes(write(value))
    except Exception as error:  # the same refusal, named by its kind
        return type(error).__name__


@settings(max_examples=400, deadline=None)
@given(DOCUMENTS)
def test_canonical_json_is_rfc8785_byte_for_byte(value: Any) -> None:
    assert written(canonical_json, value) == written(rfc8785.dumps, value)


def test_the_cases_the_standard_encoder_would_get_wrong_go_to_rfc8785() -> None:
    # A key beyond the plane sorts before U+E000 by UTF-16 unit, after it by code point.
    both = {"\ue000": 1, "\U0001f600": 2}
    assert canonical_json(both) == rfc8785.dumps(both)
    assert canonical_json(both) != b'{"\xee\x80\x80":1,"\xf0\x9f\x98\x80":2}'
    assert canonical_json({"n": 1.0}) == b'{"n":1}'  # a float as ECMAScript writes it
    assert written(canonical_json, {"n": 2**60}) == "IntegerDomainError"
    assert written(canonical_json, {"s": "\ud800"}) == "CanonicalizationError"


# What a chain's content can hold: no floats, and a key that is no text only by mistake.
CONTENT_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-2**64 - 2, 2**64 + 2),
    st.text(), st.text(st.characters(codec=None), max_size=4),
    st.sampled_from(["\ud800", "\x7f", "\u2028", "\x00\x1f\"\\", "\U0001f600", "[erased]"]))
CONTENT = st.recursive(CONTENT_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4),
    st.dictionaries(st.integers(0, 3), inner, max_size=2)), max_leaves=12)


def standard(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@settings(max_examples=400, deadline=None)
@given(CONTENT)
def test_the_chain_writes_its_content_as_the_standard_library_does(value: Any) -> None:
    assert written(canonical, value) == written(standard, value)


def test_what_the_standard_library_refuses_the_chain_refuses() -> None:
    assert written(canonical, {"at": datetime(2025, 1, 1, tzinfo=UTC)}) == "TypeError"
    assert written(canonical, {"s": "\ud800"}) == "UnicodeEncodeError"
    assert canonical({"n": 2**70, "m": {1: True}}) == b'{"m":{"1":true},"n":1180591620717411303424}'
