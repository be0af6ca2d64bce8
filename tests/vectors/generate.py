"""Generate the securemedia v1 conformance vectors (see README.md in this folder).

    python tests/vectors/generate.py          # rewrite tests/vectors/testkit/*

Each vector is a small text header of ``key: value`` lines, a blank line, then the
raw archive bytes. Valid archives come from the library's own writer (through its
deterministic seams); malformed ones are built here, byte by byte, from the
specification in docs/FORMAT.md, with the library used only for primitives
(HKDF/HMAC key derivation, stanza wrapping). The generator checks that its own
builder reproduces the library writer's bytes exactly, so the two agree on the
layout before any malformed variant is derived from the builder.

Vectors whose only stanza is a passphrase and that hold no zstd data are
byte-for-byte reproducible; HPKE and RSA-OAEP wrapping is randomised, so those
vectors differ between runs in their stanzas and MAC only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import blake3
import zstandard
from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from securemedia.archive.compression import Compression
from securemedia.archive.writer import ArchiveWriter
from securemedia.envelope import header_key, payload_key
from securemedia.keys import CLASSIC, PQ, SecretKey
from securemedia.recipients.hpke import HPKERecipient
from securemedia.recipients.passphrase import Argon2Params, PassphraseRecipient
from securemedia.recipients.rsa import RSARecipient

HERE = Path(__file__).resolve().parent
TESTKIT = HERE / "testkit"
KEYS = HERE / "keys"

MAGIC = b"securemedia\x00"
CHUNK = 1 << 20
TAG = 16
MAX_FRAME = 1 << 20
ZSTD_FRAME_CONTENT = 2 << 20  # content bytes in every zstd frame of a member but the last
MTIME = 1_700_000_000_123_456_789
PASSPHRASE = "correct horse battery staple"
SMALL_ARGON2 = Argon2Params(time_cost=1, memory_kib=1024, parallelism=1)

# Stanza type numbers (docs/FORMAT.md section 3).
T_X25519, T_MLKEM, T_P256, T_P384, T_RSA, T_ARGON2 = 1, 2, 3, 4, 5, 6

EXPECTS = (
    "success",
    "header failure",
    "hmac failure",
    "payload failure",
    "no match",
    "index failure",
    "unsafe member",
    "signature failure",
)


# -- small encoders (docs/FORMAT.md) -------------------------------------------------


def u8(v: int) -> bytes:
    return struct.pack(">B", v)


def u16(v: int) -> bytes:
    return struct.pack(">H", v)


def u32(v: int) -> bytes:
    return struct.pack(">I", v)


def u64(v: int) -> bytes:
    return struct.pack(">Q", v)


def det(label: str, size: int = 32) -> bytes:
    """Deterministic bytes for seeds, file keys and nonces."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"securemedia vectors/{label}/{counter}".encode()).digest()
        counter += 1
    return out[:size]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- keys --------------------------------------------------------------------------


def secret(kind: str, label: str) -> SecretKey:
    enc = det(f"{label}/enc", 96 if kind == PQ else 32)
    return SecretKey(kind, enc, det(f"{label}/sign"))


def key_line(key: SecretKey) -> str:
    """The key file line, encoded here from the spec (section 12)."""
    kind = {PQ: 1, CLASSIC: 2}[key.kind]
    return "smkey1-" + b64(bytes([kind]) + key.encryption + key.signing)


def signer_blob(key: SecretKey) -> bytes:
    """kind || encryption public || Ed25519 public: a signature block's key (section 9)."""
    public = key.public
    return u8({PQ: 1, CLASSIC: 2}[key.kind]) + public.encryption + public.signing


ALICE = secret(CLASSIC, "alice")  # X25519
BOB = secret(PQ, "bob")  # ML-KEM-768+X25519
CAROL = secret(CLASSIC, "carol")  # another X25519 recipient
STRANGER = secret(CLASSIC, "stranger")
SENDER = secret(PQ, "sender")  # signs archives
MALLORY = secret(CLASSIC, "mallory")  # signs with the wrong key


def _ec_key(label: str, curve: ec.EllipticCurve) -> ec.EllipticCurvePrivateKey:
    order = {"secp256r1": 2**256 - 2**224, "secp384r1": 2**384 - 2**128}[curve.name]
    scalar = int.from_bytes(det(f"{label}/ec", 64), "big") % (order - 2) + 1
    return ec.derive_private_key(scalar, curve)


def _pem_file(name: str, make: Callable[[], Any]) -> Any:
    """Load keys/<name>.pem, creating it once (RSA keys cannot be derived from a seed)."""
    path = KEYS / f"{name}.pem"
    if not path.exists():
        KEYS.mkdir(exist_ok=True)
        pem = make().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


P256 = _pem_file("p256", lambda: _ec_key("p256", ec.SECP256R1()))
P384 = _pem_file("p384", lambda: _ec_key("p384", ec.SECP384R1()))
P256_OTHER = _ec_key("p256-other", ec.SECP256R1())
RSA3072 = _pem_file("rsa3072", lambda: rsa.generate_private_key(65537, 3072))
RSA4096 = _pem_file("rsa4096", lambda: rsa.generate_private_key(65537, 4096))


def id_key(key: SecretKey) -> tuple[str, str]:
    return ("identity", key_line(key))


def id_file(name: str) -> tuple[str, str]:
    return ("identity-file", f"keys/{name}.pem")


ID_PASS = ("passphrase", PASSPHRASE)


# -- stanzas -----------------------------------------------------------------------


def st_key(key: SecretKey, file_key: bytes) -> tuple[int, bytes]:
    s = key.public.recipient().wrap(file_key)
    return int(s.type), s.body


def st_ec(key: ec.EllipticCurvePrivateKey, file_key: bytes) -> tuple[int, bytes]:
    s = HPKERecipient(key.public_key()).wrap(file_key)
    return int(s.type), s.body


def st_rsa(key: rsa.RSAPrivateKey, file_key: bytes) -> tuple[int, bytes]:
    s = RSARecipient(key.public_key()).wrap(file_key)
    return int(s.type), s.body


def st_pass(
    file_key: bytes,
    label: str,
    passphrase: str = PASSPHRASE,
    params: Argon2Params = SMALL_ARGON2,
) -> tuple[int, bytes]:
    s = PassphraseRecipient(passphrase.encode(), params)._wrap_with_salt(
        file_key, det(f"{label}/salt", 16)
    )
    return int(s.type), s.body


def st_pass_raw(file_key: bytes, salt: bytes, t: int, m: int, p: int) -> tuple[int, bytes]:
    """An Argon2id stanza computed here with any parameters, caps ignored."""
    key = hash_secret_raw(
        PASSPHRASE.encode(),
        salt,
        time_cost=t,
        memory_cost=m,
        parallelism=p,
        hash_len=32,
        type=Type.ID,
    )
    wrapped = AESGCM(key).encrypt(bytes(12), file_key, b"securemedia/v1 stanza ARGON2ID")
    return T_ARGON2, salt + u32(t) + u32(m) + u32(p) + wrapped


# -- header --------------------------------------------------------------------------


def header(
    stanzas: list[tuple[int, bytes]],
    file_key: bytes,
    nonce: bytes,
    *,
    magic: bytes = MAGIC,
    version: int = 1,
    length: int | None = None,
    count: int | None = None,
    trailing: bytes = b"",
    mac_file_key: bytes | None = None,
) -> bytes:
    """A header per docs/FORMAT.md section 2, with knobs to break each field."""
    body = nonce + u16(len(stanzas) if count is None else count)
    for kind, data in stanzas:
        body += u8(kind) + u16(len(data)) + data
    body += trailing
    total = 12 + 1 + 4 + len(body) + 32 if length is None else length
    unsigned = magic + u8(version) + u32(total) + body
    mac = hmac.new(header_key(mac_file_key or file_key), unsigned, hashlib.sha256).digest()
    return unsigned + mac


# -- payload plaintext ---------------------------------------------------------------


@dataclass
class Entry:
    """One member for the payload builder; the knobs break one thing each."""

    path: str
    content: bytes = b""
    type: str = "file"
    mode: int = 0o644
    mtime_ns: int = MTIME
    compression: str = "none"
    frames: list[bytes] | None = None  # explicit framing of the stored bytes
    stored: bytes | None = None  # explicit stored bytes (e.g. a damaged zstd frame)
    meta_extra: dict[str, Any] = field(default_factory=dict)  # added to the record meta only
    meta_length: int | None = None  # lie about the meta length
    tag: bytes = b"M"
    terminator: bool = True
    junk: bytes = b""  # bytes after the record's end, counted in its index length
    index: dict[str, Any] = field(default_factory=dict)  # overrides in the index entry

    def meta(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "type": self.type,
            "mode": self.mode,
            "mtime_ns": self.mtime_ns,
            "compression": self.compression if self.type == "file" else "none",
        }


