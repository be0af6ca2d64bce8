"""Shared by the media tests: the small test medium and a CLI runner that
returns text, as the media commands print it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from securemedia.media.plan import volume_capacity
from securemedia.media.sizes import parse_medium
from securemedia.media.volumes import VolumeSetWriter

SRC = Path(__file__).resolve().parent.parent / "src"
MEDIUM = parse_medium("2MB")


def cli(
    *args: str | Path,
    extra_env: Mapping[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``securemedia ARGS`` from this checkout, no standard input;
    ``extra_env`` added to the environment, ``preexec_fn`` run in the child."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        **(extra_env or {}),
    }
    return subprocess.run(
        [sys.executable, "-c", "from securemedia.cli.main import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
        preexec_fn=preexec_fn,
    )


def one_image(tmp_path: Path, size: int = 300_000) -> Path:
    """A one-disc ``--iso`` set of ``size`` random bytes on the test medium, with
    15 % recovery data: the image's path."""
    base = tmp_path / "ship.sm"
    capacity = volume_capacity(MEDIUM, iso=True, redundancy=0.15, base_name=base.name)
    with VolumeSetWriter(
        base, capacity, iso=True, redundancy=0.15, disc_capacity=MEDIUM.capacity
    ) as writer:
        writer.write(os.urandom(size))
    return writer.paths[0]


def copy_contents(source: Path, target: Path) -> Path:
    """Copy every file and folder of ``source`` into ``target`` (a fresh copy of a
    shipment made once per module, for a test to damage); returns ``target``."""
    for item in source.iterdir():
        copy = shutil.copytree if item.is_dir() else shutil.copy
        copy(item, target / item.name)
    return target


def zero_bytes(path: Path, start: int, length: int) -> None:
    """Damage ``path`` as a scratch does: ``length`` zero bytes from ``start``."""
    with path.open("r+b") as handle:
        handle.seek(start)
        handle.write(bytes(length))
