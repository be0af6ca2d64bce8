"""Conformance vectors of the index, the record meta and the trailer (issue 10,
items 3, 4, 5, 6, 13 and 15; docs/FORMAT.md sections 6.1, 6.2 and 7).

Every vector here is a passphrase archive built byte by byte by generate.py's
spec builder, so it regenerates identically. Most break one rule of the JSON
text (I-JSON, canonical form) or of a field's value; the rule each pins is in
its comment. Registered by one line in ``generate.build_all``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import blake3
from generate import (
    ID_PASS,
    MTIME,
    Builder,
    Entry,
    det,
    file_hash,
    header,
    pass_recipient,
    payload,
    put,
    st_pass,
    stream,
    u32,
    u64,
    writer_archive,
)

from securemedia.envelope import payload_key

ONE = [Entry("hello.txt", b"hello, world\n")]
U64 = 1 << 64
U32_MAX = (1 << 32) - 1
TRAILER = 28


def build(b: Builder) -> None:
    """Add this part's vectors to ``b``."""
    _success(b)
    _longest_entry(b)
    _directories(b)
    _digests(b)
    _top_level(b)
    _index_json(b)
    _meta_json(b)
    _trailer_wrap(b)
    _time_range(b)


# -- building blocks -------------------------------------------------------------


Hook = Callable[[dict[str, Any]], None]


def _archive(
    name: str,
    entries: list[Entry],
    *,
    text: Callable[[str], str] | None = None,
    meta: bytes | None = None,
    plain_hook: Callable[[bytes], bytes] | None = None,
    **payload_kw: Any,
) -> bytes:
    """A passphrase archive (as ``Builder.pass_archive``) with knobs on the text:

    ``text`` rewrites the canonical index JSON as a string; ``meta`` replaces the
    first record's meta bytes (its ``meta_length`` and index ``length`` follow);
    ``plain_hook`` rewrites the whole payload plaintext before it is sealed.
    """
    if text is not None:
        payload_kw["index_encode"] = lambda d: text(
            json.dumps(d, ensure_ascii=False, separators=(",", ":"))
        ).encode()
    if meta is not None:
        canonical = _canonical_meta(entries[0])
        grow = len(meta) - len(canonical)
        hook: Hook | None = payload_kw.pop("doc_hook", None)

        def resize(d: dict[str, Any], hook: Hook | None = hook) -> None:
            d["members"][0]["length"] += grow
            for later in d["members"][1:]:
                later["offset"] += grow
            if hook is not None:
                hook(d)

        payload_kw["doc_hook"] = resize
    fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
    hdr = header([st_pass(fk, name)], fk, nonce)
    plain = payload(entries, hdr, **payload_kw)
    if meta is not None:
        old = b"M" + u32(len(canonical)) + canonical
        assert plain.startswith(old)
        plain = b"M" + u32(len(meta)) + meta + plain[len(old) :]
        # The trailer's index_offset moves with the first record.
        index_offset = int.from_bytes(plain[-TRAILER : -TRAILER + 8], "big") + grow
        plain = plain[:-TRAILER] + u64(index_offset) + plain[-TRAILER + 8 :]
    if plain_hook is not None:
        plain = plain_hook(plain)
    return hdr + b"".join(stream(payload_key(fk, nonce), plain))


