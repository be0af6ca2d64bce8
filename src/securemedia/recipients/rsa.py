"""RSA-OAEP-SHA256 recipients, for institutions whose PKI issues RSA certificates.

RSA is not in HPKE, so the file key is wrapped with OAEP (SHA-256, MGF1-SHA-256)
and a label naming the format. Keys under 3072 bits are refused: an archive on a
disc must stay closed for decades.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..errors import UsageError
from ..header import Stanza, StanzaType

MIN_RSA_BITS = 3072
MAX_RSA_BITS = 8192
OAEP_LABEL = b"securemedia/v1 stanza RSA_OAEP"


def _oaep() -> padding.OAEP:
    return padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=OAEP_LABEL
    )


def check_size(bits: int) -> None:
    if not MIN_RSA_BITS <= bits <= MAX_RSA_BITS:
        raise UsageError(
            f"RSA key of {bits} bits refused: {MIN_RSA_BITS} to {MAX_RSA_BITS} bits are accepted"
        )


@dataclass(frozen=True)
class RSARecipient:
    public_key: rsa.RSAPublicKey
    description: str = ""

    def __post_init__(self) -> None:
        check_size(self.public_key.key_size)

    @property
    def label(self) -> str:
        return self.description or f"RSA-{self.public_key.key_size} key"

    def wrap(self, file_key: bytes) -> Stanza:
        return Stanza(StanzaType.RSA_OAEP, self.public_key.encrypt(file_key, _oaep()))


class RSAIdentity:
    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        check_size(private_key.key_size)
        self._key = private_key

    def __repr__(self) -> str:
        return f"RSAIdentity({self._key.key_size} bits, <secret>)"

    def unwrap(self, stanza: Stanza) -> bytes | None:
        if stanza.type is not StanzaType.RSA_OAEP or len(stanza.body) != self._key.key_size // 8:
            return None
        try:
            return self._key.decrypt(stanza.body, _oaep())
        except ValueError:
            return None
