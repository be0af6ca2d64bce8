"""Keys that stay on a PKCS#11 token (a smartcard or an HSM).

* :mod:`.uri` reads an RFC 7512 ``pkcs11:`` URI, strictly;
* :mod:`.session` loads the module, finds the token, logs in once per run;
* :mod:`.identities` opens stanzas with the token's private keys;
* :mod:`.hpke_open` completes DHKEM and the HPKE key schedule in software
  around the token's ECDH;
* :mod:`.generate` makes non-extractable, sensitive key pairs on a token;
* :mod:`.keygen` makes them for ``keygen --pkcs11`` (a certificate or a .pub);
* :mod:`.signing` signs archives with a token's Ed25519 or P-256 key.

Only :mod:`.uri` imports without python-pkcs11 (the ``pkcs11`` extra): a
``pkcs11:`` identity is the only thing that needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .uri import is_token_uri

if TYPE_CHECKING:
    from ..arguments import PassphraseArgument
    from ..recipients import Identity
    from .session import PinSource
    from .signing import TokenSigner

__all__ = ["is_token_uri", "load_token_identities", "load_token_signer"]


def load_token_identities(
    uri: str, *, module: str | None = None, pin: PassphraseArgument | PinSource = None
) -> list[Identity]:
    """Identities for the private keys a ``pkcs11:`` URI names (see
    :func:`securemedia.tokens.identities.load`)."""
    from .identities import load

    return load(uri, module=module, pin=pin)


def load_token_signer(
    uri: str, *, module: str | None = None, pin: PassphraseArgument | PinSource = None
) -> TokenSigner:
    """The signer (``pack(signer=...)``) for the one signing key a ``pkcs11:``
    URI names, logged in and checked (see
    :func:`securemedia.tokens.signing.load_signer`)."""
    from .signing import load_signer

    return load_signer(uri, module=module, pin=pin)
