"""Spare discs, salvage copies and repair together, on one real set of volume files.

The set carries a salvage copy on every volume, data and spare: a lost disc is
rebuilt byte for byte (its copy block included), and when more discs are lost
than there are spares, salvage still restores every member that survives.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from media_support import cli
from securemedia.media.volume_set import read_volume_info

FILES = 8
FILE_SIZE = 3_000_000


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """8 incompressible files of 3 MB on 12 MB volume files, one spare, no recovery data."""
    root = tmp_path_factory.mktemp("combined")
    data = root / "dataset"
    data.mkdir()
    for i in range(FILES):
        (data / f"part{i}.bin").write_bytes(os.urandom(FILE_SIZE))
    key = root / "key"
    assert cli("keygen", "--no-passphrase", "--classic", "-o", key).returncode == 0
    out = root / "discs"
    out.mkdir()
    done = cli(
        "pack", data, "-r", f"{key}.pub", "-o", out / "s.sm", "--media", "12MB",
        "--redundancy", "0", "--spare-discs", "1", "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return {"root": root, "data": data, "key": key, "out": out}


def volumes(packed: dict[str, Path]) -> list[Path]:
    return sorted(packed["out"].glob("s.sm.0*"))


def test_every_volume_carries_the_same_salvage_copy(packed: dict[str, Path]) -> None:
    files = volumes(packed)
    headers = [read_volume_info(p).header for p in files]
    assert headers[-1].is_spare and not any(h.is_spare for h in headers[:-1])
    assert len(headers) >= 4
    assert all(h.has_copy for h in headers)
    blocks = {
        p.read_bytes()[h.copy_offset : h.copy_offset + h.copy_length]
        for p, h in zip(files, headers, strict=True)
    }
    assert len(blocks) == 1


def test_lost_first_disc_is_rebuilt_with_its_copy(packed: dict[str, Path], tmp_path: Path) -> None:
    files = volumes(packed)
    rebuilt = tmp_path / "rebuilt"
    rebuilt.mkdir()
    done = cli("repair", *files[1:], "-o", rebuilt)
    assert done.returncode == 0, done.stderr
    assert (rebuilt / files[0].name).read_bytes() == files[0].read_bytes()


def test_more_lost_than_spares_salvages_what_survives(
    packed: dict[str, Path], tmp_path: Path
) -> None:
    files = volumes(packed)
    given = [files[1], *files[3:]]  # volumes 1 and 3 lost, one spare
    dest = tmp_path / "dest"
    refused = cli("unpack", "-i", packed["key"], *given, "-o", dest)
    assert refused.returncode == 4
    assert not dest.exists()
    done = cli("unpack", "--salvage", "-i", packed["key"], *given, "-o", dest)
    assert done.returncode == 4, done.stderr
    lost = {line.split("lost: ", 1)[1] for line in done.stderr.splitlines() if "lost: " in line}
    restored = {p.name for p in (dest / "dataset").iterdir()}
    names = {f"part{i}.bin" for i in range(FILES)}
    assert restored and lost
    assert restored | {Path(name).name for name in lost} == names
    assert not restored & {Path(name).name for name in lost}
    for name in restored:
        assert (dest / "dataset" / name).read_bytes() == (packed["data"] / name).read_bytes()
