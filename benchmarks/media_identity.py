"""Do the disc files of ``pack --media`` come out byte for byte as at another revision?

Writes the same sets through ``VolumeSetWriter`` (fixed set id, payload and
clock) with this checkout's ``src/`` and with ``src/`` as committed at
``--rev``, and compares the SHA-256 of every file: one and several volumes,
images and volume files, salvage copies, spares, no recovery data, a 150 MB
volume (past the 64 Ki-sector flush of the write-time checksums). Both sides
use this checkout's docs/ as FORMAT.TXT and MEDIA.TXT, so only the code is
compared. Issue 13: building the image around the volume and taking the
checksums as it is written must not change a byte. Exits 1 on any difference.

    python benchmarks/media_identity.py --rev d17d405
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent

_WRITE = r"""
import hashlib, os, random, sys, tempfile, time
from pathlib import Path
from unittest import mock
from securemedia.media.volumes import VolumeSetWriter
SET_ID = bytes.fromhex("5ec0e0a5e7c0ffee0123456789abcdef")
big = random.Random(9).randbytes(int(sys.argv[2]))
cases = [
    ("one-iso", "ship.sm", 64 << 20, big[: len(big) // 4], dict(iso=True), False),
    ("three-iso-salvage", "ship.sm", len(big) // 3 + (4 << 20), big, dict(iso=True), True),
    ("name-before-readme", "a.sm", len(big) // 2, big[:-7], dict(iso=True, notice="Ada"), True),
    ("iso-spares", "ship.sm", len(big) // 5, big[: len(big) // 2], dict(iso=True, spares=1), True),
    ("volume-files", "ship.sm", len(big) // 3, big, dict(iso=False), True),
    ("one-big-iso", "ship.sm", len(big) + (8 << 20), big, dict(iso=True), True),
    ("no-recovery", "ship.sm", len(big) // 2, big, dict(iso=True, redundancy=None), True),
]
os.environ["TZ"] = "UTC"
time.tzset()
clock = mock.patch("time.time", return_value=1.7e9)  # pycdlib's dates, fixed
with tempfile.TemporaryDirectory(dir=sys.argv[1]) as tmp, clock:
    for label, base, capacity, payload, options, salvage in cases:
        where = Path(tmp) / label
        where.mkdir()
        writer = VolumeSetWriter(where / base, capacity, **options)
        writer.set_id = SET_ID
        with writer:
            if salvage:
                assert writer.reserve_salvage(64 * 2048)
                writer.salvage_layout(100, len(payload) - 50_000)
            writer.write(payload)
        for path in writer.paths:
            digest = hashlib.sha256()
            with path.open("rb") as f:
                while block := f.read(1 << 22):
                    digest.update(block)
            print(label, path.name, path.stat().st_size, digest.hexdigest())
            path.unlink()
"""


def digests(src: Path, work: Path, size: int) -> list[str]:
    """The lines ``label name size sha256`` written by ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    run = subprocess.run(
        [sys.executable, "-c", _WRITE, str(work), str(size)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout.splitlines()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rev", required=True, help="the revision to compare with")
    p.add_argument("--bytes", type=int, default=150_000_000, help="payload of the largest set")
    args = p.parse_args()
    repo = ROOT.parent
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        old = work / "old"
        old.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", args.rev, "src"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        shutil.copytree(repo / "docs", old / "docs")  # same specifications on both sides
        before = digests(old / "src", work, args.bytes)
        after = digests(repo / "src", work, args.bytes)
    for a, b in zip(before, after, strict=True):
        verdict = "same" if a == b else "DIFFERENT"
        label, name, size, digest = b.split()
        print(f"{verdict:9s} {label:20s} {name:18s} {int(size):>12,} {digest[:16]}")
    same = before == after
    print(f"{len(after)} files: {'byte-identical' if same else 'DIFFERENT'} to {args.rev}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
