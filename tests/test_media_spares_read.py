"""Reading sets with spare volumes: any ``spares`` volumes missing, combined with damage
healed per disc; what cannot be rebuilt is named. Salvage mode serves what is there.

The spare volumes are written here from the design with zfec (``spare_support``);
the reader uses ``securemedia.media.spares.decode_stripe`` when that module is in
the checkout, else the stand-in with the same signature.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path

import pytest

from media_support import cli
from securemedia.errors import LostDataError, MediaError
from securemedia.media import set_stream
from securemedia.media.header import HEADER_SIZE
from securemedia.media.sizes import SECTOR
from securemedia.media.volume_set import open_volume_set, read_volume_info
from securemedia.media.volumes import VolumeSetWriter
from spare_support import add_spares, decode_stripe, encode_stripe, real_decoder

CAP = HEADER_SIZE + 40 * SECTOR + 1000  # payloads not a whole number of sectors


@pytest.fixture(autouse=True)
def decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    if real_decoder() is None:
        monkeypatch.setattr(set_stream, "_decode_stripe", lambda: decode_stripe)


def spare_set(base: Path, data: bytes, spares: int, *, protect: bool = False) -> list[Path]:
    with VolumeSetWriter(base, CAP, redundancy=0.15 if protect else None) as writer:
        writer.write(data)
    return add_spares(writer.paths, spares)


@pytest.fixture(scope="module")
def data() -> bytes:
    return os.urandom(3 * (CAP - HEADER_SIZE) + 12_345)  # 4 data volumes, the last short


def read_all(paths: list[Path]) -> tuple[bytes, list[str]]:
    with open_volume_set(paths) as stream:
        return stream.read(), stream.report.lines()


def test_stand_in_matches_the_writer_side() -> None:
    real = real_decoder()
    columns = [os.urandom(4096) for _ in range(4)]
    parity = encode_stripe(columns, 2)
    present = {0: columns[0], 2: columns[2], 4: parity[0], 5: parity[1]}
    assert decode_stripe(4, 2, present) == columns
    if real is not None:
        assert real(4, 2, present) == columns
        from securemedia.media import spares

        assert spares.encode_stripe(columns, 2) == parity


def test_any_one_volume_of_4_plus_1(tmp_path: Path, data: bytes) -> None:
    paths = spare_set(tmp_path / "ship.sm", data, 1)
    assert len(paths) == 5
    assert read_volume_info(paths[4]).header.label() == "spare volume 1 of 1"
    for gone in range(5):
        rest = [p for i, p in enumerate(paths) if i != gone]
        got, lines = read_all(rest[::-1])
        assert got == data, gone
        if gone < 4:
            sectors = -(-read_volume_info(paths[gone]).header.payload_length // SECTOR)
            assert lines == [
                f"volume {gone + 1} of 4 is missing: {sectors:,} sectors rebuilt from the "
                "spare volumes"
            ]
        else:
            assert lines == ["spare volume 1 of 1 is missing"]


def test_any_two_volumes_of_4_plus_2(tmp_path: Path, data: bytes) -> None:
    paths = spare_set(tmp_path / "ship.sm", data, 2)
    for gone in itertools.combinations(range(6), 2):
        rest = [p for i, p in enumerate(paths) if i not in gone]
        assert read_all(rest)[0] == data, gone
    with pytest.raises(MediaError, match="3 volumes are missing but the set has only 2 spare"):
        open_volume_set(paths[3:])


def test_missing_volume_and_healed_damage(tmp_path: Path, data: bytes) -> None:
    paths = spare_set(tmp_path / "ship.sm", data, 1, protect=True)
    scratched = paths[2]
    with scratched.open("r+b") as fp:  # 3 sectors of volume 3's payload: healed per disc
        for s in (3, 9, 20):
            fp.seek(s * SECTOR)
            fp.write(bytes(SECTOR))
    rest = [paths[0], *paths[2:]]
    got, lines = read_all(rest)
    assert got == data
    assert "volume 3 of 4: 3 sectors rebuilt from its recovery data" in lines
    assert any(line.startswith("volume 2 of 4 is missing: ") for line in lines)


def test_damage_beyond_a_disc_is_rebuilt_from_the_spare(tmp_path: Path, data: bytes) -> None:
    paths = spare_set(tmp_path / "ship.sm", data, 1, protect=True)
    with paths[1].open("r+b") as fp:  # 30 of 41 sectors: beyond volume 2's own parity
        fp.seek(5 * SECTOR)
        fp.write(bytes(30 * SECTOR))
    got, lines = read_all(paths)
    assert got == data
    assert any(
        line.startswith("volume 2 of 4: ") and "sectors rebuilt from the spare volumes" in line
        for line in lines
    )
    # With volume 3 missing as well, those bytes have two volumes unavailable: lost.
    rest = [paths[0], paths[1], paths[3], paths[4]]
    with open_volume_set(rest) as stream, pytest.raises(LostDataError) as err:
        stream.read()
    message = str(err.value)
    assert "volume 2 of 4: payload bytes " in message
    assert "volume 3 of 4 is missing" in message
    assert "the set has 1 spare volume(s): 1 more of these volumes would be needed" in message
    start = read_volume_info(paths[1]).header.payload_offset
    assert all(start <= a < b <= start + 41 * SECTOR for a, b in err.value.ranges)


def test_unreadable_file_counts_as_missing(tmp_path: Path, data: bytes) -> None:
    paths = spare_set(tmp_path / "ship.sm", data, 1)
    raw = bytearray(paths[3].read_bytes())
    raw[30] ^= 1  # the volume number: the header's checksum fails
    paths[3].write_bytes(bytes(raw))
    with open_volume_set(paths) as stream:
        assert stream.read() == data
        assert stream.report.unreadable[0][0] == paths[3]
        assert "ship.sm.004.smv: unreadable (" in stream.report.lines()[0]


def test_salvage_serves_what_is_there(tmp_path: Path, data: bytes) -> None:
    with VolumeSetWriter(tmp_path / "ship.sm", CAP, redundancy=None) as writer:
        writer.write(data)
    paths = writer.paths
    with pytest.raises(MediaError, match=r"^volume 2 of 4 is missing$"):
        open_volume_set([paths[0], *paths[2:]])
    second = read_volume_info(paths[1]).header
    with open_volume_set([paths[0], *paths[2:]], salvage=True) as stream:
        assert sorted(stream.sources) == [1, 3, 4]
        assert stream.read(second.payload_offset) == data[: second.payload_offset]
        with pytest.raises(LostDataError, match="on volume 2 of 4, which is missing") as err:
            stream.read(1)
        end = second.payload_offset + second.payload_length
        assert err.value.ranges == [(second.payload_offset, end)]
        stream.seek(end)
        assert stream.read() == data[end:]
    # The last volume gone: its bytes are named too.
    with open_volume_set(paths[:3], salvage=True) as stream:
        stream.seek(len(data) - 1)
        with pytest.raises(LostDataError, match="volume 4 of 4"):
            stream.read()


def test_keyless_verify_says_missing_and_restorable(tmp_path: Path, data: bytes) -> None:
    paths = spare_set(tmp_path / "ship.sm", data, 1)
    result = cli("verify", paths[0], *paths[2:])
    assert result.returncode == 4  # a disc is missing: the set is not whole
    expected = (
        "volume 2 of 4 is missing: restorable from the spare volumes "
        "(securemedia repair -o DIR rebuilds it)"
    )
    assert expected in result.stdout
    doc = json.loads(cli("verify", "--json", paths[0], *paths[2:]).stdout)
    assert (doc["spares"], doc["missing"], doc["restorable"]) == (1, [2], True)
    both = cli("verify", paths[0], *paths[3:])
    assert both.returncode == 4
    assert "2 volumes are missing but the set has only 1 spare volume(s)" in both.stdout
    assert cli("verify", *paths).returncode == 0


@pytest.mark.skipif(real_decoder() is None, reason="needs securemedia.media.spares (merge)")
def test_unpack_and_verify_without_a_disc(tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    (dataset / "a.bin").write_bytes(os.urandom(2_500_000))
    key = tmp_path / "key"
    assert cli("keygen", "--no-passphrase", "--classic", "-o", key).returncode == 0
    out = tmp_path / "discs"
    out.mkdir()
    packed = cli("pack", dataset, "-r", f"{key}.pub", "-o", out / "s.sm", "--media", "2MB", "-q")
    assert packed.returncode == 0, packed.stderr
    paths = add_spares(sorted(out.glob("s.sm.*")), 1)
    given = [p for p in paths if not p.name.endswith(".002.smv")]
    result = cli("unpack", "-i", key, *given, "-o", tmp_path / "x")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x" / "dataset" / "a.bin").read_bytes() == (dataset / "a.bin").read_bytes()
    assert "volume 2 of " in result.stderr and "rebuilt from the spare volumes" in result.stderr
    check = cli("verify", "-i", key, *given)
    assert check.returncode == 0, check.stderr
    shutil.rmtree(tmp_path / "x")


@pytest.mark.skipif(real_decoder() is None, reason="needs pack --spare-discs (merge)")
def test_lost_image_and_scratched_image(tmp_path: Path) -> None:
    """A real 4+1 ISO set from pack: one image lost, another scratched (healed per
    disc); unpack and verify -i restore, the keyless verify says restorable."""
    from test_media_heal import scratch

    dataset = tmp_path / "dataset"
    dataset.mkdir()
    (dataset / "a.bin").write_bytes(os.urandom(5_000_000))
    key = tmp_path / "key"
    assert cli("keygen", "--no-passphrase", "--classic", "-o", key).returncode == 0
    out = tmp_path / "discs"
    out.mkdir()
    packed = cli(
        "pack", dataset, "-r", f"{key}.pub", "-o", out / "s.sm", "--media", "2MB", "--iso",
        "--spare-discs", "1", "-q",
    )  # fmt: skip
    assert packed.returncode == 0, packed.stderr
    images = sorted(out.glob("s.sm.*.iso"))
    assert len(images) >= 4  # data discs (how many depends on the image overhead) + 1 spare
    n = len(images) - 1
    scratch(images[2], seed=3)
    given = [images[0], *images[2:]]
    result = cli("unpack", "-i", key, *given, "-o", tmp_path / "x")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x" / "dataset" / "a.bin").read_bytes() == (dataset / "a.bin").read_bytes()
    assert f"volume 2 of {n} is missing: " in result.stderr
    assert f"volume 3 of {n}: " in result.stderr and "from its recovery data" in result.stderr
    keyless = cli("verify", *given)
    assert keyless.returncode == 4
    assert f"volume 2 of {n} is missing: restorable from the spare volumes" in keyless.stdout
    assert cli("verify", "-i", key, *given).returncode == 0
    # Lose the spare as well: two volumes missing for one spare.
    result = cli("unpack", "-i", key, images[0], *images[2:4], "-o", tmp_path / "y")
    assert result.returncode == 4
    assert "the set has only 1 spare volume(s)" in result.stderr
    assert not (tmp_path / "y").exists()
