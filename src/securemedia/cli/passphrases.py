"""Where passphrases come from: an environment variable, a file, or a prompt on
the terminal. Never from argv, where other users of the machine can read them.

The archive passphrase and a key file's passphrase never stand in for each
other: each has its own variable and option, and a missing one is asked for.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from pathlib import Path

from ..errors import UsageError, os_error

ARCHIVE_ENV = "SECUREMEDIA_PASSPHRASE"
KEY_ENV = "SECUREMEDIA_KEY_PASSPHRASE"
MAX_PASSPHRASE_FILE = 64 * 1024


def _from_file(path: str) -> bytes:
    try:
        p = Path(path)
        if p.stat().st_size > MAX_PASSPHRASE_FILE:
            raise UsageError(f"{path}: too large to be a passphrase file")
        data = p.read_bytes()
    except OSError as exc:
        raise os_error(exc, "read passphrase file", path) from None
    lines = data.splitlines()
    value = lines[0] if lines else b""
    if not value:
        raise UsageError(f"passphrase file {path} is empty")
    return value


def _terminal_available() -> bool:
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def _prompt(what: str, *, confirm: bool, hint: str) -> bytes:
    if not _terminal_available():
        raise UsageError(f"{what} is needed and there is no terminal to ask on: {hint}")
    try:
        value = getpass.getpass(f"{what}: ")
        again = getpass.getpass(f"{what} (again): ") if confirm and value else value
    except EOFError:
        raise UsageError(f"{what} was not given (end of input)") from None
    if not value:
        raise UsageError(f"{what} must not be empty")
    if again != value:
        raise UsageError("the two passphrases differ")
    return value.encode()


def archive_passphrase(passphrase_file: str | None, *, confirm: bool) -> bytes:
    """The passphrase for ``-p``: $SECUREMEDIA_PASSPHRASE, --passphrase-file, or a prompt."""
    if passphrase_file:
        return _from_file(passphrase_file)
    env = os.environ.get(ARCHIVE_ENV)
    if env:
        return env.encode()
    return _prompt(
        "Archive passphrase",
        confirm=confirm,
        hint=f"set {ARCHIVE_ENV} or use --passphrase-file",
    )


def key_passphrase_source(
    key_passphrase_file: str | None, *, confirm: bool = False
) -> Callable[[], bytes]:
    """A callable giving a key file's passphrase, asked for only when needed (once).

    From --key-passphrase-file, $SECUREMEDIA_KEY_PASSPHRASE, or a prompt; never
    from $SECUREMEDIA_PASSPHRASE, which is the archive's.
    """
    cache: list[bytes] = []

    def get() -> bytes:
        if not cache:
            if key_passphrase_file:
                cache.append(_from_file(key_passphrase_file))
            elif os.environ.get(KEY_ENV):
                cache.append(os.environ[KEY_ENV].encode())
            else:
                cache.append(
                    _prompt(
                        "Key file passphrase",
                        confirm=confirm,
                        hint=f"set {KEY_ENV} or use --key-passphrase-file",
                    )
                )
        return cache[0]

    return get
