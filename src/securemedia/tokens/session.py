"""Loading a PKCS#11 module, finding the token, and logging in once.

The PIN is asked for only after the module loaded and exactly one token
matched, and it is tried once per token per process: a failed login is
remembered and raised again rather than retried, so that nothing we do on our
own counts against the token's PIN counter (a smartcard locks after three).
When the token says one try is left (``CKF_USER_PIN_FINAL_TRY``), a PIN that
was not typed by the operator just now (a file, the environment, a script's
string) is not spent on it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..arguments import PassphraseArgument, passphrase_bytes
from ..errors import NoIdentityError, OperationalError, UsageError
from .uri import TokenURI

if TYPE_CHECKING:
    import pkcs11
    from pkcs11._pkcs11 import lib as Library

MODULE_ENV = "SECUREMEDIA_PKCS11_MODULE"
MAX_PIN = 256
"""PKCS#11 PINs are short; a longer one is a file given by mistake."""


@dataclass(frozen=True)
class PinSource:
    """Where a token's PIN comes from.

    ``read`` gives it (called at most once, and only if the token needs it);
    ``typed`` says the operator types it now, at a prompt, rather than a file,
    the environment or a script holding it: only a typed PIN is spent on a
    token's last try. ``warn`` is shown that warning first.
    """

    read: Callable[[], bytes]
    typed: bool = False
    warn: Callable[[str], None] | None = None


def require_pkcs11() -> None:
    """A clear line, not a traceback, where python-pkcs11 is not installed."""
    try:
        import pkcs11  # noqa: F401 - only whether it imports
    except ImportError:
        raise UsageError(
            "keys on a PKCS#11 token need python-pkcs11: pip install 'securemedia[pkcs11]'"
        ) from None


def module_path(uri: TokenURI, module: str | None) -> str:
    """The module to load: the URI's ``module-path``, else ``module`` (the
    caller's option), else ``$SECUREMEDIA_PKCS11_MODULE``."""
    if uri.module_path and module and uri.module_path != module:
        raise UsageError(
            f"two PKCS#11 modules given: {uri.module_path} (in the URI) and {module}; give one"
        )
    chosen = uri.module_path or module or os.environ.get(MODULE_ENV)
    if not chosen:
        raise UsageError(
            f"{uri.describe()}: which PKCS#11 module? give module-path= in the URI, "
            f"or set {MODULE_ENV}"
        )
    if not os.path.isabs(chosen):
        # A bare name would be searched for on the library path: the module runs
        # with our privileges and sees the PIN, so it is named in full.
        raise UsageError(f"PKCS#11 module {chosen}: give its absolute path")
    if not Path(chosen).is_file():
        raise OperationalError(f"PKCS#11 module {chosen}: no such file")
    return chosen


