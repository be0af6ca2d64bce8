"""Signing archives with a private key on a PKCS#11 token.

An Ed25519 key signs with ``CKM_EDDSA`` (pure Ed25519: no parameters); an
ECDSA P-256 key with ``CKM_ECDSA`` over SHA-256 of the message, hashed here
(many cards have no ``CKM_ECDSA_SHA256``), and the token returns ``r || s``,
32 bytes each. The signature block names the signer by the token's public
object (signer kinds 3 and 4, :mod:`securemedia.signing_keys`), and the writer
checks every signature under that key before it is written
(:func:`securemedia.signature.sign_digest`).

:func:`load_signer` logs in and finds the key, so ``pack`` calls it before it
packs anything: a wrong PIN is said at once, not after an hour of packing.
:meth:`TokenSigner.sign` is the one token operation per archive, at its end.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, cast

from ..arguments import PassphraseArgument
from ..errors import OperationalError, UsageError
from ..signing_keys import ED25519, P256, SIGNATURE_SIZE, SigningKind, SigningPublicKey
from .identities import private_keys, public_object, token_failure
from .session import PinSource, pin_source, token_session
from .uri import parse

if TYPE_CHECKING:
    import pkcs11
    from pkcs11 import Attribute
    from pkcs11.types import SignMixin

_PRINTABLE_EDWARDS25519 = b"\x13\x0cedwards25519"
"""CKA_EC_PARAMS as a PrintableString curve name: PKCS#11 3.0 allows it for Ed25519."""


class TokenSigner:
    """A :class:`~securemedia.signing_keys.Signer` whose private key is on a token."""

    def __init__(self, key: SignMixin, public: SigningPublicKey, name: str) -> None:
        self._key = key
        self._public = public
        self.name = name

    def __repr__(self) -> str:
        return f"TokenSigner({self.name}, {self._public.description})"

    @property
    def public(self) -> SigningPublicKey:
        """The token's public key for it, as the signature block carries it."""
        return self._public

    def sign(self, message: bytes) -> bytes:
        """64 bytes: Ed25519 over ``message``, or ECDSA P-256 ``r || s`` over
        SHA-256(``message``); one token operation."""
        import pkcs11
        from pkcs11 import Mechanism

        if self._public.kind == ED25519:
            data, mechanism = message, Mechanism.EDDSA
        else:
            data, mechanism = hashlib.sha256(message).digest(), Mechanism.ECDSA
        try:
            signature = self._key.sign(data, mechanism=mechanism)
        except (pkcs11.MechanismInvalid, pkcs11.MechanismParamInvalid):
            raise UsageError(f"{self.name}: the token cannot sign with {mechanism.name}") from None
        except pkcs11.PKCS11Error as exc:
            raise token_failure(self.name, exc) from None
        if len(signature) != SIGNATURE_SIZE:
            raise OperationalError(
                f"{self.name}: the token returned a {len(signature)}-byte signature, "
                f"not {SIGNATURE_SIZE}: nothing was signed"
            )
        return bytes(signature)


def _flag(key: pkcs11.PrivateKey, attribute: Attribute) -> bool:
    """A boolean attribute; one the token does not know is false."""
    import pkcs11

    try:
        return bool(key[attribute])
    except (pkcs11.AttributeTypeInvalid, pkcs11.AttributeSensitive):
        return False


def _kind(params: bytes) -> SigningKind | None:
    from pkcs11.util.ec import encode_named_curve_parameters

    if params == encode_named_curve_parameters("secp256r1"):
        return "p256"
    if params in (encode_named_curve_parameters("1.3.101.112"), _PRINTABLE_EDWARDS25519):
        return "ed25519"
    return None


def _point(value: bytes, kind: SigningKind) -> bytes:
    """CKA_EC_POINT is a DER OCTET STRING around the key (65 bytes for P-256, 32
    for Ed25519); a few tokens give it bare."""
    size = 65 if kind == P256 else 32
    if len(value) == size + 2 and value[0] == 0x04 and value[1] == size:
        return value[2:]
    return value


def signer_for_key(session: pkcs11.Session, key: pkcs11.PrivateKey, name: str) -> TokenSigner:
    """The signer for ``key``: its public key from the token's public object, and
    the key and the token checked to be able to sign with it."""
    from pkcs11 import Attribute, KeyType, Mechanism

    if key.key_type not in (KeyType.EC, KeyType.EC_EDWARDS):
        raise UsageError(
            f"{name}: {key.key_type.name} keys cannot sign archives (Ed25519 or ECDSA P-256)"
        )
    public = public_object(session, key, name)
    kind = _kind(bytes(public[Attribute.EC_PARAMS]))
    if kind is None:
        raise UsageError(f"{name}: only Ed25519 and ECDSA P-256 keys sign archives")
    try:
        signing = SigningPublicKey(kind, _point(bytes(public[Attribute.EC_POINT]), kind))
    except ValueError as exc:
        raise UsageError(f"{name}: the token's public key is not usable ({exc})") from None
    if not key[Attribute.SIGN]:
        raise UsageError(f"{name}: the token does not let this key sign (CKA_SIGN is false)")
    if _flag(key, Attribute.ALWAYS_AUTHENTICATE):
        # Said now, not after the pack: the signature at the end would fail.
        raise UsageError(
            f"{name}: the key wants its PIN again for every signature "
            "(CKA_ALWAYS_AUTHENTICATE), which is not supported"
        )
    mechanism = Mechanism.EDDSA if kind == ED25519 else Mechanism.ECDSA
    if mechanism not in session.token.slot.get_mechanisms():
        raise UsageError(f"{name}: the token cannot sign with {mechanism.name}")
    return TokenSigner(cast("SignMixin", key), signing, name)


def load_signer(
    uri: str, *, module: str | None = None, pin: PassphraseArgument | PinSource = None
) -> TokenSigner:
    """The signer for the one private key ``uri`` names on its token: logged in,
    the key and its public object found and checked, nothing signed yet.

    ``module`` and ``pin`` as for :func:`securemedia.tokens.identities.load`.
    """
    import pkcs11

    parsed = parse(uri)
    session, _ = token_session(parsed, module, pin_source(pin))
    keys = private_keys(session, parsed)
    if not keys:
        raise OperationalError(f"{parsed.describe()}: no such private key on the token")
    if len(keys) > 1:
        raise UsageError(f"{parsed.describe()}: {len(keys)} keys match; name one with object=")
    name = parsed.describe()
    try:
        return signer_for_key(session, keys[0], name)
    except pkcs11.PKCS11Error as exc:
        raise token_failure(name, exc) from None
