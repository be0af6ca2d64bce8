"""``securemedia repair``: rebuild damaged volume files or disc images from their
recovery data, and lost discs of a set from its spare volumes."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from pathlib import Path
from typing import Any

import click

from ..atomic import already_exists
from ..errors import (
    DiskFullError,
    MediaError,
    OperationalError,
    UsageError,
    os_error,
)
from ..media import recovery
from ..media.header import FLAG_IMAGE_PROTECTED, FLAG_VOLUME_PROTECTED
from ..media.rebuild import RebuildPlan, TooManyMissingError, plan_rebuild, rebuild_missing
from ..media.sources import PayloadSource, PlainSource
from ..media.volume_set import VolumeInfo, read_volume_info, read_volume_info_healed
from ..progress import Phases, no_phases
from .output import current, echo_result, emit_json, output_options
from .output import info as message
from .repair_advice import beyond_repair, no_recovery_data


@click.command("repair")
@click.argument(
    "damaged", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="DAMAGED..."
)
@click.option(
    "-o",
    "--output",
    "outdir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help="Directory for the repaired files (same file names).",
)
@click.option("--force", is_flag=True, help="Replace repaired files already in the directory.")
@output_options
def repair(
    damaged: tuple[Path, ...], outdir: Path, force: bool, as_json: bool, quiet: bool
) -> None:
    """Rebuild DAMAGED... byte for byte into a directory.

    Read each disc into a file first, with unreadable sectors as zeros (for
    example ddrescue -b 2048); damage to the image's own file system is
    repaired too. Given the surviving discs of a set with spare discs, the
    missing ones (as many as there are spares) are rebuilt too, as files ready
    to burn. A file that cannot be rebuilt leaves nothing in the directory.
    """
    targets = [outdir / path.name for path in damaged]
    if len(set(targets)) != len(targets):
        raise UsageError("two inputs have the same file name: repair them one at a time")
    for path, target in zip(damaged, targets, strict=True):
        if not path.is_file():
            raise OperationalError(f"{path}: no such file")
        if target.exists() and target.resolve() == path.resolve():
            raise UsageError(f"{path}: the output directory must not hold the damaged file itself")
        if target.exists() and not force:
            raise already_exists(target)
    # Which volumes of a set with spares are missing is decided before anything
    # is written: too many missing is an error that leaves the directory alone.
    infos = {path: info for path in damaged if (info := _volume_info(path)) is not None}
    plan = _plan(damaged, infos)
    if plan is not None:
        _check_free(plan, plan.missing, outdir, force=force)
    created = not outdir.exists()  # removed again if nothing is written into it
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OperationalError(f"cannot create {outdir}: {exc.strerror or exc}") from exc
    phases = current().phases() or no_phases
    results: list[dict[str, Any]] = []
    failures: dict[str, str] = {}  # what failed -> why
    unprotected: set[str] = set()  # failures that are files without recovery data
    usable: dict[Path, Path] = {}  # given file -> the file to read it from
    for path, target in zip(damaged, targets, strict=True):
        info = infos.get(path)
        if plan is not None and info is not None and not _protected(info):
            # A set made without recovery data: nothing to repair, read as it is.
            usable[path] = path
            results.append({"path": str(path), "ok": True, "output": None, "as_is": True})
            continue
        # Through the atomic-output primitive: a temporary created exclusively
        # beside the target, renamed over it only once complete and verified; on
        # failure it is removed, so the final name only ever holds a good file.
        try:
            report = recovery.repair_if_damaged(path, target, force=force, phases=phases)
        except recovery.NotProtectedError as exc:
            said = no_recovery_data(path, info)
            why = said or f"NOT repaired: {str(exc).removeprefix(f'{path.name}: ')}"
            failures[str(path)] = why
            if said is not None:  # one of ours, without recovery data: the wrong tool
                unprotected.add(str(path))
            results.append({"path": str(path), "ok": False, "output": None, "error": why})
            continue
        except MediaError as exc:
            why = beyond_repair(path, str(exc))
            failures[str(path)] = why
            results.append({"path": str(path), "ok": False, "output": None, "error": why})
            continue
        if report is None and not (plan is not None and plan.missing):
            # Intact: a copy would only pass for a repaired disc. (Where missing
            # discs are rebuilt, it is copied below: DIR then holds the whole set.)
            usable[path] = path
            results.append({"path": str(path), "ok": True, "output": None, "intact": True})
            continue
        entry: dict[str, Any] = {"path": str(path), "ok": True, "output": str(target)}
        if report is None:  # intact, copied to complete the set in DIR
            report = recovery.repair_file(path, target, force=force)
            entry["intact"] = True
        usable[path] = target
        entry["report"] = report.to_json()
        results.append(entry)
    rebuilt: list[dict[str, Any]] = []
    if plan is not None:
        rebuilt = _rebuild(plan, infos, usable, failures, outdir, force=force, phases=phases)
    current().end_progress()
    if created and not failures and not any(entry["output"] for entry in results):
        with contextlib.suppress(OSError):
            outdir.rmdir()
    if as_json:
        document = {"ok": not failures, "files": results, "rebuilt": rebuilt}
        emit_json(document)
    else:
        for entry in results:
            if entry.get("as_is"):
                echo_result(f"{entry['path']}: no recovery data, used as it is")
            elif entry.get("intact") and entry["output"]:
                echo_result(f"{entry['path']}: intact, copied -> {entry['output']}")
            elif entry.get("intact"):
                echo_result(f"{entry['path']}: intact, nothing to repair (nothing written)")
            elif entry["ok"]:
                echo_result(f"{entry['path']}: repaired -> {entry['output']}")
            # A file not repaired is said once, in the error below (stderr).
        for item in rebuilt:
            echo_result(f"{item['label']}: rebuilt from the other volumes -> {item['output']}")
        if rebuilt:
            # Parity has no key and no MAC: a forged spare rebuilds a wrong disc
            # that only the archive's authentication can tell.
            message(
                "note: a rebuilt disc is checked against its parity, not authenticated "
                "(that needs the recipient's key: securemedia verify -i KEY on the whole set)",
                quiet=quiet,
            )
    if failures and set(failures) <= unprotected:
        # Nothing is damaged that repair could rebuild: the wrong tool, not a bad disc.
        raise UsageError("; ".join(failures.values()))
    if failures:
        raise MediaError(
            "; ".join(
                why if what in unprotected else f"{what}: {why}" for what, why in failures.items()
            )
        )


def _volume_info(path: Path) -> VolumeInfo | None:
    """The volume header of a given file, through its recovery data if it is damaged."""
    # An unreadable file is no volume of the set here; its repair below says why.
    try:
        return read_volume_info_healed(path)
    except (MediaError, OperationalError):
        return None


def _plan(damaged: tuple[Path, ...], infos: dict[Path, VolumeInfo]) -> RebuildPlan | None:
    """The rebuild of missing volumes the given files call for, if any.

    One damaged disc of a set with spares, given alone (as unpack's advice and
    the README say), is repaired from its own recovery data: the other discs
    are not missing, merely not given. Several discs given are the survivors
    of a set whose lost ones are to be rebuilt: too many lost is an error.
    """
    try:
        return plan_rebuild(list(infos.values()))
    except TooManyMissingError:
        if len(damaged) == 1 and len(infos) == 1 and _protected(next(iter(infos.values()))):
            return None
        raise


def _protected(info: VolumeInfo) -> bool:
    return bool(info.header.flags & (FLAG_VOLUME_PROTECTED | FLAG_IMAGE_PROTECTED))


def _check_free(plan: RebuildPlan, numbers: list[int], outdir: Path, *, force: bool) -> None:
    for number in numbers:
        target = outdir / plan.file_name(number)
        if target.exists() and not force:
            raise already_exists(target)
    _check_room(plan, numbers, outdir)


def _check_room(plan: RebuildPlan, numbers: list[int], outdir: Path) -> None:
    """Refuse, before writing, a rebuild the output's file system cannot hold.

    Every rebuilt disc is as large as the largest survivor. The spare count
    comes from the discs' headers, which a finder can forge: without this
    check, a forged count would make ``repair`` fill the disk with "missing"
    spares one after the other (cleaned up when the disk is full, but only then).
    """
    try:
        largest = max(info.path.stat().st_size for info in plan.present.values())
        where = outdir
        while not where.exists() and where != where.parent:
            where = where.parent
        fs = os.statvfs(where)
    except OSError as exc:
        raise os_error(exc, "check the free space of", outdir) from exc
    need = largest * len(numbers)
    free = fs.f_bavail * fs.f_frsize
    if need > free:
        raise DiskFullError(
            f"rebuilding {len(numbers)} volume(s) needs about {need:,} bytes in {outdir}, "
            f"which has {free:,} free: nothing was written"
        )


def _rebuild(
    plan: RebuildPlan,
    infos: dict[Path, VolumeInfo],
    usable: dict[Path, Path],
    failures: dict[str, str],
    outdir: Path,
    *,
    force: bool,
    phases: Phases,
) -> list[dict[str, Any]]:
    """Rebuild the missing volumes, and the given ones beyond their own repair
    while the spares allow it; resolved failures are taken off ``failures``."""
    lost = {infos[path].header.number: path for path in infos if str(path) in failures}
    lost = {n: path for n, path in lost.items() if plan.present.get(n) is infos[path]}
    if len(plan.missing) + len(lost) <= plan.template.spares:
        plan = dataclasses.replace(plan, missing=sorted([*plan.missing, *lost]))
    else:
        lost = {}
    sources: dict[int, PayloadSource] = {}
    copy_from: VolumeInfo | None = None
    try:
        for path, read_from in usable.items():
            info = infos.get(path)
            if info is None or plan.present.get(info.header.number) is not info:
                continue
            # The repaired copy when there is one: its bytes are the original's.
            copy_from = read_volume_info(read_from)
            sources[info.header.number] = PlainSource(copy_from)
        if any(n in lost for n in plan.missing):
            _check_free(plan, list(lost), outdir, force=force)
        paths = rebuild_missing(
            plan, sources, outdir, force=force, copy_from=copy_from, phases=phases
        )
    except MediaError as exc:
        failures[plan.describe_missing()] = f"not rebuilt: {exc}"
        return []
    finally:
        for source in sources.values():
            source.close()
    # A given file beyond its own repair whose volume was rebuilt from the
    # others (identified by its header, or by its name when even that is lost)
    # is no longer a failure: its good copy is in the directory.
    names = {path.name for path in paths}
    for what in [w for w in failures if Path(w).name in names]:
        del failures[what]
    return [
        {"volume": n, "label": plan.header(n).label(), "output": str(path)}
        for n, path in zip(plan.missing, paths, strict=True)
    ]
