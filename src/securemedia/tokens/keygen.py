"""``keygen --pkcs11``: an encryption key pair made on a token, and a
certificate for it that senders use with ``-r`` as today.

The private key is generated sensitive and non-extractable
(:mod:`.generate`), signs its own certificate once (:mod:`.certificate`), and
then loses the right to sign: it only decrypts (RSA) or derives (EC) from
then on. If anything fails after the key was made, the key pair is destroyed
again and no certificate file is left: nothing half-made.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ..arguments import PassphraseArgument
from ..atomic import atomic_output
from ..errors import OperationalError, UsageError
from .certificate import pem, self_signed
from .generate import TokenKeyKind, generate_key_pair
from .session import PinSource, pin_source, require_pkcs11, token_session
from .uri import parse

ENCRYPTION_KINDS = (TokenKeyKind.RSA3072, TokenKeyKind.P256, TokenKeyKind.P384)


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
        raise UsageError(
            f"{kind.value}: a token key that signs archives waits for the signature-block "
            "decision (docs/PKCS11-STATUS.md); rsa-3072, p256 or p384 encrypt"
        )
    require_pkcs11()
    import pkcs11
    from pkcs11 import Attribute

    parsed = parse(uri)
    if not parsed.object:
        raise UsageError(f"{uri}: give the new key's label as object=NAME in the URI")
    with atomic_output(Path(certificate_file), force=force) as out:  # refused early if it exists
        session, _ = token_session(parsed, module, pin_source(pin), rw=True)
        if any(True for _ in session.get_objects({Attribute.LABEL: parsed.object})):
            raise UsageError(
                f"{parsed.describe()}: the token already holds an object with this label"
            )
        key_id = parsed.id or os.urandom(16)
        public, private = generate_key_pair(session, kind, parsed.object, key_id, may_sign=True)
        try:
            certificate = self_signed(private, public, parsed.object)
            private[Attribute.SIGN] = False  # from now on it only decrypts or derives
            out.write(pem(certificate))
        except BaseException:
            for made in (private, public):
                try:
                    made.destroy()
                except pkcs11.PKCS11Error:
                    raise OperationalError(
                        f"{parsed.describe()}: a half-made key pair is left on the token; "
                        "delete it with the token's own tools"
                    ) from None
            raise
    return TokenKey(Path(certificate_file), certificate, uri)
