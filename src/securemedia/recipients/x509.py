"""Recipients from an institution's X.509 certificates, and their private keys.

RSA certificates become RSA-OAEP recipients; EC P-256 and P-384 certificates
become HPKE recipients. A certificate outside its validity period is refused:
sending data to a key its owner has retired is a mistake worth stopping.
"""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..errors import NoIdentityError, UsageError
from .hpke import HPKEIdentity, HPKERecipient
from .rsa import RSAIdentity, RSARecipient

Recipient = HPKERecipient | RSARecipient


def load_certificate(
    data: bytes, source: str, *, now: datetime.datetime | None = None
) -> Recipient:
    """A recipient for the public key in a PEM or DER certificate."""
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            cert = x509.load_pem_x509_certificate(data)
        else:
            cert = x509.load_der_x509_certificate(data)
    except ValueError:
        raise UsageError(f"{source}: not a readable X.509 certificate") from None
    when = now or datetime.datetime.now(datetime.UTC)
    if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
        raise UsageError(
            f"{source}: certificate is not valid now (valid {cert.not_valid_before_utc:%Y-%m-%d} "
            f"to {cert.not_valid_after_utc:%Y-%m-%d})"
        )
    subject = cert.subject.rfc4514_string() or "certificate"
    # Whole, in the form `openssl x509 -noout -fingerprint -sha256` prints, so the
    # sender can compare it with what the receiving office reads out.
    fingerprint = cert.fingerprint(hashes.SHA256()).hex(":").upper()
    description = f"certificate {subject} (SHA-256 {fingerprint})"
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return RSARecipient(key, description)
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(
        key.curve, ec.SECP256R1 | ec.SECP384R1
    ):
        return HPKERecipient(key, description)
    raise UsageError(f"{source}: certificate key type is not supported (RSA, EC P-256, EC P-384)")


def load_private_key(
    data: bytes, source: str, password: bytes | None
) -> RSAIdentity | HPKEIdentity:
    """An identity for a PEM (PKCS#8, PKCS#1 or SEC1) RSA or EC private key."""
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except TypeError:
        raise UsageError(f"{source}: the private key is encrypted; give its passphrase") from None
    except ValueError:
        if password is not None:
            # Exit 3, like a securemedia key file opened with a wrong passphrase.
            raise NoIdentityError(
                f"{source}: wrong passphrase for this private key, or the key is damaged"
            ) from None
        raise UsageError(f"{source}: not a readable private key") from None
    if isinstance(key, rsa.RSAPrivateKey):
        return RSAIdentity(key)
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(
        key.curve, ec.SECP256R1 | ec.SECP384R1
    ):
        return HPKEIdentity(key)
    raise UsageError(f"{source}: private key type is not supported (RSA, EC P-256, EC P-384)")
