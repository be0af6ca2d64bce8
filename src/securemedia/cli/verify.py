"""``securemedia verify``: check burned discs without any key.

For the sender's operator: finds damaged or altered sectors (from each file's
recovery data), and missing, duplicated and foreign volumes, naming each volume
by its number and each damage by its byte ranges. With ``-i KEYFILE`` it also
authenticates the whole archive end to end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import click

from ..errors import MediaError, UsageError
from ..header import is_archive_file
from ..media import recovery
from ..media.header import FLAG_IMAGE_PROTECTED
from ..media.healing import describe_ranges
from ..media.iso import iso_size
from ..media.salvage_view import CopySource, check_copies
from ..media.set_stream import SetReport
from ..media.sources import carries_recovery
from ..media.volume_set import (
    VolumeInfo,
    diagnose_set,
    open_volume_set,
    read_volume_info,
    read_volume_info_healed,
)
from ..progress import Phases, no_phases
from ..signing_keys import SignerKey
from .damage_advice import explain_damage
from .inputs import (
    KEYFILE_UNLOCK_HELP,
    load_required_signers,
    require_signer_option,
    signer_json,
)
from .output import current, echo_result, emit_json, output_options
from .tokens import token_options
from .verify_archive import authenticate, authenticated_line, verify_plain_archive

_SHOWN_PROBLEMS = 3


@dataclass
class _Checked:
    path: Path
    info: VolumeInfo | None = None
    recovery: bool = False
    damaged: list[tuple[int, int]] = field(default_factory=list)
    repairable: bool | None = None
    problems: list[str] = field(default_factory=list)
    short: list[str] = field(default_factory=list)  # the same, for the one-line error
    warnings: list[str] = field(default_factory=list)

    def name(self) -> str:
        label = self.info.header.label() if self.info else "unidentified volume"
        return f"{self.path}: {label}"

    def to_json(self) -> dict[str, Any]:
        header = self.info.header if self.info else None
        return {
            "path": str(self.path),
            "volume": header.number if header else None,
            "count": header.count if header else None,
            "set_id": header.set_hex if header else None,
            "image": self.info.image if self.info else None,
            "recovery": self.recovery,
            "damaged_ranges": [list(r) for r in self.damaged],
            "repairable": self.repairable,
            "ok": not self.problems,
            "problems": self.problems,
            "warnings": self.warnings,
        }


def _ranges(ranges: list[tuple[int, int]]) -> str:
    """``8,192 bytes in 2 range(s): bytes 6,144-12,287, 81,920-83,967`` (ends inclusive)."""
    if not ranges:
        return "recovery data"
    size = sum(end - start for start, end in ranges)
    return f"{size:,} bytes in {len(ranges)} range(s): {describe_ranges(ranges)}"


def _check_file(path: Path, phases: Phases) -> _Checked:
    checked = _Checked(path)
    no_recovery: str | None
    try:
        report = recovery.verify_file(path, phases)
    except recovery.NotProtectedError as exc:
        no_recovery = str(exc)
    except MediaError as exc:
        # Recovery data that is there but refused (forged, out of bounds): a
        # fault of this file, whatever its volume header says.
        no_recovery = None
        checked.repairable = False
        checked.problems.append(str(exc))
        checked.short.append(str(exc))
    else:
        no_recovery = None
        checked.recovery = True
        checked.damaged = [(int(a), int(b)) for a, b in report.damaged_ranges]
        if not report.ok:
            checked.repairable = bool(report.repairable)
            verdict = "repairable" if report.repairable else "NOT repairable"
            checked.problems.append(f"damaged: {_ranges(checked.damaged)} ({verdict})")
            checked.short.append(f"damaged ({verdict})")
    # A damaged but repairable disc may have lost its header sector: read it
    # through the recovery data (in memory, writing nothing) so the report can
    # still say which volume this is. Either read raises the plain read's error.
    read = read_volume_info_healed if checked.repairable else read_volume_info
    try:
        checked.info = read(path)
    except MediaError as exc:
        why = str(exc).removeprefix(f"{path}: ")  # the report line names the file
        checked.problems.append(why)
        checked.short.append(why)
    if no_recovery is not None:
        _judge_missing_recovery(checked, no_recovery)
    if checked.info is not None and checked.info.header.has_copy and not checked.damaged:
        # The copy is what salvage reads when a disc is lost: a ruined one must
        # not pass as "OK" (damage found by recovery data is reported above).
        try:
            CopySource(checked.info)
        except MediaError as exc:
            # Named once: the report line already says which file and volume.
            why = str(exc).removeprefix(f"{path}: {checked.info.header.label()}: ")
            checked.problems.append(why)
            checked.short.append(why)
    return checked


def _judge_missing_recovery(checked: _Checked, why: str) -> None:
    """No recovery region found: expected for an unprotected file, a fault otherwise.

    The volume header says whether recovery data was written, so a disc whose
    region was lost (a short burn or read-back) cannot pass as "unprotected".
    """
    info = checked.info
    if info is None:
        return  # already reported: the file is not a readable volume
    size = checked.path.stat().st_size
    if not carries_recovery(info):
        if not info.image and info.header.flags & FLAG_IMAGE_PROTECTED:
            note = "a volume file taken off its disc: check the whole disc image instead"
        else:
            note = "written without recovery data"
        checked.warnings.append(f"sectors not checked ({note})")
        return
    with checked.path.open("rb") as fp:
        expected = iso_size(fp) if info.image else None
    if expected is not None and size < expected:
        message = f"truncated: {size:,} bytes, its file system spans {expected:,}"
    else:
        message = f"its recovery data is missing or unreadable ({why})"
    checked.repairable = False
    checked.problems.append(message)
    checked.short.append(message)


@click.command("verify")
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="VOLUME_OR_IMAGE..."
)
@click.option(
    "-i",
    "--identity",
    "identity",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="KEYFILE",
    help="Also authenticate the whole archive with this recipient key file "
    "(or a key on a token: pkcs11:token=...;object=...).",
)
@token_options
@click.option("--key-passphrase-file", type=click.Path(dir_okay=False), help=KEYFILE_UNLOCK_HELP)
@require_signer_option(needs="With -i: ")
@click.option(
    "-p",
    "--passphrase",
    "use_passphrase",
    is_flag=True,
    help="A compatibility ZIP: authenticate every byte with its passphrase.",
)
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False),
    help="Read the compatibility ZIP's passphrase from this file (implies -p).",
)
@click.option(
    "--partial",
    is_flag=True,
    help="Check only the discs given (one at a time after burning): missing ones are fine.",
)
@output_options
def verify(
    paths: tuple[Path, ...],
    identity: Path | None,
    key_passphrase_file: str | None,
    signers: tuple[str, ...],
    partial: bool,
    as_json: bool,
    quiet: bool,
    use_passphrase: bool = False,
    passphrase_file: str | None = None,
) -> None:
    """Check volume files or disc images VOLUME_OR_IMAGE... (no key needed).

    Give all the discs of a set (any order), or use --partial for some of them.
    Exit status 4 names every damaged, missing, duplicated or foreign volume.

    With -i KEYFILE every byte is also authenticated, and the signer is named
    (or the archive reported as unsigned: anyone holding the recipient's public
    key can make one); --require-signer refuses any other signer, as unpack does.

    A plain archive (packed without --media) has no keyless checksums: without
    -i, verify only shows what it could read (the header, the recipients, the
    size), says that content and length were NOT checked, and exits 2. Check it
    with -i KEYFILE, or pack with --media for discs that verify without a key.

    A compatibility ZIP (pack --format zip) is recognised by its bytes: without
    a key its structure is checked and it exits 2 (its MAC needs the passphrase);
    with -p every byte is authenticated.
    """
    from .compat_check import NOT_WITH_A_KEY, is_zip_argument, verify_zip

    if is_zip_argument(paths):
        if identity is not None or signers:
            raise UsageError(NOT_WITH_A_KEY)
        verify_zip(paths[0], use_passphrase, passphrase_file, as_json=as_json)
        return
    if use_passphrase or passphrase_file is not None:
        raise UsageError("-p checks a compatibility ZIP; authenticate this archive with -i KEYFILE")
    if signers and identity is None:
        raise UsageError("--require-signer needs -i KEYFILE: a signature is inside the encryption")
    required = load_required_signers(signers)
    if len(paths) == 1 and is_archive_file(paths[0]):
        verify_plain_archive(paths[0], identity, key_passphrase_file, required, as_json)
        return
    phases = current().phases() or no_phases  # one bar per file checked
    checked = [_check_file(path, phases) for path in paths]
    infos = [c.info for c in checked if c.info is not None]
    set_problems: list[str] = []
    set_facts: dict[str, Any] = {"set_id": None, "count": None}
    diagnosis = None
    if infos:
        diagnosis = diagnose_set(infos)
        if partial:
            diagnosis.missing = []
        set_problems = diagnosis.messages()
        set_facts = {
            "set_id": diagnosis.set_id.hex(),
            "count": diagnosis.count,
            "spares": diagnosis.spares,
            "missing": diagnosis.missing,
            "restorable": diagnosis.restorable,
        }
    problems = [f"{c.name()}: {p}" for c in checked for p in c.short] + set_problems
    authenticated: bool | None = None
    signer: SignerKey | None = None
    copies: list[str] = []
    media: SetReport | None = None
    if identity is not None:
        if diagnosis is None or not diagnosis.restorable:
            set_problems.append("not authenticated: repair or complete the set first")
        else:
            # Damaged discs are healed through their recovery data and missing
            # ones rebuilt from spare volumes, as unpack would; what cannot be
            # read is named (volume, bytes) and nothing is authenticated.
            try:
                with (
                    explain_damage(tuple(map(str, paths))),  # the advice unpack gives
                    open_volume_set(list(paths)) as stream,
                ):
                    signer = authenticate(stream, identity, key_passphrase_file, required)
                    media = stream.report
                    copies = _check_copies(checked, stream)
                authenticated = True
                set_problems += copies
            except MediaError as exc:
                set_problems.append(f"not authenticated: {exc}")
                problems.append(str(exc))
    current().end_progress()
    if as_json:
        document = {
            "ok": not problems and not copies,
            **set_facts,
            "volumes": [c.to_json() for c in checked],
            "set_problems": set_problems,
            "authenticated": authenticated,
            **signer_json(signer),
        }
        if media is not None:
            document["media"] = media.to_json()
        emit_json(document)
    else:
        for c in checked:
            status = "; ".join(c.problems) if c.problems else "OK"
            echo_result(f"{c.name()}: {status}")
            for warning in c.warnings:
                echo_result(f"{c.name()}: warning: {warning}")
        for message in set_problems:
            echo_result(message)
        if media is not None:
            for line in media.lines():
                echo_result(line)
        if authenticated:
            echo_result(authenticated_line(signer))
    # Authenticated, but a copy disagrees with the archive: salvage would fail.
    failed = copies if copies else problems if not authenticated else []
    if failed:
        shown = "; ".join(failed[:_SHOWN_PROBLEMS])
        more = len(failed) - _SHOWN_PROBLEMS
        error = MediaError(shown + (f"; and {more} more problem(s)" if more > 0 else ""))
        # The report above (stdout) named each problem: stderr only says so.
        raise current().shown_in_report(
            error, f"the discs did not pass: {len(failed)} problem(s), listed in the report"
        )


def _check_copies(checked: list[_Checked], archive: BinaryIO) -> list[str]:
    """Each undamaged disc's salvage copy against the authenticated archive."""
    out = []
    for c in checked:
        if c.info is None or not c.info.header.has_copy or c.damaged:
            continue
        try:
            check_copies([c.path], archive)
        except MediaError as exc:
            out.append(f"{c.name()}: {str(exc).removeprefix(f'{c.path}: ')}")
    return out
