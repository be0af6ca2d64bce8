"""Vectors of the format freeze, part "stream" (issue 10, items 2, 7 and 8).

* Item 2: the Argon2id caps are a structural header rule (FORMAT.md section 2,
  rule 9): a header over them is a header failure for every reader, also one that
  holds no passphrase at all.
* Item 7: zstd edge cases of FORMAT.md 6.1 not pinned by generate.py's own
  ``payload_zstd_*`` vectors: stored bytes that end after the magic, inside the
  magic, at a block boundary, inside or before the content checksum (the whole
  content decoded: only a reader that insists on the frame's end refuses it), a
  missing last frame, a skippable frame between frames or for an empty member,
  and a checksum that does not match.
* Item 8: archives with two faults at once; the class FORMAT.md 15.1 says wins.

Registered by one line in ``generate.build_all``; built with generate.py's own
byte-level encoder.
"""

from __future__ import annotations

from typing import Any

import zstandard
from generate import (
    ALICE,
    BASIC,
    CHUNK,
    ID_PASS,
    SENDER,
    T_ARGON2,
    ZSTD_FRAME_CONTENT,
    Builder,
    Entry,
    det,
    file_hash,
    flip,
    header,
    id_file,
    id_key,
    pattern,
    payload,
    payload_key,
    st_pass,
    st_pass_raw,
    stream,
    u32,
    u32_le,
    zstd,
)


def build(b: Builder) -> None:
    """Every vector of this part."""
    _argon2_caps_without_a_passphrase(b)
    _zstd_edges(b)
    _two_faults(b)


# -- item 2 --------------------------------------------------------------------------


def _argon2_caps_without_a_passphrase(b: Builder) -> None:
    one = [Entry("hello.txt", b"hello, world\n")]

    def arch(name: str, t: int, m: int, p: int) -> bytes:
        fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
        salt = det(f"{name}/salt", 16)
        st = (T_ARGON2, salt + u32(t) + u32(m) + u32(p) + det(f"{name}/w", 48))
        hdr = header([st], fk, nonce)
        return hdr + b"".join(stream(payload_key(fk, nonce), payload(one, hdr)))

    cases: list[tuple[str, int, int, int, tuple[str, str], str]] = [
        ("memory_huge_key_identity", 1, 0xFFFFFFFF, 4, id_key(ALICE), "an X25519 key"),
        ("time_cost_0_key_identity", 0, 1024, 1, id_key(ALICE), "an X25519 key"),
        ("work_over_cap_key_identity", 5, 157287, 4, id_key(ALICE), "an X25519 key"),
        ("parallelism_17_pem_identity", 1, 1024, 17, id_file("p256"), "a P-256 PEM key"),
    ]
    for label, t, m, p, ident, who in cases:
        name = f"header_argon2_{label}"
        b.add(
            name,
            "header failure",
            arch(name, t, m, p),
            f"Argon2id t={t} m={m} p={p} over the caps, read with {who} and no passphrase:"
            " the caps are structural (section 2, rule 9)",
            identities=[ident],
            deterministic=True,
        )
    # The lower bounds are inclusive: t 1, p 1, m 8p opens (and costs nothing).
    name = "success_argon2_smallest_costs"
    fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
    hdr = header([st_pass_raw(fk, det(f"{name}/salt", 16), 1, 8, 1)], fk, nonce)
    b.add(
        name,
        "success",
        hdr + b"".join(stream(payload_key(fk, nonce), payload(one, hdr))),
        "Argon2id t=1 m=8 KiB p=1: every cost at its lower bound (m = 8p) is allowed",
        identities=[ID_PASS],
        payload=file_hash(one),
        deterministic=True,
    )


# -- item 7 --------------------------------------------------------------------------


