"""Property tests: whatever values an index or a member record holds, parsing
raises only securemedia's own errors (never a bare ValueError, OverflowError,
TypeError or RecursionError that would reach the CLI as an "internal error"),
and whatever it accepts can be listed and written back identically."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from securemedia.archive.index import ENTRY_KEYS, check_member_meta, encode_entry
from securemedia.archive.index_stream import iter_index
from securemedia.archive.records import U32, read_meta
from securemedia.cli.listing import member_line
from securemedia.errors import SecureMediaError

VALID = {
    "path": "a.txt",
    "type": "file",
    "size": 1,
    "mode": 0o644,
    "mtime_ns": 0,
    "compression": "none",
    "blake3": "0" * 64,
    "offset": 0,
    "length": 10,
}

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**30, 0o7777, 0o10000])
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


def _parse(raw: bytes, members_end: int) -> None:
    try:
        for member in iter_index(iter([raw[:7], raw[7:]]), members_end):
            member_line(member)  # whatever is accepted can be shown
            assert encode_entry(member) in raw
    except SecureMediaError:
        pass


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(ENTRY_KEYS), value=JSON_VALUES)
def test_any_index_value_gives_our_error_or_a_member(key: str, value: Any) -> None:
    entry = {**VALID, key: value}
    doc = {"version": 1, "members": [entry]}
    _parse(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode(), 10)


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_index_bytes_give_our_error(raw: bytes) -> None:
    _parse(b'{"version":1,"members":[' + raw, 10)
    _parse(raw, 0)


@settings(max_examples=300, deadline=None)
@given(
    key=st.sampled_from(["path", "type", "mode", "mtime_ns", "compression", "x"]), value=JSON_VALUES
)
def test_any_meta_value_gives_our_error(key: str, value: Any) -> None:
    meta = {"path": "a", "type": "file", "mode": 0o644, "mtime_ns": 0, "compression": "none"}
    meta[key] = value
    # Canonical (as a writer encodes it), so that the values reach check_member_meta.
    text = json.dumps(meta, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    raw = text.encode("utf-8", "surrogatepass")
    try:
        parsed = read_meta(io.BytesIO(U32.pack(len(raw)) + raw))
        check_member_meta(parsed)
    except SecureMediaError:
        pass


def test_deeply_nested_and_huge_values_are_our_errors() -> None:
    for raw in (b"[" * 100_000, b"1" * 60_000, b'{"path":' + b"9" * 5000 + b"}"):
        _parse(b'{"version":1,"members":[' + raw, 10)
        with contextlib.suppress(SecureMediaError):
            read_meta(io.BytesIO(U32.pack(len(raw)) + raw))