def _canonical_meta(e: Entry) -> bytes:
    return json.dumps(e.meta(), ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def _add(
    b: Builder, name: str, comment: str, entries: list[Entry] | None = None, **kw: Any
) -> None:
    body = _archive(name, ONE if entries is None else entries, **kw)
    b.add(name, "index failure", body, comment, identities=[ID_PASS], deterministic=True)


def _member_set(key: str, value: Any, i: int = 0) -> Hook:
    return lambda d: d["members"][i].__setitem__(key, value)


def _replace_once(old: str, new: str) -> Callable[[str], str]:
    def apply(s: str) -> str:
        assert s.count(old) >= 1, old
        return s.replace(old, new, 1)

    return apply


# -- success ---------------------------------------------------------------------


def _success(b: Builder) -> None:
    entries = [
        Entry('say "hi"', type="dir", mode=0o700, mtime_ns=-1),
        Entry('say "hi"/caf\u00e9 \u2603 \U0001f600.txt', b"escapes and UTF-8\n"),
        Entry("zero bytes.txt", b""),
    ]
    name = "success_index_json_strings"
    body = writer_archive([pass_recipient(name)], name, lambda w: put(w, entries))
    assert _archive(name, entries) == body, "generator and library writer disagree"
    b.add(
        name,
        "success",
        body,
        'a name with " (written \\"), raw UTF-8 up to a 4-byte character (no \\u escapes),'
        " and an empty file whose digest is BLAKE3 of nothing",
        identities=[ID_PASS],
        payload=file_hash(entries),
        deterministic=True,
    )


def _longest_entry(b: Builder) -> None:
    # 16 components of 255 '"' (each written \"): the most escaping a safe name can
    # need; with the widest integers it stays under the 9216-character entry cap.
    longest = [Entry("/".join(['"' * 255] * 16), b"x", mtime_ns=-(2**63))]
    name = "success_index_longest_entry"
    body = writer_archive([pass_recipient(name)], name, lambda w: put(w, longest))
    assert _archive(name, longest) == body, "generator and library writer disagree"
    b.add(
        name,
        "success",
        body,
        'an index entry of over 8,000 characters: a 4095-byte name of \\" escapes, mtime_ns -2^63',
        identities=[ID_PASS],
        payload=file_hash(longest),
        deterministic=True,
    )
    over = [Entry("/".join(["\x1b" * 200] * 8), b"x")]
    _add(
        b,
        "index_entry_over_9216_characters",
        "an entry of 9,600-odd characters (a name of 1,600 ESC, each written \\u001b): refused"
        " by the entry cap as an index failure, before the name is judged unsafe",
        over,
    )


# -- item 3: directories ---------------------------------------------------------------


def _directories(b: Builder) -> None:
    d = [Entry("d", type="dir", mode=0o755)]
    _add(
        b,
        "index_dir_size_not_zero",
        "a directory entry with size 1",
        d,
        doc_hook=_member_set("size", 1),
    )
    _add(
        b,
        "index_dir_digest_not_empty",
        "a directory entry whose blake3 is the 64-digit digest of nothing, not the empty string",
        d,
        doc_hook=_member_set("blake3", blake3.blake3(b"").hexdigest()),
    )
    _add(
        b,
        "index_dir_compression_zstd",
        'a directory whose record and index entry both say compression "zstd"',
        [Entry("d", type="dir", meta_extra={"compression": "zstd"}, index={"compression": "zstd"})],
    )


# -- item 4: digests -------------------------------------------------------------------


def _digests(b: Builder) -> None:
    digest = blake3.blake3(ONE[0].content).hexdigest()
    _add(
        b,
        "index_file_digest_empty",
        'a file whose blake3 is "" (the directory form): a file always has a digest',
        doc_hook=_member_set("blake3", ""),
    )
    _add(
        b,
        "index_empty_file_digest_empty",
        'an empty file whose blake3 is "": its digest is BLAKE3 of nothing, 64 hex digits',
        [Entry("empty.txt", b"")],
        doc_hook=_member_set("blake3", ""),
    )
    _add(
        b,
        "index_digest_uppercase_hex",
        "the file's right digest in upper-case hex: only lowercase is accepted",
        doc_hook=_member_set("blake3", digest.upper()),
    )
    _add(
        b,
        "index_digest_64_not_hex",
        "a 64-character blake3 whose last character is 'g'",
        doc_hook=_member_set("blake3", digest[:63] + "g"),
    )
    _add(
        b,
        "index_digest_65_hex",
        "the right digest followed by one more hex digit",
        doc_hook=_member_set("blake3", digest + "0"),
    )


# -- item 5: the top level -------------------------------------------------------------


def _top_level(b: Builder) -> None:
    _add(
        b,
        "index_top_level_extra_key",
        'a third top-level key after "members"',
        text=lambda s: s[:-1] + ',"signer":null}',
    )
    _add(
        b,
        "index_top_level_no_members",
        'the index {"version":1}: no "members" (the record is there)',
        index_raw=b'{"version":1}',
    )
    _add(
        b,
        "index_top_level_no_version",
        'the index without "version"',
        text=_replace_once('{"version":1,', "{"),
    )
    _add(
        b,
        "index_top_level_duplicate_version",
        '"version" twice (1 then 2)',
        text=_replace_once('{"version":1,', '{"version":1,"version":2,'),
    )
    _add(
        b,
        "index_version_float",
        "version 1.0",
        text=_replace_once('"version":1,', '"version":1.0,'),
    )
    _add(
        b,
        "index_version_true",
        "version true",
        text=_replace_once('"version":1,', '"version":true,'),
    )
    _add(
        b, "index_utf8_bom", "a UTF-8 byte order mark before the index", text=lambda s: "\ufeff" + s
    )


# -- item 6: JSON of the index ---------------------------------------------------------


def _index_json(b: Builder) -> None:
    _add(
        b,
        "index_duplicate_path_unsafe_second",
        'an entry with "path" twice, "hello.txt" then "../x": refused as JSON (index failure)'
        " before either value is taken as a name",
        text=_replace_once('"length":', '"path":"../x","length":'),
    )
    _add(
        b,
        "index_duplicate_path_unsafe_first",
        'an entry with "path" twice, "../x" then "hello.txt": index failure, as the other order',
        text=_replace_once('{"path":', '{"path":"../x","path":'),
    )
    _add(
        b,
        "index_not_canonical_escaped_slash",
        'the name d/x.txt written "d\\/x.txt" (a JSON escape canonical form does not use)',
        [Entry("d/x.txt", b"x\n")],
        text=_replace_once('"d/x.txt"', '"d\\/x.txt"'),
    )
    esc = [Entry("\x1bx", b"x\n")]
    _add(
        b,
        "index_not_canonical_uppercase_u_escape",
        "an unsafe name (ESC x) written \\u001B, not the canonical \\u001b: the JSON text is"
        " refused (index failure) before the name is judged",
        esc,
        text=_replace_once("\\u001b", "\\u001B"),
    )
    nl = [Entry("a\nb", b"x\n")]
    _add(
        b,
        "index_not_canonical_u_escape_for_newline",
        "an unsafe name (a newline in it) written \\u000a, not the canonical \\n: index failure",
        nl,
        text=_replace_once("\\n", "\\u000a"),
    )
    _add(
        b,
        "index_lone_surrogate_escape",
        "the index names the member hello\\ud800.txt (a lone surrogate escape; the record says"
        " hello.txt): not I-JSON, not canonical, index failure (not unsafe member)",
        text=_replace_once('"hello.txt"', '"hello\\ud800.txt"'),
    )
    emoji = [Entry("\U0001f600.txt", b"x\n")]
    _add(
        b,
        "index_surrogate_pair_escape",
        "a 4-byte character written as the escaped surrogate pair \\ud83d\\ude00, not raw UTF-8",
        emoji,
        text=_replace_once("\U0001f600", "\\ud83d\\ude00"),
    )
    _add(
        b,
        "index_nan",
        "mtime_ns NaN (not JSON)",
        text=_replace_once(f'"mtime_ns":{MTIME}', '"mtime_ns":NaN'),
    )
    _add(
        b,
        "index_infinity",
        "size Infinity (not JSON)",
        text=_replace_once('"size":13', '"size":Infinity'),
    )
    _add(
        b,
        "index_size_2_63",
        "size 2^63 (one past the signed 64-bit range; I-JSON integers)",
        doc_hook=_member_set("size", 2**63),
    )
    _add(b, "index_size_negative", "size -1", doc_hook=_member_set("size", -1))
    _add(
        b,
        "index_size_exponent",
        "size 13 written 1.3e1",
        text=_replace_once('"size":13', '"size":1.3e1'),
    )
    _add(
        b,
        "index_mtime_exponent",
        "mtime_ns written 1.7e18 (a number with an exponent is not an integer here)",
        [Entry("hello.txt", b"hello, world\n", mtime_ns=1_700_000_000_000_000_000)],
        text=_replace_once('"mtime_ns":1700000000000000000', '"mtime_ns":1.7e18'),
    )
    _add(
        b,
        "index_not_canonical_minus_zero",
        "mtime_ns 0 written -0",
        [Entry("hello.txt", b"hello, world\n", mtime_ns=0)],
        text=_replace_once('"mtime_ns":0', '"mtime_ns":-0'),
    )
    _add(
        b,
        "index_leading_zero",
        "size 13 written 013 (not JSON)",
        text=_replace_once('"size":13', '"size":013'),
    )
    _add(
        b,
        "index_integer_5000_digits",
        "size written as a 5000-digit integer: far out of range (and past parsers' digit caps)",
        text=_replace_once('"size":13', '"size":' + "9" * 5000),
    )


# -- item 6: JSON of the record meta ---------------------------------------------------


def _meta_json(b: Builder) -> None:
    canon = _canonical_meta(ONE[0]).decode()

    def meta(
        name: str, comment: str, raw: str, entries: list[Entry] | None = None, **kw: Any
    ) -> None:
        assert raw.encode() != _canonical_meta((entries or ONE)[0]), name
        _add(b, name, comment, entries, meta=raw.encode(), **kw)

    meta(
        "index_record_meta_duplicate_path_unsafe",
        'record meta with "path" twice, "hello.txt" then "../x": index failure, not unsafe member',
        canon.replace('"path":"hello.txt"', '"path":"hello.txt","path":"../x"'),
    )
    meta(
        "index_record_meta_duplicate_key",
        'record meta with "mode" twice, same value',
        canon.replace('"mode":420', '"mode":420,"mode":420'),
    )
    meta(
        "index_record_meta_spaces",
        "record meta with the default separators (spaces)",
        json.dumps(ONE[0].meta(), sort_keys=True),
    )
    meta(
        "index_record_meta_key_order",
        "record meta keys in the index's order, not sorted",
        json.dumps(ONE[0].meta(), separators=(",", ":")),
    )
    meta(
        "index_record_meta_escaped_name",
        "record meta with the name written \\u0068ello.txt",
        canon.replace('"hello.txt"', '"\\u0068ello.txt"'),
    )
    meta(
        "index_record_meta_lone_surrogate",
        "record meta naming hello\\ud800.txt (a lone surrogate escape): index failure",
        canon.replace('"hello.txt"', '"hello\\ud800.txt"'),
    )
    meta(
        "index_record_meta_mode_float",
        "record meta mode 420.0 (the index has 420): equal only by JSON type and value",
        canon.replace('"mode":420', '"mode":420.0'),
    )
    meta(
        "index_record_meta_mode_exponent",
        "record meta mode 4.2e2",
        canon.replace('"mode":420', '"mode":4.2e2'),
    )
    mode1 = [Entry("hello.txt", b"hello, world\n", mode=1)]
    meta(
        "index_record_meta_mode_true",
        "record meta mode true (the index has 1): true is not the integer 1",
        _canonical_meta(mode1[0]).decode().replace('"mode":1', '"mode":true'),
        mode1,
    )
    meta(
        "index_record_meta_nan",
        "record meta mtime_ns NaN",
        canon.replace(f'"mtime_ns":{MTIME}', '"mtime_ns":NaN'),
    )
    meta(
        "index_record_mtime_wraps_u64",
        "record meta mtime_ns is the index's plus 2^64: equal only after wrapping in 64 bits",
        canon.replace(f'"mtime_ns":{MTIME}', f'"mtime_ns":{MTIME + U64}'),
    )
    meta("index_record_meta_trailing_space", "a space after the record meta's }", canon + " ")
    meta(
        "index_record_meta_bom", "a UTF-8 byte order mark before the record meta", "\ufeff" + canon
    )


# -- item 13: the trailer equation without wrap-around ------------------------------------


def _trailer_wrap(b: Builder) -> None:
    def forged(
        make: Callable[[int, int, int, int], tuple[int, int, int]],
    ) -> Callable[[bytes], bytes]:
        """Rewrite the trailer with fields from ``make(P, index_offset, index_length,
        signature_length)``."""

        def apply(plain: bytes) -> bytes:
            size = len(plain)
            trailer = plain[-TRAILER:]
            o, n, s = (int.from_bytes(trailer[a:z], "big") for a, z in ((0, 8), (8, 16), (16, 20)))
            o2, n2, s2 = make(size, o, n, s)
            # The point of these vectors: the equation holds modulo 2^64, not exactly.
            assert (o2 + 1 + n2 + s2 + TRAILER) % U64 == size and o2 + 1 + n2 + s2 + TRAILER != size
            return plain[:-TRAILER] + u64(o2) + u64(n2) + u32(s2) + b"SMEND001"

        return apply

    _add(
        b,
        "index_trailer_offset_wraps_u64",
        "trailer index_offset 2^64-1 and index_length P-28: the sum is P only modulo 2^64",
        plain_hook=forged(lambda p, o, n, s: (U64 - 1, p - TRAILER - s, s)),
    )
    _add(
        b,
        "index_trailer_sum_wraps_u64_length_under_cap",
        "trailer index_offset 2^64-2^28 and index_length under the 512 MiB cap: the sum wraps"
        " a u64 to P",
        plain_hook=forged(lambda p, o, n, s: (U64 - (1 << 28), p - TRAILER - s - 1 + (1 << 28), s)),
    )
    _add(
        b,
        "index_trailer_signature_length_wraps_u64",
        "trailer signature_length 2^32-1 and index_offset chosen so the sum is P modulo 2^64",
        plain_hook=forged(lambda p, o, n, s: ((p - 1 - n - U32_MAX - TRAILER) % U64, n, U32_MAX)),
    )


# -- item 15: the time range ----------------------------------------------------------


def _time_range(b: Builder) -> None:
    _add(
        b,
        "index_mtime_2_63_index_only",
        "index mtime_ns 2^63 (one past the end), the record 2^63-1 (in range)",
        [Entry("hello.txt", b"hello, world\n", mtime_ns=2**63 - 1, index={"mtime_ns": 2**63})],
    )
    _add(
        b,
        "index_mtime_minus_2_63_minus_1_record_only",
        "record mtime_ns -2^63-1 (one before the start), the index -2^63 (in range)",
        [
            Entry(
                "hello.txt", b"hello, world\n", mtime_ns=-(2**63) - 1, index={"mtime_ns": -(2**63)}
            )
        ],
    )
    _add(
        b,
        "index_dir_mtime_2_63",
        "a directory with mtime_ns 2^63 in record and index: directories have the same range",
        [Entry("d", type="dir", mtime_ns=2**63)],
    )
