"""A hostile or decayed disc against the keyless commands: ``verify`` writes nothing,
ever, and no size a recovery descriptor announces is acted on unchecked."""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
from pathlib import Path

import pytest

from media_support import cli, one_image
from securemedia.errors import MediaError
from securemedia.media.sectors import (
    COPIES,
    ENTRIES,
    KIND_DATA,
    SECTOR,
    build_crc_sector,
    build_descriptor,
    check_file_bounds,
    crc32c,
    layout_for,
)
from securemedia.media.sizes import LARGEST_MEDIUM
from securemedia.media.volume_set import read_volume_info


def _no_file_writes() -> None:
    # Any write to any file kills the child (SIGXFSZ): "writes nothing, anywhere".
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def cli_read_only(tmpdir: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """``securemedia ARGS`` in a child that may not write a single byte to any file."""
    return cli(
        *args,
        extra_env={"PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": str(tmpdir)},
        preexec_fn=_no_file_writes,
    )


def forged_file(path: Path, k: int = 1, p: int = 255) -> None:
    """64 KiB of data with valid sector checksums, then one self-checking descriptor
    that promises ``p`` parity rows per ``k`` data rows (256 times the file on main)."""
    data = os.urandom(32 * SECTOR)
    sectors = [data[i : i + SECTOR] for i in range(0, len(data), SECTOR)]
    crc = build_crc_sector(KIND_DATA, 0, [crc32c(s) for s in sectors])
    legit = layout_for(len(data), 1, 4, COPIES)  # the geometry our builder accepts
    n_msg = legit.n_msg
    columns = -(-n_msg // k)
    n_pc = max(1, -(-(p * columns) // ENTRIES))
    total = n_msg + COPIES * (1 + n_pc) + p * (1 + columns) + 1
    forged = legit.__class__(
        **{**legit.__dict__, "k": k, "p": p, "columns": columns, "total_sectors": total}
    )
    path.write_bytes(data + crc + build_descriptor(forged, n_msg))


def test_forged_descriptor_verify_writes_nothing_and_refuses(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    forged = src / "forged.iso"
    forged_file(forged)
    before = sorted(os.listdir(src))
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    result = cli_read_only(tmpdir, "verify", forged)
    assert result.returncode == 4, result.stderr
    assert "forged recovery descriptor" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert os.listdir(tmpdir) == []
    assert sorted(os.listdir(src)) == before
    assert forged.stat().st_size == 34 * SECTOR


def test_forged_descriptor_repair_refuses(tmp_path: Path) -> None:
    forged = tmp_path / "forged.iso"
    forged_file(forged)
    out = tmp_path / "fixed"
    result = cli("repair", forged, "-o", out)
    assert result.returncode == 4, result.stderr
    assert "forged recovery descriptor" in result.stderr
    assert os.listdir(out) == []  # no repaired file, no temporary left behind


def test_header_damage_is_repaired_in_memory(tmp_path: Path) -> None:
    """The volume header hit: verify still names the volume, and writes nothing."""
    image = one_image(tmp_path)
    header_sector = read_volume_info(image).offset // SECTOR
    with image.open("r+b") as fp:
        fp.seek(header_sector * SECTOR)
        fp.write(bytes(SECTOR))
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    result = cli_read_only(tmpdir, "verify", "--json", image)
    assert result.returncode == 4, result.stderr
    doc = json.loads(result.stdout)
    assert doc["volumes"][0]["volume"] == 1
    assert doc["volumes"][0]["repairable"] is True
    assert os.listdir(tmpdir) == []


def test_announced_sizes_are_bounded() -> None:
    lay = layout_for(LARGEST_MEDIUM, 222, 34, COPIES)
    with pytest.raises(MediaError, match="largest disc"):
        check_file_bounds(lay, lay.total_size, "x")
    small = layout_for(10 * 2**20, 222, 34, COPIES)
    check_file_bounds(small, small.total_size, "x")  # intact
    check_file_bounds(small, small.n_msg * SECTOR + SECTOR, "x")  # parity lost: rebuildable
    with pytest.raises(MediaError, match="more is missing"):
        check_file_bounds(small, small.n_data * SECTOR // 2, "x")


@pytest.mark.parametrize(("k", "p"), [(1, 255), (10, 11), (100, 101)])
def test_parity_beyond_data_is_not_a_layout(k: int, p: int) -> None:
    with pytest.raises(MediaError, match="invalid recovery parameters"):
        layout_for(1_000_000, k, p, COPIES)


def test_a_healed_view_reads_the_original_in_memory(tmp_path: Path) -> None:
    import io

    from securemedia.media.healing import HealedFile, HealedView
    from securemedia.media.recovery import protect_file

    original = os.urandom(300 * SECTOR + 123)
    path = tmp_path / "data.bin"
    path.write_bytes(original)
    protect_file(path)
    rng = random.Random(7)
    hit = rng.sample(range(300), 12)
    with path.open("r+b") as fp:
        for s in hit:
            fp.seek(s * SECTOR)
            fp.write(bytes(SECTOR))
    before = path.read_bytes()
    healed = HealedFile(path)
    with io.BufferedReader(HealedView(healed)) as view:
        assert view.read() == original
        view.seek(hit[0] * SECTOR + 5)
        assert view.read(100) == original[hit[0] * SECTOR + 5 :][:100]
    healed.close()
    assert healed.rebuilt == len(hit)
    assert path.read_bytes() == before  # nothing written, not even to the damaged file
