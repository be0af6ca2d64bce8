"""Checks of what a script passes to the API, with a :class:`TypeError` that says
what to do instead.

The commonest mistake is a path (or a key line) where loaded keys are expected:
``pack([...], "x.sm", "office.key.pub")``. Python would fail much later with an
``AttributeError`` deep inside, or iterate over the characters of the string.
Paths are not accepted in their place: loading a key can ask for a passphrase
and can fail in ways of its own, and ``load_recipients``/``load_identities``
are where that is decided, once.

A message names the argument and the type given, never the value: a string in
the wrong place may be a passphrase.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .recipients import Identity, Recipient

if TYPE_CHECKING:  # keys imports this module (via recipients.passphrase): not at run time
    from .keys import PassphraseSource
    from .signing_keys import SignerKey

Passphrase = bytes | str
PassphraseArgument = Passphrase | Callable[[], Passphrase] | None


def _looks_like_a_path(value: object) -> bool:
    return isinstance(value, str | bytes | os.PathLike)


def _listed(value: object, name: str, loader: str) -> list[object]:
    if _looks_like_a_path(value):
        raise TypeError(
            f"{name} must be a list of loaded keys, not a {type(value).__name__} "
            f"(a path or a key line?): load them with {loader}"
        )
    if not isinstance(value, Sequence):
        raise TypeError(
            f"{name} must be a list, not a {type(value).__name__}: use {loader} "
            f"(or put a single one in a list)"
        )
    return list(value)


def _key_pair_hint(item: object, method: str) -> str:
    """For a PublicKey or SecretKey given as is: the method that makes what is needed."""
    return f" (call its .{method}())" if callable(getattr(item, method, None)) else ""


def recipients_argument(recipients: object) -> list[Recipient]:
    """``recipients`` as a list of :class:`Recipient`, or a clear TypeError."""
    return _each(
        recipients,
        "recipients",
        Recipient,
        loader="securemedia.load_recipients(PATH)",
        path_hint="a path or a key line?",
        method="recipient",
        others="PublicKey.recipient() or PassphraseRecipient",
    )


def identities_argument(identities: object) -> list[Identity]:
    """``identities`` as a list of :class:`Identity`, or a clear TypeError."""
    return _each(
        identities,
        "identities",
        Identity,
        loader="securemedia.load_identities(PATH, passphrase)",
        path_hint="a path or a passphrase?",
        method="identity",
        others="SecretKey.identity() or PassphraseIdentity",
    )


def _each(
    value: object,
    name: str,
    kind: type,
    *,
    loader: str,
    path_hint: str,
    method: str,
    others: str,
) -> list[Any]:
    """``value`` as a list of ``kind`` (abstract, so the caller gives the type); a
    TypeError names the first item that is not one, and what makes one (``method``
    of a key pair, ``others``)."""
    found: list[Any] = []
    for i, item in enumerate(_listed(value, name, loader)):
        if not isinstance(item, kind):
            what = path_hint if _looks_like_a_path(item) else f"not {_article(method)}"
            raise TypeError(
                f"{name}[{i}] is a {type(item).__name__} ({what})"
                f"{_key_pair_hint(item, method)}: use {loader}, {others}"
            )
        found.append(item)
    return found


def _article(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def signer_argument(signer: object) -> None:
    """Refuse a signer that is not a :class:`~securemedia.signing_keys.Signer`
    (checked before any work: the signature is made last, after the whole archive
    was written). A SecretKey (a key pair) is one, and so is a token key; a bare
    pyca key is not: a signature names its signer by a securemedia public key.

    Looked up statically: ``public`` may be a property that asks a token for its
    key, which a check must not do."""
    if signer is None:
        return
    kind = type(signer)
    missing = object()
    public = inspect.getattr_static(signer, "public", missing)
    if not (callable(inspect.getattr_static(signer, "sign", None)) and public is not missing):
        what = " (a path?)" if _looks_like_a_path(signer) else ""
        raise TypeError(
            f"signer must be a securemedia SecretKey or another Signer (a token key), not a "
            f"{kind.__name__}{what}: load it first (securemedia.load_signing_key(path))"
        )


def require_signer_argument(require_signer: object) -> list[SignerKey] | None:
    """``require_signer`` as a list of signer keys (:class:`~securemedia.keys.PublicKey`
    or :class:`~securemedia.signing_keys.SigningPublicKey`; None or empty: no signer
    required), or a clear TypeError: a path or key line where loaded keys are
    expected, or a key of another kind."""
    from .keys import PublicKey
    from .signing_keys import SigningPublicKey

    if require_signer is None:
        return None
    loader = "securemedia.load_signers(PATH)"
    items = _listed(require_signer, "require_signer", loader)
    for i, item in enumerate(items):
        if isinstance(item, str | os.PathLike):
            raise TypeError(
                f"require_signer[{i}] is a {type(item).__name__} (a path or a key line?): "
                f"use {loader}"
            )
    found = [item for item in items if isinstance(item, PublicKey | SigningPublicKey)]
    if len(found) < len(items):
        wrong = next(i for i in items if not isinstance(i, PublicKey | SigningPublicKey))
        # Before this took raw Ed25519 keys; a signer is now a securemedia public key.
        raise TypeError(
            "require_signer takes securemedia PublicKey objects (or SigningPublicKey, "
            f"keys that only sign: securemedia.load_signers(spec)), not {type(wrong).__name__}"
        )
    return found or None


def passphrase_bytes(value: object, what: str = "passphrase") -> bytes:
    """A passphrase given as ``bytes`` (used as they are) or ``str``.

    A ``str`` is encoded as UTF-8 exactly as given, not normalised: those are the
    bytes the CLI takes from a prompt or ``$SECUREMEDIA_PASSPHRASE``, so a script
    and the CLI agree on the same text, and archives made before keep opening.
    """
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")


def _none_given() -> bytes:
    raise UsageError("the key file is protected by a passphrase, and none was given")


def passphrase_source(passphrase: object) -> PassphraseSource:
    """A callable giving the passphrase as bytes, from a callable returning str or
    bytes (called only when a passphrase is needed) or from the value itself;
    None for an unprotected key (a protected one is then a :class:`UsageError`)."""
    if passphrase is None:
        return _none_given
    if isinstance(passphrase, str | bytes):
        value = passphrase_bytes(passphrase)
        return lambda: value
    if not callable(passphrase):
        raise TypeError(
            "passphrase must be str, bytes, a callable returning one, or None, "
            f"not {type(passphrase).__name__}"
        )
    source = passphrase

    def get() -> bytes:
        return passphrase_bytes(source(), "the passphrase callback's result")

    return get
