"""unpack --salvage: a 3-volume set without recovery data, each volume destroyed in
turn (deleted, or zeroed), restores exactly the members whose bytes survive."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from media_support import cli
from securemedia.archive.reader import ArchiveReader
from securemedia.archive.salvage import salvage
from securemedia.errors import LostDataError, MediaError
from securemedia.keyring import load_identities
from securemedia.media.header import FLAG_SALVAGE_COPY
from securemedia.media.salvage_copy import COPY_HEADER_SIZE, parse_copy_header
from securemedia.media.salvage_view import SalvageView, check_copies, salvage_sources
from securemedia.media.sources import PlainSource
from securemedia.media.volume_set import VolumeInfo, open_volume_set, read_volume_info
from securemedia.stream import CHUNK_SIZE, CIPHER_CHUNK_SIZE

MEDIA = "10MB"  # the smallest test medium whose 1/8 holds the copy's one-chunk slack


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def shipment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """About 22 MB of incompressible members, signed, on three 10MB volumes
    without recovery data: members sit on each volume and some span two."""
    root = tmp_path_factory.mktemp("salvage")
    data = root / "dataset"
    (data / "sub").mkdir(parents=True)
    for i in range(9):
        where = data / "sub" if i % 3 == 0 else data
        (where / f"part{i}.bin").write_bytes(os.urandom(2_300_000 + 37_000 * i))
    (data / "notes.txt").write_text("tiny\n")
    (data / "sub" / "empty.txt").write_bytes(b"")
    for name in ("key", "other"):
        made = cli("keygen", "--no-passphrase", "--classic", "-o", root / name)
        assert made.returncode == 0, made.stderr
    out = root / "discs"
    out.mkdir()
    packed = cli(
        "pack", data, "-r", root / "key.pub", "--sign", root / "key", "-o", out / "ship.sm",
        "--media", MEDIA, "--redundancy", "0", "--no-compress", "--json", "-q",
    )  # fmt: skip
    assert packed.returncode == 0, packed.stderr
    assert json.loads(packed.stdout)["salvage_copy"] is True
    return {"root": root, "data": data, "key": root / "key", "out": out}


def volumes(shipment: dict[str, Path]) -> list[Path]:
    return sorted(shipment["out"].glob("ship.sm.*"))


def expected_lost(shipment: dict[str, Path], lost: VolumeInfo) -> set[str]:
    """The members a lost volume costs, worked out from the layout: a member is
    lost if one of the STREAM chunks holding its record has a byte on the lost
    volume that the salvage copy (header and tail) does not hold too."""
    copy_start = lost.offset + lost.header.copy_offset
    with lost.path.open("rb") as fp:
        fp.seek(copy_start)
        copy = parse_copy_header(fp.read(COPY_HEADER_SIZE), "test")
    low = lost.header.payload_offset
    high = min(low + lost.header.payload_length, copy.tail_offset)
    low = max(low, copy.header_length)
    identities = load_identities(str(shipment["key"]), None)
    found = set()
    with open_volume_set(volumes(shipment)) as stream:
        reader = ArchiveReader(stream, identities)
        header = len(reader.header.raw)
        for m in reader.iter_members():
            if m.type != "file":
                continue
            first, last = m.offset // CHUNK_SIZE, (m.offset + m.length - 1) // CHUNK_SIZE
            start = header + first * CIPHER_CHUNK_SIZE
            end = header + (last + 1) * CIPHER_CHUNK_SIZE
            if start < high and low < end:
                found.add(m.path)
    return found


def test_set_layout(shipment: dict[str, Path]) -> None:
    """Three volumes, each carrying a copy; members on each; some span two."""
    infos = [read_volume_info(p) for p in volumes(shipment)]
    assert [i.header.number for i in infos] == [1, 2, 3]
    assert all(i.header.flags & FLAG_SALVAGE_COPY and i.header.has_copy for i in infos)
    assert len({i.header.copy_length for i in infos}) == 1
    identities = load_identities(str(shipment["key"]), None)
    with open_volume_set(volumes(shipment)) as stream:
        reader = ArchiveReader(stream, identities)
        header = len(reader.header.raw)
        members = list(reader.iter_members())
    # Where each member's record lies in the archive (its ciphertext, near enough:
    # a tag per chunk), and which volume boundaries fall inside a record.
    bounds = [i.header.payload_offset for i in infos[1:]]

    def span(offset: int) -> int:
        return header + offset + offset // CHUNK_SIZE * (CIPHER_CHUNK_SIZE - CHUNK_SIZE)

    spanning = [
        m for m in members if any(span(m.offset) < b < span(m.offset + m.length) for b in bounds)
    ]
    assert len(spanning) >= 2
    for info in infos:
        assert expected_lost(shipment, info)


@pytest.mark.parametrize("number", [1, 2, 3])
@pytest.mark.parametrize("how", ["deleted", "zeroed"])
def test_salvage_without_one_volume(
    shipment: dict[str, Path], tmp_path: Path, number: int, how: str
) -> None:
    given = []
    lost_info = read_volume_info(volumes(shipment)[number - 1])
    for path in volumes(shipment):
        copy = tmp_path / path.name
        if path.name.endswith(f".{number:03d}.smv"):
            if how == "zeroed":
                copy.write_bytes(bytes(path.stat().st_size))
                given.append(copy)
            continue  # deleted: simply not given
        shutil.copyfile(path, copy)
        given.append(copy)
    dest = tmp_path / "out"
    result = cli("unpack", "--salvage", "-i", shipment["key"], "-o", dest, *given)
    assert result.returncode == 4, result.stderr
    lost = expected_lost(shipment, lost_info)
    listed = {
        line.removeprefix("lost: ")
        for line in result.stderr.splitlines()
        if line.startswith("lost: ")
    }
    assert listed == lost
    assert f"volume {number} of 3 is missing or unreadable" in result.stderr
    assert "member(s) lost" in result.stderr.splitlines()[-1]
    original = tree(shipment["data"].parent)
    restored = tree(dest)
    expected = {name: data for name, data in original.items() if name.startswith("dataset/")}
    # Byte-identical, exactly the survivors; nothing partial under any name.
    assert restored == {name: data for name, data in expected.items() if name not in lost}
    assert lost and restored
    assert [p.name for p in dest.iterdir()] == ["dataset"]  # no staging directory left
    assert (dest / "dataset" / "sub").is_dir()


def test_salvage_json_lists_the_lost(shipment: dict[str, Path], tmp_path: Path) -> None:
    given = volumes(shipment)[:2]  # the last volume, and with it the index, is gone
    dest = tmp_path / "out"
    result = cli("unpack", "--salvage", "-i", shipment["key"], "-o", dest, "--json", *given)
    assert result.returncode == 4, result.stderr
    doc = json.loads(result.stdout)
    lost = {m["path"] for m in doc["lost"]}
    assert lost == expected_lost(shipment, read_volume_info(volumes(shipment)[2]))
    assert {m["path"] for m in doc["members"]}.isdisjoint(lost)
    assert doc["signer"]
    assert any("volume 3 of 3" in line for line in doc["volumes"])


def test_intact_set_salvages_everything(shipment: dict[str, Path], tmp_path: Path) -> None:
    dest = tmp_path / "out"
    result = cli("unpack", "--salvage", "-i", shipment["key"], "-o", dest, *volumes(shipment))
    assert result.returncode == 0, result.stderr
    assert "lost" not in result.stderr
    original = tree(shipment["data"].parent)
    assert tree(dest) == {k: v for k, v in original.items() if k.startswith("dataset/")}


def test_salvage_still_requires_the_signer(shipment: dict[str, Path], tmp_path: Path) -> None:
    root = shipment["root"]
    dest = tmp_path / "out"
    wrong = cli(
        "unpack", "--salvage", "-i", shipment["key"], "-o", dest,
        "--require-signer", root / "other.pub", *volumes(shipment)[1:],
    )  # fmt: skip
    assert wrong.returncode == 4
    assert "required signer" in wrong.stderr
    assert not dest.exists()
    right = cli(
        "unpack", "--salvage", "-i", shipment["key"], "-o", dest,
        "--require-signer", root / "key.pub", *volumes(shipment)[1:],
    )  # fmt: skip
    assert right.returncode == 4, right.stderr  # volume 1 is gone: some members lost
    assert (dest / "dataset").is_dir()


def test_no_volume_left_with_the_index(shipment: dict[str, Path], tmp_path: Path) -> None:
    """Every volume carries the copy: even volume 2 alone opens the archive."""
    dest = tmp_path / "out"
    result = cli("unpack", "--salvage", "-i", shipment["key"], "-o", dest, volumes(shipment)[1])
    assert result.returncode == 4, result.stderr
    assert "volume 1 of 3 is missing" in result.stderr
    assert "volume 3 of 3 is missing" in result.stderr


def test_a_damaged_copy_is_passed_over(shipment: dict[str, Path], tmp_path: Path) -> None:
    """Volume 3 (the index) is gone and volume 1's copy is destroyed: volume 2's serves."""
    first, second, third = volumes(shipment)
    for path in (first, second):
        shutil.copyfile(path, tmp_path / path.name)
    damaged = tmp_path / first.name
    info = read_volume_info(damaged)
    with damaged.open("r+b") as fp:
        fp.seek(info.offset + info.header.copy_offset)
        fp.write(bytes(COPY_HEADER_SIZE))
    dest = tmp_path / "out"
    given = [damaged, tmp_path / second.name]
    result = cli("unpack", "--salvage", "-i", shipment["key"], "-o", dest, *given)
    assert result.returncode == 4, result.stderr
    assert f"salvage copy of the archive header and index: {given[1]}" in result.stderr
    listed = {line[6:] for line in result.stderr.splitlines() if line.startswith("lost: ")}
    assert listed == expected_lost(shipment, read_volume_info(third))


def test_salvage_from_images(shipment: dict[str, Path], tmp_path: Path) -> None:
    """ISO images with recovery data (a 12MB medium leaves room for the copy):
    xorriso sees the volume file with its copy inside; without the last image
    the others still give up their members."""
    data = tmp_path / "d"
    data.mkdir()
    for i in range(4):
        (data / f"f{i}.bin").write_bytes(os.urandom(3_400_000))
    assert cli("keygen", "--no-passphrase", "--classic", "-o", tmp_path / "k").returncode == 0
    out = tmp_path / "discs"
    out.mkdir()
    packed = cli(
        "pack", data, "-r", tmp_path / "k.pub", "-o", out / "s.sm", "--media", "12MB", "--iso",
        "--no-compress", "-q",
    )  # fmt: skip
    assert packed.returncode == 0, packed.stderr
    images = sorted(out.glob("s.sm.*.iso"))
    assert len(images) == 2
    inner = tmp_path / "inner"
    subprocess.run(
        [
            "xorriso",
            "-osirrox",
            "on",
            "-indev",
            str(images[0]),
            "-extract",
            "/s.sm.001.smv",
            str(inner),
        ],
        capture_output=True,
        check=True,
    )
    header = read_volume_info(inner).header
    assert header.has_copy and inner.stat().st_size == header.file_length
    dest = tmp_path / "out"
    result = cli("unpack", "--salvage", "-i", tmp_path / "k", "-o", dest, images[0])
    assert result.returncode == 4, result.stderr
    restored = tree(dest / "d")
    assert restored and restored == {k: v for k, v in tree(data).items() if k in restored}
    assert "volume 2 of 2 is missing" in result.stderr
    # Salvage reads what is there; it does not take a disc of another shipment.
    mixed = cli("unpack", "--salvage", "-i", tmp_path / "k", "-o", tmp_path / "o2", images[0],
                volumes(shipment)[1], volumes(shipment)[2])  # fmt: skip
    assert mixed.returncode == 4
    assert "belongs to another archive" in mixed.stderr
    assert not (tmp_path / "o2").exists()


def test_read_back_checks_the_copies(shipment: dict[str, Path], tmp_path: Path) -> None:
    """pack's read-back compares every copy with the authenticated archive."""
    given = [Path(shutil.copyfile(p, tmp_path / p.name)) for p in volumes(shipment)]
    with open_volume_set(given) as stream:
        assert check_copies(given, stream) == 3
    info = read_volume_info(given[1])
    with given[1].open("r+b") as fp:
        fp.seek(info.offset + info.header.copy_offset + COPY_HEADER_SIZE + 100)
        byte = fp.read(1)
        fp.seek(-1, os.SEEK_CUR)
        fp.write(bytes([byte[0] ^ 1]))
    with (
        open_volume_set(given) as stream,
        pytest.raises(MediaError, match="salvage copy differs"),
    ):
        check_copies(given, stream)


