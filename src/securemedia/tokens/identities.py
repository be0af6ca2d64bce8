"""Identities whose private keys stay on a PKCS#11 token.

RSA-OAEP stanzas are decrypted by the token (``CKM_RSA_PKCS_OAEP``, SHA-256,
MGF1-SHA-256, the format's label: exactly :mod:`securemedia.recipients.rsa`).
P-256/P-384 stanzas use the token's ``CKM_ECDH1_DERIVE``; DHKEM and the HPKE
key schedule are completed in software (:mod:`.hpke_open`). The ECDH shared
secret is read out as a session object of this one stanza and destroyed: the
private key itself never leaves the token.

A stanza that does not open is "not for me", as for keys in files; a token
that lacks the mechanism, or goes away, is an error of its own, since saying
"no identity opens this archive" would send the user looking at the wrong key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from ..arguments import PassphraseArgument, passphrase_bytes
from ..errors import OperationalError, UsageError
from ..header import Stanza, StanzaType
from ..recipients import Identity
from ..recipients.hpke import info_for
from ..recipients.rsa import OAEP_LABEL, check_size
from . import hpke_open
from .session import token_session
from .uri import TokenURI, parse

if TYPE_CHECKING:
    import pkcs11
    from pkcs11.types import DecryptMixin, DeriveMixin

MAX_KEYS = 64
"""Private keys one URI may select: each is tried on every stanza, on the token."""

_CURVE_PARAMS = {
    StanzaType.P256: "secp256r1",
    StanzaType.P384: "secp384r1",
}


def _token_failure(what: str, exc: Exception) -> OperationalError:
    return OperationalError(f"{what}: the token failed ({type(exc).__name__})")


class TokenRSAIdentity:
    """Unwraps RSA-OAEP stanzas with an RSA private key on a token."""

    def __init__(self, key: DecryptMixin, bits: int, name: str) -> None:
        check_size(bits)
        self._key = key
        self._bits = bits
        self.name = name

    def __repr__(self) -> str:
        return f"TokenRSAIdentity({self.name}, {self._bits} bits)"

    def unwrap(self, stanza: Stanza) -> bytes | None:
        import pkcs11
        from pkcs11 import MGF, Mechanism

        if stanza.type is not StanzaType.RSA_OAEP or len(stanza.body) != self._bits // 8:
            return None
        try:
            result = self._key.decrypt(
                stanza.body,
                mechanism=Mechanism.RSA_PKCS_OAEP,
                mechanism_param=(Mechanism.SHA256, MGF.SHA256, OAEP_LABEL),
            )
        except (pkcs11.MechanismInvalid, pkcs11.MechanismParamInvalid, pkcs11.ArgumentsBad):
            # Decided by the parameters alone, never by the stanza: no oracle.
            raise UsageError(
                f"{self.name}: the token cannot decrypt RSA-OAEP with SHA-256 and a label, "
                "which the format uses"
            ) from None
        except (
            pkcs11.EncryptedDataInvalid,
            pkcs11.EncryptedDataLenRange,
            pkcs11.DataInvalid,
            pkcs11.DataLenRange,
            pkcs11.GeneralError,
        ):
            return None
        except pkcs11.PKCS11Error as exc:
            raise _token_failure(self.name, exc) from None
        return result if isinstance(result, bytes) else None


class TokenECIdentity:
    """Unwraps HPKE P-256/P-384 stanzas with an EC private key on a token."""

    def __init__(self, key: DeriveMixin, kind: StanzaType, point: bytes, name: str) -> None:
        self._key = key
        self.kind = kind
        self._point = point
        self.name = name

    def __repr__(self) -> str:
        return f"TokenECIdentity({self.name}, {self.kind.name})"

    def _dh(self, enc: bytes) -> bytes:
        import pkcs11
        from pkcs11 import KDF, Attribute, KeyType

        bits = hpke_open.SUITES[self.kind].n_secret * 8
        try:
            shared = self._key.derive_key(
                KeyType.GENERIC_SECRET,
                bits,
                mechanism_param=(KDF.NULL, None, enc),
                template={
                    Attribute.TOKEN: False,
                    Attribute.SENSITIVE: False,
                    Attribute.EXTRACTABLE: True,
                },
            )
        except (pkcs11.MechanismInvalid, pkcs11.MechanismParamInvalid, pkcs11.KeyTypeInconsistent):
            raise UsageError(
                f"{self.name}: the token cannot do ECDH (CKM_ECDH1_DERIVE) with this key"
            ) from None
        except pkcs11.PKCS11Error as exc:
            raise _token_failure(self.name, exc) from None
        try:
            return bytes(shared[Attribute.VALUE])
        finally:
            shared.destroy()

    def unwrap(self, stanza: Stanza) -> bytes | None:
        if stanza.type is not self.kind:
            return None
        return hpke_open.open_stanza(
            self.kind, stanza.body, info_for(self.kind), self._point, self._dh
        )


def _uncompressed(value: bytes, kind: StanzaType) -> bytes:
    """CKA_EC_POINT is a DER OCTET STRING around the point; a few tokens give it bare."""
    size = hpke_open.SUITES[kind].n_pk
    if len(value) == size + 2 and value[0] == 0x04 and value[1] == size:
        value = value[2:]
    if len(value) != size or value[0] != 0x04:
        raise UsageError("the token's EC public key is not an uncompressed point")
    return value


def _ec_kind(params: bytes) -> StanzaType | None:
    from pkcs11.util.ec import encode_named_curve_parameters

    for kind, name in _CURVE_PARAMS.items():
        if params == encode_named_curve_parameters(name):
            return kind
    return None


def _search(uri: TokenURI) -> dict[Any, Any]:
    from pkcs11 import Attribute, ObjectClass

    attrs: dict[Any, Any] = {Attribute.CLASS: ObjectClass.PRIVATE_KEY}
    if uri.object is not None:
        attrs[Attribute.LABEL] = uri.object
    if uri.id is not None:
        attrs[Attribute.ID] = uri.id
    return attrs


def _identity(session: pkcs11.Session, key: pkcs11.PrivateKey, uri: TokenURI) -> Identity:
    from pkcs11 import Attribute, KeyType, ObjectClass

    name = f"{uri.describe()} (key {key.label!r})" if uri.object is None else uri.describe()
    if key.key_type is KeyType.RSA:
        # The modulus is public: readable even on a sensitive key.
        return TokenRSAIdentity(
            cast("DecryptMixin", key), len(bytes(key[Attribute.MODULUS])) * 8, name
        )
    if key.key_type is KeyType.EC:
        kind = _ec_kind(bytes(key[Attribute.EC_PARAMS]))
        if kind is None:
            raise UsageError(f"{name}: only EC P-256 and P-384 keys open archives")
        find: dict[Any, Any] = {Attribute.CLASS: ObjectClass.PUBLIC_KEY}
        find[Attribute.ID if key.id else Attribute.LABEL] = key.id or key.label
        public = list(session.get_objects(find))
        if len(public) != 1:
            raise UsageError(f"{name}: the token holds no single public key for it")
        point = _uncompressed(bytes(public[0][Attribute.EC_POINT]), kind)
        return TokenECIdentity(cast("DeriveMixin", key), kind, point, name)
    raise UsageError(
        f"{name}: a {key.key_type.name} key cannot open archives (RSA, EC P-256, P-384)"
    )


def _keys(session: pkcs11.Session, uri: TokenURI) -> list[pkcs11.PrivateKey]:
    import pkcs11

    if uri.type not in (None, "private"):
        raise UsageError(f"{uri.describe()}: an identity is a private key (type=private)")
    found: list[pkcs11.PrivateKey] = []
    try:  # all read before any other call: one search at a time per session
        for key in session.get_objects(_search(uri)):
            if len(found) >= MAX_KEYS:
                raise UsageError(f"{uri.describe()}: more than {MAX_KEYS} keys match; name one")
            assert isinstance(key, pkcs11.PrivateKey)
            found.append(key)
    except pkcs11.PKCS11Error as exc:
        raise _token_failure(uri.describe(), exc) from None
    return found


def pin_source(pin: PassphraseArgument) -> Callable[[], bytes]:
    def get() -> bytes:
        if pin is None:
            raise UsageError("the token needs a PIN, and none was given")
        return passphrase_bytes(pin() if callable(pin) else pin, "the PIN")

    return get


def load(uri: str, *, module: str | None = None, pin: PassphraseArgument = None) -> list[Identity]:
    """Identities for the private keys ``uri`` selects on its token.

    ``module``: the PKCS#11 module's absolute path when the URI has no
    ``module-path`` (else ``$SECUREMEDIA_PKCS11_MODULE``). ``pin``: str or
    bytes, or a callable returning one, called once and only if the token needs
    a PIN. A wrong PIN is :class:`~securemedia.errors.NoIdentityError` and is
    not tried again in this process.
    """
    parsed = parse(uri)
    session, _ = token_session(parsed, module, pin_source(pin))
    found = [_identity(session, key, parsed) for key in _keys(session, parsed)]
    if not found:
        raise OperationalError(f"{parsed.describe()}: no such private key on the token")
    return found
