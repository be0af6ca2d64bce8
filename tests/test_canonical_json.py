"""The JSON rules of docs/FORMAT.md sections 6.1 and 7, on the parsers themselves:
whatever the writer encodes is read back, and what the spec refuses (NaN, a
duplicated key, another spelling of the same value) is refused as an index
failure, before any value is judged. The vectors pin the same rules end to end."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemedia.archive.index import Member, encode_entry
from securemedia.archive.index_stream import iter_index
from securemedia.archive.records import U32, canonical_meta, read_meta
from securemedia.errors import FormatError

# Any text a JSON string can hold as UTF-8 (no lone surrogates): controls,
# quotes, backslashes, U+2028, characters beyond U+FFFF.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def _meta(raw: bytes) -> dict[str, Any]:
    return read_meta(io.BytesIO(U32.pack(len(raw)) + raw))


def _index(entries: list[bytes], members_end: int) -> list[Member]:
    raw = b'{"version":1,"members":[' + b",".join(entries) + b"]}"
    return list(iter_index(iter([raw[:5], raw[5:]]), members_end))


@settings(max_examples=200, deadline=None)
@given(values=st.dictionaries(TEXT, TEXT | INT64 | st.booleans() | st.none(), max_size=6))
def test_the_canonical_meta_of_any_values_is_read_back(values: dict[str, Any]) -> None:
    assert _meta(canonical_meta(values)) == values


@settings(max_examples=200, deadline=None)
@given(values=st.dictionaries(TEXT, TEXT | INT64, min_size=2, max_size=6))
def test_meta_in_any_other_layout_is_refused(values: dict[str, Any]) -> None:
    canonical = canonical_meta(values)
    for other in (
        json.dumps(values, ensure_ascii=False, sort_keys=True).encode(),  # spaces
        json.dumps(values, sort_keys=True, separators=(",", ":")).encode(),  # \\u escapes
        canonical + b" ",
        b"\xef\xbb\xbf" + canonical,
    ):
        if other != canonical:
            with pytest.raises(FormatError):
                _meta(other)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":NaN}',
        b'{"a":Infinity}',
        b'{"a":-Infinity}',
        b'{"a":1,"a":1}',
        b'{"a":"\\ud800"}',
        b'{"a":"\\u0041"}',
        b'{"a":"\\/"}',
        b'{"a":-0}',
        b'{"a":1E2}',
    ],
)
def test_meta_that_is_not_canonical_i_json_is_refused(raw: bytes) -> None:
    # NaN is the one that Python's own encoder writes back unchanged: only the
    # parser's parse_constant hook refuses it.
    with pytest.raises(FormatError):
        _meta(raw)


def test_meta_with_a_duplicated_unsafe_name_is_an_index_failure() -> None:
    good = canonical_meta(
        {"compression": "none", "mode": 420, "mtime_ns": 0, "path": "a", "type": "file"}
    )
    for dup in (b'"path":"a","path":"../x"', b'"path":"../x","path":"a"'):
        raw = good.replace(b'"path":"a"', dup)
        with pytest.raises(FormatError) as caught:
            _meta(raw)
        assert type(caught.value) is FormatError  # not UnsafeMemberError


@settings(max_examples=200, deadline=None)
@given(
    name=st.text(st.characters(exclude_categories=("Cs", "Cc", "Cf", "Zl", "Zp")), max_size=20),
    mtime_ns=INT64,
    size=st.integers(min_value=0, max_value=2**63 - 1),
)
def test_any_entry_the_writer_encodes_is_read_back(name: str, mtime_ns: int, size: int) -> None:
    path = "d/" + "".join(c for c in name if c not in "/\\:. ") + "x"
    member = Member(path, "file", size, 0o644, mtime_ns, "zstd", "ab" * 32, 0, 7)
    assert _index([encode_entry(member)], 7) == [member]


@pytest.mark.parametrize(
    "old, new",
    [
        (b'"path":"a"', b'"path":"a","path":"../x"'),
        (b'"path":"a"', b'"path":"../x","path":"a"'),
        (b'"path":"a"', b'"path":"\\u002e\\u002e/x"'),
        (b'"path":"a"', b'"path":"a\\ud800"'),
        (b'"mode":420', b'"mode":NaN'),
        (b'"size":1', b'"size":1.0'),
        (b'"size":1', b'"size":true'),
        (b'"size":1', b'"size":' + b"9" * 5000),
    ],
)
def test_index_text_is_judged_before_its_values(old: bytes, new: bytes) -> None:
    member = Member("a", "file", 1, 420, 0, "none", "ab" * 32, 0, 7)
    entry = encode_entry(member)
    assert old in entry
    with pytest.raises(FormatError) as caught:
        _index([entry.replace(old, new, 1)], 7)
    assert type(caught.value) is FormatError  # an index failure, never an unsafe member


@pytest.mark.parametrize(
    "kind, size, digest, ok",
    [
        ("dir", 0, "", True),
        ("dir", 1, "", False),
        ("dir", 0, "ab" * 32, False),
        ("file", 0, "", False),
        ("file", 0, "ab" * 32, True),
        ("file", 0, "AB" * 32, False),
        ("file", 0, "ab" * 31 + "ag", False),
        ("file", 0, "ab" * 32 + "a", False),
    ],
)
def test_directory_and_digest_rules(kind: str, size: int, digest: str, ok: bool) -> None:
    member = Member("a", kind, size, 420, 0, "none", digest, 0, 7)
    if ok:
        assert _index([encode_entry(member)], 7) == [member]
    else:
        with pytest.raises(FormatError):
            _index([encode_entry(member)], 7)
