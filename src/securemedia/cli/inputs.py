"""What the reading commands share: opening an archive given as a file, a
pipe, or a set of volumes or disc images; the identities from -i/-p."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO, TypeVar

import click

from ..errors import NotAnArchiveError, OperationalError, UsageError, WrongSecretKindError
from ..keyring import load_identities, load_signers
from ..signing_keys import SignerKey, describe_signer

if TYPE_CHECKING:
    from ..archive.reader import ArchiveReader
    from ..archive.writer import ArchiveSummary
    from ..header import Header
from ..recipients import Identity
from ..recipients.passphrase import PassphraseIdentity
from ..tokens.uri import is_token_uri
from .passphrases import archive_passphrase, key_passphrase_source, passphrase_meant
from .tokens import token_identities, token_options

F = TypeVar("F", bound=Callable[..., object])

KEYFILE_UNLOCK_HELP = "Read the key file's passphrase from this file's first line."
"""--key-passphrase-file, in the words every command uses for it."""


def require_signer_option(*, needs: str = "") -> Callable[[F], F]:
    """``--require-signer PUBKEY`` (repeatable), declared once for unpack and
    verify; ``needs`` says what it needs first ("With -i: ")."""
    return click.option(
        "--require-signer",
        "signers",
        multiple=True,
        metavar="PUBKEY",
        help=f"{needs}{'r' if needs else 'R'}efuse the archive unless signed by this key: "
        "a public key line or file, or the fingerprint of a key in the key directory. "
        "Repeatable.",
    )


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
            help="Private key file (securemedia key or PEM), or a key on a token "
            "(pkcs11:token=...;object=...). Repeatable.",
        ),
        click.option(
            "-p",
            "--passphrase",
            "use_passphrase",
            is_flag=True,
            help="The archive is encrypted to a passphrase (implied by --passphrase-file alone).",
        ),
        click.option(
            "--passphrase-file",
            type=click.Path(dir_okay=False),
            help="Read the archive passphrase from this file's first line (alone, implies -p).",
        ),
        click.option(
            "--key-passphrase-file",
            type=click.Path(dir_okay=False),
            help=KEYFILE_UNLOCK_HELP,
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return token_options(func)


NOT_SIGNED = (
    "not signed: nobody vouches for who made it (anyone with a recipient's public key could)"
)


def signer_line(signer: SignerKey | None) -> str:
    """What the reading commands say about who made the archive: a key pair by its
    fingerprint, a signing key with its kind (``Ed25519 signing key FP``)."""
    return f"signed by {signer.description}" if signer else NOT_SIGNED


def signer_json(signer: SignerKey | None) -> dict[str, str | None]:
    """The ``signer`` (fingerprint) and ``signer_kind`` ("pq", "x25519", "ed25519",
    "p256") of a --json document; both None if the archive is not signed."""
    if signer is None:
        return {"signer": None, "signer_kind": None}
    return {"signer": signer.fingerprint, "signer_kind": signer.kind}


def recipients_said(summary: ArchiveSummary) -> str:
    """What ``pack`` says it encrypted to and who signed: the fingerprints and
    certificate subjects the receiving office can check (one line, as the
    summary is one line)."""
    signed = (
        f"signed by {describe_signer(summary.signer_kind or '', summary.signer)}"
        if summary.signer
        else "not signed"
    )
    return f"for {'; '.join(summary.recipients)}; {signed}"


def load_required_signers(specs: tuple[str, ...]) -> list[SignerKey]:
    """--require-signer's keys; a fingerprint is also looked for among the
    other public keys given with --require-signer."""
    return [key for spec in specs for key in load_signers(spec, extra=specs)]


KeyOptions = tuple[tuple[str, ...], bool, str | None, str | None]
"""-i KEYFILE..., -p, --passphrase-file and --key-passphrase-file, as given."""


def identities_from_options(
    specs: tuple[str, ...],
    use_passphrase: bool,
    passphrase_file: str | None,
    key_passphrase_file: str | None,
    *,
    header: Header | None = None,
) -> list[Identity]:
    """The identities -i/-p name, key files unlocked (which may prompt).
    ``header``, the archive's if already read, lets a missing -i/-p say which
    of the two this archive needs, and refuses keys for a passphrase archive
    before a key file is unlocked."""
    meant = passphrase_meant(use_passphrase, passphrase_file, specs)
    if header is not None and specs and not meant:
        from ..archive.reader import check_secret_kind

        # Before a key file is unlocked: no key opens a passphrase archive, so
        # its passphrase would be typed for nothing. (-p on a key archive still
        # asks first: the exit-code table relies on that order.)
        check_secret_kind(header, passphrase=False, keys=True)
    if meant:
        found: list[Identity] = [
            PassphraseIdentity(archive_passphrase(passphrase_file, confirm=False))
        ]
    elif not specs:
        from ..archive.reader import is_passphrase_only

        if header is not None and is_passphrase_only(header):
            raise UsageError(
                "this archive is encrypted to a passphrase: give -p (or --passphrase-file FILE)"
            )
        raise UsageError("give the recipient's key with -i KEYFILE, or -p for a passphrase archive")
    else:
        found = []
    source = key_passphrase_source(key_passphrase_file)
    for spec in specs:
        found.extend(
            token_identities(spec) if is_token_uri(spec) else load_identities(spec, source)
        )
    return found


@contextlib.contextmanager
def open_reader(
    archives: tuple[str, ...],
    options: KeyOptions,
    *,
    require_signer: list[SignerKey] | None = None,
) -> Iterator[tuple[BinaryIO, ArchiveReader]]:
    """The input (:func:`open_input`) and an :class:`ArchiveReader` on it.

    The header is read before -i/-p are acted on, so that an input that is not
    an archive is refused before anyone types a key file's passphrase, and a
    missing -i/-p can say which the archive needs; it is read once (a pipe
    cannot be read twice) and handed to the reader.
    """
    from ..archive.reader import ArchiveReader
    from ..header import read_header

    with open_input(archives) as source:
        header = read_header(source)
        keys = identities_from_options(*options, header=header)
        with ArchiveReader(source, keys, require_signer=require_signer, header=header) as reader:
            yield source, reader


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

    with _secret_kind_hint():
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
    with _secret_kind_hint(), handle:
        try:
            yield handle
        except NotAnArchiveError:
            # The library does not know the file's name; the operator gave it.
            raise NotAnArchiveError(f"{name}: not a securemedia archive") from None


_KIND_OPTIONS = {"passphrase": "-p (or --passphrase-file)", "key": "-i KEYFILE"}


@contextlib.contextmanager
def _secret_kind_hint() -> Iterator[None]:
    """Add the option to use when the archive was opened with the wrong kind of
    secret (the library's message names no option)."""
    try:
        yield
    except WrongSecretKindError as exc:
        option = _KIND_OPTIONS.get(exc.needs)
        if option is None or option in str(exc):
            raise
        raise WrongSecretKindError(exc.fact, f"use {option}", exc.needs) from None
