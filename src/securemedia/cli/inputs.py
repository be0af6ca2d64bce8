"""What the reading commands share: opening an archive given as a file, a
pipe, or a set of volumes or disc images; the identities from -i/-p."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import BinaryIO, TypeVar

import click

from ..errors import OperationalError, UsageError
from ..keyring import load_identities
from ..recipients import Identity
from ..recipients.passphrase import PassphraseIdentity
from .passphrases import archive_passphrase, key_passphrase_source

F = TypeVar("F", bound=Callable[..., object])


def key_options(func: F) -> F:
    """The options that say how to open an archive: -i KEYFILE..., or -p with
    the passphrase's source. Passes identities, use_passphrase, passphrase_file
    and key_passphrase_file to the command."""
    options = [
        click.option(
            "-i",
            "--identity",
            "identities",
            multiple=True,
            type=click.Path(dir_okay=False),
            metavar="KEYFILE",
            help="Private key file (securemedia key or PEM). Repeatable.",
        ),
        click.option(
            "-p",
            "--passphrase",
            "use_passphrase",
            is_flag=True,
            help="The archive is encrypted to a passphrase.",
        ),
        click.option(
            "--passphrase-file",
            type=click.Path(dir_okay=False),
            help="Read the archive passphrase from this file's first line.",
        ),
        click.option(
            "--key-passphrase-file",
            type=click.Path(dir_okay=False),
            help="Read the key files' passphrase from this file.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def signer_label(signing_key: bytes | None) -> str:
    from ..keys import signer_fingerprint

    return signer_fingerprint(signing_key) if signing_key else ""


def identities_from_options(
    specs: tuple[str, ...],
    use_passphrase: bool,
    passphrase_file: str | None,
    key_passphrase_file: str | None,
) -> list[Identity]:
    if use_passphrase:
        found: list[Identity] = [
            PassphraseIdentity(archive_passphrase(passphrase_file, confirm=False))
        ]
    elif not specs:
        raise UsageError("give the recipient's key with -i KEYFILE, or -p for a passphrase archive")
    else:
        found = []
    source = key_passphrase_source(key_passphrase_file)
    for spec in specs:
        found.extend(load_identities(spec, source))
    return found


@contextlib.contextmanager
def open_input(archives: tuple[str, ...]) -> Iterator[BinaryIO]:
    """The archive the reading commands were given: a file, ``-`` (standard
    input), or the volume files or disc images of a set.

    Standard input is passed on as it is; when it cannot seek (a pipe),
    :class:`~securemedia.archive.reader.ArchiveReader` holds its ciphertext in an
    anonymous temporary file before reading the index, so no command releases
    plaintext from a pipe before the index and the signer are verified.
    """
    from ..media.volume_set import open_volume_inputs, wants_volume_set

    if wants_volume_set(archives):  # volume files or disc images, in any order
        with open_volume_inputs(archives) as stream:
            yield stream
        return
    name = archives[0]
    if name == "-":
        yield sys.stdin.buffer
        return
    with open_archive_file(name) as handle:
        yield handle


@contextlib.contextmanager
def open_archive_file(name: str) -> Iterator[BinaryIO]:
    """One archive file, opened for reading; a failure to open it is one clear line."""
    try:
        handle = open(name, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise OperationalError(f"cannot read {name}: {exc.strerror}") from None
    with handle:
        yield handle