def _zstd_edges(b: Builder) -> None:
    fc = ZSTD_FRAME_CONTENT

    def add(name: str, content: bytes, stored: bytes, comment: str) -> None:
        entries = [Entry("log.txt", content, compression="zstd", stored=stored)]
        body = b.pass_archive(name, entries)[0]
        b.add(name, "payload failure", body, comment, identities=[ID_PASS], deterministic=True)

    text = pattern(5000, "edges")
    good = zstd(text)
    checked = zstandard.ZstdCompressor(level=3, write_checksum=True).compress(text)
    skippable = b"\x5e\x2a\x4d\x18" + u32_le(3) + b"zzz"
    big = pattern(fc + 1000, "edges big")
    two = zstd(big)
    first_len = _frame_length(two)
    # A frame of several blocks: 300 KiB of incompressible-looking content.
    noisy = b"".join(det(f"zstd-edges/{i}", 32) for i in range(300 * 32))
    blocks = zstandard.ZstdCompressor(level=1).compress(noisy)
    boundary = _block_ends(blocks)
    assert len(boundary) >= 2, "the multi-block frame has one block"
    cases = [
        (
            "payload_zstd_ends_after_magic",
            text,
            good[:4],
            "the stored bytes are a zstd magic alone",
        ),
        (
            "payload_zstd_ends_inside_magic",
            text,
            good[:2],
            "the stored bytes are 2 bytes of a magic",
        ),
        (
            "payload_zstd_ends_at_block_boundary",
            noisy,
            blocks[: boundary[0]],
            "a frame of several blocks cut after its first block (not marked last)",
        ),
        (
            "payload_zstd_ends_inside_checksum",
            text,
            checked[:-2],
            "a frame with a content checksum, cut 2 bytes into the checksum: all content decoded",
        ),
        (
            "payload_zstd_checksum_missing",
            text,
            checked[:-4],
            "a frame that announces a content checksum, cut just before it: all content decoded",
        ),
        (
            "payload_zstd_checksum_mismatch",
            text,
            checked[:-1] + bytes([checked[-1] ^ 1]),
            "a frame whose content checksum does not match its content (size and BLAKE3 do)",
        ),
        (
            "payload_zstd_last_frame_missing",
            big,
            two[:first_len],
            "a member of 2 MiB + 1000 bytes stored as its first frame only",
        ),
        (
            "payload_zstd_last_frame_cut",
            big,
            two[:-1],
            "a member of two frames whose second frame is one byte short",
        ),
        (
            "payload_zstd_skippable_frame_between",
            big,
            two[:first_len] + skippable + two[first_len:],
            "a skippable frame between the two frames of a member",
        ),
        (
            "payload_zstd_skippable_frame_for_empty_file",
            b"",
            skippable,
            "an empty compressed file stored as a skippable frame (it must have no stored bytes)",
        ),
    ]
    for name, content, stored, comment in cases:
        add(name, content, stored, comment)


def _frame_length(data: bytes) -> int:
    """Length of the first zstd frame of ``data``."""
    return _block_ends(data)[-1]


def _block_ends(frame: bytes) -> list[int]:
    """Offsets just after each block of the first zstd frame of ``frame`` (RFC 8878
    3.1.1); the last one includes the content checksum, if any."""
    descriptor = frame[4]
    single = descriptor >> 5 & 1
    fcs = (single, 2, 4, 8)[descriptor >> 6]
    dictionary = (0, 1, 2, 4)[descriptor & 3]
    pos = 5 + (1 - single) + dictionary + fcs
    ends = []
    while True:
        value = int.from_bytes(frame[pos : pos + 3], "little")
        last, kind, size = value & 1, value >> 1 & 3, value >> 3
        pos += 3 + (1 if kind == 1 else size)
        ends.append(pos)
        if last:
            break
    if descriptor & 4:
        ends[-1] += 4
    return ends


# -- item 8 --------------------------------------------------------------------------