def zstd(data: bytes, *, frame_content: int = ZSTD_FRAME_CONTENT, **kw: Any) -> bytes:
    """Stored bytes of a zstd member (FORMAT.md 6.1): one independent frame per
    ``frame_content`` bytes of content, each declaring its content size; no frame
    for empty content. ``kw`` goes to the compressor (to break a rule)."""
    zc = zstandard.ZstdCompressor(level=3, **kw)
    pieces = range(0, len(data), frame_content)
    return b"".join(zc.compress(data[i : i + frame_content]) for i in pieces)


def record(e: Entry) -> bytes:
    meta = json.dumps(
        {**e.meta(), **e.meta_extra}, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    ).encode()
    out = e.tag + u32(len(meta) if e.meta_length is None else e.meta_length) + meta
    if e.type == "file":
        stored = e.stored
        if stored is None:
            stored = zstd(e.content) if e.compression == "zstd" else e.content
        frames = e.frames
        if frames is None:
            frames = [stored[i : i + MAX_FRAME] for i in range(0, len(stored), MAX_FRAME)]
        for frame in frames:
            out += u32(len(frame)) + frame
        if e.terminator:
            out += u32(0)
    return out + e.junk


def index_doc(entries: list[Entry], records: list[bytes]) -> dict[str, Any]:
    members = []
    offset = 0
    for e, rec in zip(entries, records, strict=True):
        item = {
            "path": e.path,
            "type": e.type,
            "size": len(e.content) if e.type == "file" else 0,
            "mode": e.mode,
            "mtime_ns": e.mtime_ns,
            "compression": e.compression if e.type == "file" else "none",
            "blake3": blake3.blake3(e.content).hexdigest() if e.type == "file" else "",
            "offset": offset,
            "length": len(rec),
        }
        for key, value in e.index.items():
            if value is DELETE:
                del item[key]
            else:
                item[key] = value
        members.append(item)
        offset += len(rec)
    return {"version": 1, "members": members}


DELETE = object()


def payload(
    entries: list[Entry],
    header_raw: bytes,
    *,
    signer: SecretKey | None = None,
    doc_hook: Callable[[dict[str, Any]], None] | None = None,
    index_raw: bytes | None = None,
    index_suffix: bytes = b"",
    signature: bytes | None = None,
    sign_index: bytes | None = None,
    trailer: Callable[[int, int, int], bytes] | None = None,
    index_encode: Callable[[dict[str, Any]], bytes] | None = None,
) -> bytes:
    """The payload plaintext of docs/FORMAT.md section 6."""
    records = [record(e) for e in entries]
    members = b"".join(records)
    if index_raw is None:
        doc = index_doc(entries, records)
        if doc_hook is not None:
            doc_hook(doc)
        if index_encode is not None:
            index_raw = index_encode(doc)
        else:
            index_raw = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    index_raw += index_suffix
    if signature is None:
        signature = b""
        if signer is not None:
            public = signer_blob(signer)
            msg = (
                b"securemedia/v1 signature\x00"
                + hashlib.sha256(header_raw).digest()
                + hashlib.sha256(sign_index if sign_index is not None else index_raw).digest()
                + hashlib.sha256(public).digest()
            )
            signature = public + signer.signing_key().sign(msg)
    index_offset = len(members)
    make_trailer = trailer or (lambda o, n, s: u64(o) + u64(n) + u32(s) + b"SMEND001")
    return (
        members
        + b"I"
        + index_raw
        + signature
        + make_trailer(index_offset, len(index_raw), len(signature))
    )


def nonce_of(i: int, final: bool) -> bytes:
    return i.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def seal_chunk(key: bytes, i: int, final: bool, data: bytes) -> bytes:
    return AESGCM(key).encrypt(nonce_of(i, final), data, None)


def split(plain: bytes) -> list[bytes]:
    return [plain[i : i + CHUNK] for i in range(0, len(plain), CHUNK)] or [b""]


def stream(key: bytes, plain: bytes) -> list[bytes]:
    """The sealed chunks of a plaintext (section 5)."""
    parts = split(plain)
    return [seal_chunk(key, i, i == len(parts) - 1, p) for i, p in enumerate(parts)]


def file_hash(entries: list[Entry]) -> str:
    """What ``payload:`` holds: SHA-256 of every file member's content, in index order."""
    return hashlib.sha256(b"".join(e.content for e in entries if e.type == "file")).hexdigest()


# -- vectors -------------------------------------------------------------------------


@dataclass
class Vector:
    name: str
    expect: str
    body: bytes
    comment: str
    identities: list[tuple[str, str]]
    payload: str | None = None
    require_signer: str | None = None
    deterministic: bool = False

    def text_header(self) -> str:
        lines = [f"expect: {self.expect}"]
        if self.payload is not None:
            lines.append(f"payload: {self.payload}")
        lines += [f"{k}: {v}" for k, v in self.identities]
        if self.require_signer is not None:
            lines.append(f"require-signer: {self.require_signer}")
        lines.append(f"comment: {self.comment}")
        return "\n".join(lines) + "\n\n"

    def file_bytes(self) -> bytes:
        return self.text_header().encode() + self.body


class Builder:
    def __init__(self) -> None:
        self.vectors: list[Vector] = []

    def add(self, name: str, expect: str, body: bytes, comment: str, **kw: Any) -> None:
        assert expect in EXPECTS, expect
        assert "\n" not in comment
        assert all(v.name != name for v in self.vectors), name
        self.vectors.append(Vector(name, expect, body, comment, **kw))

    # Shorthands for a passphrase archive (deterministic) built by the spec builder.
    def pass_archive(
        self,
        name: str,
        entries: list[Entry],
        *,
        chunks: Callable[[list[bytes]], list[bytes]] | None = None,
        **payload_kw: Any,
    ) -> tuple[bytes, bytes, bytes]:
        fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
        hdr = header([st_pass(fk, name)], fk, nonce)
        plain = payload(entries, hdr, **payload_kw)
        sealed = stream(payload_key(fk, nonce), plain)
        if chunks is not None:
            sealed = chunks(sealed)
        return hdr + b"".join(sealed), fk, nonce


def writer_archive(
    recipients: list[Any],
    name: str,
    build: Callable[[ArchiveWriter], None],
    *,
    signer: SecretKey | None = None,
    compression: Compression | None = None,
) -> bytes:
    """An archive from the library writer, through its deterministic seams."""
    sink = io.BytesIO()
    with ArchiveWriter(
        sink,
        recipients,
        signer=signer,
        compression=compression or Compression(enabled=False),
        _file_key=det(f"{name}/file-key"),
        _payload_nonce=det(f"{name}/nonce", 16),
    ) as w:
        build(w)
    return sink.getvalue()


def put(w: ArchiveWriter, entries: list[Entry]) -> None:
    for e in entries:
        if e.type == "dir":
            w.add_directory(e.path, mode=e.mode, mtime_ns=e.mtime_ns)
        else:
            with w.open_member(e.path, mode=e.mode, mtime_ns=e.mtime_ns) as out:
                out.write(e.content)


def pass_recipient(name: str) -> Any:
    """A PassphraseRecipient whose salt is deterministic (the vector seam)."""
    base = PassphraseRecipient(PASSPHRASE.encode(), SMALL_ARGON2)

    class _Fixed:
        label = "passphrase"

        def wrap(self, file_key: bytes) -> Any:
            return base._wrap_with_salt(file_key, det(f"{name}/salt", 16))

    return _Fixed()


