"""``securemedia list``: the members of an archive (needs a key)."""

from __future__ import annotations

import datetime

import click

from ..archive.paths import display_name
from ..archive.reader import ArchiveReader
from .inputs import identities_from_options, key_options, open_input, signer_label
from .output import emit_json, human_bytes


@click.command(name="list")
@click.argument("archives", nargs=-1, required=True)
@key_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def listing(
    archives: tuple[str, ...],
    identities: tuple[str, ...],
    use_passphrase: bool,
    passphrase_file: str | None,
    key_passphrase_file: str | None,
    as_json: bool,
) -> None:
    """List the members of ARCHIVE (a file, or all volumes or disc images of a
    set): name, size, time and BLAKE3 digest.

    Reads only the header and the index (the last chunks), not the contents.
    """
    keys = identities_from_options(identities, use_passphrase, passphrase_file, key_passphrase_file)
    with open_input(archives) as source:
        reader = ArchiveReader(source, keys)
        members = reader.members
    if as_json:
        emit_json(
            {
                "archive": archives[0] if len(archives) == 1 else list(archives),
                "archive_id": reader.archive_id,
                "signer": signer_label(reader.signer) if reader.signer else None,
                "members": [m.to_json() for m in members],
            }
        )
        return
    for m in members:
        when = datetime.datetime.fromtimestamp(m.mtime_ns / 1e9, datetime.UTC)
        size = "-" if m.is_dir else human_bytes(m.size)
        digest = m.blake3[:16] if m.blake3 else ""
        # Never raw: a name could hold what a terminal interprets (escapes, bidi).
        name = display_name(m.path) + ("/" if m.is_dir else "")
        click.echo(f"{size:>10}  {when:%Y-%m-%d %H:%M}  {digest:16}  {name}")
    if reader.signer:
        click.echo(f"signed by signing key {signer_label(reader.signer)}", err=True)