def _load(path: str) -> Library:
    import pkcs11

    try:
        return pkcs11.lib(path)
    except (RuntimeError, OSError, pkcs11.PKCS11Error) as exc:
        raise UsageError(f"PKCS#11 module {path}: cannot be loaded ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:120] if text else type(exc).__name__


def _matches(token: pkcs11.Token, uri: TokenURI) -> bool:
    from pkcs11 import TokenFlag

    if not token.flags & TokenFlag.TOKEN_INITIALIZED:  # SoftHSM's spare slot, a blank card
        return False
    wanted = {
        "label": uri.token,
        "serial": uri.serial,
        "manufacturer_id": uri.manufacturer,
        "model": uri.model,
    }
    for attribute, value in wanted.items():
        if value is None:
            continue
        have = getattr(token, attribute)
        if isinstance(have, bytes):
            have = have.decode("utf-8", "replace")
        if str(have).rstrip() != value:
            return False
    return True


def find_token(lib: Library, uri: TokenURI, module: str) -> pkcs11.Token:
    """The one token the URI selects; none or several is a one-line error."""
    import pkcs11

    try:
        tokens: list[pkcs11.Token] = [t for t in lib.get_tokens() if _matches(t, uri)]
    except pkcs11.PKCS11Error as exc:
        raise OperationalError(f"PKCS#11 module {module}: {_reason(exc)}") from None
    if not tokens:
        raise OperationalError(f"{uri.describe()}: no such token in {module} (is it plugged in?)")
    if len(tokens) > 1:
        labels = ", ".join(sorted(repr(t.label) for t in tokens))
        raise UsageError(
            f"{uri.describe()}: {len(tokens)} tokens match ({labels}); "
            "add token= or serial= to the URI"
        )
    return tokens[0]


@dataclass
class _Login:
    session: pkcs11.Session | None
    error: Exception | None


_LOGINS: dict[tuple[str, str], _Login] = {}
"""(module, token serial and label) -> the one login attempt of this process."""


def pin_source(pin: PassphraseArgument | PinSource) -> PinSource:
    """A :class:`PinSource` for a library caller's ``pin=`` (a str or bytes, a
    callable returning one, or a :class:`PinSource` as it is). Only a
    :class:`PinSource` can say the PIN is typed now."""
    if isinstance(pin, PinSource):
        return pin

    def get() -> bytes:
        if pin is None:
            raise UsageError("the token needs a PIN, and none was given")
        return passphrase_bytes(pin() if callable(pin) else pin, "the PIN")

    return PinSource(get)


def open_session(
    token: pkcs11.Token, module: str, pin: PinSource, *, rw: bool = False
) -> pkcs11.Session:
    """A logged-in session on ``token``, shared by every key named on it.

    ``pin`` is read at most once per token and process, and only if the token
    has no PIN pad of its own.
    """
    key = (module, token.serial.hex() + token.label)
    done = _LOGINS.get(key)
    if done is None:
        done = _LOGINS[key] = _login(token, pin, rw)
    if done.error is not None:
        raise done.error
    assert done.session is not None
    if rw and not done.session.rw:
        import pkcs11

        try:  # logged in already (login is per process and token): no PIN again
            return token.open(rw=True)
        except pkcs11.PKCS11Error as exc:
            raise OperationalError(f"token {token.label!r}: {_reason(exc)}") from None
    return done.session


def _login(token: pkcs11.Token, pin: PinSource, rw: bool) -> _Login:
    import pkcs11
    from pkcs11 import TokenFlag

    name = f"token {token.label!r}"
    try:
        if token.flags & TokenFlag.USER_PIN_LOCKED:  # not even tried
            return _Login(None, _locked(name))
        if token.flags & TokenFlag.PROTECTED_AUTHENTICATION_PATH:
            return _Login(token.open(rw=rw, user_pin=pkcs11.PROTECTED_AUTH), None)
        if not token.flags & TokenFlag.LOGIN_REQUIRED:
            return _Login(token.open(rw=rw), None)
        if token.flags & TokenFlag.USER_PIN_FINAL_TRY:
            last = f"{name} has one PIN try left before it locks"
            if not pin.typed:
                return _Login(
                    None,
                    NoIdentityError(
                        f"{last}: a PIN from a file or the environment is not spent on it; "
                        "type it at the prompt if you are sure of it"
                    ),
                )
            if pin.warn is not None:
                pin.warn(f"{last}: a wrong PIN now locks it")
        value = pin.read()
        if not value or len(value) > MAX_PIN:
            return _Login(None, UsageError(f"{name}: the PIN given is empty or too long"))
        try:  # PKCS#11 PINs are UTF-8 (and python-pkcs11 takes str only)
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return _Login(None, UsageError(f"{name}: the PIN given is not UTF-8 text"))
        return _Login(token.open(rw=rw, user_pin=text), None)
    except pkcs11.UserAlreadyLoggedIn:
        # This process is logged in already (another library on the same token):
        # no PIN was spent, and the session works.
        return _Login(token.open(rw=rw), None)
    except pkcs11.PinIncorrect:
        return _Login(
            None,
            NoIdentityError(
                f"{name}: wrong PIN (not tried again: the token counts wrong PINs and locks)"
            ),
        )
    except pkcs11.PinLocked:
        return _Login(None, _locked(name))
    except (pkcs11.PinExpired, pkcs11.PinInvalid, pkcs11.PinLenRange) as exc:
        return _Login(None, UsageError(f"{name}: the PIN is not usable ({type(exc).__name__})"))
    except pkcs11.PKCS11Error as exc:
        return _Login(None, OperationalError(f"{name}: cannot log in ({_reason(exc)})"))


def _locked(name: str) -> NoIdentityError:
    return NoIdentityError(
        f"{name} is locked after too many wrong PINs: its security officer must unblock it"
    )


def token_session(
    uri: TokenURI, module: str | None, pin: PinSource, *, rw: bool = False
) -> tuple[pkcs11.Session, str]:
    """A logged-in session on the token ``uri`` names (read-write: to make
    keys), and the module's path."""
    require_pkcs11()
    path = module_path(uri, module)
    lib = _load(path)
    token = find_token(lib, uri, path)
    return open_session(token, path, pin, rw=rw), path