def _two_faults(b: Builder) -> None:
    need = SENDER.public.to_line()

    def add(name: str, expect: str, body: bytes, comment: str, **kw: Any) -> None:
        b.add(name, expect, body, comment, identities=[ID_PASS], deterministic=True, **kw)

    def sealed(name: str, entries: list[Entry], **kw: Any) -> tuple[bytes, list[bytes], bytes]:
        fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
        hdr = header([st_pass(fk, name)], fk, nonce)
        return (
            hdr,
            stream(payload_key(fk, nonce), payload(entries, hdr, **kw)),
            payload_key(fk, nonce),
        )

    # Authentication outranks structure, wherever the reader meets them.
    name = "payload_truncated_and_bad_record_in_chunk0"
    entries = [Entry("big.bin", pattern(CHUNK + 1000, "two faults"), tag=b"X")]
    hdr, chunks, _ = sealed(name, entries)
    assert len(chunks) == 2
    add(
        name,
        "payload failure",
        hdr + chunks[0] + chunks[1][:-100],
        "the first record's tag is 'X' (chunk 0 authenticates) and the archive is cut inside"
        " its final chunk: a reader parsing chunk 0 first must still report the truncation",
    )
    name = "payload_bad_chunk0_and_index_not_json"
    entries = [Entry("big.bin", pattern(CHUNK + 1000, "bad chunk"))]
    hdr, chunks, _ = sealed(name, entries, index_raw=b"[not json]")
    assert len(chunks) == 2
    add(
        name,
        "payload failure",
        hdr + flip(chunks[0], 100) + chunks[1],
        "chunk 0 does not authenticate, and the index in the authentic final chunk is not JSON:"
        " a reader that reads the index first must authenticate every chunk before saying so",
    )
    name = "hmac_flipped_mac_and_truncated_payload"
    hdr, chunks, _ = sealed(name, [Entry("hello.txt", b"hello, world\n")])
    add(
        name,
        "hmac failure",
        flip(hdr, len(hdr) - 1) + chunks[0][:15],
        "a MAC bit flipped and a 15-byte payload: the MAC is checked first",
    )

    # The signature is verified over the index bytes before the JSON is parsed.
    name = "sig_altered_and_index_not_json"
    fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
    hdr = header([st_pass(fk, name)], fk, nonce)
    plain = payload(BASIC, hdr, signer=SENDER, index_raw=b"[not json]")
    add(
        name,
        "signature failure",
        hdr + b"".join(stream(payload_key(fk, nonce), flip(plain, len(plain) - 28 - 64 + 10))),
        "the index is not JSON and the signature over it does not verify: the signature first",
    )
    name = "sig_required_unsigned_and_index_not_json"
    hdr, chunks, _ = sealed(name, BASIC, index_raw=b"[not json]")
    add(
        name,
        "signature failure",
        hdr + b"".join(chunks),
        "unsigned, a signer required, and the index is not JSON: the signer first",
        require_signer=need,
    )
    name = "sig_altered_and_unsafe_name"
    evil = [Entry("../evil.txt", b"evil\n")]
    fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
    hdr = header([st_pass(fk, name)], fk, nonce)
    plain = payload(evil, hdr, signer=SENDER)
    add(
        name,
        "signature failure",
        hdr + b"".join(stream(payload_key(fk, nonce), flip(plain, len(plain) - 28 - 64 + 10))),
        "an unsafe name in an index whose signature does not verify: the signature first",
    )
    # The index before the records; the records in payload order.
    name = "unsafe_name_and_bad_record"
    hdr, chunks, _ = sealed(name, [Entry("../evil.txt", b"evil\n", tag=b"X")])
    add(
        name,
        "unsafe member",
        hdr + b"".join(chunks),
        "an unsafe name in the index and a record tagged 'X': the index is checked first",
    )
    digest_then_record = [
        Entry("a.txt", b"first\n", index={"blake3": "00" * 32}),
        Entry("b.txt", b"second\n", meta_extra={"x": 1}),
    ]
    name = "payload_digest_mismatch_then_bad_record"
    hdr, chunks, _ = sealed(name, digest_then_record)
    add(
        name,
        "payload failure",
        hdr + b"".join(chunks),
        "the first member's digest is wrong and the second record has an extra meta key:"
        " records are checked in payload order, each one's content before the next record",
    )
    record_then_digest = [
        Entry("a.txt", b"first\n", meta_extra={"x": 1}),
        Entry("b.txt", b"second\n", index={"blake3": "00" * 32}),
    ]
    name = "index_bad_record_then_digest_mismatch"
    hdr, chunks, _ = sealed(name, record_then_digest)
    add(
        name,
        "index failure",
        hdr + b"".join(chunks),
        "the first record has an extra meta key and the second member's digest is wrong:"
        " the first fault met in payload order wins",
    )
