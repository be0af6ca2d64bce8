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

from typing import TYPE_CHECKING, Any, cast

from ..arguments import PassphraseArgument
from ..errors import OperationalError, UsageError
from ..header import Stanza, StanzaType
from ..recipients import Identity
from ..recipients.hpke import info_for
from ..recipients.rsa import OAEP_LABEL, check_size
from . import hpke_open
from .session import PinSource, pin_source, token_session
from .uri import TokenURI, parse

if TYPE_CHECKING:
    import pkcs11
    from pkcs11.types import DecryptMixin, DeriveMixin

MAX_KEYS = 64
"""Private keys one URI may select: each is tried on every stanza, on the token."""
MAX_TOKEN_TRIES = 16
"""Stanzas of its kind one token key tries per header (as ``header.MAX_RSA_STANZAS``
caps RSA): each try is a token operation, tens of milliseconds on a smartcard,
and a finder's header may hold ``MAX_STANZAS`` stanzas for other keys."""

_CURVE_PARAMS = {
    StanzaType.P256: "secp256r1",
    StanzaType.P384: "secp384r1",
}


def token_failure(what: str, exc: Exception) -> OperationalError:
    return OperationalError(f"{what}: the token failed ({type(exc).__name__})")


class _Capped:
    """What makes a token identity a :class:`~securemedia.recipients.CostlyIdentity`."""

    max_tries = MAX_TOKEN_TRIES
    name: str
    kind_name: str

    def would_try(self, stanza: Stanza) -> bool:
        raise NotImplementedError

    def capped(self, tried: int, offered: int) -> str:
        return (
            f"{self.name} tried the first {tried} of {offered} {self.kind_name} stanzas only "
            f"(token work per header is capped: the sender can give you among the first {tried})"
        )


class TokenRSAIdentity(_Capped):
    """Unwraps RSA-OAEP stanzas with an RSA private key on a token."""

    kind_name = "RSA-OAEP"

    def __init__(self, key: DecryptMixin, bits: int, name: str) -> None:
        check_size(bits)
        self._key = key
        self._bits = bits
        self.name = name

    def __repr__(self) -> str:
        return f"TokenRSAIdentity({self.name}, {self._bits} bits)"

    def would_try(self, stanza: Stanza) -> bool:
        return stanza.type is StanzaType.RSA_OAEP and len(stanza.body) == self._bits // 8

    def unwrap(self, stanza: Stanza) -> bytes | None:
        import pkcs11
        from pkcs11 import MGF, Mechanism

        if not self.would_try(stanza):
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
            raise token_failure(self.name, exc) from None
        return result if isinstance(result, bytes) else None


class TokenECIdentity(_Capped):
    """Unwraps HPKE P-256/P-384 stanzas with an EC private key on a token."""

    def __init__(self, key: DeriveMixin, kind: StanzaType, point: bytes, name: str) -> None:
        self._key = key
        self.kind = kind
        self.kind_name = "P-256" if kind is StanzaType.P256 else "P-384"
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
            raise token_failure(self.name, exc) from None
        try:
            return bytes(shared[Attribute.VALUE])
        finally:
            shared.destroy()

    def would_try(self, stanza: Stanza) -> bool:
        return stanza.type is self.kind

    def unwrap(self, stanza: Stanza) -> bytes | None:
        if not self.would_try(stanza):
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


def public_object(session: pkcs11.Session, key: pkcs11.PrivateKey, name: str) -> pkcs11.PublicKey:
    """The token's public object for ``key``: same ``CKA_ID`` (else label), exactly one."""
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    find: dict[Any, Any] = {Attribute.CLASS: ObjectClass.PUBLIC_KEY}
    find[Attribute.ID if key.id else Attribute.LABEL] = key.id or key.label
    public = list(session.get_objects(find))
    if len(public) != 1 or not isinstance(public[0], pkcs11.PublicKey):
        raise UsageError(f"{name}: the token holds no single public key for it")
    return public[0]


def _identity(session: pkcs11.Session, key: pkcs11.PrivateKey, uri: TokenURI) -> Identity:
    from pkcs11 import Attribute, KeyType

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
        public = public_object(session, key, name)
        point = _uncompressed(bytes(public[Attribute.EC_POINT]), kind)
        return TokenECIdentity(cast("DeriveMixin", key), kind, point, name)
    raise UsageError(
        f"{name}: a {key.key_type.name} key cannot open archives (RSA, EC P-256, P-384)"
    )


def private_keys(session: pkcs11.Session, uri: TokenURI) -> list[pkcs11.PrivateKey]:
    """The private keys ``uri`` selects (at most MAX_KEYS), read before any other call."""
    import pkcs11

    if uri.type not in (None, "private"):
        raise UsageError(f"{uri.describe()}: a key to use is a private key (type=private)")
    found: list[pkcs11.PrivateKey] = []
    try:  # all read before any other call: one search at a time per session
        for key in session.get_objects(_search(uri)):
            if len(found) >= MAX_KEYS:
                raise UsageError(f"{uri.describe()}: more than {MAX_KEYS} keys match; name one")
            assert isinstance(key, pkcs11.PrivateKey)
            found.append(key)
    except pkcs11.PKCS11Error as exc:
        raise token_failure(uri.describe(), exc) from None
    return found


def load(
    uri: str, *, module: str | None = None, pin: PassphraseArgument | PinSource = None
) -> list[Identity]:
    """Identities for the private keys ``uri`` selects on its token.

    ``module``: the PKCS#11 module's absolute path when the URI has no
    ``module-path`` (else ``$SECUREMEDIA_PKCS11_MODULE``). ``pin``: str or
    bytes, or a callable returning one, called once and only if the token needs
    a PIN (or a :class:`~securemedia.tokens.session.PinSource`, to say it is
    typed by the operator). A wrong PIN is
    :class:`~securemedia.errors.NoIdentityError` and is not tried again in this
    process.
    """
    parsed = parse(uri)
    session, _ = token_session(parsed, module, pin_source(pin))
    found = [_identity(session, key, parsed) for key in private_keys(session, parsed)]
    if not found:
        raise OperationalError(f"{parsed.describe()}: no such private key on the token")
    return found
