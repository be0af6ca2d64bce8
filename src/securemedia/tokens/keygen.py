"""``keygen --pkcs11``: a key pair made on a token, and the public file others use.

An encryption key gets a certificate that senders use with ``-r`` as today:
the private key is generated sensitive and non-extractable (:mod:`.generate`),
signs its own certificate once (:mod:`.certificate`), and then loses the right
to sign: it only decrypts (RSA) or derives (EC) from then on. A signing key
(Ed25519, ECDSA P-256) gets ``NAME.pub``, its public key line, which readers
give to ``--require-signer``; it only signs. If anything fails after the key
was made, the key pair is destroyed again and no file is left: nothing half-made.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ..arguments import PassphraseArgument
from ..atomic import atomic_output
from ..errors import OperationalError, UsageError
from ..signing_keys import SigningPublicKey
from .certificate import pem, self_signed
from .generate import TokenKeyKind, generate_key_pair
from .session import PinSource, pin_source, require_pkcs11, token_session
from .uri import TokenURI, parse

if TYPE_CHECKING:
    import pkcs11

ENCRYPTION_KINDS = (TokenKeyKind.RSA3072, TokenKeyKind.P256, TokenKeyKind.P384)
SIGNING_KINDS = (TokenKeyKind.ED25519, TokenKeyKind.P256_SIGN)


@dataclass(frozen=True)
class TokenKey:
    """What ``keygen --pkcs11`` made: the certificate file and its fingerprint."""

    certificate_file: Path
    certificate: x509.Certificate
    uri: str

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate, as ``openssl x509 -fingerprint -sha256`` shows it."""
        return self.certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def make_token_key(
    uri: str,
    kind: TokenKeyKind,
    certificate_file: Path,
    *,
    module: str | None = None,
    pin: PassphraseArgument | PinSource = None,
    force: bool = False,
) -> TokenKey:
    """Generate an encryption key pair on the token under the URI's ``object``
    label (and ``id``, else a random one), and write its self-signed PEM
    certificate to ``certificate_file``."""
    if kind not in ENCRYPTION_KINDS:
        raise UsageError(f"{kind.value} makes a signing key: see make_token_signing_key")
    require_pkcs11()
    from pkcs11 import Attribute

    with atomic_output(Path(certificate_file), force=force) as out:  # refused early if it exists
        session, parsed, label, key_id = _session_for_new_key(uri, module, pin)
        public, private = generate_key_pair(session, kind, label, key_id, may_sign=True)
        with _destroyed_on_failure(private, public, parsed.describe()):
            certificate = self_signed(private, public, label)
            private[Attribute.SIGN] = False  # from now on it only decrypts or derives
            out.write(pem(certificate))
    return TokenKey(Path(certificate_file), certificate, uri)


@dataclass(frozen=True)
class TokenSigningKey:
    """What ``keygen --pkcs11 --kind ed25519|p256-sign`` made: ``NAME.pub`` and its key."""

    public_file: Path
    public: SigningPublicKey
    uri: str


def make_token_signing_key(
    uri: str,
    kind: TokenKeyKind,
    public_file: Path,
    *,
    module: str | None = None,
    pin: PassphraseArgument | PinSource = None,
    force: bool = False,
) -> TokenSigningKey:
    """Generate a signing key pair (Ed25519 or ECDSA P-256) on the token under
    the URI's ``object`` label (and ``id``, else a random one), and write its
    public key line to ``public_file``. The key is read back as ``pack --sign``
    reads it (:func:`.signing.load_signer`), so the file names what will sign."""
    if kind not in SIGNING_KINDS:
        raise UsageError(f"{kind.value} makes an encryption key: see make_token_key")
    require_pkcs11()
    from .signing import signer_for_key

    with atomic_output(Path(public_file), force=force) as out:  # refused early if it exists
        session, parsed, label, key_id = _session_for_new_key(uri, module, pin)
        public, private = generate_key_pair(session, kind, label, key_id)
        with _destroyed_on_failure(private, public, parsed.describe()):
            key = signer_for_key(session, private, parsed.describe()).public
            out.write(
                f"# securemedia {key.description} on a PKCS#11 token, "
                f"fingerprint {key.fingerprint}\n{key.to_line()}\n".encode()
            )
    return TokenSigningKey(Path(public_file), key, uri)


def _session_for_new_key(
    uri: str, module: str | None, pin: PassphraseArgument | PinSource
) -> tuple[pkcs11.Session, TokenURI, str, bytes]:
    """A read-write session for a new key pair, the parsed URI, the key's label
    and its id;
    a label the token holds already is refused before anything is made."""
    from pkcs11 import Attribute

    parsed = parse(uri)
    if not parsed.object:
        raise UsageError(f"{uri}: give the new key's label as object=NAME in the URI")
    session, _ = token_session(parsed, module, pin_source(pin), rw=True)
    if any(True for _ in session.get_objects({Attribute.LABEL: parsed.object})):
        raise UsageError(f"{parsed.describe()}: the token already holds an object with this label")
    return session, parsed, parsed.object, parsed.id or os.urandom(16)


@contextlib.contextmanager
def _destroyed_on_failure(
    private: pkcs11.PrivateKey, public: pkcs11.PublicKey, name: str
) -> Iterator[None]:
    """Destroy the new key pair again if the block fails: nothing half-made."""
    import pkcs11

    try:
        yield
    except BaseException:
        for made in (private, public):
            try:
                made.destroy()
            except pkcs11.PKCS11Error:
                raise OperationalError(
                    f"{name}: a half-made key pair is left on the token; "
                    "delete it with the token's own tools"
                ) from None
        raise
