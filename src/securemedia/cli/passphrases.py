"""Where passphrases come from: an environment variable, a file, or a prompt on
the terminal. Never from argv, where other users of the machine can read them.

The archive passphrase and a key file's passphrase never stand in for each
other: each has its own variable and option, and a missing one is asked for.

A *new* passphrase (``pack -p``, ``keygen``) must pass the strength rule of
:mod:`securemedia.passphrase_strength`, whichever source it came from; at a
prompt a weak one is asked for again. ``--allow-weak-passphrase`` accepts it.
"""

from __future__ import annotations

import getpass
import os

import click

from ..errors import UsageError, os_error
from ..keys import PassphraseSource
from ..passphrase_strength import WeakPassphraseError, check_new_passphrase
from .hints import cli_message

ARCHIVE_ENV = "SECUREMEDIA_PASSPHRASE"
KEY_ENV = "SECUREMEDIA_KEY_PASSPHRASE"
MAX_PASSPHRASE_FILE = 64 * 1024
PROMPT_TRIES = 3
"""A weak passphrase typed at a prompt is asked for again, this many times in all."""

ALLOW_WEAK_OPTION = click.option(
    "--allow-weak-passphrase",
    "allow_weak",
    is_flag=True,
    help="Accept a new passphrase that is easy to guess (refused by default).",
)
"""The one declaration of the opt-out, shared by every command that sets a passphrase."""


def _from_file(path: str) -> bytes:
    # Read bounded, not trusted to st_size: a pipe (``<(pass show x)``,
    # /dev/stdin) or /dev/zero says 0 bytes and may never end.
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_PASSPHRASE_FILE + 1)
    except OSError as exc:
        raise os_error(exc, "read passphrase file", path) from None
    if len(data) > MAX_PASSPHRASE_FILE:
        raise UsageError(f"{path}: too large to be a passphrase file")
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


def _judge(value: bytes, what: str, *, allow_weak: bool) -> bytes:
    """``value`` if it may protect something new; :class:`WeakPassphraseError` else."""
    if not allow_weak:
        check_new_passphrase(value, what.lower())
    return value


def _prompt(what: str, *, confirm: bool, hint: str, allow_weak: bool = False) -> bytes:
    """Ask on the terminal; with ``confirm`` (a new passphrase) it is judged, a weak
    one is asked for again, and the accepted one is typed twice."""
    # ``what`` is the prompt's label ("Key file passphrase: "); in an error it
    # starts mid-line, lower case, as every other error message does.
    said = what[:1].lower() + what[1:]
    if not _terminal_available():
        raise UsageError(f"{said} is needed and there is no terminal to ask on: {hint}")
    for attempt in range(1, PROMPT_TRIES + 1):
        try:
            value = getpass.getpass(f"{what}: ").encode()
        except EOFError:
            raise UsageError(f"{said} was not given (end of input)") from None
        if not value:
            raise UsageError(f"{said} must not be empty")
        if not confirm:
            return value
        try:
            _judge(value, what, allow_weak=allow_weak)
        except WeakPassphraseError as exc:
            if attempt == PROMPT_TRIES:
                raise
            click.echo(cli_message(exc), err=True)
            continue
        try:
            again = getpass.getpass(f"{what} (again): ").encode()
        except EOFError:
            raise UsageError(f"{said} was not given (end of input)") from None
        if again != value:
            raise UsageError("the two passphrases differ")
        return value
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def passphrase_meant(
    use_passphrase: bool, passphrase_file: str | None, keys: tuple[str, ...]
) -> bool:
    """True for a passphrase archive: -p, or --passphrase-file given with no key
    (alone it can only mean -p), as pack and the reading commands agree."""
    return use_passphrase or bool(passphrase_file and not keys)


def archive_passphrase(
    passphrase_file: str | None, *, confirm: bool, allow_weak: bool = False
) -> bytes:
    """The passphrase for ``-p``: $SECUREMEDIA_PASSPHRASE, --passphrase-file, or a prompt.

    ``confirm``: a new archive's passphrase, asked twice at a prompt and judged
    (unless ``allow_weak``) from every source.
    """
    what = "Archive passphrase"
    if passphrase_file:
        value = _from_file(passphrase_file)
    elif os.environ.get(ARCHIVE_ENV):
        value = os.environ[ARCHIVE_ENV].encode()
    else:
        return _prompt(
            what,
            confirm=confirm,
            hint=f"set {ARCHIVE_ENV} or use --passphrase-file",
            allow_weak=allow_weak,
        )
    return _judge(value, what, allow_weak=allow_weak) if confirm else value


def key_passphrase_source(
    key_passphrase_file: str | None, *, confirm: bool = False, allow_weak: bool = False
) -> PassphraseSource:
    """A callable giving a key file's passphrase, asked for only when needed (once).

    From --key-passphrase-file, $SECUREMEDIA_KEY_PASSPHRASE, or a prompt; never
    from $SECUREMEDIA_PASSPHRASE, which is the archive's. ``confirm``: a new key
    file's passphrase, asked twice and judged (unless ``allow_weak``).
    """
    cache: list[bytes] = []
    what = "Key file passphrase"

    def get() -> bytes:
        if not cache:
            if key_passphrase_file or os.environ.get(KEY_ENV):
                if key_passphrase_file:
                    value = _from_file(key_passphrase_file)
                else:
                    value = os.environ[KEY_ENV].encode()
                if confirm:
                    _judge(value, what, allow_weak=allow_weak)
            else:  # a prompt judges a new passphrase itself, and asks again
                value = _prompt(
                    what,
                    confirm=confirm,
                    hint=f"set {KEY_ENV} or use --key-passphrase-file",
                    allow_weak=allow_weak,
                )
            cache.append(value)
        return cache[0]

    return get
