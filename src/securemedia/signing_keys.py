"""Keys that only sign: an Ed25519 or ECDSA P-256 key alone, as a token holds one.

A securemedia key pair (:mod:`.keys`) signs with its Ed25519 half, and its
public half names the signer. A key on a PKCS#11 token that signs has no
securemedia encryption half, and many tokens only do ECDSA P-256, so the
signature block has two more signer kinds (FORMAT.md section 9):

    3  Ed25519 alone        signer = 0x03 || ed25519 public (32)
    4  ECDSA P-256 alone    signer = 0x04 || SEC1 uncompressed point (65)

Their public key lines (FORMAT.md section 12) have the key pairs' check and
fingerprint recipe::

    smpub1-sign-ed25519-<base64url(key (32) || check (4))>
    smpub1-sign-p256-<base64url(point (65) || check (4))>

:class:`Signer` is what signs an archive: a :class:`~securemedia.keys.SecretKey`
is one, and so is a token key (``securemedia.tokens``). ``SignerKey`` is what
a signature names: a key pair's public half or a signing-only key.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol, TypeAlias, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from . import ed25519_rules
from .errors import UsageError
from .key_text import key_lines
from .keys import (
    PublicKey,
    fingerprint_of_line,
    public_line,
    public_line_body,
    verify_ed25519,
)

ED25519 = "ed25519"
P256 = "p256"
SigningKind = Literal["ed25519", "p256"]

_KIND_BYTE: dict[str, int] = {ED25519: 3, P256: 4}
_BYTE_KIND = {byte: kind for kind, byte in _KIND_BYTE.items()}
_KEY_SIZE = {ED25519: 32, P256: 65}
_LINE_PREFIX = {ED25519: "smpub1-sign-ed25519-", P256: "smpub1-sign-p256-"}
_NAME = {ED25519: "Ed25519 signing key", P256: "ECDSA P-256 signing key"}
SIGNATURE_SIZE = 64
"""Every signer kind's signature is 64 bytes (Ed25519; ECDSA r || s, 32 each)."""
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
"""n, the order of the P-256 group: r and s MUST be in [1, n-1]."""


@dataclass(frozen=True)
class SigningPublicKey:
    """A public key that only checks signatures (signer kinds 3 and 4).

    ``key`` is the Ed25519 public key (32 bytes) or the SEC1 uncompressed P-256
    point (65 bytes, ``0x04 || X || Y``). It never receives archives.
    """

    kind: SigningKind
    key: bytes

    BLOB_SIZES: ClassVar[dict[int, int]] = {
        _KIND_BYTE[kind]: 1 + size for kind, size in _KEY_SIZE.items()
    }
    """Length of :meth:`to_blob` by its first byte (3: ed25519, 4: p256)."""

    def __post_init__(self) -> None:
        problem = _key_problem(self.kind, self.key)
        if problem is not None:
            raise ValueError(problem)

    def to_blob(self) -> bytes:
        """kind byte (3 or 4) || key: the ``signer`` of a signature block."""
        return bytes([_KIND_BYTE[self.kind]]) + self.key

    @classmethod
    def from_blob(cls, blob: bytes) -> SigningPublicKey:
        """Parse :meth:`to_blob`'s form; ValueError if its kind, length or key is wrong
        (a P-256 point not on the curve or not uncompressed, an Ed25519 key of small
        order or not canonical)."""
        kind = _BYTE_KIND.get(blob[0] if blob else 0)
        if kind is None or len(blob) != 1 + _KEY_SIZE[kind]:
            raise ValueError("not a signing key blob")
        return cls(kind, blob[1:])  # type: ignore[arg-type]

    @classmethod
    def from_line(cls, line: str) -> SigningPublicKey:
        """Parse a signing key line; UsageError names what is wrong. The text rules
        of :mod:`.key_text` apply, as to every public key line."""
        lines = key_lines(line)
        return cls.from_trimmed_line(lines[0] if len(lines) == 1 else "")

    @classmethod
    def from_trimmed_line(cls, text: str) -> SigningPublicKey:
        """Parse one line exactly as :func:`.key_text.key_lines` gives it."""
        kind = next((k for k, p in _LINE_PREFIX.items() if text.startswith(p)), None)
        if kind is None:
            raise UsageError(
                "not a securemedia signing key (expected smpub1-sign-ed25519-... "
                "or smpub1-sign-p256-...)"
            )
        prefix = _LINE_PREFIX[kind]
        body = public_line_body(text, prefix, _KEY_SIZE[kind])
        try:
            return cls(kind, body)  # type: ignore[arg-type]
        except ValueError as exc:
            raise UsageError(f"not a valid {_NAME[kind]}: {exc}") from None

    def to_line(self) -> str:
        """The public key line (``smpub1-sign-ed25519-...`` or ``smpub1-sign-p256-...``)."""
        return public_line(_LINE_PREFIX[self.kind], self.key)

    @property
    def fingerprint(self) -> str:
        """20 base32 characters in groups of four, over the line (as for key pairs)."""
        return fingerprint_of_line(self.to_line())

    @property
    def description(self) -> str:
        """The kind and fingerprint, e.g. ``ECDSA P-256 signing key ABCD-...``."""
        return describe_signer(self.kind, self.fingerprint)

    def verify(self, signature: bytes, message: bytes) -> None:
        """Check ``signature`` over ``message`` (FORMAT.md section 9's rules):
        InvalidSignature if it does not verify, ValueError if the key cannot sign."""
        if self.kind == ED25519:
            verify_ed25519(self.key, signature, message)
            return
        if len(signature) != SIGNATURE_SIZE:
            raise InvalidSignature
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        # Checked here, not left to the library: the spec says MUST, and a reader
        # must not depend on what one library happens to refuse. High and low S
        # are both accepted (tokens do not normalise S).
        if not (1 <= r < P256_ORDER and 1 <= s < P256_ORDER):
            raise InvalidSignature
        point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), self.key)
        point.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))


