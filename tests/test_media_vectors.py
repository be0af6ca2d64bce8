"""Repair vectors (tests/vectors/media/): damaged protected files made by the real
writer, each repaired by the library and by ``securemedia repair`` and compared
byte for byte with the expected repaired file (or the expected refusal).
See tests/vectors/README.md for the format and generate_media.py for how they are made."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from media_support import SRC, cli
from securemedia.errors import MediaError
from securemedia.media.recovery import SECTOR, repair_file, verify_file

VECTORS = Path(__file__).parent / "vectors"
MEDIA = VECTORS / "media"
EXPECTS = {"intact", "repaired", "unrepairable", "refused"}
KEYS = {"expect", "file", "repaired", "sha256", "layout", "damaged-sectors", "error", "comment"}


@dataclass
class MediaVector:
    name: str
    fields: dict[str, str]
    body: bytes

    @property
    def expect(self) -> str:
        return self.fields["expect"]


def load(path: Path) -> MediaVector:
    head, sep, body = gzip.decompress(path.read_bytes()).partition(b"\n\n")
    assert sep, f"{path.name}: no blank line after the header"
    lines = head.decode("utf-8").splitlines()
    pairs = [line.split(": ", 1) for line in lines]
    fields = dict(pairs)
    assert len(fields) == len(pairs), f"{path.name}: a key given twice"
    assert set(fields) <= KEYS, path.name
    assert lines[0].startswith("expect: ") and lines[-1].startswith("comment: "), path.name
    return MediaVector(path.name.removesuffix(".gz"), fields, body)


ALL = sorted(MEDIA.glob("*.gz"))
BY_NAME = {v.name: v for v in map(load, ALL)}


def sectors_of(spec: str) -> list[int]:
    """``0,9,21-23`` to the sector numbers."""
    if spec == "none":
        return []
    out: list[int] = []
    for part in spec.split(","):
        first, _, last = part.partition("-")
        out.extend(range(int(first), int(last or first) + 1))
    return out


def ranges_to_sectors(ranges: list[tuple[int, int]]) -> list[int]:
    return [s for start, end in ranges for s in range(start // SECTOR, end // SECTOR)]


def test_the_set_is_complete_and_small() -> None:
    expects = {v.expect for v in BY_NAME.values()}
    assert expects == EXPECTS
    assert {v.fields["file"] for v in BY_NAME.values()} >= {"ship.sm.001.smv", "ship.sm.001.iso"}
    assert sum(p.stat().st_size for p in ALL) < 2_000_000


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_vector_through_the_library(path: Path, tmp_path: Path) -> None:
    v = load(path)
    assert v.expect in EXPECTS
    damaged = tmp_path / v.fields["file"]
    damaged.write_bytes(v.body)
    out = tmp_path / "out" / v.fields["file"]
    out.parent.mkdir()
    if v.expect == "refused":
        with pytest.raises(MediaError, match=v.fields["error"]):
            verify_file(damaged)
        with pytest.raises(MediaError, match=v.fields["error"]):
            repair_file(damaged, out)
        assert not any(out.parent.iterdir())
        return
    report = verify_file(damaged)
    assert ranges_to_sectors(report.damaged_ranges) == sectors_of(v.fields["damaged-sectors"])
    assert report.ok == (v.expect == "intact")
    assert report.repairable == (v.expect != "unrepairable")
    if v.expect == "unrepairable":
        with pytest.raises(MediaError, match=v.fields["error"]):
            repair_file(damaged, out)
        assert not any(out.parent.iterdir())
        return
    repair_file(damaged, out)
    repaired = out.read_bytes()
    assert hashlib.sha256(repaired).hexdigest() == v.fields["sha256"]
    source = BY_NAME[v.fields.get("repaired", v.name)]
    assert repaired == source.body
    assert source.expect == "intact"


@pytest.mark.parametrize(
    "name",
    ["image_scratch_over_file_system", "volume_tail_cut", "interleaved_scratch_one_more",
     "image_descriptor_forged"],
)  # fmt: skip
def test_vector_through_the_cli(name: str, tmp_path: Path) -> None:
    v = BY_NAME[name]
    damaged = tmp_path / v.fields["file"]
    damaged.write_bytes(v.body)
    result = cli("repair", damaged, "-o", tmp_path / "out")
    out = tmp_path / "out" / v.fields["file"]
    if v.expect == "repaired":
        assert result.returncode == 0, result.stderr
        assert out.read_bytes() == BY_NAME[v.fields["repaired"]].body
    else:
        assert result.returncode == 4
        assert v.fields["error"] in result.stdout + result.stderr
        assert not out.exists()


def test_regeneration_changes_nothing(tmp_path: Path) -> None:
    """Damaged vectors derive from the committed sources byte for byte, and a fresh
    volume-file source from the real writer equals the committed one. (A fresh
    image carries docs/*.md, so it changes whenever the documents do.)"""
    script = VECTORS / "generate_media.py"
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    for args, out in (([], tmp_path / "derived"), (["--fresh"], tmp_path / "fresh")):
        subprocess.run(
            [sys.executable, str(script), "--out", str(out), *args],
            check=True,
            capture_output=True,
            timeout=300,
            env=env,
        )
    for path in ALL:
        assert (tmp_path / "derived" / path.name).read_bytes() == path.read_bytes(), path.name
    for name in ("intact_volume", "intact_interleaved", "volume_tail_cut"):
        fresh = load(tmp_path / "fresh" / f"{name}.gz")
        assert fresh.body == BY_NAME[name].body, name
