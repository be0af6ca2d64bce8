"""Turn what a user names on the command line or in a script into recipients,
identities and signer keys.

* a recipient is a public key line, or a file of public key lines (``#``
  comments allowed), or an X.509 certificate (PEM or DER);
* an identity is a securemedia key file, or a PEM RSA/EC private key;
* a signer is a public key line or a file of them (the Ed25519 half is used).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .arguments import PassphraseArgument, passphrase_source
from .errors import KeyFileError, OperationalError, Remedy, UsageError, os_error
from .keys import SECRET_KEY_MARKS, PublicKey, SecretKey
from .recipients import Identity, Recipient

MAX_KEY_FILE = 1 << 20


def _read(spec: str, what: str) -> bytes:
    """The bytes of key file ``spec``. A file that is missing or cannot be read
    is an operational error (exit 1), as for every input."""
    path = Path(spec)
    try:
        if not path.exists():
            raise OperationalError(f"{spec}: no such {what}")
        if not path.is_file():
            raise UsageError(f"{spec}: not a file")
        if path.stat().st_size > MAX_KEY_FILE:
            raise KeyFileError(f"{spec}: too large to be a key file")
        return path.read_bytes()
    except OSError as exc:
        raise os_error(exc, "read", spec) from None


def _public_lines(data: bytes, source: str) -> list[PublicKey]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFileError(f"{source}: not a public key file") from None
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not lines:
        if any(mark in data for mark in SECRET_KEY_MARKS):
            raise KeyFileError(f"{source} is a private key file: give its .pub")
        raise KeyFileError(f"{source}: holds no public key")
    keys = []
    for line in lines:
        try:
            keys.append(PublicKey.from_line(line))
        except UsageError as exc:
            raise KeyFileError(f"{source}: {exc}") from None
    return keys


def _looks_like_certificate(data: bytes) -> bool:
    """PEM certificate, or DER (an ASN.1 SEQUENCE): sniffed without importing x509."""
    return b"-----BEGIN CERTIFICATE-----" in data or data[:1] == b"\x30"


def _looks_like_private_key(data: bytes) -> bool:
    return b"-----BEGIN" in data and b"PRIVATE KEY-----" in data


def load_public_keys(spec: str) -> list[PublicKey]:
    """Public keys from a key line or a file of key lines."""
    if spec.startswith("smpub1-"):
        return [PublicKey.from_line(spec)]
    return _public_lines(_read(spec, "public key file (and not a public key line)"), spec)


def load_recipients(spec: str) -> list[Recipient]:
    """Recipients from a key line, a file of key lines, or a certificate."""
    if spec.startswith("smpub1-"):
        return [PublicKey.from_line(spec).recipient()]
    data = _read(spec, "public key or certificate file (and not a public key line)")
    if _looks_like_certificate(data):
        from .recipients import x509  # only now: the X.509 machinery is slow to import

        return [x509.load_certificate(data, spec)]
    if any(mark in data for mark in SECRET_KEY_MARKS):
        raise KeyFileError(
            f"{spec} is a private key file, not a public key", remedy=Remedy.PUBLIC_HALF
        )
    return [key.recipient() for key in _public_lines(data, spec)]


def load_secret_key(path: str, passphrase: PassphraseArgument = None) -> SecretKey:
    """A securemedia key file: damaged, public or foreign files are
    :class:`KeyFileError` before any passphrase is asked for.

    ``passphrase``: str or bytes, or a callable returning one, called only if the
    file is protected (a str is used as UTF-8, not normalised); None if it is not."""
    return _secret_key(_read(path, "key file"), path, passphrase_source(passphrase))


def _secret_key(data: bytes, path: str, passphrase: Callable[[], bytes]) -> SecretKey:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFileError(f"{path}: not a securemedia key file (or a damaged one)") from None
    return SecretKey.from_text(text, path, passphrase)


def load_identities(path: str, passphrase: PassphraseArgument = None) -> list[Identity]:
    """Identities from a securemedia key file or a PEM private key.

    ``passphrase``: str or bytes, or a callable returning one, called only if the
    key is protected (a str is used as UTF-8, not normalised); None if it is not."""
    source = passphrase_source(passphrase)
    data = _read(path, "key file")
    if _looks_like_private_key(data):
        from .recipients import x509

        password = source() if b"ENCRYPTED" in data else None
        return [x509.load_private_key(data, path, password)]
    return [_secret_key(data, path, source).identity()]


def load_signers(spec: str) -> list[bytes]:
    """Raw Ed25519 public keys of acceptable signers."""
    return [key.signing for key in load_public_keys(spec)]