def test_salvage_of_a_damaged_plain_archive(tmp_path: Path) -> None:
    """One archive file with a chunk destroyed: the members outside it survive."""
    data = tmp_path / "d"
    data.mkdir()
    for i in range(4):
        (data / f"f{i}.bin").write_bytes(os.urandom(900_000))
    assert cli("keygen", "--no-passphrase", "--classic", "-o", tmp_path / "k").returncode == 0
    archive = tmp_path / "a.sm"
    packed = cli("pack", data, "-r", tmp_path / "k.pub", "-o", archive, "--no-compress", "-q")
    assert packed.returncode == 0, packed.stderr
    with archive.open("r+b") as fp:  # inside f1's record, in the archive's second chunk
        fp.seek(1_500_000)
        fp.write(bytes(1000))
    dest = tmp_path / "out"
    result = cli("unpack", "--salvage", "-i", tmp_path / "k", "-o", dest, archive)
    assert result.returncode == 4, result.stderr
    listed = {line[6:] for line in result.stderr.splitlines() if line.startswith("lost: ")}
    assert "d/f1.bin" in listed and "d/f3.bin" not in listed
    restored = tree(dest / "d")
    assert restored == {k: v for k, v in tree(data).items() if f"d/{k}" not in listed}


class HoleySource(PlainSource):
    """A volume read as it is, but with archive bytes [start, end) unreadable: what
    a healing source reports for damage beyond its disc's recovery data."""

    def __init__(self, info: VolumeInfo, hole: tuple[int, int]) -> None:
        super().__init__(info)
        self.hole = hole

    def read_payload(self, offset: int, size: int) -> bytes:
        start = self.header.payload_offset + offset
        if start < self.hole[1] and self.hole[0] < start + size:
            raise LostDataError("hole", [(max(start, self.hole[0]), self.hole[1])])
        return super().read_payload(offset, size)


