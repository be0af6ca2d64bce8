"""securemedia key pairs: generate, save, load, one-line public keys, fingerprints.

A key pair holds an encryption key (hybrid ML-KEM-768+X25519 by default, or
X25519 with ``classic=True``) and an Ed25519 signing key, so one pair of files
serves ``-r``, ``-i``, ``--sign`` and ``--require-signer``.

Public key line: ``smpub1-pq-<base64url>`` or ``smpub1-x25519-<base64url>``,
where the base64url (unpadded) encodes the encryption public key, the Ed25519
public key, and a 4-byte checksum (SHA-256 of the prefix and keys) that catches
a line damaged by copy and paste.

Private key file: comment lines, then ``smkey2-<base64url>`` (unprotected) or
``smkey2-enc-<base64url>`` (Argon2id + AES-256-GCM under a passphrase), whose
4-byte checksum tells a damaged file from a wrong passphrase without the
passphrase. ``smkey1-`` lines (no checksum) are still read.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import MLKEM768X25519PrivateKey, MLKEM768X25519PublicKey

from . import ed25519_rules
from .atomic import StagingDirectory
from .errors import (
    FormatError,
    KeyFileError,
    NoIdentityError,
    OperationalError,
    UsageError,
)
from .key_text import BOM, FINGERPRINT_CHARS, b64url_decode, b64url_encode, grouped, key_lines
from .key_text import parse_fingerprint as parse_fingerprint
from .recipients.hpke import HPKEIdentity, HPKERecipient
from .recipients.passphrase import Argon2Params, derive_key

PQ = "pq"
CLASSIC = "x25519"
_PUBLIC_PREFIX = "smpub1-"
# Key lines: smkey2 carries a checksum, smkey1 (written before it) is still read.
_SECRET_PREFIX = "smkey2-"  # noqa: S105 - a format prefix
_SECRET_ENC_PREFIX = "smkey2-enc-"  # noqa: S105 - a format prefix
_OLD_PREFIX = "smkey1-"
_OLD_ENC_PREFIX = "smkey1-enc-"
# Longest first: "smkey2-enc-" also starts with "smkey2-".
_KEY_PREFIXES = (_SECRET_ENC_PREFIX, _OLD_ENC_PREFIX, _SECRET_PREFIX, _OLD_PREFIX)
SECRET_KEY_MARKS = (b"smkey1-", b"smkey2-")
"""Bytes that only a securemedia private key file holds."""
_KIND_BYTE = {PQ: 1, CLASSIC: 2}
_BYTE_KIND = {byte: kind for kind, byte in _KIND_BYTE.items()}
_MLKEM_PUB = 1184
_MLKEM_SEED = 64
_X25519 = 32
_ED25519 = 32
_KEYFILE_AAD = b"securemedia/v1 key file"
_KDF_HEADER = struct.Struct(">16sIII")

PassphraseSource = Callable[[], bytes]


# Key lines are canonical base64url (docs/FORMAT.md section 12): see key_text.
_b64e = b64url_encode
_b64d = b64url_decode


def _checksum(prefix: str, body: bytes) -> bytes:
    return hashlib.sha256(prefix.encode() + body).digest()[:4]


def public_line(prefix: str, body: bytes) -> str:
    """A public key line: ``prefix``, then base64url of the body and its checksum."""
    return prefix + _b64e(body + _checksum(prefix, body))


def public_line_body(text: str, prefix: str, size: int) -> bytes:
    """The ``size``-byte body of public key line ``text`` (which starts with
    ``prefix``), its base64url and checksum checked; UsageError if damaged."""
    try:
        raw = _b64d(text[len(prefix) :])
    except ValueError:
        raise UsageError("public key is damaged: not valid base64url") from None
    body, check = raw[:-4], raw[-4:]
    if len(body) != size or not hmac.compare_digest(check, _checksum(prefix, body)):
        raise UsageError("public key is damaged (checksum mismatch): copy it again")
    return body


def fingerprint_of_line(line: str) -> str:
    """The fingerprint of a public key line (FORMAT.md section 12): every kind of
    public key line, key pair or signing key, has it computed the same way."""
    digest = hashlib.sha256(b"securemedia/v1 fingerprint\x00" + line.encode()).digest()
    return grouped(base64.b32encode(digest).decode()[:FINGERPRINT_CHARS])


def verify_ed25519(key: bytes, signature: bytes, message: bytes) -> None:
    """Ed25519 by FORMAT.md section 9's rule (:mod:`.ed25519_rules`): ValueError for
    a key that cannot sign, InvalidSignature for a signature that does not verify."""
    problem = ed25519_rules.key_problem(key)
    if problem is not None:
        raise ValueError(problem)
    if not ed25519_rules.canonical_signature(signature):
        raise InvalidSignature
    ed25519.Ed25519PublicKey.from_public_bytes(key).verify(signature, message)


@dataclass(frozen=True)
class PublicKey:
    """The public half of a key pair: an encryption key and a signature key."""

    kind: str
    encryption: bytes
    signing: bytes

    BLOB_SIZES: ClassVar[dict[int, int]] = {
        1: 1 + _MLKEM_PUB + _X25519 + _ED25519,  # pq
        2: 1 + _X25519 + _ED25519,  # x25519
    }
    """Length of :meth:`to_blob` by its first byte, the kind (as in key files)."""

    def to_blob(self) -> bytes:
        """kind (1: pq, 2: x25519) || encryption public key || Ed25519 public key:
        the form an archive's signature block carries."""
        return bytes([_KIND_BYTE[self.kind]]) + self.encryption + self.signing

    @classmethod
    def from_blob(cls, blob: bytes) -> PublicKey:
        """Parse :meth:`to_blob`'s form; ValueError if its kind or length is wrong."""
        kind = _BYTE_KIND.get(blob[0] if blob else 0)
        if kind is None or len(blob) != cls.BLOB_SIZES[blob[0]]:
            raise ValueError("not a public key blob")
        return cls(kind, blob[1:-_ED25519], blob[-_ED25519:])

    @classmethod
    def from_line(cls, line: str) -> PublicKey:
        """Parse a public key line; UsageError names what is wrong.

        The line follows the text rules of :mod:`.key_text` (a file holding
        just this line): surrounding spaces, tabs and a line end are ignored,
        anything else that is not canonical base64url is refused."""
        lines = key_lines(line)
        return cls.from_trimmed_line(lines[0] if len(lines) == 1 else "")

    @classmethod
    def from_trimmed_line(cls, text: str) -> PublicKey:
        """Parse one line exactly as :func:`.key_text.key_lines` gives it (the rules
        are applied once: a second pass would drop a second BOM or CR)."""
        for kind in (PQ, CLASSIC):
            prefix = f"{_PUBLIC_PREFIX}{kind}-"
            if text.startswith(prefix):
                break
        else:
            raise UsageError(
                "not a securemedia public key (expected smpub1-pq-... or smpub1-x25519-...)"
            )
        enc_len = _MLKEM_PUB + _X25519 if kind == PQ else _X25519
        body = public_line_body(text, prefix, enc_len + _ED25519)
        return cls(kind, body[:enc_len], body[enc_len:])

    def to_line(self) -> str:
        return public_line(f"{_PUBLIC_PREFIX}{self.kind}-", self.encryption + self.signing)

    @property
    def fingerprint(self) -> str:
        """20 base32 characters in groups of four, short enough to read on the phone."""
        return fingerprint_of_line(self.to_line())

    @property
    def description(self) -> str:
        """How a signer or recipient is named to a user: the fingerprint alone, as
        ``keygen`` printed it (a key pair is the common case)."""
        return self.fingerprint

    def recipient(self) -> HPKERecipient:
        description = (
            f"{'ML-KEM-768+X25519' if self.kind == PQ else 'X25519'} key {self.fingerprint}"
        )
        try:
            if self.kind == PQ:
                key = MLKEM768X25519PublicKey(
                    mlkem.MLKEM768PublicKey.from_public_bytes(self.encryption[:_MLKEM_PUB]),
                    x25519.X25519PublicKey.from_public_bytes(self.encryption[_MLKEM_PUB:]),
                )
                return HPKERecipient(key, description)
            return HPKERecipient(
                x25519.X25519PublicKey.from_public_bytes(self.encryption), description
            )
        except ValueError:
            # The checksum only catches accidents: a line can be well-formed and
            # still not hold a valid key.
            raise UsageError(f"public key {self.fingerprint} is not a valid key") from None

    def verify(self, signature: bytes, message: bytes) -> None:
        """Check an Ed25519 signature by this pair (FORMAT.md section 9's rule: S < L,
        no small-order or non-canonical key): InvalidSignature or ValueError if not."""
        verify_ed25519(self.signing, signature, message)


