"""Spare discs: pack --spare-discs writes cross-volume parity; repair -o rebuilds lost discs.

Real sets: a 4+1 set of ISO images packed by the CLI (rebuilt images read by
xorriso), and a 4+2 set of volume files with every pair of volumes lost.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import subprocess
from pathlib import Path

import pytest
import zfec

from media_support import MEDIUM, cli
from securemedia.errors import MediaError, OperationalError, UsageError
from securemedia.media import recovery
from securemedia.media.header import FLAG_SALVAGE_COPY, HEADER_SIZE, SECTOR
from securemedia.media.plan import volume_capacity
from securemedia.media.rebuild import plan_rebuild, rebuild_missing
from securemedia.media.sources import PayloadSource, PlainSource
from securemedia.media.spare_files import check_spare_files
from securemedia.media.spares import decode_stripe, encode_stripe
from securemedia.media.volume_set import read_volume_info
from securemedia.media.volumes import VolumeSetWriter

NOTICE = "Data Desk, return@example.org"


def per_volume(*, iso: bool, redundancy: float | None) -> int:
    """Archive bytes one volume holds on the test medium (from the planner, not a guess)."""
    return volume_capacity(MEDIUM, iso=iso, redundancy=redundancy, base_name="ship.sm") - (
        HEADER_SIZE
    )


def xorriso_extract(image: Path, name: str, dest: Path) -> bytes:
    subprocess.run(
        ["xorriso", "-osirrox", "on", "-indev", str(image), "-extract", f"/{name}", str(dest)],
        capture_output=True,
        check=True,
    )
    return dest.read_bytes()


@pytest.fixture(scope="module")
def iso_set(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """4 data images + 1 spare, packed once through the CLI with a notice."""
    root = tmp_path_factory.mktemp("spares41")
    data = root / "dataset"
    data.mkdir()
    # 3.5 volumes of incompressible content: exactly 4 data volumes.
    (data / "a.bin").write_bytes(os.urandom(int(per_volume(iso=True, redundancy=0.15) * 3.5)))
    key = root / "key"
    assert cli("keygen", "--no-passphrase", "--classic", "-o", key).returncode == 0
    out = root / "discs"
    out.mkdir()
    packed = cli(
        "pack", data, "-r", f"{key}.pub", "-o", out / "ship.sm", "--media", "2MB", "--iso",
        "--spare-discs", "1", "--notice-text", NOTICE, "--no-compress", "--json", "-q",
    )  # fmt: skip
    assert packed.returncode == 0, packed.stderr
    (root / "pack.json").write_text(packed.stdout)
    return {"root": root, "data": data, "key": key, "out": out}


def discs(shipment: dict[str, Path]) -> list[Path]:
    return sorted(shipment["out"].glob("ship.sm.*.iso"))


def test_pack_names_the_spare_disc(iso_set: dict[str, Path]) -> None:
    report = json.loads((iso_set["root"] / "pack.json").read_text())
    assert report["spare_discs"] == 1
    assert [(Path(v["path"]).name, v["spare"]) for v in report["volumes"]] == [
        (f"ship.sm.00{n}.iso", n == 5) for n in range(1, 6)
    ]
    assert report["verified"]
    headers = [read_volume_info(p).header for p in discs(iso_set)]
    assert [h.label() for h in headers][-1] == "spare volume 1 of 1"
    assert {(h.count, h.spares, h.stripe_length) for h in headers} == {
        (4, 1, per_volume(iso=True, redundancy=0.15))
    }
    # A spare disc is the size of a full data disc, and fits the medium.
    sizes = [p.stat().st_size for p in discs(iso_set)]
    assert sizes[4] == sizes[0] and max(sizes) <= MEDIUM.capacity


def test_spare_is_zfec_parity_of_the_padded_payloads(iso_set: dict[str, Path]) -> None:
    """The spec: spare j is zfec block n+j-1 over the whole zero-padded payloads."""
    infos = [read_volume_info(p) for p in discs(iso_set)]
    stripe = infos[0].header.stripe_length
    payloads = []
    for info in infos:
        with info.path.open("rb") as fp:
            fp.seek(info.offset + HEADER_SIZE)
            payloads.append(fp.read(info.header.payload_length).ljust(stripe, b"\0"))
    (whole,) = zfec.Encoder(4, 5).encode(tuple(payloads[:4]), (4,))
    assert bytes(whole) == payloads[4]


@pytest.mark.parametrize("lost", [1, 2, 3, 4, 5])
def test_repair_rebuilds_each_lost_image(
    iso_set: dict[str, Path], lost: int, tmp_path: Path
) -> None:
    survivors = [p for p in discs(iso_set) if not p.name.startswith(f"ship.sm.00{lost}")]
    out = tmp_path / "out"
    result = cli("repair", *survivors, "-o", out, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    name = f"ship.sm.00{lost}"
    assert [Path(r["output"]).name for r in report["rebuilt"]] == [f"{name}.iso"]
    rebuilt = out / f"{name}.iso"
    original = iso_set["out"] / f"{name}.iso"
    # Every date on a disc is fixed, so the rebuilt disc is the lost one, byte
    # for byte, recovery data included; and so is the volume file inside.
    assert rebuilt.read_bytes() == original.read_bytes()
    assert xorriso_extract(rebuilt, f"{name}.smv", tmp_path / "new") == xorriso_extract(
        original, f"{name}.smv", tmp_path / "old"
    )
    readme = xorriso_extract(rebuilt, "README.TXT", tmp_path / "readme").decode()
    assert NOTICE in readme
    assert recovery.verify_file(rebuilt).ok  # its recovery data is there and consistent
    assert rebuilt.stat().st_size == original.stat().st_size
    if lost <= 4:  # and the rebuilt disc unpacks with the others
        dest = tmp_path / "unpacked"
        data_discs = [out / f"ship.sm.00{n}.iso" for n in range(1, 5)]
        unpacked = cli("unpack", "-i", iso_set["key"], *data_discs, "-o", dest, "-q")
        assert unpacked.returncode == 0, unpacked.stderr
        assert (dest / "dataset" / "a.bin").read_bytes() == (iso_set["data"] / "a.bin").read_bytes()


def test_too_many_lost_is_one_line_and_writes_nothing(
    iso_set: dict[str, Path], tmp_path: Path
) -> None:
    survivors = discs(iso_set)[1:4]  # 1 and 5 lost, one spare
    out = tmp_path / "out"
    result = cli("repair", *survivors, "-o", out)
    assert result.returncode == 4
    assert result.stderr.strip().count("\n") == 0
    assert "volumes 1, 5 of 4+1 are missing" in result.stderr
    assert "1 spare" in result.stderr
    assert not out.exists()


@pytest.fixture(scope="module")
def file_set(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """4 data volume files + 2 spares with 15 % recovery data, the last data volume short."""
    root = tmp_path_factory.mktemp("spares42")
    room = per_volume(iso=False, redundancy=0.15)
    capacity = room + HEADER_SIZE
    with VolumeSetWriter(root / "ship.sm", capacity, redundancy=0.15, spares=2) as writer:
        writer.write(os.urandom(3 * room + 12_345))
    assert len(writer.paths) == 6 and writer.count == 4
    return writer.paths


def _sources(paths: list[Path]) -> dict[int, PayloadSource]:
    infos = [read_volume_info(p) for p in paths]
    return {i.header.number: PlainSource(i) for i in infos}


@pytest.mark.parametrize("lost", list(itertools.combinations(range(1, 7), 2)))
def test_every_pair_of_a_4_plus_2_set_is_rebuilt(
    file_set: list[Path], lost: tuple[int, int], tmp_path: Path
) -> None:
    survivors = [p for n, p in enumerate(file_set, 1) if n not in lost]
    plan = plan_rebuild([read_volume_info(p) for p in survivors])
    assert plan is not None and plan.missing == list(lost)
    assert plan.redundancy == 0.15 and not plan.iso and plan.base_name == "ship.sm"
    sources = _sources(survivors)
    try:
        paths = rebuild_missing(plan, sources, tmp_path)
    finally:
        for source in sources.values():
            source.close()
    assert [p.name for p in paths] == [file_set[n - 1].name for n in lost]
    for n, path in zip(lost, paths, strict=True):
        assert path.read_bytes() == file_set[n - 1].read_bytes()  # recovery region too


def test_repair_cli_rebuilds_a_pair_and_a_disc_beyond_its_own_repair(
    file_set: list[Path], tmp_path: Path
) -> None:
    """Volume 2 lost, volume 3 damaged beyond its recovery data: both come back."""
    broken = tmp_path / "in" / file_set[2].name
    broken.parent.mkdir()
    raw = bytearray(file_set[2].read_bytes())
    raw[: len(raw) // 2] = bytes(len(raw) // 2)  # half the disc unreadable
    broken.write_bytes(raw)
    given = [file_set[0], broken, file_set[3], file_set[4], file_set[5]]
    out = tmp_path / "out"
    result = cli("repair", *given, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "volume 2 of 4: rebuilt" in result.stdout
    assert "volume 3 of 4: rebuilt" in result.stdout
    for n in range(1, 7):
        assert (out / file_set[n - 1].name).read_bytes() == file_set[n - 1].read_bytes()


def test_existing_output_is_refused_before_anything_is_written(
    file_set: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "ship.sm.002.smv").write_bytes(b"mine")
    result = cli("repair", file_set[0], *file_set[2:], "-o", out)
    assert result.returncode != 0
    assert "ship.sm.002.smv already exists" in result.stderr
    assert sorted(os.listdir(out)) == ["ship.sm.002.smv"]


def test_unprotected_mirror_set(tmp_path: Path) -> None:
    """One data volume and one spare, no recovery data: the spare is a mirror."""
    data = os.urandom(50_000)
    with VolumeSetWriter(tmp_path / "m.sm", 1_000_000, redundancy=None, spares=1) as writer:
        writer.write(data)
    first, spare = writer.paths
    assert spare.read_bytes()[HEADER_SIZE:] == data == first.read_bytes()[HEADER_SIZE:]
    out = tmp_path / "out"
    result = cli("repair", spare, "-o", out)
    assert result.returncode == 0, result.stderr
    assert "no recovery data, used as it is" in result.stdout
    assert (out / "m.sm.001.smv").read_bytes() == first.read_bytes()


def test_stripe_codec_any_n_of_n_plus_m() -> None:
    columns = [os.urandom(3000) for _ in range(3)]
    parity = encode_stripe(columns, 3)
    everything = columns + parity
    for kept in itertools.combinations(range(6), 3):
        assert decode_stripe(3, 3, {i: everything[i] for i in kept}) == columns
    with pytest.raises(MediaError, match="missing"):
        decode_stripe(3, 3, {0: columns[0], 4: parity[1]})


def test_spare_limits(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        VolumeSetWriter(tmp_path / "x.sm", 100_000, spares=256)
    # 255 spares leave room for one data volume only (256 volumes with spares).
    writer = VolumeSetWriter(tmp_path / "y.sm", 100_000, redundancy=None, spares=255)
    with pytest.raises(UsageError, match="more than 1 volumes"), writer:
        writer.write(bytes(200_000))
    assert not list(tmp_path.iterdir())


def test_usage_and_plan(tmp_path: Path) -> None:
    data = tmp_path / "d.bin"
    data.write_bytes(os.urandom(int(per_volume(iso=False, redundancy=0.15) * 2.5)))
    nomedia = cli("pack", data, "-p", "-o", tmp_path / "x.sm", "--spare-discs", "1")
    assert nomedia.returncode == 2 and "--spare-discs needs --media" in nomedia.stderr
    toomany = cli(
        "pack", data, "-p", "-o", tmp_path / "x.sm", "--media", "2MB", "--spare-discs", "256"
    )
    assert toomany.returncode == 2
    assert not list(tmp_path.glob("x.sm*"))
    planned = cli("plan", data, "--media", "2MB", "--no-compress", "--spare-discs", "2", "--json")
    assert planned.returncode == 0, planned.stderr
    document = json.loads(planned.stdout)
    assert document["spare_discs"] == 2
    assert [d["spare"] for d in document["discs"]] == [False] * 3 + [True] * 2
    assert document["discs"][3]["disc_bytes"] == document["discs"][0]["disc_bytes"]
    text = cli("plan", data, "--media", "2MB", "--no-compress", "--spare-discs", "2")
    assert "5: 3 data + 2 spare" in text.stdout
    assert "spare disc 5:" in text.stdout


def test_a_spare_that_does_not_read_back_as_written_is_refused(tmp_path: Path) -> None:
    with VolumeSetWriter(tmp_path / "c.sm", 100_000, redundancy=None, spares=1) as writer:
        writer.write(os.urandom(150_000))
    spare = writer.paths[-1]
    raw = bytearray(spare.read_bytes())
    digest = hashlib.blake2b(bytes(raw[HEADER_SIZE:]), digest_size=32).digest()
    check_spare_files([spare], [digest])  # as written: accepted
    raw[-1] ^= 1
    spare.write_bytes(raw)
    with pytest.raises(OperationalError, match="spare volume 1 of 1"):
        check_spare_files([spare], [digest])


@pytest.mark.parametrize("lost", [2, 4])
def test_salvage_copy_block_is_taken_from_a_survivor(tmp_path: Path, lost: int) -> None:
    """A set whose volumes carry a salvage copy (opaque here): the rebuilt volume has it too."""
    with VolumeSetWriter(tmp_path / "s.sm", 60_000, redundancy=None, spares=1) as writer:
        writer.write(os.urandom(130_000))  # 3 data volumes, the last short
    block = os.urandom(3 * SECTOR)  # the same block in every volume, as the design says
    for path in writer.paths:
        raw = path.read_bytes()
        header = read_volume_info(path).header
        header = dataclasses.replace(
            header, flags=header.flags | FLAG_SALVAGE_COPY, copy_length=len(block)
        )
        padded = raw[HEADER_SIZE:].ljust(header.copy_offset - HEADER_SIZE, b"\0")
        path.write_bytes(header.pack() + padded + block)
    survivors = [p for n, p in enumerate(writer.paths, 1) if n != lost]
    plan = plan_rebuild([read_volume_info(p) for p in survivors])
    assert plan is not None and plan.missing == [lost]
    sources = _sources(survivors)
    (tmp_path / "out").mkdir()
    try:
        (rebuilt,) = rebuild_missing(plan, sources, tmp_path / "out")
    finally:
        for source in sources.values():
            source.close()
    assert rebuilt.read_bytes() == writer.paths[lost - 1].read_bytes()


def test_survivors_that_disagree_make_no_disc(file_set: list[Path], tmp_path: Path) -> None:
    """One lost of 4+2, a survivor silently altered: the extra survivor catches it."""
    altered = tmp_path / file_set[2].name
    raw = bytearray(file_set[2].read_bytes())
    raw[HEADER_SIZE + 500_000] ^= 0x40
    altered.write_bytes(raw)
    survivors = [file_set[1], altered, *file_set[3:]]
    plan = plan_rebuild([read_volume_info(p) for p in survivors])
    assert plan is not None and plan.missing == [1]
    out = tmp_path / "out"
    out.mkdir()
    sources = _sources(survivors)
    try:
        with pytest.raises(MediaError, match="surviving volumes disagree"):
            rebuild_missing(plan, sources, out)
    finally:
        for source in sources.values():
            source.close()
    assert not list(out.iterdir())
