"""``securemedia unpack``: verify an archive and restore its members."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ..archive.extract import copy_member, extract
from ..archive.reader import ArchiveReader
from ..errors import UsageError
from .compat_check import is_zip_argument
from .damage_advice import explain_damage, media_json, media_lines
from .inputs import (
    identities_from_options,
    key_options,
    load_required_signers,
    open_reader,
    require_signer_option,
    signer_json,
    signer_line,
)
from .output import current, emit_json, human_bytes, info, output_options


@click.command()
@click.argument("archives", nargs=-1, required=True, metavar="ARCHIVE...")
@key_options
@click.option(
    "-o",
    "--output",
    "dest",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Directory to restore into (created if missing). Default: current directory.",
)
@click.option(
    "--stdout",
    "to_stdout",
    is_flag=True,
    help="Write one file member's content to standard output.",
)
@click.option(
    "--member",
    "members",
    multiple=True,
    metavar="PATH",
    help="Extract only this member (a path as 'list' shows it). Repeatable.",
)
@require_signer_option()
@click.option("--force", is_flag=True, help="Overwrite existing files at the destination.")
@click.option(
    "--salvage",
    is_flag=True,
    help="Restore every intact member of a damaged or incomplete set, list the lost ones "
    "(exit 4 if any).",
)
@output_options
def unpack(
    archives: tuple[str, ...],
    identities: tuple[str, ...],
    use_passphrase: bool,
    passphrase_file: str | None,
    key_passphrase_file: str | None,
    dest: str | None,
    to_stdout: bool,
    members: tuple[str, ...],
    signers: tuple[str, ...],
    force: bool,
    as_json: bool,
    quiet: bool,
    salvage: bool = False,
) -> None:
    """Verify ARCHIVE and restore its members into a directory.

    Nothing is written at a final name until the whole archive has verified; a
    failure, Ctrl-C, SIGTERM or SIGHUP before then leaves the destination as it
    was. A new top-level name appears in one rename; members merged into an
    existing folder are moved one by one (README: what a killed run leaves).

    ARCHIVE may also be the volume files or disc images of a pack --media
    set, all of them, in any order; mixed-up discs are refused before anything
    is written.

    With --stdout, an archive file is first verified end to end in a pass that
    writes nothing, then the member is streamed; with --stdout --member PATH that
    pass verifies the member against the signed index and reads only its own
    chunks and the index. No member yields more than the size its index entry
    declares.

    An archive read from a pipe (ARCHIVE is -) is first copied, still encrypted,
    into an anonymous temporary file in TMPDIR (it needs room for the whole
    archive), then read like a file: nothing reaches standard output or the
    destination before the index and any required signer are verified.

    With --salvage (a set that lost discs, or damage beyond repair), every
    member whose bytes are all present, authenticate and match the signed index
    is restored, the others are listed as lost, nothing partial is left, and the
    exit status is 4 if anything was lost. Missing volumes are simply left out.
    """
    started = time.monotonic()
    current().json_to_stderr = to_stdout  # stdout carries the member
    if to_stdout and dest:
        raise UsageError("-o and --stdout exclude each other")
    if to_stdout and len(members) > 1:
        raise UsageError("--stdout writes one member: give --member once")
    if is_zip_argument(archives):  # a regular file only: a pipe's bytes are read once
        if salvage:
            raise UsageError("--salvage reads native archives and disc sets, not a ZIP")
        from .compat import unpack_zip

        unpack_zip(
            Path(archives[0]), dest, passphrase_file, force=force, as_json=as_json, quiet=quiet
        )
        return
    key_args = (identities, use_passphrase, passphrase_file, key_passphrase_file)
    required = load_required_signers(signers)
    if salvage:
        if to_stdout or members:
            raise UsageError("--salvage restores into a directory: no --stdout or --member")
        from .salvage import unpack_salvage

        keys = identities_from_options(*key_args)
        unpack_salvage(archives, keys, required, dest, force=force, as_json=as_json, quiet=quiet)
        return
    with (
        explain_damage(archives),  # which disc, and what to run next
        # The header is read before a key file is unlocked: a wrong input is
        # refused before anyone types a passphrase.
        open_reader(archives, key_args, require_signer=required or None) as (source, reader),
    ):
        if to_stdout:
            member = copy_member(reader, members[0] if members else None, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            _media_lines(source, quiet=quiet or as_json)
            if as_json and member is not None:
                doc = _report(reader, [member.to_json()], None, started)
                emit_json(doc | media_json(source), to_stderr=True)
            return
        target = Path(dest or ".")
        total = reader.total_size
        phases = current().phases()
        result = extract(
            reader,
            target,
            select=members or None,
            force=force,
            progress=phases("unpacking", total) if phases else None,
            # Not silenced by -q: it says that something was deleted.
            notice=lambda line: click.echo(f"securemedia: {line}", err=True),
            list_members=as_json,
        )
        current().end_progress()
    _media_lines(source, quiet=quiet)
    if as_json:
        doc = _report(reader, [m.to_json() for m in result.members], str(target), started)
        emit_json(doc | media_json(source))
    else:
        files = result.files
        info(
            f"restored {files} file(s), {human_bytes(result.bytes)}, into {target}, "
            f"{signer_line(reader.signer)}",
            quiet=quiet,
        )


def _media_lines(source: object, *, quiet: bool) -> None:
    """One line per disc that was missing or needed repair while reading (a disc set)."""
    for line in media_lines(source):
        info(line, quiet=quiet)


def _report(
    reader: ArchiveReader, members: list[dict[str, object]], dest: str | None, started: float
) -> dict[str, object]:
    return {
        "archive_id": reader.archive_id,
        "destination": dest,
        **signer_json(reader.signer),
        "members": members,
        "elapsed_seconds": round(time.monotonic() - started, 3),
    }
