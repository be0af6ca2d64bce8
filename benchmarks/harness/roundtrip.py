"""Inputs and the untimed round trip that proves a tool works before timing it."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import registry
from harness.proc import CommandFailed, Measurement, remove, run_checked
from harness.tools import Op, Pair


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def registry_file(work: Path, rows: int, seed: int) -> Path:
    """The registry of ``rows`` rows, generated once and reused (it is deterministic)."""
    path = work / f"registry-{rows}-{seed}.csv"
    if not path.exists():
        log(f"generating {path} ...")
        tmp = path.with_suffix(".tmp")
        registry.write_registry(tmp, rows, seed)
        tmp.rename(path)  # a killed run leaves no half file under the real name
    return path


def concatenated(src: Path, copies: int) -> Path:
    """``src`` repeated ``copies`` times (made once, reused like the registry)."""
    dst = src.with_name(f"{src.stem}-x{copies}.csv")
    if not dst.exists():
        log(f"writing {dst} ...")
        tmp = dst.with_suffix(".tmp")
        with tmp.open("wb") as out:
            for _ in range(copies):
                with src.open("rb") as f:
                    shutil.copyfileobj(f, out, 1 << 22)
        tmp.rename(dst)
    return dst


def digest(path: Path) -> str:
    """BLAKE2b of a file, or of the single file an unpack wrote into a directory."""
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file()]
        if len(files) != 1:
            raise CommandFailed(f"{path} holds {len(files)} files, expected 1")
        path = files[0]
    h = hashlib.blake2b()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def run_op(op: Op) -> Measurement:
    remove(op.output)
    if op.workdir is not None:
        op.workdir.mkdir(parents=True)
    return run_checked(op.argv, stdin=op.stdin, stdout=op.stdout, env=op.env)


def round_trip(pair: Pair, input_digest: str) -> tuple[Measurement, Measurement | None]:
    """Pack once into the archive, unpack it and check the bytes came back.

    In compare.py this is the untimed warm-up (it also loads the input into the
    page cache, so round 1 is not the only one reading from disk); memory.py
    uses its measurements directly.
    """
    packed = run_op(pair.pack)
    remove(pair.archive)
    pair.pack.output.rename(pair.archive)
    if pair.unpack is None:
        return packed, None
    unpacked = run_op(pair.unpack)
    if digest(pair.unpack.output) != input_digest:
        raise CommandFailed(f"{pair.unpack.name}: output differs from the input")
    remove(pair.unpack.output)
    return packed, unpacked