def test_a_hole_inside_a_volume_costs_only_its_members(
    shipment: dict[str, Path], tmp_path: Path
) -> None:
    """Through the PayloadSource seam: a lost range in the middle of volume 2 loses
    the members whose chunks it touches and nothing else, byte-identical."""
    infos = [read_volume_info(p) for p in volumes(shipment)]
    identities = load_identities(str(shipment["key"]), None)
    with open_volume_set(volumes(shipment)) as stream:
        reader = ArchiveReader(stream, identities)
        header = len(reader.header.raw)
        members = [m for m in reader.iter_members() if m.type == "file"]
    middle = infos[1].header.payload_offset + infos[1].header.payload_length // 2
    hole = (middle, middle + 5000)
    lost = set()
    for m in members:
        first, last = m.offset // CHUNK_SIZE, (m.offset + m.length - 1) // CHUNK_SIZE
        if (
            header + first * CIPHER_CHUNK_SIZE < hole[1]
            and hole[0] < header + (last + 1) * CIPHER_CHUNK_SIZE
        ):
            lost.add(m.path)
    assert len(lost) in (1, 2)
    sources, copy, _, _ = salvage_sources(infos)
    sources[2] = HoleySource(infos[1], hole)
    view = SalvageView(infos[0].header.archive_length, 3, sources, copy)
    view.seek(hole[0] - 100)  # a read that runs into the hole gives the good bytes before it
    assert len(view.read(1000)) == 100
    with pytest.raises(LostDataError):
        view.read(1)
    view.seek(0)
    dest = tmp_path / "out"
    with io.BufferedReader(view, buffer_size=1 << 20) as stream:
        result = salvage(ArchiveReader(stream, identities), dest)
    assert {m.path for m in result.lost} == lost
    original = tree(shipment["data"].parent)
    expected = {k: v for k, v in original.items() if k.startswith("dataset/") and k not in lost}
    assert tree(dest) == expected
