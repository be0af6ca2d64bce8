"""The command-line side of keys on a PKCS#11 token (``-i pkcs11:...``,
``pack --sign pkcs11:...``, ``keygen --pkcs11``).

The module comes from the URI's ``module-path``, ``--pkcs11-module``, or
$SECUREMEDIA_PKCS11_MODULE; the PIN from ``--pin-file``,
$SECUREMEDIA_PKCS11_PIN, or a prompt: never from argv, never logged. The
library decides everything else (:mod:`securemedia.tokens`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from ..recipients import Identity
from .passphrases import _from_file, _prompt

if TYPE_CHECKING:
    from ..signing_keys import Signer
    from ..tokens.generate import TokenKeyKind
    from ..tokens.session import PinSource

F = TypeVar("F", bound=Callable[..., object])

PIN_ENV = "SECUREMEDIA_PKCS11_PIN"
_META = "securemedia.pkcs11"


def _remember(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None and param.name is not None:
        ctx.meta.setdefault(_META, {})[param.name] = value


def token_options(func: F) -> F:
    """--pkcs11-module and --pin-file, declared once for every command that takes a
    pkcs11: URI; read by :func:`token_identities`, :func:`token_signer` and
    :func:`token_keygen` (not passed on)."""
    options = [
        click.option(
            "--pkcs11-module",
            type=click.Path(dir_okay=False),
            expose_value=False,
            callback=_remember,
            help="PKCS#11 module for pkcs11:... URIs without module-path "
            "(or $SECUREMEDIA_PKCS11_MODULE).",
        ),
        click.option(
            "--pin-file",
            type=click.Path(dir_okay=False),
            expose_value=False,
            callback=_remember,
            help=f"Read the token's PIN from this file's first line (or ${PIN_ENV}, or a prompt).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _given() -> dict[str, str]:
    ctx = click.get_current_context(silent=True)
    found: dict[str, str] = ctx.meta.get(_META, {}) if ctx is not None else {}
    return found


def _pin_source(pin_file: str | None) -> PinSource:
    """--pin-file, else $SECUREMEDIA_PKCS11_PIN, else a prompt (the one source
    that counts as typed by the operator, for a token's last PIN try)."""
    from ..tokens.session import PinSource

    def get() -> bytes:
        if pin_file:
            return _from_file(pin_file)
        if os.environ.get(PIN_ENV):
            return os.environ[PIN_ENV].encode()
        return _prompt("Token PIN", confirm=False, hint=f"set {PIN_ENV} or use --pin-file")

    typed = not pin_file and not os.environ.get(PIN_ENV)
    return PinSource(get, typed=typed, warn=_warn)


def _warn(line: str) -> None:
    # Not silenced by -q: it is said before the PIN that may lock the token.
    click.echo(f"securemedia: warning: {line}", err=True)


def token_identities(uri: str) -> list[Identity]:
    """The identities a ``pkcs11:`` URI names, with the module and PIN the
    command line gave."""
    from ..tokens import load_token_identities

    given = _given()
    return load_token_identities(
        uri, module=given.get("pkcs11_module"), pin=_pin_source(given.get("pin_file"))
    )


def token_keygen(
    uri: str, kind: str, output: str, *, force: bool, as_json: bool, quiet: bool
) -> None:
    """``keygen --pkcs11 URI -o NAME``: the key pair on the token, NAME.crt (a
    key that decrypts) or NAME.pub (a key that signs) beside."""
    from ..tokens.generate import TokenKeyKind

    token_kind = TokenKeyKind(kind)
    if token_kind.signs:
        _signing_keygen(uri, token_kind, output, force=force, as_json=as_json, quiet=quiet)
        return
    from ..tokens.keygen import make_token_key
    from .output import emit_json, info

    target = output if output.endswith(".crt") else output + ".crt"
    given = _given()
    made = make_token_key(
        uri,
        token_kind,
        Path(target),
        module=given.get("pkcs11_module"),
        pin=_pin_source(given.get("pin_file")),
        force=force,
    )
    subject = made.certificate.subject.rfc4514_string()
    if as_json:
        emit_json(
            {
                "certificate_file": target,
                "subject": subject,
                "sha256_fingerprint": made.fingerprint,
                "kind": kind,
                "uri": uri,
            }
        )
        return
    info(f"# the private key stays on the token: unpack with -i '{uri}'", quiet=quiet)
    info(f"# wrote {target}: send it to senders (-r {target})", quiet=quiet)
    click.echo(f"{subject} SHA-256 {made.fingerprint}")


def _signing_keygen(
    uri: str, kind: TokenKeyKind, output: str, *, force: bool, as_json: bool, quiet: bool
) -> None:
    from ..tokens.keygen import make_token_signing_key
    from .output import emit_json, info

    target = output if output.endswith(".pub") else output + ".pub"
    given = _given()
    made = make_token_signing_key(
        uri,
        kind,
        Path(target),
        module=given.get("pkcs11_module"),
        pin=_pin_source(given.get("pin_file")),
        force=force,
    )
    key = made.public
    if as_json:
        emit_json(
            {
                "public_key_file": target,
                "public_key": key.to_line(),
                "fingerprint": key.fingerprint,
                "kind": kind.value,
                "uri": uri,
            }
        )
        return
    info(f"# the private key stays on the token: sign with pack --sign '{uri}'", quiet=quiet)
    info(f"# wrote {target}: send it to readers (--require-signer {target})", quiet=quiet)
    click.echo(key.description)


def token_signer(uri: str) -> Signer:
    """``pack --sign pkcs11:...``: logged in and the key found, before packing."""
    from ..tokens.signing import load_signer

    given = _given()
    return load_signer(
        uri, module=given.get("pkcs11_module"), pin=_pin_source(given.get("pin_file"))
    )
