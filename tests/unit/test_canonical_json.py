"""Every signature is over RFC 8785 canonical JSON: `canonical_json` writes the same bytes as
the `rfc8785` package, or refuses what it refuses, whatever the document holds."""

from __future__ import annotations

from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

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
