"""``securemedia pack``: files and directories into one encrypted archive."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import click

from ..archive.compression import Compression
from ..archive.sources import OwnFiles, Scan, scan_inputs, write_sources
from ..archive.writer import ArchiveWriter
from ..atomic import atomic_output
from ..errors import UsageError, writing_to
from ..keyring import load_recipients, load_signing_key
from ..recipients import Recipient
from ..recipients.passphrase import PassphraseRecipient
from ..signing_keys import Signer
from ..tokens.uri import is_token_uri
from .inputs import KEYFILE_UNLOCK_HELP, recipients_said
from .media_options import MEDIA_KINDS, REDUNDANCY, SPARE_DISCS
from .output import current, emit_json, human_bytes, info, output_options
from .pack_checks import check_not_directory, suggest_allow_changing, warn_changed
from .passphrases import (
    ALLOW_WEAK_OPTION,
    archive_passphrase,
    key_passphrase_source,
    passphrase_meant,
)
from .tokens import token_options, token_signer


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    help="Archive to write, or - for standard output.",
)
@click.option(
    "-r",
    "--recipient",
    "recipients",
    multiple=True,
    metavar="RECIPIENT",
    help="Public key line, file of public keys, fingerprint of a key in the key directory, "
    "or X.509 certificate. Repeatable.",
)
@click.option(
    "-p",
    "--passphrase",
    "use_passphrase",
    is_flag=True,
    help="Encrypt to a passphrase (Argon2id) instead of public keys.",
)
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False),
    help="Read the archive passphrase from this file's first line (alone, implies -p).",
)
@ALLOW_WEAK_OPTION
@click.option(
    "--sign",
    "sign_key",
    type=click.Path(dir_okay=False),
    metavar="KEYFILE",
    help="Sign the archive with this private key file, or a signing key on a token "
    "(pkcs11:token=...;object=...); readers see its fingerprint.",
)
@click.option(
    "--key-passphrase-file",
    type=click.Path(dir_okay=False),
    help=f"With --sign: {KEYFILE_UNLOCK_HELP[0].lower()}{KEYFILE_UNLOCK_HELP[1:]}",
)
@click.option(
    "--no-compress",
    is_flag=True,
    help="Store members without compression (--format zip: store the tar, do not deflate).",
)
@click.option(
    "--level",
    type=click.IntRange(1, 19),
    metavar="LEVEL",
    default=3,
    show_default=True,
    help="zstd compression level, 1 to 19.",
)
@click.option(
    "--threads",
    type=click.IntRange(0, 64),
    metavar="N",
    default=0,
    help="Compression threads (0: one per core).",
)
@click.option(
    "--stdin-name",
    default="stdin",
    metavar="NAME",
    show_default=True,
    help="Member name for data read from '-' (standard input).",
)
@click.option(
    "--format",
    "archive_format",
    type=click.Choice(["native", "zip"]),
    default="native",
    show_default=True,
    help="zip: a WinZip-AES ZIP for recipients with only 7-Zip (docs/COMPAT-ZIP.md).",
)
@click.option(
    "--passphrase-out",
    metavar="FILE",
    help="With --format zip: write the generated passphrase to FILE, or - for stdout.",
)
@click.option("--force", is_flag=True, help="Replace an existing output file.")
@click.option(
    "--media",
    metavar="KIND",
    help=f"Split into volumes for discs: {MEDIA_KINDS}",
)
@click.option("--iso", is_flag=True, help="With --media: write one ISO 9660 image per disc.")
@click.option(
    "--notice",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="With --media: the sender's return contact, for README.TXT on each disc.",
)
@click.option("--notice-text", metavar="TEXT", help="Like --notice, giving the text itself.")
@click.option(
    "--redundancy",
    metavar="PCT",
    help=f"With --media: {REDUNDANCY}",
)
@click.option(
    "--spare-discs",
    type=click.IntRange(0, 255),
    metavar="N",
    help=f"With --media: {SPARE_DISCS}",
)
@click.option(
    "--no-verify",
    is_flag=True,
    help="With --media: skip reading the finished set back (it is authenticated by default).",
)
@click.option(
    "--allow-changing",
    is_flag=True,
    help="Pack a file that grows, shrinks or is rewritten while it is packed as it was "
    "read (at most its size when scanned), with a warning, instead of refusing.",
)
@token_options
@output_options
def pack(
    inputs: tuple[str, ...],
    output: str,
    recipients: tuple[str, ...],
    use_passphrase: bool,
    passphrase_file: str | None,
    sign_key: str | None,
    key_passphrase_file: str | None,
    no_compress: bool,
    level: int,
    threads: int,
    stdin_name: str,
    force: bool,
    as_json: bool,
    quiet: bool,
    archive_format: str = "native",
    passphrase_out: str | None = None,
    media: str | None = None,
    iso: bool = False,
    notice: str | None = None,
    notice_text: str | None = None,
    redundancy: str | None = None,
    no_verify: bool = False,
    spare_discs: int | None = None,
    allow_changing: bool = False,
    allow_weak: bool = False,
) -> None:
    """Pack INPUT files and directories (or - for standard input) into an archive.

    Names, sizes and times of the members travel inside the encrypted payload.
    The archive passphrase (-p) comes from $SECUREMEDIA_PASSPHRASE, --passphrase-file
    or a prompt; never from the command line.
    """
    # stdout may carry the archive: then --json (errors too) goes to stderr.
    current().json_to_stderr = "-" in (output, passphrase_out)
    check_not_directory(output, inputs, ".zip" if archive_format == "zip" else ".sm", media)
    if archive_format == "zip" and allow_changing:
        raise UsageError("--allow-changing is for native archives: a ZIP refuses a changing file")
    if archive_format == "zip" and media:
        raise UsageError("--media splits native archives: it cannot be used with --format zip")
    if archive_format == "zip":
        from .compat import pack_zip

        pack_zip(
            inputs,
            output,
            passphrase_out,
            force=force,
            as_json=as_json,
            quiet=quiet,
            compress=not no_compress,
        )
        return
    if passphrase_out:
        raise UsageError("--passphrase-out is only for --format zip")
    started = time.monotonic()
    if inputs.count("-") > 1:
        raise UsageError("'-' (standard input) can be given once")
    discs = None
    given_spares = spare_discs is not None
    if media or iso or redundancy or notice or notice_text or no_verify or given_spares:
        from ..media.output import media_output  # only pack --media pays for the disc code

        discs = media_output(
            output,
            media=media,
            iso=iso,
            redundancy=redundancy,
            notice=notice,
            notice_text=notice_text,
            force=force,
            verify=not no_verify,
            spares=spare_discs,
        )
    # Our own output is never packed (it may be inside an input directory), and
    # every input is walked and checked before anything is written.
    own = OwnFiles()
    if output == "-":
        own.add_stream(sys.stdout)
    else:
        own.add_path(Path(output), volumes=discs is not None)
    sources = scan_inputs([Path(p) for p in inputs], stdin_name=stdin_name, exclude=own)
    wrap_to = _recipients(recipients, use_passphrase, passphrase_file, allow_weak=allow_weak)
    signer: Signer | None = None
    if is_token_uri(sign_key or ""):  # logged in and the key found before packing starts
        if key_passphrase_file:
            raise UsageError(
                "--key-passphrase-file unlocks a key file: a token's PIN is --pin-file"
            )
        signer = token_signer(str(sign_key))
    elif sign_key:
        signer = load_signing_key(sign_key, key_passphrase_source(key_passphrase_file))
    compression = Compression(enabled=not no_compress, level=level, threads=threads)
    stdin = sys.stdin.buffer if "-" in inputs else None
    phases = current().phases()  # shown until the discs are finished too
    with (
        writing_to("standard output" if output == "-" else output),  # says where a disk filled
        discs or _open_output(output, force=force) as sink,
    ):
        own.add_stream(sink)
        progress = phases("packing", _total(sources)) if phases else None
        writer = ArchiveWriter(
            sink, wrap_to, signer=signer, compression=compression, progress=progress
        )
        if discs is not None:
            # Every member name is known from the scan: room for the salvage copy.
            discs.reserve_salvage((s.name for s in sources), len(writer.header.raw))
            discs.read_back_with(writer)  # before the set gets its names
            discs.show_phases(phases)
        on_change = warn_changed if allow_changing else None
        with writer, suggest_allow_changing():
            write_sources(writer, sources, stdin=stdin, exclude=own, on_change=on_change)
    current().end_progress()
    summary = writer.summary
    summary.elapsed = time.monotonic() - started
    if as_json:
        volumes = discs.to_json() if discs else {}
        emit_json({"archive": output, **volumes, **summary.to_json()}, to_stderr=output == "-")
    else:
        files = summary.files
        info(
            f"packed {files} file(s), {human_bytes(summary.input_bytes)}, into {output} "
            f"({human_bytes(summary.archive_bytes)}) {recipients_said(summary)}",
            quiet=quiet,
        )
        if discs:
            info(discs.describe(), quiet=quiet)


def _total(sources: Scan) -> int | None:
    """Bytes to pack, for the progress bar (None if standard input is packed)."""
    return None if sources.has_stdin else sources.total_size


def _recipients(
    specs: tuple[str, ...],
    use_passphrase: bool,
    passphrase_file: str | None,
    *,
    allow_weak: bool = False,
) -> list[Recipient]:
    if use_passphrase and specs:
        raise UsageError(
            "-p (passphrase) cannot be combined with -r: a passphrase archive "
            "has exactly one recipient"
        )
    if passphrase_meant(use_passphrase, passphrase_file, specs):
        passphrase = archive_passphrase(passphrase_file, confirm=True, allow_weak=allow_weak)
        return [PassphraseRecipient(passphrase)]
    if not specs:
        raise UsageError("give at least one recipient with -r, or -p for a passphrase")
    found: dict[str, Recipient] = {}
    for spec in specs:
        for recipient in load_recipients(spec, extra=specs):  # a fingerprint among the other -r
            # The same key given twice (its .pub and its fingerprint, or a file
            # twice) gets one stanza and one line in the summary. A loaded key's
            # label carries its fingerprint, a certificate's its SHA-256; two
            # different keys with one fingerprint are refused by the lookup.
            found.setdefault(recipient.label, recipient)
    return list(found.values())


@contextlib.contextmanager
def _open_output(output: str, *, force: bool) -> Iterator[BinaryIO]:
    """Standard output, or a file that appears at its name only once complete."""
    if output == "-":
        if sys.stdout.isatty():
            raise UsageError("refusing to write an archive to a terminal: use -o FILE or a pipe")
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with atomic_output(Path(output), force=force) as sink:
        yield sink
