"""Turn what a user names on the command line or in a script into recipients,
identities, signing keys and required signers.

* a recipient is a public key line, a file of public key lines (``#``
  comments allowed), a fingerprint of a key at hand (see :mod:`.keydir`), or an
  X.509 certificate (PEM or DER);
* an identity is a securemedia key file, or a PEM RSA/EC private key;
* a signing key is a securemedia key file (the whole pair signs: see
  :mod:`.signature`);
* a required signer is a public key line (a key pair's, or a signing key's:
  ``smpub1-sign-...``, :mod:`.signing_keys`), a file of them, or a fingerprint.

Every "wrong kind of file" message says what was given and what is needed,
without naming a command-line option: the library is also used from scripts.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from .arguments import PassphraseArgument, passphrase_source
from .errors import KeyFileError, OperationalError, UsageError, os_error
from .keydir import find_by_fingerprint
from .keys import SECRET_KEY_MARKS, PassphraseSource, PublicKey, SecretKey, parse_fingerprint
from .recipients import Identity, Recipient
from .signing_keys import SignerKey, SigningPublicKey, signer_key_from_line
from .tokens.uri import is_token_uri

MAX_KEY_FILE = 1 << 20


def _read(spec: str, what: str) -> bytes:
    """The bytes of key file ``spec``. A file that is missing or cannot be read
    is an operational error (exit 1), as for every input.

    The file is opened without blocking and checked on the open descriptor, and
    at most :data:`MAX_KEY_FILE` + 1 bytes are read: a name swapped for a FIFO
    after a check would hang, and a ``/proc`` file (size 0 in ``stat``) can hold
    megabytes; both can be planted where keys are looked up (:mod:`.keydir`).
    """
    path = Path(spec)
    try:
        if not path.exists():
            raise OperationalError(f"{spec}: no such {what}")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UsageError(f"{spec}: not a file")
            os.set_blocking(fd, True)
            with os.fdopen(os.dup(fd), "rb") as handle:
                data = handle.read(MAX_KEY_FILE + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise os_error(exc, "read", spec) from None
    if len(data) > MAX_KEY_FILE:
        raise KeyFileError(f"{spec}: too large to be a key file")
    return data


def _public_lines(data: bytes, source: str) -> list[SignerKey]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFileError(f"{source}: not a public key file") from None
    # A private key file also holds its public key line (as a comment): it is
    # still refused, so that a secret never travels where a public key goes.
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not lines or any(mark in data for mark in SECRET_KEY_MARKS):
        if any(mark in data for mark in SECRET_KEY_MARKS):
            raise KeyFileError(
                f"{source} is a private key file, where a public key is needed: "
                f"give its public key, {source}.pub (or its fingerprint)"
            )
        raise KeyFileError(f"{source}: holds no public key")
    if b"-----BEGIN CERTIFICATE-----" in data:
        raise KeyFileError(
            f"{source} is an X.509 certificate, where a securemedia public key is needed"
        )
    keys: list[SignerKey] = []
    for line in lines:
        try:
            keys.append(signer_key_from_line(line))
        except UsageError as exc:
            raise KeyFileError(f"{source}: {exc}") from None
    return keys


def _looks_like_certificate(data: bytes) -> bool:
    """PEM certificate, or DER (an ASN.1 SEQUENCE): sniffed without importing x509."""
    return b"-----BEGIN CERTIFICATE-----" in data or data[:1] == b"\x30"


def _looks_like_private_key(data: bytes) -> bool:
    return b"-----BEGIN" in data and b"PRIVATE KEY-----" in data


def _public_file(spec: str) -> list[SignerKey]:
    return _public_lines(_read(spec, "public key file (and not a public key line)"), spec)


def _one_spec(spec: str, extra: Sequence[str]) -> list[SignerKey] | None:
    """A key line or a fingerprint; None if ``spec`` names a file."""
    if spec.startswith("smpub1-"):
        return [signer_key_from_line(spec)]
    fingerprint = parse_fingerprint(spec)
    # A fingerprint is public (it is read over the phone): a file named after it,
    # planted in a shared working directory, must not stand in for the key. A
    # file so named is given as ./NAME, which no fingerprint looks like.
    if fingerprint is not None:
        others = [e for e in extra if e != spec and parse_fingerprint(e) is None]
        return [find_by_fingerprint(fingerprint, _any_public_keys, others)]
    return None


def _any_public_keys(spec: str, *, extra: Sequence[str] = ()) -> list[SignerKey]:
    found = _one_spec(spec, extra)
    return found if found is not None else _public_file(spec)


def _key_pairs(keys: list[SignerKey], spec: str) -> list[PublicKey]:
    """``keys`` if they are all key pairs; a signing key cannot be a recipient."""
    for key in keys:
        if isinstance(key, SigningPublicKey):
            name = "the key line" if spec.startswith("smpub1-") else spec
            raise KeyFileError(
                f"{name} is a signing key: it checks signatures and cannot receive "
                f"archives ({key.description})"
            )
    return [key for key in keys if isinstance(key, PublicKey)]


def load_public_keys(spec: str, *, extra: Sequence[str] = ()) -> list[PublicKey]:
    """Key pairs' public keys from a key line, a file of key lines, or a fingerprint.

    A fingerprint (``FZY7-...``, dashes optional, any case) is looked up among
    the keys at hand: the key directory and ``extra`` (other public key lines
    or files given alongside), see :mod:`securemedia.keydir`. A signing key
    (``smpub1-sign-...``) is refused: it cannot receive archives.
    """
    return _key_pairs(_any_public_keys(spec, extra=extra), spec)


def load_recipients(spec: str, *, extra: Sequence[str] = ()) -> list[Recipient]:
    """Recipients from a key line, a file of key lines, a fingerprint of a key at
    hand (as :func:`load_public_keys`), or an X.509 certificate (PEM or DER)."""
    found = _one_spec(spec, extra)
    if found is not None:
        return [key.recipient() for key in _key_pairs(found, spec)]
    data = _read(spec, "public key or certificate file (and not a public key line)")
    if _looks_like_certificate(data):
        from .recipients import x509  # only now: the X.509 machinery is slow to import

        return [x509.load_certificate(data, spec)]
    if _looks_like_private_key(data):
        raise KeyFileError(
            f"{spec} is a private key, where a public key or certificate is needed: "
            "give the certificate instead"
        )
    return [key.recipient() for key in _key_pairs(_public_lines(data, spec), spec)]


def load_secret_key(path: str, passphrase: PassphraseArgument = None) -> SecretKey:
    """A securemedia key file: damaged, public or foreign files are
    :class:`KeyFileError` before any passphrase is asked for.

    ``passphrase``: str or bytes, or a callable returning one, called only if the
    file is protected (a str is used as UTF-8, not normalised); None if it is not."""
    return _secret_key(_read(path, "key file"), path, passphrase_source(passphrase))


def _secret_key(data: bytes, path: str, passphrase: PassphraseSource) -> SecretKey:
    if _looks_like_certificate(data):
        raise KeyFileError(
            f"{path} is an X.509 certificate (a public key), where a private key file is "
            "needed: give the private key that belongs to it (PEM)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFileError(f"{path}: not a securemedia key file (or a damaged one)") from None
    return SecretKey.from_text(text, path, passphrase)


def load_identities(path: str, passphrase: PassphraseArgument = None) -> list[Identity]:
    """Identities from a securemedia key file, a PEM private key, or the keys on
    a PKCS#11 token that a ``pkcs11:`` URI names (RFC 7512; the module from the
    URI's ``module-path`` or $SECUREMEDIA_PKCS11_MODULE, see
    :func:`securemedia.tokens.load_token_identities`).

    ``passphrase``: str or bytes, or a callable returning one, called only if the
    key is protected (a str is used as UTF-8, not normalised); None if it is not.
    For a token it is the PIN."""
    if is_token_uri(path):
        from .tokens import load_token_identities

        return load_token_identities(path, pin=passphrase)
    source = passphrase_source(passphrase)
    data = _read(path, "key file")
    if _looks_like_private_key(data):
        from .recipients import x509

        password = source() if b"ENCRYPTED" in data else None
        return [x509.load_private_key(data, path, password)]
    return [_secret_key(data, path, source).identity()]


def load_signing_key(path: str, passphrase: PassphraseArgument = None) -> SecretKey:
    """The key pair that signs, from a securemedia private key file.

    Returns what ``create_archive(signer=...)``, ``pack(signer=...)`` and
    ``ArchiveWriter(signer=...)`` take. ``passphrase`` (str, bytes, or a callable
    returning one) is used only if the file is protected. A PEM key cannot sign:
    a signature names a securemedia key pair by its fingerprint.
    """
    data = _read(path, "key file")
    if _looks_like_private_key(data):
        raise KeyFileError(
            f"{path} is a PEM private key: signing needs a securemedia key file "
            "(made by securemedia keygen)"
        )
    return _secret_key(data, path, passphrase_source(passphrase))


def load_signers(spec: str, *, extra: Sequence[str] = ()) -> list[SignerKey]:
    """Acceptable signers, for ``require_signer=``: a public key line (a key pair's
    or a signing key's), a file of them, or a fingerprint of a key at hand (as
    :func:`load_public_keys`).

    The whole public key is compared (a key pair's encryption and signing keys),
    so a signer is the key whose fingerprint ``keygen`` printed."""
    return _any_public_keys(spec, extra=extra)
