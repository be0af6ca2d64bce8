"""``inspect``, ``list`` and ``verify`` of a compatibility ZIP (docs/COMPAT-ZIP.md).

Each reading command hands a ZIP over here in one line, so that what is
ZIP-specific stays out of the native code paths. A ZIP is recognised by its
bytes (:func:`~securemedia.compat_zip.is_compat_zip`), never by its name.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import click

from ..archive.paths import display_name
from ..compat_zip import ZipFacts, ZipMember, describe_compat_zip, is_compat_zip, list_compat_zip
from ..errors import UsageError
from .output import echo_result, emit_json, human_bytes
from .passphrases import archive_passphrase

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)

#: What ``verify`` checks of a ZIP without the passphrase, and what it cannot.
KEYLESS_CHECKED = [
    "ZIP structure (end record, central directory, local header agree)",
    "layout (one entry dataset.tar, WinZip AES-256 AE-2, deflate or stored)",
    "sizes possible, encrypted data whole",
]
KEYLESS_NOT_CHECKED = [
    "MAC of the entry (needs the passphrase): any changed encrypted byte",
    "CRC-32 (AE-2 stores none, by design)",
    "the tar inside: member names, sizes, contents",
]
WITH_PASSPHRASE_CHECKED = [
    *KEYLESS_CHECKED,
    "every encrypted byte authenticated (80-bit WinZip AES MAC)",
    "tar valid, every member name safe, no links or special files",
    "declared plaintext size equals what the entry holds",
]
_NEVER_SIGNED = "a compatibility ZIP is never signed (anyone with the passphrase can make one)"
NOT_WITH_A_KEY = (
    "a compatibility ZIP opens with its passphrase (-p or --passphrase-file), not with a key (-i)"
)
"""What list, verify and unpack say when given -i for a ZIP (one wording for all three)."""


def is_zip_argument(paths: tuple[str, ...] | tuple[Path, ...]) -> bool:
    """One argument naming a file that starts like a ZIP (standard input never)."""
    if len(paths) != 1 or str(paths[0]) == "-":
        return False
    path = Path(paths[0])
    return path.is_file() and is_compat_zip(path)


def zip_passphrase(use_passphrase: bool, passphrase_file: str | None, command: str) -> str:
    """The ZIP's passphrase from the usual channels (environment, file, prompt)."""
    if not use_passphrase and passphrase_file is None:
        raise UsageError(
            f"a compatibility ZIP opens with its passphrase: {command} -p "
            "(or --passphrase-file FILE)"
        )
    raw = archive_passphrase(passphrase_file, confirm=False)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("the passphrase is not valid UTF-8") from None


def inspect_zip(path: Path, *, as_json: bool) -> None:
    """What anyone sees of a compatibility ZIP, without the passphrase."""
    facts = describe_compat_zip(path)
    if as_json:
        emit_json(facts.to_json())
        return
    echo_result(f"{path}: securemedia compatibility ZIP (WinZip AES-256, AE-2), {facts.method}")
    click.echo(f"  size         {human_bytes(facts.zip_bytes)} ({facts.zip_bytes:,} bytes)")
    echo_result(
        f"  entry        {facts.entry}: {facts.encrypted_bytes:,} bytes encrypted, "
        f"{facts.declared_bytes:,} bytes of tar declared"
    )
    if facts.time_fixed:
        click.echo(f"  entry time   {facts.packed_at} (fixed: when it was packed is not recorded)")
        seen = "the entry name and the two sizes, nothing else"
    else:  # a ZIP made before the entry time was fixed
        click.echo(f"  packed       {facts.packed_at} (the packer's clock, no time zone)")
        seen = "the entry name, the two sizes and the time above, nothing else"
    click.echo("  names        hidden: member names, sizes and count are inside the encrypted tar")
    click.echo(f"  finder sees  {seen}")
    click.echo(f"  signature    none: {_NEVER_SIGNED}")
    click.echo("  recovery     none: no recovery data, damage cannot be repaired")
    click.echo(
        "  contents     encrypted (securemedia list -p, or 7-Zip, with the passphrase; "
        "securemedia verify -p checks every byte)"
    )


def list_zip(path: Path, use_passphrase: bool, passphrase_file: str | None, as_json: bool) -> None:
    """The members of a compatibility ZIP, shown only once its MAC verified."""
    members = list_compat_zip(path, zip_passphrase(use_passphrase, passphrase_file, "list"))
    if as_json:
        emit_json(
            {
                "archive": str(path),
                "format": "zip",
                "signer": None,
                "signer_kind": None,
                "members": [m.to_json() for m in members],
            }
        )
        return
    for member in members:
        click.echo(member_line(member))
    click.echo(f"every byte authenticated; not signed: {_NEVER_SIGNED}", err=True)


def member_line(member: ZipMember) -> str:
    """Like a native listing line (size, UTC time, name); a tar carries no digest."""
    when = _EPOCH + datetime.timedelta(microseconds=member.mtime_ns // 1000)
    size = "-" if member.is_dir else human_bytes(member.size)
    name = display_name(member.path) + ("/" if member.is_dir else "")
    return f"{size:>10}  {when:%Y-%m-%d %H:%M}  {'':16}  {name}"


def verify_zip(
    path: Path, use_passphrase: bool, passphrase_file: str | None, *, as_json: bool
) -> None:
    """Check a compatibility ZIP: its structure without the passphrase, every byte with it.

    Without the passphrase nothing proves the encrypted bytes intact, so that is
    not reported as a pass: the facts are shown and the exit status is 2, as for
    a plain native archive verified without a key.
    """
    facts = describe_compat_zip(path)
    keyed = use_passphrase or passphrase_file is not None
    members: list[ZipMember] = []
    if keyed:
        members = list_compat_zip(path, zip_passphrase(True, passphrase_file, "verify"))
    if as_json:
        document = {
            "ok": keyed,
            **facts.to_json(),
            "authenticated": keyed,
            "signer": None,
            "signer_kind": None,
            "checked": WITH_PASSPHRASE_CHECKED if keyed else KEYLESS_CHECKED,
            "not_checked": [] if keyed else KEYLESS_NOT_CHECKED,
        }
        if keyed:
            document["files"] = sum(1 for m in members if not m.is_dir)
        emit_json(document)
    else:
        echo_result(_structure_line(facts))
        if keyed:
            files = sum(1 for m in members if not m.is_dir)
            click.echo(
                f"entry authenticated end to end (80-bit WinZip AES MAC), tar valid, "
                f"{files} file(s), every name safe; not signed: {_NEVER_SIGNED}"
            )
    if not keyed:
        raise UsageError(
            f"{path}: encrypted content NOT checked: a compatibility ZIP's MAC needs its "
            "passphrase (verify -p or --passphrase-file FILE)"
        )


def _structure_line(facts: ZipFacts) -> str:
    return (
        f"{facts.path}: securemedia compatibility ZIP, {facts.method}: structure OK "
        f"(one entry {facts.entry}, AE-2 AES-256, {facts.zip_bytes:,} bytes), no recovery data"
    )