@dataclass(frozen=True)
class SecretKey:
    """A private key pair. Its repr never shows key material."""

    kind: str
    encryption: bytes = field(repr=False)
    signing: bytes = field(repr=False)

    @classmethod
    def generate(cls, *, classic: bool = False) -> SecretKey:
        sign = ed25519.Ed25519PrivateKey.generate().private_bytes_raw()
        xkey = x25519.X25519PrivateKey.generate().private_bytes_raw()
        if classic:
            return cls(CLASSIC, xkey, sign)
        seed = mlkem.MLKEM768PrivateKey.generate().private_bytes_raw()
        return cls(PQ, seed + xkey, sign)

    @property
    def public(self) -> PublicKey:
        sign_pub = self.signing_key().public_key().public_bytes_raw()
        if self.kind == PQ:
            mk = mlkem.MLKEM768PrivateKey.from_seed_bytes(self.encryption[:_MLKEM_SEED])
            xk = x25519.X25519PrivateKey.from_private_bytes(self.encryption[_MLKEM_SEED:])
            enc = mk.public_key().public_bytes_raw() + xk.public_key().public_bytes_raw()
        else:
            enc = (
                x25519.X25519PrivateKey.from_private_bytes(self.encryption)
                .public_key()
                .public_bytes_raw()
            )
        return PublicKey(self.kind, enc, sign_pub)

    def identity(self) -> HPKEIdentity:
        if self.kind == PQ:
            return HPKEIdentity(
                MLKEM768X25519PrivateKey(
                    mlkem.MLKEM768PrivateKey.from_seed_bytes(self.encryption[:_MLKEM_SEED]),
                    x25519.X25519PrivateKey.from_private_bytes(self.encryption[_MLKEM_SEED:]),
                )
            )
        return HPKEIdentity(x25519.X25519PrivateKey.from_private_bytes(self.encryption))

    def signing_key(self) -> ed25519.Ed25519PrivateKey:
        return ed25519.Ed25519PrivateKey.from_private_bytes(self.signing)

    def sign(self, message: bytes) -> bytes:
        """The pair's Ed25519 signature (64 bytes) over ``message``: a SecretKey is a
        :class:`~securemedia.signing_keys.Signer`."""
        return self.signing_key().sign(message)

    def _blob(self) -> bytes:
        return bytes([_KIND_BYTE[self.kind]]) + self.encryption + self.signing

    @classmethod
    def _from_blob(cls, blob: bytes, source: str) -> SecretKey:
        kind = _BYTE_KIND.get(blob[0] if blob else 0)
        enc_len = _MLKEM_SEED + _X25519 if kind == PQ else _X25519
        if kind is None or len(blob) != 1 + enc_len + _ED25519:
            raise _damaged(source, "the key inside is malformed")
        return cls(kind, blob[1 : 1 + enc_len], blob[1 + enc_len :])

    def to_text(self, passphrase: bytes | None, params: Argon2Params | None = None) -> str:
        """The key file's contents; encrypted under ``passphrase`` unless it is None."""
        public = self.public
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines = [
            "# securemedia private key: keep this file secret, and a backup of it safe",
            f"# created: {stamp}",
            f"# fingerprint: {public.fingerprint}",
            f"# public key: {public.to_line()}",
        ]
        if passphrase is None:
            prefix, body = _SECRET_PREFIX, self._blob()
        else:
            p = params or Argon2Params()
            salt = os.urandom(16)
            key = derive_key(passphrase, salt, p)
            sealed = AESGCM(key).encrypt(bytes(12), self._blob(), _KEYFILE_AAD)
            head = _KDF_HEADER.pack(salt, p.time_cost, p.memory_kib, p.parallelism)
            prefix, body = _SECRET_ENC_PREFIX, head + sealed
        # The check lets a damaged file be told from a wrong passphrase without
        # the passphrase: it covers public bytes only (salt, costs, ciphertext).
        lines.append(prefix + _b64e(body + _checksum(prefix, body)))
        return "\n".join(lines) + "\n"

    @classmethod
    def from_text(cls, text: str, source: str, passphrase: PassphraseSource) -> SecretKey:
        """Parse a key file's contents; ``passphrase`` is called only if it is protected.

        Every check that needs no passphrase comes first (structure, lengths, the
        checksum, the Argon2 costs), so a damaged file is reported as damaged
        (:class:`KeyFileError`) and only an intact one can be "wrong passphrase".
        """
        lines = key_lines(text)
        keys = [ln for ln in lines if ln.startswith((_SECRET_PREFIX, _OLD_PREFIX))]
        if len(keys) != 1 or len(lines) != 1:
            raise _not_a_key_file(text, source, found=len(keys))
        line = keys[0]
        prefix = next(p for p in _KEY_PREFIXES if line.startswith(p))
        try:
            raw = _b64d(line[len(prefix) :])
        except ValueError:
            raise _damaged(source, "its key line is not valid base64url") from None
        body = _checked_body(prefix, raw, source)
        if prefix in (_SECRET_PREFIX, _OLD_PREFIX):
            return cls._from_blob(body, source)
        salt, t, m, p = _KDF_HEADER.unpack_from(body)
        params = Argon2Params(t, m, p)
        try:
            params.check()  # before asking for a passphrase, and before any hashing
        except FormatError:
            raise _damaged(source, "its passphrase costs are out of range") from None
        key = derive_key(passphrase(), salt, params)
        try:
            blob = AESGCM(key).decrypt(bytes(12), body[_KDF_HEADER.size :], _KEYFILE_AAD)
        except InvalidTag:
            if prefix == _OLD_ENC_PREFIX:  # a file from before key-file checksums
                raise NoIdentityError(
                    f"{source}: wrong passphrase for this key file (or the file is damaged: "
                    "it has no checksum to tell)"
                ) from None
            raise NoIdentityError(f"{source}: wrong passphrase for this key file") from None
        return cls._from_blob(blob, source)

    def save(self, path: Path, passphrase: bytes | None, *, force: bool = False) -> Path:
        """Write the key file (mode 0600) and ``path.pub``; returns the .pub path.

        Both appear together or neither does (an existing one is refused unless
        ``force``), through :class:`~securemedia.atomic.StagingDirectory`: no
        predictable temporary name, no link followed.
        """
        path = Path(path)
        pub_path = path.with_name(path.name + ".pub")
        public = self.public
        pub_text = (
            f"# securemedia public key, fingerprint {public.fingerprint}\n{public.to_line()}\n"
        )
        secret_text = self.to_text(passphrase).encode()
        directory = path.parent if str(path.parent) else Path(".")
        with StagingDirectory(directory, path.name) as staging:
            try:
                with staging.create("key") as handle:
                    handle.write(secret_text)
                with staging.create("pub") as handle:
                    handle.write(pub_text.encode())
            except OSError as exc:
                raise OperationalError(f"cannot write {path}: {exc.strerror or exc}") from None
            staging.publish(
                [("key", path.name), ("pub", pub_path.name)],
                force=force,
                private={"key"},
                durable=True,
            )
        return pub_path