def pattern(size: int, seed: str = "") -> bytes:
    unit = f"securemedia conformance vector {seed} ".encode()
    return (unit * (size // len(unit) + 1))[:size]


BASIC = [
    Entry("data", type="dir", mode=0o755),
    Entry("data/readme.txt", b"This archive is a securemedia conformance vector.\n"),
    Entry("data/rows.csv", b"id,value\n1,alpha\n2,beta\n3,gamma\n", mode=0o600),
]


def build_all() -> list[Vector]:
    b = Builder()
    success(b)
    header_failures(b)
    hmac_failures(b)
    no_match(b)
    payload_failures(b)
    index_failures(b)
    unsafe_members(b)
    signature_failures(b)
    __import__("gen_sigformat").build(b)  # signer kinds 3 and 4, Ed25519 strictness
    return b.vectors


# -- success -----------------------------------------------------------------------


def success(b: Builder) -> None:
    one = [Entry("hello.txt", b"hello, world\n")]
    kinds: list[tuple[str, Any, tuple[str, str], str]] = [
        ("x25519", ALICE.public.recipient(), id_key(ALICE), "X25519 (HPKE)"),
        ("mlkem768x25519", BOB.public.recipient(), id_key(BOB), "ML-KEM-768+X25519 (HPKE)"),
        ("p256", HPKERecipient(P256.public_key()), id_file("p256"), "P-256 (HPKE)"),
        ("p384", HPKERecipient(P384.public_key()), id_file("p384"), "P-384 (HPKE)"),
        ("rsa3072", RSARecipient(RSA3072.public_key()), id_file("rsa3072"), "RSA-3072 OAEP"),
        ("rsa4096", RSARecipient(RSA4096.public_key()), id_file("rsa4096"), "RSA-4096 OAEP"),
    ]
    for label, rec, ident, what in kinds:
        name = f"success_{label}"
        body = writer_archive([rec], name, lambda w: put(w, BASIC))
        b.add(
            name,
            "success",
            body,
            f"one {what} recipient; a directory and two files",
            identities=[ident],
            payload=file_hash(BASIC),
        )

    name = "success_passphrase"
    body = writer_archive([pass_recipient(name)], name, lambda w: put(w, BASIC))
    # The spec builder must reproduce the library writer byte for byte.
    built, _, _ = b.pass_archive(name, BASIC)
    assert built == body, "generator and library writer disagree on the layout"
    b.add(
        name,
        "success",
        body,
        "passphrase (Argon2id t=1 m=1024 p=1); a directory and two files",
        identities=[ID_PASS],
        payload=file_hash(BASIC),
        deterministic=True,
    )

    times = [
        Entry("d", type="dir", mode=0o755, mtime_ns=-(2**63)),
        Entry("d/1901.txt", b"1901\n", mtime_ns=-(2**31) * 10**9),
        Entry("d/1969.txt", b"1969\n", mtime_ns=-1),
        Entry("d/2262.txt", b"2262\n", mtime_ns=2**63 - 1),
    ]
    name = "success_times_before_1970_and_range_ends"
    body = writer_archive([pass_recipient(name)], name, lambda w: put(w, times))
    built, _, _ = b.pass_archive(name, times)
    assert built == body, "generator and library writer disagree on the layout"
    b.add(
        name,
        "success",
        body,
        "mtime_ns negative (1969, 1901) and both ends of the signed 64-bit range",
        identities=[ID_PASS],
        payload=file_hash(times),
        deterministic=True,
    )

    multi = [
        BOB.public.recipient(),
        ALICE.public.recipient(),
        HPKERecipient(P256.public_key()),
        RSARecipient(RSA3072.public_key()),
        HPKERecipient(P384.public_key()),
    ]
    for label, ident in (("x25519", id_key(ALICE)), ("rsa3072", id_file("rsa3072"))):
        name = f"success_multi_recipient_{label}"
        body = writer_archive(multi, name, lambda w: put(w, BASIC))
        b.add(
            name,
            "success",
            body,
            f"five recipients (ML-KEM, X25519, P-256, RSA-3072, P-384); opened by the {label} one",
            identities=[ident],
            payload=file_hash(BASIC),
        )

    name = "success_second_stanza_of_same_type"
    fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
    hdr = header([st_key(CAROL, fk), st_key(ALICE, fk)], fk, nonce)
    body = hdr + b"".join(stream(payload_key(fk, nonce), payload(one, hdr)))
    b.add(
        name,
        "success",
        body,
        "two X25519 stanzas; the identity's is the second: anonymous stanzas are all tried",
        identities=[id_key(ALICE)],
        payload=file_hash(one),
    )

    simple: list[tuple[str, list[Entry], str]] = [
        ("success_empty_archive", [], "no members at all: the index lists nothing"),
        ("success_empty_file", [Entry("empty.bin")], "one empty file: no frames, a terminator"),
        (
            "success_directories_only",
            [Entry("a", type="dir"), Entry("a/b", type="dir", mode=0o700)],
            "two directories, no file",
        ),
        (
            "success_unicode_names",
            [Entry("données/été.txt", b"\xc3\xa9t\xc3\xa9\n"), Entry("日本/テスト", b"x")],
            "non-ASCII member names, stored as UTF-8 in meta and index",
        ),
    ]
    for name, entries, comment in simple:
        body = writer_archive([pass_recipient(name)], name, lambda w, e=entries: put(w, e))
        b.add(
            name,
            "success",
            body,
            comment,
            identities=[ID_PASS],
            payload=file_hash(entries),
            deterministic=True,
        )

    name = "success_zstd"
    entries = [Entry("log.txt", pattern(200_000, "zstd"), compression="zstd"), *BASIC[1:]]
    body = writer_archive(
        [pass_recipient(name)],
        name,
        lambda w: put(w, entries),
        compression=Compression(enabled=True, threads=1),
    )
    b.add(
        name,
        "success",
        body,
        "members of one zstd frame each (content below 2 MiB)",
        identities=[ID_PASS],
        payload=file_hash(entries),
    )

    name = "success_zstd_frames"
    entries = [
        Entry("empty.txt", b"", compression="zstd"),
        Entry("log.txt", pattern(2 * ZSTD_FRAME_CONTENT + 1000, "frames"), compression="zstd"),
        Entry("exact.txt", pattern(ZSTD_FRAME_CONTENT, "exact"), compression="zstd"),
    ]
    body = writer_archive(
        [pass_recipient(name)], name, lambda w: put(w, entries), compression=Compression()
    )
    # The writer's frames (compressed on worker threads) are the spec builder's.
    built, _, _ = b.pass_archive(name, entries)
    assert built == body, "generator and library writer disagree on the zstd frames"
    b.add(
        name,
        "success",
        body,
        "zstd members of 0 frames (empty), 3 frames (2 MiB, 2 MiB, 1000 bytes) and 1 full frame",
        identities=[ID_PASS],
        payload=file_hash(entries),
        deterministic=True,
    )

    name = "success_zstd_frame_checksums"
    text = pattern(ZSTD_FRAME_CONTENT + 5000, "checksums")
    entries = [Entry("log.txt", text, compression="zstd", stored=zstd(text, write_checksum=True))]
    b.add(
        name,
        "success",
        b.pass_archive(name, entries)[0],
        "zstd frames that carry a content checksum (writers do not write one; readers accept it)",
        identities=[ID_PASS],
        payload=file_hash(entries),
        deterministic=True,
    )

    name = "success_small_frames"
    entries = [Entry("f.bin", b"abcdef", frames=[b"a", b"bc", b"def"])]
    body, _, _ = b.pass_archive(name, entries)
    b.add(
        name,
        "success",
        body,
        "a member cut into frames of 1, 2 and 3 bytes: any frame length 1..1 MiB is valid",
        identities=[ID_PASS],
        payload=file_hash(entries),
        deterministic=True,
    )

    name = "success_two_chunks"
    entries = [Entry("big.bin", pattern(CHUNK + 1000, "two"))]
    body = writer_archive([pass_recipient(name)], name, lambda w: put(w, entries))
    b.add(
        name,
        "success",
        body,
        "payload of two chunks: one full, one short final",
        identities=[ID_PASS],
        payload=file_hash(entries),
        deterministic=True,
    )

    name = "success_exactly_one_chunk"
    entries = exact_entries(CHUNK, name)
    body, _, _ = b.pass_archive(name, entries)
    b.add(
        name,
        "success",
        body,
        "payload plaintext of exactly 1 MiB: one full chunk, and it is the final one",
        identities=[ID_PASS],
        payload=file_hash(entries),
        deterministic=True,
    )

    for label, required in (("", None), ("_required", SENDER.public.to_line())):
        name = f"success_signed{label}"
        body = writer_archive([pass_recipient(name)], name, lambda w: put(w, BASIC), signer=SENDER)
        built, _, _ = b.pass_archive(name, BASIC, signer=SENDER)
        assert built == body, "generator and library writer disagree on the signature"
        b.add(
            name,
            "success",
            body,
            "signed by the sender's key pair (ML-KEM-768+X25519, 1313-byte block)"
            + (", and that signer is required" if required else ", no signer required"),
            identities=[ID_PASS],
            payload=file_hash(BASIC),
            require_signer=required,
            deterministic=True,
        )

    name = "success_key_commitment_alice"
    b.add(
        name,
        "success",
        salamander(name),
        "stanzas for alice and carol wrap different file keys; the MAC is under alice's",
        identities=[id_key(ALICE)],
        payload=file_hash(one),
    )


def salamander(name: str) -> bytes:
    """Two stanzas wrapping two different file keys, MAC under the first: only one
    file key can ever verify the header (key commitment)."""
    k1, k2 = det(f"{name}/k1"), det(f"{name}/k2")
    nonce = det(f"{name}/nonce", 16)
    hdr = header([st_key(ALICE, k1), st_key(CAROL, k2)], k1, nonce)
    one = [Entry("hello.txt", b"hello, world\n")]
    return hdr + b"".join(stream(payload_key(k1, nonce), payload(one, hdr)))


def exact_entries(size: int, name: str) -> list[Entry]:
    """One stored member sized so that the payload plaintext is exactly ``size`` bytes."""
    n = size - 400
    for _ in range(10):
        entries = [Entry("big.bin", pattern(n, name))]
        got = len(payload(entries, b""))
        if got == size:
            return entries
        n += size - got
    raise AssertionError("could not size the payload")


# -- header failures -----------------------------------------------------------------


def header_failures(b: Builder) -> None:
    one = [Entry("hello.txt", b"hello, world\n")]

    def arch(name: str, **kw: Any) -> bytes:
        fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
        stanzas = kw.pop("stanzas", None) or [st_pass(fk, name)]
        hdr = header(stanzas, fk, nonce, **kw)
        return hdr + b"".join(stream(payload_key(fk, nonce), payload(one, hdr)))

    def add(
        name: str, body: bytes, comment: str, ident: tuple[str, str] = ID_PASS, det_: bool = True
    ) -> None:
        b.add(name, "header failure", body, comment, identities=[ident], deterministic=det_)

    good = arch("header_base")
    add("header_bad_magic", b"securemediA\x00" + good[12:], "magic with one letter changed")
    add("header_not_an_archive", b"PK\x03\x04" + bytes(100), "a ZIP file, not an archive")
    add("header_empty_file", b"", "zero bytes")
    add("header_truncated_prefix", good[:10], "ends inside the magic")
    add("header_truncated", good[:60], "header_length promises more bytes than the input has")
    add("header_version_2", arch("header_version_2", version=2), "version 2: unsupported")
    add("header_version_0", arch("header_version_0", version=0), "version 0: unsupported")
    add("header_length_69", arch("header_length_69", length=69), "header_length below 70")
    add(
        "header_length_too_large",
        arch("header_length_too_large", length=256 * 1024 + 1),
        "header_length 262145, over the 256 KiB cap: refused before reading it",
    )
    add(
        "header_length_huge",
        arch("header_length_huge", length=0xFFFFFFFF),
        "header_length 2^32-1: refused before allocating",
    )
    add(
        "header_length_too_long_by_one",
        header_len_plus_one(),
        "header_length one more than the header: a byte after the stanza before the MAC",
    )
    add("header_stanza_count_0", arch("header_stanza_count_0", count=0), "stanza_count 0")
    stanzas = [(T_X25519, det(f"x{i}", 80)) for i in range(129)]
    add(
        "header_stanza_count_129",
        arch("header_stanza_count_129", stanzas=stanzas),
        "129 well-formed X25519 stanzas: over the cap of 128",
        id_key(ALICE),
    )
    add(
        "header_stanza_count_exceeds_stanzas",
        arch("header_stanza_count_exceeds_stanzas", count=2),
        "stanza_count 2 but one stanza: the second would run into the MAC",
    )
    for kind, label in ((7, "7"), (0, "0"), (255, "255")):
        add(
            f"header_unknown_stanza_type_{label}",
            arch(f"header_unknown_stanza_type_{label}", stanzas=[(kind, det("body", 80))]),
            f"stanza type {kind} does not exist in version 1",
            id_key(ALICE),
        )
    bad_lengths = [
        ("x25519_79", T_X25519, 79, id_key(ALICE)),
        ("x25519_81", T_X25519, 81, id_key(ALICE)),
        ("mlkem_1167", T_MLKEM, 1167, id_key(BOB)),
        ("p256_112", T_P256, 112, id_file("p256")),
        ("p384_146", T_P384, 146, id_file("p384")),
        ("rsa_383", T_RSA, 383, id_file("rsa3072")),
        ("rsa_1025", T_RSA, 1025, id_file("rsa3072")),
        ("argon2_77", T_ARGON2, 77, ID_PASS),
    ]
    for label, kind, length, ident in bad_lengths:
        add(
            f"header_stanza_length_{label}",
            arch(f"header_stanza_length_{label}", stanzas=[(kind, det("body", length))]),
            f"stanza type {kind} with a body of {length} bytes: not an allowed length",
            ident,
        )
    name = "header_rsa_stanzas_17"
    add(
        name,
        arch(name, stanzas=[(T_RSA, det(f"{name}/{i}", 384)) for i in range(17)]),
        "17 RSA-OAEP stanzas, one over the cap of 16: refused before any RSA work",
        id_file("rsa3072"),
    )
    name = "header_stanza_body_runs_into_mac"
    fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
    wrapped = st_pass(fk, name)[1]
    hdr = header([(T_ARGON2, wrapped[:40])], fk, nonce)
    # Patch body_length to 76 while only 40 body bytes precede the MAC.
    hdr = hdr[:36] + u16(76) + hdr[38:]
    add(name, hdr + bytes(64), "a stanza whose body_length runs past the start of the MAC")
    name = "header_passphrase_mixed_with_x25519"
    fk = det(f"{name}/file-key")
    add(
        name,
        arch(name, stanzas=[st_pass(fk, name), st_key(ALICE, fk)]),
        "a passphrase stanza beside an X25519 stanza: passphrases must stand alone",
        det_=False,
    )
    name = "header_two_passphrase_stanzas"
    fk = det(f"{name}/file-key")
    add(
        name,
        arch(name, stanzas=[st_pass(fk, name), st_pass(fk, name + "2")]),
        "two passphrase stanzas: a passphrase stanza must be the only one",
    )
    add(
        "header_trailing_bytes",
        arch("header_trailing_bytes", trailing=b"\x00\x00\x00"),
        "three bytes between the last stanza and the MAC, counted in header_length, MAC valid",
    )
    caps = [
        ("time_cost_11", 11, 1024, 1, "t=11 over the cap of 10"),
        ("time_cost_0", 0, 1024, 1, "t=0"),
        ("parallelism_17", 1, 1024, 17, "p=17 over the cap of 16"),
        ("memory_below_8p", 1, 7, 1, "m=7 KiB below 8*p"),
    ]
    for label, t, m, p, what in caps:
        name = f"header_argon2_{label}"
        fk = det(f"{name}/file-key")
        salt = det(f"{name}/salt", 16)
        if t >= 1 and m >= 8 * p:
            st = st_pass_raw(fk, salt, t, m, p)  # a real wrap: only the cap is wrong
        else:
            st = (T_ARGON2, salt + u32(t) + u32(m) + u32(p) + det(f"{name}/w", 48))
        add(name, arch(name, stanzas=[st]), f"Argon2id {what}: refused before hashing")
    for label, t, m, what in (
        ("memory_huge", 1, 0xFFFFFFFF, "m=2^32-1 KiB (4 TiB)"),
        ("memory_over_cap", 3, 192 * 1024 + 1, "m just over 192 MiB"),
        ("work_over_cap", 5, 157287, "t*m just over 768 MiB-passes (5 x 153.6 MiB)"),
        ("time_cost_huge", 0xFFFFFFFF, 65536, "t=2^32-1"),
    ):
        name = f"header_argon2_{label}"
        fk = det(f"{name}/file-key")
        salt = det(f"{name}/salt", 16)
        st = (T_ARGON2, salt + u32(t) + u32(m) + u32(4) + det(f"{name}/w", 48))
        add(
            name,
            arch(name, stanzas=[st]),
            f"Argon2id {what}: must fail at once, without running Argon2",
        )


def header_len_plus_one() -> bytes:
    """A valid archive whose header_length claims one byte more (MAC over the longer
    prefix, so only the structure is wrong)."""
    name = "header_length_too_long_by_one"
    fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
    one = [Entry("hello.txt", b"hello, world\n")]
    st = st_pass(fk, name)
    real = header([st], fk, nonce)
    payload_ct = b"".join(stream(payload_key(fk, nonce), payload(one, real)))
    # header_length + 1: the reader sees stanzas, then 1 extra byte before a "MAC" that
    # is really the last 31 MAC bytes and one payload byte.
    return real[:13] + u32(len(real) + 1) + real[17:] + payload_ct


# -- hmac failures -------------------------------------------------------------------


def hmac_failures(b: Builder) -> None:
    one = [Entry("hello.txt", b"hello, world\n")]

    def add(name: str, body: bytes, comment: str, ident: tuple[str, str], det_: bool) -> None:
        b.add(name, "hmac failure", body, comment, identities=[ident], deterministic=det_)

    name = "hmac_base"
    base, fk, nonce = b.pass_archive(name, one)
    hlen = struct.unpack(">I", base[13:17])[0]
    add(
        "hmac_flipped_mac_byte", flip(base, hlen - 1), "last byte of the MAC flipped", ID_PASS, True
    )
    add("hmac_flipped_nonce_byte", flip(base, 20), "a payload_nonce byte flipped", ID_PASS, True)

    name = "hmac_flipped_corecipient_stanza"
    fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
    st_a, st_c = st_key(ALICE, fk), st_key(CAROL, fk)
    hdr = header([st_a, st_c], fk, nonce)
    body = hdr + b"".join(stream(payload_key(fk, nonce), payload(one, hdr)))
    pos = 35 + 3 + len(st_a[1]) + 3 + 10  # inside carol's stanza
    add(
        name,
        flip(body, pos),
        "a byte of the other recipient's stanza flipped",
        id_key(ALICE),
        False,
    )

    name = "hmac_stanza_removed"
    hdr_short = header([st_a], fk, nonce)[:-32] + hdr[-32:]
    body = hdr_short + b"".join(stream(payload_key(fk, nonce), payload(one, hdr)))
    add(
        name,
        body,
        "carol's stanza removed (count and length fixed), MAC kept: the recipient list is bound",
        id_key(ALICE),
        False,
    )

    name = "hmac_stanza_added"
    extra = st_key(STRANGER, det(f"{name}/other-key"))
    unsigned = header([st_a, st_c, extra], fk, nonce)[:-32]
    body = unsigned + hdr[-32:] + b"".join(stream(payload_key(fk, nonce), payload(one, hdr)))
    add(name, body, "a stanza for a stranger appended, MAC kept", id_key(ALICE), False)

    name = "hmac_stanza_wraps_other_file_key"
    k1, k2 = det(f"{name}/k1"), det(f"{name}/k2")
    hdr = header([st_key(ALICE, k2)], k1, nonce)
    body = hdr + b"".join(stream(payload_key(k1, nonce), payload(one, hdr)))
    add(
        name,
        body,
        "our stanza unwraps a file key, but the header was sealed under another",
        id_key(ALICE),
        False,
    )

    name = "success_key_commitment_alice"  # same construction, the other identity
    add(
        "hmac_key_commitment_carol",
        salamander(name),
        "invisible-salamander attempt: carol's stanza wraps a second file key; MAC fails for it",
        id_key(CAROL),
        False,
    )

    name = "hmac_stanzas_reordered"
    fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
    st_a, st_c = st_key(ALICE, fk), st_key(CAROL, fk)
    hdr = header([st_a, st_c], fk, nonce)
    swapped = header([st_c, st_a], fk, nonce)[:-32] + hdr[-32:]
    body = swapped + b"".join(stream(payload_key(fk, nonce), payload(one, hdr)))
    add(
        name, body, "the two stanzas swapped, MAC kept: stanza order is bound", id_key(ALICE), False
    )


def flip(data: bytes, pos: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[pos] ^= mask
    return bytes(out)


# -- no match ------------------------------------------------------------------------


def no_match(b: Builder) -> None:
    one = [Entry("hello.txt", b"hello, world\n")]

    def single(name: str, st: Callable[[bytes], tuple[int, bytes]]) -> tuple[bytes, int]:
        fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
        s = st(fk)
        hdr = header([s], fk, nonce)
        return hdr + b"".join(stream(payload_key(fk, nonce), payload(one, hdr))), len(s[1])

    def add(name: str, body: bytes, comment: str, ident: tuple[str, str], det_: bool) -> None:
        b.add(name, "no match", body, comment, identities=[ident], deterministic=det_)

    body, _ = single("nomatch_x25519", lambda k: st_key(ALICE, k))
    add(
        "nomatch_wrong_x25519_key",
        body,
        "archive for alice, opened by a stranger",
        id_key(STRANGER),
        False,
    )
    body, _ = single("nomatch_passphrase", lambda k: st_pass(k, "nomatch_passphrase"))
    add(
        "nomatch_wrong_passphrase",
        body,
        "passphrase archive, wrong passphrase",
        ("passphrase", "correct horse battery stapler"),
        True,
    )
    body, _ = single("nomatch_p256", lambda k: st_ec(P256, k))
    add(
        "nomatch_identity_of_other_type",
        body,
        "P-256 archive, X25519 identity",
        id_key(ALICE),
        False,
    )
    body, _ = single("nomatch_p256_other", lambda k: st_ec(P256_OTHER, k))
    add(
        "nomatch_wrong_p256_key",
        body,
        "P-256 archive for another P-256 key",
        id_file("p256"),
        False,
    )
    body, _ = single("nomatch_rsa4096", lambda k: st_rsa(RSA4096, k))
    add(
        "nomatch_rsa_other_size",
        body,
        "RSA-4096 stanza, RSA-3072 identity: length differs, not tried",
        id_file("rsa3072"),
        False,
    )
    body, _ = single("nomatch_pq_for_bob", lambda k: st_key(BOB, k))
    add(
        "nomatch_pq_archive_classic_key",
        body,
        "ML-KEM-768+X25519 archive, X25519-only identity",
        id_key(ALICE),
        False,
    )
    damaged: list[tuple[str, Callable[[bytes], tuple[int, bytes]], int, tuple[str, str], str]] = [
        ("x25519_enc", lambda k: st_key(ALICE, k), 5, id_key(ALICE), "ephemeral key"),
        ("x25519_wrapped", lambda k: st_key(ALICE, k), 79, id_key(ALICE), "wrapped key tag"),
        ("mlkem_ciphertext", lambda k: st_key(BOB, k), 100, id_key(BOB), "ML-KEM ciphertext"),
        ("mlkem_x25519_part", lambda k: st_key(BOB, k), 1100, id_key(BOB), "X25519 half"),
        ("p256_enc", lambda k: st_ec(P256, k), 30, id_file("p256"), "ephemeral point"),
        ("p384_wrapped", lambda k: st_ec(P384, k), 120, id_file("p384"), "wrapped key"),
        ("rsa3072", lambda k: st_rsa(RSA3072, k), 200, id_file("rsa3072"), "OAEP ciphertext"),
        (
            "passphrase_wrapped",
            lambda k: st_pass(k, "nomatch_damaged_passphrase_wrapped"),
            50,
            ID_PASS,
            "wrapped key",
        ),
        (
            "passphrase_salt",
            lambda k: st_pass(k, "nomatch_damaged_passphrase_salt"),
            3,
            ID_PASS,
            "salt",
        ),
        (
            "passphrase_time_cost",
            lambda k: st_pass(k, "nomatch_damaged_passphrase_time_cost"),
            19,
            ID_PASS,
            "time cost (1 -> 0x01000001 would be over the cap; here 1 -> 0: see comment)",
        ),
    ]
    for label, st, offset, ident, what in damaged:
        name = f"nomatch_damaged_{label}"
        body, _ = single(name, st)
        pos = 35 + 3 + offset
        if label == "passphrase_time_cost":
            # t (u32 at body offset 16..19): 1 -> 3, still under the cap: another key.
            body = flip(body, pos, 0x02)
            what = "time cost changed from 1 to 3 (within the caps)"
        else:
            body = flip(body, pos)
        add(
            name,
            body,
            f"only recipient's stanza damaged ({what}): indistinguishable from a wrong key",
            ident,
            ident is ID_PASS,
        )


# -- payload failures ----------------------------------------------------------------


def payload_failures(b: Builder) -> None:
    one = [Entry("hello.txt", b"hello, world\n")]

    def add(name: str, body: bytes, comment: str, ident: tuple[str, str] = ID_PASS) -> None:
        b.add(name, "payload failure", body, comment, identities=[ident], deterministic=True)

    base, fk, nonce = b.pass_archive("payload_base", one)
    hlen = struct.unpack(">I", base[13:17])[0]
    pkey = payload_key(fk, nonce)
    hdr = base[:hlen]
    add("payload_flipped_ciphertext_byte", flip(base, hlen + 3), "a ciphertext byte flipped")
    add("payload_flipped_tag_byte", flip(base, len(base) - 1), "last byte of the final tag flipped")
    add("payload_truncated_mid_chunk", base[: hlen + 40], "the only chunk cut short")
    add("payload_truncated_15_bytes", base[: hlen + 15], "15 payload bytes: cannot hold a tag")
    add("payload_missing", hdr, "a header and no payload at all")
    plain = payload(one, hdr)
    add(
        "payload_final_flag_missing",
        hdr + seal_chunk(pkey, 0, False, plain),
        "the only chunk sealed with flag 0: looks truncated",
    )
    add(
        "payload_wrong_counter",
        hdr + seal_chunk(pkey, 1, True, plain),
        "the only chunk sealed as chunk 1",
    )
    add(
        "payload_key_without_payload_nonce",
        hdr + seal_chunk(payload_key(fk, bytes(16)), 0, True, plain),
        "payload sealed with a key derived from a zero salt instead of payload_nonce",
    )
    other, _, _ = b.pass_archive("payload_base", one)
    name = "payload_spliced_from_other_archive"
    fk2 = fk
    nonce2 = det(f"{name}/nonce2", 16)
    hdr2 = header([st_pass(fk2, "payload_base")], fk2, nonce2)
    other = b"".join(stream(payload_key(fk2, nonce2), payload(one, hdr2)))
    add(
        name,
        hdr + other,
        "payload of another archive with the same file key but another payload_nonce",
    )
    # Authentic but structurally impossible: a format error, not an authentication one.
    b.add(
        "payload_empty_plaintext",
        "index failure",
        hdr + seal_chunk(pkey, 0, True, b""),
        "an authentic, empty final chunk: too short to hold a trailer",
        identities=[ID_PASS],
    )
    b.add(
        "payload_too_short_for_trailer",
        "index failure",
        hdr + seal_chunk(pkey, 0, True, plain[-20:]),
        "an authentic 20-byte payload: shorter than the 28-byte trailer",
        identities=[ID_PASS],
    )

    # Multi-chunk cases.
    name = "payload_two_chunk_base"
    entries = [Entry("big.bin", pattern(CHUNK + 1000, "two"))]
    body, fk, nonce = b.pass_archive(name, entries)
    hlen = struct.unpack(">I", body[13:17])[0]
    hdr, pkey = body[:hlen], payload_key(fk, nonce)
    chunks = stream(pkey, payload(entries, hdr))
    assert len(chunks) == 2
    add(
        "payload_truncated_at_chunk_boundary",
        hdr + chunks[0],
        "two-chunk archive without its final chunk",
    )

    entries = exact_entries(CHUNK, "payload_one_full")
    body, fk, nonce = b.pass_archive("payload_one_full", entries)
    hlen = struct.unpack(">I", body[13:17])[0]
    hdr, pkey = body[:hlen], payload_key(fk, nonce)
    plain = payload(entries, hdr)
    assert len(plain) == CHUNK
    add(
        "payload_empty_final_chunk_after_full",
        hdr + seal_chunk(pkey, 0, False, plain) + seal_chunk(pkey, 1, True, b""),
        "1 MiB of data in a non-final chunk, then an empty final chunk: refused by length",
    )
    add(
        "payload_extra_chunk_after_final",
        hdr + seal_chunk(pkey, 0, True, plain) + seal_chunk(pkey, 1, False, b"extra"),
        "a full final chunk followed by one more (non-final) chunk",
    )
    add(
        "payload_two_final_chunks",
        hdr + seal_chunk(pkey, 0, True, plain) + seal_chunk(pkey, 1, True, b"second final"),
        "a full final chunk followed by a second final chunk",
    )

    entries = exact_entries(2 * CHUNK, "payload_two_full")
    body, fk, nonce = b.pass_archive("payload_two_full", entries)
    hlen = struct.unpack(">I", body[13:17])[0]
    hdr, pkey = body[:hlen], payload_key(fk, nonce)
    chunks = stream(pkey, payload(entries, hdr))
    assert len(chunks) == 2 and len(chunks[1]) == CHUNK + TAG
    add("payload_swapped_chunks", hdr + chunks[1] + chunks[0], "two full chunks in swapped order")
    add(
        "payload_duplicated_chunk",
        hdr + chunks[0] + chunks[0],
        "chunk 0 repeated in the place of chunk 1",
    )

    # Authentic chunks, wrong content: digests and decompression.
    add(
        "payload_member_digest_mismatch",
        b.pass_archive(
            "payload_member_digest_mismatch",
            one,
            doc_hook=lambda d: d["members"][0].__setitem__("blake3", "00" * 32),
        )[0],
        "index BLAKE3 digest differs from the member's content",
    )
    add(
        "payload_member_content_changed",
        b.pass_archive(
            "payload_member_content_changed",
            [
                Entry(
                    "hello.txt",
                    b"hello, World\n",
                    index={"blake3": blake3.blake3(b"hello, world\n").hexdigest()},
                )
            ],
        )[0],
        "member content changed by one letter; index still has the original digest",
    )
    add(
        "payload_member_size_larger",
        b.pass_archive(
            "payload_member_size_larger",
            one,
            doc_hook=lambda d: d["members"][0].__setitem__("size", 14),
        )[0],
        "index size one more than the content",
    )
    add(
        "payload_member_size_smaller",
        b.pass_archive(
            "payload_member_size_smaller",
            one,
            doc_hook=lambda d: d["members"][0].__setitem__("size", 12),
        )[0],
        "index size one less than the content",
    )
    add(
        "payload_file_without_digest",
        b.pass_archive(
            "payload_file_without_digest",
            one,
            doc_hook=lambda d: d["members"][0].__setitem__("blake3", ""),
        )[0],
        "a file whose index digest is the empty string",
    )
    text = pattern(5000, "zstd")
    bad = bytearray(zstd(text))
    bad[len(bad) // 2] ^= 0xFF
    add(
        "payload_corrupt_zstd_frame",
        b.pass_archive(
            "payload_corrupt_zstd_frame",
            [Entry("log.txt", text, compression="zstd", stored=bytes(bad))],
        )[0],
        "authentic chunks, but the member's zstd frame is damaged",
    )
    add(
        "payload_zstd_not_a_frame",
        b.pass_archive(
            "payload_zstd_not_a_frame",
            [Entry("log.txt", b"plain", compression="zstd", stored=b"plain text, not zstd")],
        )[0],
        "compression zstd, but the stored bytes are not a zstd frame",
    )
    text = pattern(3000, "two frames")
    add(
        "payload_zstd_second_frame_not_in_digest",
        b.pass_archive(
            "payload_zstd_second_frame_not_in_digest",
            [Entry("log.txt", text, compression="zstd", stored=zstd(text) + zstd(b"hidden"))],
        )[0],
        "a second zstd frame after the first; size and digest cover the first frame only:"
        " stored bytes must never be skipped",
    )
    _zstd_frame_rules(b, add)


def _zstd_frame_rules(b: Builder, add: Callable[[str, bytes, str], None]) -> None:
    """FORMAT.md 6.1: each rule on a compressed member's zstd frames, broken once.
    Every one is a payload failure; the rest of the archive is valid."""
    fc = ZSTD_FRAME_CONTENT

    def arch(name: str, content: bytes, stored: bytes) -> bytes:
        entries = [Entry("log.txt", content, compression="zstd", stored=stored)]
        return b.pass_archive(name, entries)[0]

    text = pattern(5000, "rules")
    good = zstd(text)
    skippable = b"\x50\x2a\x4d\x18" + u32_le(4) + b"skip"
    big = pattern(fc + 1000, "big")
    cases = [
        ("payload_zstd_no_frames", text, b"", "a non-empty compressed file with no stored bytes"),
        (
            "payload_zstd_frame_for_empty_file",
            b"",
            zstandard.ZstdCompressor(level=3).compress(b""),
            "an empty compressed file stored as a frame of no content (it must have no frame)",
        ),
        ("payload_zstd_ends_inside_frame", text, good[:-3], "the last zstd frame cut short"),
        (
            "payload_zstd_ends_inside_frame_header",
            text,
            good[:5],
            "the stored bytes end after the magic and descriptor of a frame",
        ),
        ("payload_zstd_skippable_frame_first", text, skippable + good, "a skippable frame first"),
        ("payload_zstd_skippable_frame_last", text, good + skippable, "a skippable frame last"),
        (
            "payload_zstd_no_content_size",
            text,
            zstd(text, write_content_size=False),
            "a zstd frame whose header does not declare its content size",
        ),
        (
            "payload_zstd_frame_over_fixed_size",
            big,
            zstd(big, frame_content=fc + 1000),
            "one zstd frame declaring 2 MiB + 1000 bytes, more than a frame may hold",
        ),
        (
            "payload_zstd_frame_beyond_member",
            text,
            zstd(text + b"!"),
            "a frame declaring one byte more than the member's size (the index is consistent"
            " with the content, not with the frame)",
        ),
        (
            "payload_zstd_short_frame_not_last",
            big,
            zstd(big[:1000]) + zstd(big[1000:]),
            "a first frame of 1000 bytes, then the rest: every frame but the last holds 2 MiB",
        ),
        (
            "payload_zstd_dictionary",
            text,
            with_dictionary_id(good),
            "a zstd frame whose header names a dictionary",
        ),
        ("payload_zstd_trailing_garbage", text, good + b"garbage", "bytes after the last frame"),
    ]
    for name, content, stored, comment in cases:
        add(name, arch(name, content, stored), comment)


def u32_le(v: int) -> bytes:
    return struct.pack("<I", v)


def with_dictionary_id(frame: bytes) -> bytes:
    """The same frame with a one-byte Dictionary_ID (7) in its header (RFC 8878 3.1.1.1)."""
    descriptor = frame[4]
    assert descriptor & 3 == 0
    at = 5 if descriptor & 0x20 else 6  # after the Window_Descriptor, if any
    return frame[:4] + bytes([descriptor | 1]) + frame[5:at] + b"\x07" + frame[at:]


# -- index failures ------------------------------------------------------------------


def index_failures(b: Builder) -> None:
    one = [Entry("hello.txt", b"hello, world\n")]
    two = [Entry("a.txt", b"first\n"), Entry("b.txt", b"second\n")]

    def add(name: str, comment: str, entries: list[Entry] | None = None, **kw: Any) -> None:
        body, _, _ = b.pass_archive(name, one if entries is None else entries, **kw)
        b.add(name, "index failure", body, comment, identities=[ID_PASS], deterministic=True)

    def member_set(key: str, value: Any, i: int = 0) -> Callable[[dict[str, Any]], None]:
        return lambda d: d["members"][i].__setitem__(key, value)

    trailer_magic = lambda o, n, s: u64(o) + u64(n) + u32(s) + b"SMEND002"  # noqa: E731
    add("index_bad_trailer_magic", "trailer magic SMEND002", trailer=trailer_magic)
    add(
        "index_trailer_offset_off_by_one",
        "trailer index_offset one too large: sizes do not add up",
        trailer=lambda o, n, s: u64(o + 1) + u64(n) + u32(s) + b"SMEND001",
    )
    add(
        "index_trailer_length_off_by_one",
        "trailer index_length one too small: sizes do not add up",
        trailer=lambda o, n, s: u64(o) + u64(n - 1) + u32(s) + b"SMEND001",
    )
    add(
        "index_trailer_length_over_cap",
        "trailer index_length 2^40: refused before reading",
        trailer=lambda o, n, s: u64(o) + u64(1 << 40) + u32(s) + b"SMEND001",
    )
    add(
        "index_trailer_signature_length_5",
        "trailer signature_length 5 with 5 extra bytes: neither 0, 129 nor 1313",
        signature=b"\x00" * 5,
    )
    add(
        "index_trailer_offset_not_at_index_tag",
        "index JSON padded with a space; trailer index_offset+1, index_length-1: the byte at"
        " index_offset is not 'I'",
        index_suffix=b" ",
        trailer=lambda o, n, s: u64(o + 1) + u64(n - 1) + u32(s) + b"SMEND001",
    )
    add("index_not_json", "index is not JSON", index_raw=b"not json at all")
    add("index_not_utf8", "index is not UTF-8", index_raw=b'{"version":1,"members":[]}\xff')
    add("index_json_list", "index is a JSON list", index_raw=b"[1]")
    add("index_empty", "index_length 0", index_raw=b"")
    add("index_version_2", "index version 2", doc_hook=lambda d: d.__setitem__("version", 2))
    add(
        "index_version_string",
        'index version "1" (a string)',
        doc_hook=lambda d: d.__setitem__("version", "1"),
    )
    add(
        "index_members_not_list",
        "members is an object",
        doc_hook=lambda d: d.__setitem__("members", {}),
    )
    add(
        "index_missing_field",
        "a member entry without mtime_ns",
        entries=[Entry("hello.txt", b"hello, world\n", index={"mtime_ns": DELETE})],
    )
    add(
        "index_extra_field",
        "a member entry with an extra key",
        doc_hook=member_set("owner", "root"),
    )
    add("index_size_string", "size is a string", doc_hook=member_set("size", "13"))
    add("index_size_bool", "size is true", entries=[Entry("x", b"x", index={"size": True})])
    add("index_size_float", "size is 13.0", doc_hook=member_set("size", 13.0))
    for label, mtime in (("2_63", 2**63), ("minus_2_63_minus_1", -(2**63) - 1), ("1e30", 10**30)):
        add(
            f"index_mtime_out_of_range_{label}",
            f"mtime_ns {mtime} in record and index: outside the signed 64-bit range",
            entries=[Entry("hello.txt", b"hello, world\n", mtime_ns=mtime)],
        )
    add(
        "index_mode_over_7777",
        "mode 0o10000 in record and index: outside 0..0o7777",
        entries=[Entry("hello.txt", b"hello, world\n", mode=0o10000)],
    )
    noncanonical: list[tuple[str, str, Callable[[dict[str, Any]], bytes]]] = [
        ("spaces", "index JSON with the default separators", lambda d: json.dumps(d).encode()),
        (
            "key_order",
            "index entry keys sorted alphabetically",
            lambda d: json.dumps(d, sort_keys=True, separators=(",", ":")).encode(),
        ),
        (
            "version_last",
            'the "members" key before "version"',
            lambda d: json.dumps(
                {"members": d["members"], "version": 1}, separators=(",", ":")
            ).encode(),
        ),
        (
            "duplicate_key",
            'an entry with "path" twice (same value): one meaning per index',
            lambda d: (
                json.dumps(d, separators=(",", ":"))
                .replace('"length":', '"path":"hello.txt","length":', 1)
                .encode()
            ),
        ),
        (
            "escaped_name",
            "the name written with a \\u escape (\\u0068ello.txt)",
            lambda d: (
                json.dumps(d, separators=(",", ":"))
                .replace('"hello.txt"', '"\\u0068ello.txt"', 1)
                .encode()
            ),
        ),
        (
            "trailing_newline",
            "a newline after the index JSON",
            lambda d: json.dumps(d, separators=(",", ":")).encode() + b"\n",
        ),
    ]
    for label, comment, encode in noncanonical:
        add(f"index_not_canonical_{label}", comment, index_encode=encode)
    add("index_unknown_compression", "compression lz4", doc_hook=member_set("compression", "lz4"))
    add("index_type_not_string", "type is the number 5", doc_hook=member_set("type", 5))
    add("index_digest_63_hex", "blake3 of 63 hex digits", doc_hook=member_set("blake3", "0" * 63))
    add("index_path_not_string", "path is a number", doc_hook=member_set("path", 7))
    add(
        "index_records_gap",
        "second record's offset one past the end of the first: records do not tile",
        entries=two,
        doc_hook=lambda d: (
            member_set("offset", d["members"][1]["offset"] + 1, 1)(d),
            member_set("length", d["members"][1]["length"] - 1, 1)(d),
        ),
    )
    add(
        "index_first_offset_not_zero",
        "first record at offset 1",
        doc_hook=lambda d: (
            member_set("offset", 1)(d),
            member_set("length", d["members"][0]["length"] - 1)(d),
        ),
    )
    add(
        "index_records_short_of_index",
        "the one record's length is 1 short of index_offset",
        doc_hook=lambda d: member_set("length", d["members"][0]["length"] - 1)(d),
    )
    add(
        "index_lists_fewer_members",
        "two records, one index entry",
        entries=two,
        doc_hook=lambda d: d["members"].pop(),
    )
    add(
        "index_members_out_of_order",
        "index entries in the reverse of payload order",
        entries=two,
        doc_hook=lambda d: d["members"].reverse(),
    )
    add(
        "index_record_mode_differs",
        "the record says mode 0o600, the index 0o644",
        entries=[Entry("hello.txt", b"hello, world\n", mode=0o600, index={"mode": 0o644})],
    )
    add(
        "index_record_path_differs",
        "the record is named other.txt, the index hello.txt",
        entries=[Entry("other.txt", b"hello, world\n", index={"path": "hello.txt"})],
    )
    add(
        "index_record_extra_meta_key",
        "the member record's meta has an extra key",
        entries=[Entry("hello.txt", b"hello, world\n", meta_extra={"uid": 0})],
    )
    add(
        "index_record_meta_over_cap",
        "meta_length 65537: refused before reading",
        entries=[Entry("hello.txt", b"hello, world\n", meta_length=65537)],
    )
    frame_over = Entry("hello.txt", b"hello, world\n")
    frame_over.frames = []
    frame_over.terminator = False
    frame_over.junk = u32(MAX_FRAME + 1) + b"hello, world\n" + u32(0)
    add(
        "index_record_frame_over_cap",
        "frame_length 1048577: refused before reading",
        entries=[frame_over],
    )
    add(
        "index_record_bad_tag",
        "the member record starts with 'X' instead of 'M'",
        entries=[Entry("hello.txt", b"hello, world\n", tag=b"X")],
    )
    add(
        "index_record_missing_terminator",
        "a file record without its zero terminator, followed by a second record",
        entries=[Entry("a.txt", b"first\n", terminator=False), Entry("b.txt", b"second\n")],
    )
    add(
        "index_record_junk_after_terminator",
        "three bytes after the record's terminator, inside its index length",
        entries=[Entry("hello.txt", b"hello, world\n", junk=b"\x00\x00\x01")],
    )
    add(
        "index_directory_with_terminator",
        "a directory record followed by a zero terminator, counted in its length",
        entries=[Entry("d", type="dir", junk=u32(0))],
    )
    add(
        "index_signature_block_64_bytes",
        "a 64-byte signature block: not 0, 97, 129, 130 nor 1313",
        signature=bytes(64),
    )
    add(
        "index_signature_block_legacy_96_bytes",
        "a 96-byte block (Ed25519 key and signature only, a form never read): malformed",
        signature=MALLORY.public.signing + bytes(64),
    )
    add(
        "index_signature_block_unknown_kind",
        "a 129-byte signature block whose kind byte is 5: malformed",
        signature=u8(5) + bytes(128),
    )
    add(
        "index_signature_block_kind_length_mismatch",
        "a 129-byte signature block (the x25519 length) whose kind byte says pq (1): malformed",
        signature=u8(1) + bytes(128),
    )


# -- unsafe members ------------------------------------------------------------------


def unsafe_members(b: Builder) -> None:
    cases: list[tuple[str, list[Entry], str]] = [
        ("dotdot", [Entry("../x", b"x")], "../x escapes the destination"),
        ("dotdot_inner", [Entry("a/../../x", b"x")], "a/../../x"),
        ("absolute", [Entry("/abs", b"x")], "/abs is absolute"),
        ("drive_letter", [Entry("C:x", b"x")], "C:x has a drive letter"),
        ("backslash", [Entry("a\\b", b"x")], "a\\b has a backslash"),
        ("nul", [Entry("a\x00b", b"x")], "NUL inside a name"),
        ("escape_sequence", [Entry("\x1b[31mred", b"x")], "an ESC control character"),
        ("empty_name", [Entry("", b"x")], "an empty name"),
        ("empty_component", [Entry("a//b", b"x")], "a//b has an empty component"),
        ("trailing_slash", [Entry("a/", b"x")], "a/ ends with a slash"),
        ("dot_component", [Entry("./a", b"x")], "./a has a '.' component"),
        ("windows_device", [Entry("con.txt", b"x")], "con.txt is a Windows device name"),
        ("too_deep", [Entry("/".join(["d"] * 65), b"x")], "65 components, over the cap of 64"),
        ("component_256_bytes", [Entry("a" * 256, b"x")], "a 256-byte component"),
        ("duplicate", [Entry("a", b"1"), Entry("a", b"2")], "two members named a"),
        (
            "case_duplicate",
            [Entry("Readme.txt", b"1"), Entry("README.TXT", b"2")],
            "Readme.txt and README.TXT collide on case-insensitive file systems",
        ),
        (
            "normalisation_duplicate",
            [Entry("caf\u00e9", b"1"), Entry("cafe\u0301", b"2")],
            "café composed and decomposed: the same name after NFC",
        ),
        ("file_inside_file", [Entry("a", b"1"), Entry("a/b", b"2")], "a is a file, then a/b"),
        (
            "file_over_directory_contents",
            [Entry("a/b", b"2"), Entry("a", b"1")],
            "a/b, then a file a: a file that holds other members",
        ),
        (
            "dir_and_file_same_name",
            [Entry("a", type="dir"), Entry("A", b"1")],
            "directory a and file A",
        ),
        (
            "symlink_type",
            [Entry("link", b"/etc/passwd", type="symlink")],
            "a member of type symlink (record and index): only files and directories exist",
        ),
    ]
    for label, entries, comment in cases:
        name = f"unsafe_{label}"
        body, _, _ = b.pass_archive(name, entries)
        b.add(name, "unsafe member", body, comment, identities=[ID_PASS], deterministic=True)


# -- signatures ----------------------------------------------------------------------


def signature_failures(b: Builder) -> None:
    need = SENDER.public.to_line()

    def add(name: str, body: bytes, comment: str, required: str | None = need) -> None:
        b.add(
            name,
            "signature failure",
            body,
            comment,
            identities=[ID_PASS],
            require_signer=required,
            deterministic=True,
        )

    def signed(name: str, **kw: Any) -> bytes:
        return b.pass_archive(name, BASIC, **kw)[0]

    # Altered signature and public key inside the block: the block is patched in place.
    name = "sig_signature_altered"
    body, fk, nonce = b.pass_archive(name, BASIC, signer=SENDER, signature=None)
    hdr = body[: struct.unpack(">I", body[13:17])[0]]
    plain = payload(BASIC, hdr, signer=SENDER)
    sig_at = len(plain) - 28 - 64 + 10
    add(
        name,
        hdr + b"".join(stream(payload_key(fk, nonce), flip(plain, sig_at))),
        "one bit of the Ed25519 signature flipped (no signer required)",
        None,
    )
    add(
        "sig_signer_key_altered",
        hdr + b"".join(stream(payload_key(fk, nonce), flip(plain, len(plain) - 28 - 96 + 3))),
        "one bit of the signer's public key in the block flipped",
        None,
    )
    # Someone who can decrypt puts another encryption key into the block, so that
    # readers would show another fingerprint: the message binds the whole key.
    block_at = len(plain) - 28 - len(signer_blob(SENDER)) - 64
    bob_encryption = BOB.public.encryption  # as long as the sender's: both are pq
    start, end = block_at + 1, block_at + 1 + len(bob_encryption)
    grafted = plain[:start] + bob_encryption + plain[end:]
    add(
        "sig_encryption_key_grafted",
        hdr + b"".join(stream(payload_key(fk, nonce), grafted)),
        "the sender's signature kept, the encryption key in its block replaced by bob's",
        None,
    )
    add(
        "sig_other_signer_required",
        signed("sig_other_signer_required", signer=MALLORY),
        "validly signed by mallory, but the sender is required",
    )
    add(
        "sig_unsigned_required", signed("sig_unsigned_required"), "not signed, a signer is required"
    )
    # A co-recipient re-encrypts a signed archive's plaintext under a new header.
    name = "sig_reencrypted_under_new_header"
    orig_fk, orig_nonce = det("sig_orig/file-key"), det("sig_orig/nonce", 16)
    orig_hdr = header([st_pass(orig_fk, "sig_orig")], orig_fk, orig_nonce)
    plain = payload(BASIC, orig_hdr, signer=SENDER)
    fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
    new_hdr = header([st_pass(fk, name)], fk, nonce)
    add(
        name,
        new_hdr + b"".join(stream(payload_key(fk, nonce), plain)),
        "a signed payload moved under a new header by a co-recipient: the header hash differs",
    )
    name = "sig_index_changed_after_signing"
    changed = [
        BASIC[0],
        BASIC[1],
        Entry("data/rows.csv", b"id,value\n1,alpha\n2,BETA\n3,gamma\n", mode=0o600),
    ]
    fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
    hdr = header([st_pass(fk, name)], fk, nonce)
    signed_index = json.dumps(
        index_doc(BASIC, [record(e) for e in BASIC]), ensure_ascii=False, separators=(",", ":")
    ).encode()
    add(
        name,
        hdr
        + b"".join(
            stream(
                payload_key(fk, nonce),
                payload(changed, hdr, signer=SENDER, sign_index=signed_index),
            )
        ),
        "a co-recipient changed a member and its index digest, keeping the sender's signature",
    )


# -- output --------------------------------------------------------------------------


def write_all(target: Path = TESTKIT) -> list[Vector]:
    vectors = build_all()
    target.mkdir(parents=True, exist_ok=True)
    names = {v.name for v in vectors}
    for stale in target.iterdir():
        if stale.name not in names:
            stale.unlink()
    for v in vectors:
        (target / v.name).write_bytes(v.file_bytes())
    return vectors


def main() -> int:
    vectors = write_all()
    total = sum(len(v.file_bytes()) for v in vectors)
    counts: dict[str, int] = {}
    for v in vectors:
        counts[v.expect] = counts.get(v.expect, 0) + 1
    print(f"{len(vectors)} vectors, {total / 1e6:.1f} MB in {TESTKIT}")
    for expect, n in sorted(counts.items()):
        print(f"  {n:3d}  {expect}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
