"""A certificate for a token's encryption key, signed by that key on the token.

For an office whose PKI has not issued one yet: senders use it with ``-r
office.crt`` exactly as a PKI certificate. pyca/cryptography signs only with
keys in memory, so the to-be-signed part is built by its CertificateBuilder
(signed once with a throwaway key of the same algorithm, which puts the right
signature algorithm inside it), then signed by the token: ``CKM_SHA256_RSA_PKCS``
or ``CKM_ECDSA`` over SHA-256/SHA-384 of it. The result is checked (the
certificate's signature verifies under its own public key) before it is
returned.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID

from ..errors import UsageError

if TYPE_CHECKING:
    import pkcs11
    from pkcs11.types import SignMixin

VALID_DAYS = 3 * 365 + 1
"""The validity the self-signed certificate states: a sender's securemedia
refuses it afterwards, so the office renews its certificate within three years."""

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


def public_key(key: pkcs11.PublicKey) -> PublicKey:
    """The pyca/cryptography form of an RSA or EC P-256/P-384 public key on a token."""
    from pkcs11 import Attribute, KeyType

    if key.key_type is KeyType.RSA:
        n = int.from_bytes(bytes(key[Attribute.MODULUS]), "big")
        e = int.from_bytes(bytes(key[Attribute.PUBLIC_EXPONENT]), "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    point = bytes(key[Attribute.EC_POINT])
    for curve, size in ((ec.SECP256R1(), 65), (ec.SECP384R1(), 97)):
        if len(point) == size + 2 and point[:2] == bytes([0x04, size]):
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, point[2:])
    raise UsageError("the token key is not RSA or EC P-256/P-384")


def _hash_for(key: PublicKey) -> hashes.SHA256 | hashes.SHA384:
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP384R1):
        return hashes.SHA384()
    return hashes.SHA256()


def _to_be_signed(key: PublicKey, subject: str, now: datetime.datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    usage = isinstance(key, rsa.RSAPublicKey)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=usage,
                data_encipherment=False,
                key_agreement=not usage,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    throwaway: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if isinstance(key, rsa.RSAPublicKey):
        throwaway = rsa.generate_private_key(65537, 2048)
    else:
        throwaway = ec.generate_private_key(key.curve)
    return builder.sign(throwaway, _hash_for(key))


def _assemble(tbs: bytes, signature: bytes) -> bytes:
    from asn1crypto import x509 as asn1_x509  # python-pkcs11's own dependency

    parsed = asn1_x509.TbsCertificate.load(tbs)
    certificate = asn1_x509.Certificate(
        {
            "tbs_certificate": parsed,
            "signature_algorithm": parsed["signature"],
            "signature_value": signature,
        }
    )
    return cast(bytes, certificate.dump())


def self_signed(
    private: pkcs11.PrivateKey, public: pkcs11.PublicKey, subject: str, *, now: Any = None
) -> x509.Certificate:
    """A certificate for ``public``, signed on the token by ``private`` (which
    must be allowed to sign)."""
    from pkcs11 import Mechanism

    key = public_key(public)
    draft = _to_be_signed(key, subject, now or datetime.datetime.now(datetime.UTC))
    tbs = draft.tbs_certificate_bytes
    signer = cast("SignMixin", private)
    if isinstance(key, rsa.RSAPublicKey):
        signature = signer.sign(tbs, mechanism=Mechanism.SHA256_RSA_PKCS)
    else:
        digest = hashes.Hash(_hash_for(key))
        digest.update(tbs)
        raw = signer.sign(digest.finalize(), mechanism=Mechanism.ECDSA)
        half = len(raw) // 2
        signature = encode_dss_signature(
            int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        )
    certificate = x509.load_der_x509_certificate(_assemble(tbs, signature))
    try:
        certificate.verify_directly_issued_by(certificate)
    except (InvalidSignature, ValueError, TypeError):
        raise UsageError("the token's signature on the new certificate does not verify") from None
    return certificate


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)