_PRIVATE_HEADER = "# securemedia private key"
_BLOB_SIZES = (1 + _MLKEM_SEED + _X25519 + _ED25519, 1 + _X25519 + _ED25519)
_SEALED_OVERHEAD = _KDF_HEADER.size + 16  # the KDF header and the AES-GCM tag
_CHECK = 4


def _damaged(source: str, why: str) -> KeyFileError:
    return KeyFileError(f"{source}: key file is damaged ({why}); use its backup")


def _checked_body(prefix: str, raw: bytes, source: str) -> bytes:
    """The key line's body, its length and (smkey2) checksum verified.

    The version is in the prefix, at the start of the line, so a truncated
    smkey2 line can never pass for an smkey1 line without a checksum."""
    sealed = prefix in (_SECRET_ENC_PREFIX, _OLD_ENC_PREFIX)
    checked = prefix in (_SECRET_ENC_PREFIX, _SECRET_PREFIX)
    tail = _CHECK if checked else 0
    if len(raw) - tail - (_SEALED_OVERHEAD if sealed else 0) not in _BLOB_SIZES:
        raise _damaged(source, "its key line has the wrong length: truncated or altered")
    if not checked:
        return raw
    body, check = raw[:-_CHECK], raw[-_CHECK:]
    if not hmac.compare_digest(check, _checksum(prefix, body)):
        raise _damaged(source, "checksum mismatch")
    return body


def _not_a_key_file(text: str, source: str, *, found: int) -> KeyFileError:
    """Why ``text`` holds no single private key line: damaged, a public key, or
    something else entirely."""
    head = text.removeprefix(BOM).lstrip()
    if not head:
        return KeyFileError(f"{source}: empty file, not a key file")
    if found > 1:
        return _damaged(source, "it holds more than one key line")
    if found == 1:
        return _damaged(source, "unexpected lines beside the key line")
    if head.startswith(_PRIVATE_HEADER) or _PRIVATE_HEADER.startswith(head.rstrip()):
        return _damaged(source, "its key line is missing: the file is truncated")
    if _PUBLIC_PREFIX in text:
        private = f" ({source.removesuffix('.pub')})" if source.endswith(".pub") else ""
        return KeyFileError(
            f"{source} is a public key file, where the private key file is needed{private}"
        )
    return KeyFileError(f"{source}: not a securemedia key file")
