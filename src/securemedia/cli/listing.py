"""``securemedia list``: the members of an archive (needs a key).

Members are printed as the index is parsed, one at a time, so memory does not
grow with the member count (1,000,000 members list in well under 200 MiB).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import click

from ..archive.index import Member
from ..archive.paths import display_name
from ..errors import UsageError
from .damage_advice import explain_damage, media_json, media_lines
from .inputs import key_options, open_reader, signer_json, signer_line
from .output import current, human_bytes, info, output_options

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@click.command(name="list")
@click.argument("archives", nargs=-1, required=True, metavar="ARCHIVE...")
@key_options
@output_options
def listing(
    archives: tuple[str, ...],
    identities: tuple[str, ...],
    use_passphrase: bool,
    passphrase_file: str | None,
    key_passphrase_file: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """List the members of ARCHIVE (a file, or all volumes or disc images of a
    set): name, size, time and BLAKE3 digest.

    Reads only the header and the index (the last chunks), not the contents.
    An archive read from a pipe (ARCHIVE is -) is first held, encrypted, in a
    temporary file. A compatibility ZIP is listed with -p (its passphrase),
    after every byte of it was authenticated.
    """
    from .compat_check import NOT_WITH_A_KEY, is_zip_argument, list_zip

    if is_zip_argument(archives):
        if identities:
            raise UsageError(NOT_WITH_A_KEY)
        list_zip(Path(archives[0]), use_passphrase, passphrase_file, as_json)
        return
    key_args = (identities, use_passphrase, passphrase_file, key_passphrase_file)
    with (
        explain_damage(archives),  # which disc, and what to run next (as unpack)
        # The header first, then -i/-p: a wrong input is refused before a prompt.
        open_reader(archives, key_args) as (source, reader),
    ):
        said = signer_line(reader.signer)
        if as_json:
            head = {
                "archive": archives[0] if len(archives) == 1 else list(archives),
                "archive_id": reader.archive_id,
                **signer_json(reader.signer),
            }
            _echo_json(head, reader.iter_members(), tail=lambda: media_json(source))
            return
        for member in reader.iter_members():
            click.echo(member_line(member))
    for line in media_lines(source):
        info(line, quiet=quiet)
    info(said, quiet=quiet)


def member_line(member: Member) -> str:
    """One line of the listing: size, time (UTC), digest prefix, name."""
    when = _EPOCH + datetime.timedelta(microseconds=member.mtime_ns // 1000)
    size = "-" if member.is_dir else human_bytes(member.size)
    digest = member.blake3[:16] if member.blake3 else ""
    return f"{size:>10}  {when:%Y-%m-%d %H:%M}  {digest:16}  {shown_name(member)}"


def shown_name(member: Member) -> str:
    """The member's name as printed (a directory with a trailing ``/``); never
    raw: a name could hold what a terminal interprets (escapes, bidi controls)."""
    return display_name(member.path) + ("/" if member.is_dir else "")


def _echo_json(
    head: Mapping[str, object],
    members: Iterable[Member],
    tail: Callable[[], Mapping[str, object]] = dict,
) -> None:
    """``head`` plus a ``members`` list, then what ``tail()`` returns once they
    are read, as one indented JSON document written member by member (the same
    document ``json.dumps(..., indent=2)`` gives)."""
    lines = ["{"] + [
        f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()
    ]
    click.echo("\n".join(lines))
    click.echo('  "members": [', nl=False)
    first = True

    def close_with(fields: Mapping[str, object]) -> None:
        # A failure half-way (main passes ok, exit_code, error): the list ends
        # where it stopped and the document stays one valid JSON document.
        tail = "".join(f",\n  {json.dumps(k)}: {json.dumps(v)}" for k, v in fields.items())
        click.echo(("]" if first else "\n  ]") + tail + "\n}")

    current().finish_stream = close_with
    for member in members:
        text = json.dumps(member.to_json(), indent=2, ensure_ascii=False).replace("\n", "\n    ")
        click.echo(("\n    " if first else ",\n    ") + text, nl=False)
        first = False
    current().finish_stream = None
    # What reading met (a disc set: discs healed or missing), as unpack reports it.
    after = "".join(
        f",\n  {json.dumps(k)}: {json.dumps(v, indent=2).replace(chr(10), chr(10) + '  ')}"
        for k, v in tail().items()
    )
    click.echo(("]" if first else "\n  ]") + after + "\n}")
