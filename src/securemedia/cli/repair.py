"""``securemedia repair``: rebuild damaged volume files or disc images from their recovery data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..atomic import atomic_output
from ..errors import DestinationExistsError, MediaError, OperationalError, UsageError
from ..media import recovery


@click.command("repair")
@click.argument("damaged", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "outdir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory for the repaired files (same file names).",
)
@click.option("--force", is_flag=True, help="Replace repaired files already in the directory.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def repair(damaged: tuple[Path, ...], outdir: Path, force: bool, as_json: bool) -> None:
    """Rebuild DAMAGED... byte for byte into a directory.

    Read each disc into a file first, with unreadable sectors as zeros (for
    example ``ddrescue -b 2048``); damage to the image's own file system is
    repaired too. A file that cannot be rebuilt leaves nothing in the directory.
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
            raise DestinationExistsError(f"{target} already exists (use --force)")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OperationalError(f"cannot create {outdir}: {exc.strerror or exc}") from exc
    results: list[dict[str, Any]] = []
    failures: list[str] = []
    for path, target in zip(damaged, targets, strict=True):
        # The atomic-output primitive: a temporary created exclusively beside the
        # target, renamed over it only once complete and verified; on failure it
        # is removed, so the final name only ever holds a good file.
        try:
            with atomic_output(target, force=force) as out:
                report = recovery.repair_into(path, out, target)
        except MediaError as exc:
            failures.append(f"{path}: {exc}")
            results.append({"path": str(path), "ok": False, "output": None, "error": str(exc)})
            continue
        entry: dict[str, Any] = {"path": str(path), "ok": True, "output": str(target)}
        entry["report"] = report.to_json()
        results.append(entry)
    if as_json:
        click.echo(json.dumps({"ok": not failures, "files": results}, indent=2))
    else:
        for entry in results:
            if entry["ok"]:
                click.echo(f"{entry['path']}: repaired -> {entry['output']}")
            else:
                click.echo(f"{entry['path']}: NOT repaired: {entry['error']}")
    if failures:
        raise MediaError("; ".join(failures))
