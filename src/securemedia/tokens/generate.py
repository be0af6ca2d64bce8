"""Key pairs made on a token, which their private halves never leave.

Every private key is generated with ``CKA_SENSITIVE`` true and
``CKA_EXTRACTABLE`` false (so the token also sets ``CKA_ALWAYS_SENSITIVE`` and
``CKA_NEVER_EXTRACTABLE``): its value cannot be read, nor wrapped out, by
anyone, including us. tests/test_token_keys.py reads those attributes back.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from ..errors import OperationalError, UsageError

if TYPE_CHECKING:
    import pkcs11


class TokenKeyKind(enum.Enum):
    """What a token key pair is for, and of which type."""

    RSA3072 = "rsa-3072"
    """Encryption: RSA-OAEP stanzas (CKM_RSA_PKCS_OAEP, SHA-256, the format's label)."""
    P256 = "p256"
    """Encryption: HPKE P-256 stanzas, through the token's ECDH."""
    P384 = "p384"
    """Encryption: HPKE P-384 stanzas, through the token's ECDH."""
    ED25519 = "ed25519"
    """Signing archives (CKM_EDDSA)."""
    P256_SIGN = "p256-sign"
    """Signing archives (CKM_ECDSA over SHA-256)."""

    @property
    def signs(self) -> bool:
        """A key that signs archives (and does nothing else)."""
        return self in (TokenKeyKind.ED25519, TokenKeyKind.P256_SIGN)


_CURVES = {
    TokenKeyKind.P256: "secp256r1",
    TokenKeyKind.P256_SIGN: "secp256r1",
    TokenKeyKind.P384: "secp384r1",
    TokenKeyKind.ED25519: "1.3.101.112",  # id-Ed25519 (RFC 8410)
}


def generate_key_pair(
    session: pkcs11.Session,
    kind: TokenKeyKind,
    label: str,
    key_id: bytes,
    *,
    may_sign: bool = False,
) -> tuple[pkcs11.PublicKey, pkcs11.PrivateKey]:
    """A new key pair stored on the token under ``label`` and ``key_id``.

    The session must be read-write and logged in. Only the private key's
    intended use is allowed (decrypt, derive or sign), nothing else;
    ``may_sign`` lets an encryption key also sign, for its own certificate
    (:mod:`.keygen` takes that right away again).
    """
    import pkcs11
    from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag
    from pkcs11.util.ec import encode_named_curve_parameters

    private: dict[Attribute, Any] = {
        Attribute.TOKEN: True,
        Attribute.PRIVATE: True,
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: False,
        Attribute.DECRYPT: kind is TokenKeyKind.RSA3072,
        Attribute.UNWRAP: False,
        Attribute.DERIVE: kind in (TokenKeyKind.P256, TokenKeyKind.P384),
        Attribute.SIGN: may_sign or kind.signs,
    }
    public: dict[Attribute, Any] = {Attribute.TOKEN: True, Attribute.PRIVATE: False}
    # A private key that signs gets a public half that verifies: NSS's softoken
    # refuses the pair otherwise (CKR_KEY_TYPE_INCONSISTENT), SoftHSM does not mind.
    signing = MechanismFlag.SIGN | MechanismFlag.VERIFY
    try:
        if kind is TokenKeyKind.RSA3072:
            return session.generate_keypair(
                KeyType.RSA,
                3072,
                id=key_id,
                label=label,
                store=True,
                capabilities=MechanismFlag.ENCRYPT
                | MechanismFlag.DECRYPT
                | (signing if may_sign else MechanismFlag(0)),
                public_template=public,
                private_template=private,
            )
        key_type = KeyType.EC_EDWARDS if kind is TokenKeyKind.ED25519 else KeyType.EC
        params = session.create_domain_parameters(
            key_type,
            {Attribute.EC_PARAMS: encode_named_curve_parameters(_CURVES[kind])},
            local=True,
        )
        return params.generate_keypair(
            id=key_id,
            label=label,
            store=True,
            mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN
            if kind is TokenKeyKind.ED25519
            else Mechanism.EC_KEY_PAIR_GEN,
            capabilities=signing
            if kind.signs
            else MechanismFlag.DERIVE | (signing if may_sign else MechanismFlag(0)),
            public_template=public,
            private_template=private,
        )
    except (pkcs11.MechanismInvalid, pkcs11.AttributeValueInvalid, pkcs11.DomainParamsInvalid):
        raise UsageError(
            f"the token cannot generate {kind.value} key pairs (mechanism or curve missing)"
        ) from None
    except pkcs11.PKCS11Error as exc:
        raise OperationalError(
            f"the token refused to generate the {kind.value} key pair ({type(exc).__name__})"
        ) from None