SignerKey: TypeAlias = PublicKey | SigningPublicKey
"""What a signature names: a key pair's public half (kinds 1, 2) or a signing key (3, 4)."""


@runtime_checkable
class Signer(Protocol):
    """What signs an archive (``pack(signer=...)``, ``create_archive(signer=...)``).

    ``public`` is the key the signature block carries and readers show;
    ``sign(message)`` returns exactly 64 bytes: an Ed25519 signature (a key pair,
    an Ed25519 token key) or ECDSA P-256 with SHA-256 over ``message`` as
    ``r || s``, 32 bytes each, big-endian. :class:`~securemedia.keys.SecretKey`
    is a Signer. An implementation's repr MUST NOT show key material.
    """

    @property
    def public(self) -> SignerKey:
        """The signer's public key."""
        ...

    def sign(self, message: bytes) -> bytes:
        """The 64-byte signature over ``message``."""
        ...


def describe_signer(kind: str, fingerprint: str) -> str:
    """How a signer is named to a user: a key pair (kind ``pq`` or ``x25519``) by its
    fingerprint alone, as ``keygen`` printed it; a signing key with its kind in front
    (``Ed25519 signing key FP``, ``ECDSA P-256 signing key FP``)."""
    name = _NAME.get(kind)
    return f"{name} {fingerprint}" if name else fingerprint


def signer_key_from_blob(blob: bytes) -> SignerKey:
    """A signature block's ``signer`` (kinds 1 to 4); ValueError if it is malformed:
    an unknown kind, a length that does not match the kind, a P-256 point off the
    curve or not uncompressed, an Ed25519 key that is not canonical or of small order."""
    if blob[:1] in (b"\x03", b"\x04"):
        return SigningPublicKey.from_blob(blob)
    public = PublicKey.from_blob(blob)
    problem = ed25519_rules.key_problem(public.signing)
    if problem is not None:
        raise ValueError(problem)
    return public


def signer_key_from_line(line: str) -> SignerKey:
    """Any public key line: a key pair's (``smpub1-pq-``, ``smpub1-x25519-``) or a
    signing key's (``smpub1-sign-...``); UsageError names what is wrong."""
    lines = key_lines(line)
    return signer_key_from_trimmed_line(lines[0] if len(lines) == 1 else "")


def signer_key_from_trimmed_line(text: str) -> SignerKey:
    """:func:`signer_key_from_line` for one line of a ``.pub`` file, as
    :func:`.key_text.key_lines` gives it (the text rules are applied once)."""
    if text.startswith("smpub1-sign-"):
        return SigningPublicKey.from_trimmed_line(text)
    return PublicKey.from_trimmed_line(text)


def same_signer(a: SignerKey, b: SignerKey) -> bool:
    """True if ``a`` and ``b`` are the same key: kind and every public key byte."""
    return hmac.compare_digest(a.to_blob(), b.to_blob())


def _key_problem(kind: str, key: bytes) -> str | None:
    if kind == ED25519:
        return ed25519_rules.key_problem(key)
    if kind != P256:
        return f"unknown signing key kind {kind!r}"
    # Uncompressed only: 0x04 || X || Y. The identity has no such encoding (SEC1
    # writes it as the single byte 0x00), so a 65-byte point on the curve is not it.
    if len(key) != 65 or key[0] != 0x04:
        return "a P-256 key is an uncompressed point (65 bytes, 0x04 || X || Y)"
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
    except ValueError:
        return "the P-256 point is not on the curve"
    return None
