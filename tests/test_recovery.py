"""Recovery data: protect, verify and repair real files with realistic disc damage."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from securemedia.errors import MediaError
from securemedia.media import recovery
from securemedia.media.recovery import (
    DEFAULT_REDUNDANCY,
    SECTOR,
    protect_file,
    protected_data_size,
    recovery_overhead,
    repair_file,
    verify_file,
)
from securemedia.media.sectors import layout_for_redundancy


def _protected(directory: Path, size: int, seed: int) -> tuple[Path, bytes, bytes]:
    """A protected file of ``size`` pseudo-random bytes: (path, original data, protected bytes)."""
    data = random.Random(seed).randbytes(size)
    path = directory / f"vol-{size}-{seed}"
    path.write_bytes(data)
    protect_file(path)
    return path, data, path.read_bytes()


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes, bytes]:
    """12 MB, not a whole number of sectors."""
    return _protected(tmp_path_factory.mktemp("medium"), 12 * 10**6 + 777, 1)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes, bytes]:
    return _protected(tmp_path_factory.mktemp("small"), 3 * 10**6, 2)


def _zero(raw: bytes, sectors: list[int] | range) -> bytes:
    """What ddrescue leaves for unreadable sectors: zeros."""
    buf = bytearray(raw)
    for s in sectors:
        buf[s * SECTOR : (s + 1) * SECTOR] = bytes(SECTOR)
    return bytes(buf)


def _repair_ok(tmp_path: Path, damaged: bytes, want: bytes) -> recovery.RepairReport:
    src, out = tmp_path / "damaged.img", tmp_path / "repaired.img"
    src.write_bytes(damaged)
    report = repair_file(src, out)
    assert out.read_bytes() == want
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.img", "repaired.img"]
    return report


def _repair_fails(tmp_path: Path, damaged: bytes) -> str:
    src, out = tmp_path / "damaged.img", tmp_path / "repaired.img"
    src.write_bytes(damaged)
    with pytest.raises(MediaError, match="unrepairable") as info:
        repair_file(src, out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["damaged.img"]  # no temp left behind
    return str(info.value)


# --------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("size", [0, 1, 2047, 2048, 2049, 100_000, 1_000_000])
def test_round_trip_sizes(tmp_path: Path, size: int) -> None:
    path, data, prot = _protected(tmp_path, size, size)
    assert prot[:size] == data
    assert len(prot) == size + recovery_overhead(size)
    assert protected_data_size(path) == size
    report = verify_file(path)
    assert report.ok and report.repairable and report.damaged_ranges == []
    assert report.data_size == size
    json.dumps(report.to_json())
    rep = repair_file(path, tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == prot
    assert rep.ok and rep.sectors_repaired == 0 and rep.damaged_ranges == []
    json.dumps(rep.to_json())


def test_medium_round_trip(tmp_path: Path, medium: tuple[Path, bytes, bytes]) -> None:
    path, data, prot = medium
    assert prot[: len(data)] == data
    assert protected_data_size(path) == len(data)
    assert verify_file(path).ok
    # The default costs about the redundancy, plus a little for checksums and copies.
    assert 0.15 < recovery_overhead(len(data)) / len(data) < 0.18
    _repair_ok(tmp_path, prot, prot)


def test_overhead_is_exact_and_total_size_monotonic() -> None:
    sizes = sorted({0, *random.Random(5).sample(range(60 * 10**6), 3000)})
    totals = [n + recovery_overhead(n) for n in sizes]
    assert totals == sorted(totals)
    # Across a change of group count, with another redundancy too.
    edge = 222 * 2048 * 40
    for red in (DEFAULT_REDUNDANCY, 0.05, 0.3, 1.0):
        seq = [n + recovery_overhead(n, red) for n in range(edge - 300_000, edge + 300_000, 997)]
        assert seq == sorted(seq)
    assert recovery_overhead(10**9, 0.30) > recovery_overhead(10**9)


def test_bad_redundancy_and_plain_files(tmp_path: Path) -> None:
    for bad in (0, -0.1, 1.5):
        with pytest.raises(MediaError):
            recovery_overhead(1000, bad)
    plain = tmp_path / "plain"
    plain.write_bytes(os.urandom(50_000))
    for call in (protected_data_size, verify_file):
        with pytest.raises(MediaError, match="no intact recovery descriptor"):
            call(plain)
    with pytest.raises(MediaError, match="no intact recovery descriptor"):
        repair_file(plain, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_protecting_twice_is_refused(tmp_path: Path) -> None:
    path, _, prot = _protected(tmp_path, 70_000, 3)
    with pytest.raises(MediaError, match="already protected"):
        protect_file(path)
    assert path.read_bytes() == prot


def test_other_redundancy(tmp_path: Path) -> None:
    path = tmp_path / "f"
    data = os.urandom(2 * 10**6)
    path.write_bytes(data)
    protect_file(path, 0.30)
    prot = path.read_bytes()
    assert len(prot) == len(data) + recovery_overhead(len(data), 0.30)
    n = len(prot) // SECTOR
    damaged = _zero(prot, random.Random(9).sample(range(n), n * 10 // 100))
    (tmp_path / "work").mkdir()
    _repair_ok(tmp_path / "work", damaged, prot)


# --------------------------------------------------------------------------- the case


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_3pct_random_plus_1pct_run(
    tmp_path: Path, medium: tuple[Path, bytes, bytes], seed: int
) -> None:
    _, _, prot = medium
    n = len(prot) // SECTOR
    rng = random.Random(seed)
    scattered = rng.sample(range(n), n * 3 // 100)
    run_len = n // 100
    start = rng.randrange(n - run_len)
    damaged = _zero(prot, scattered + list(range(start, start + run_len)))
    src = tmp_path / "damaged.img"
    src.write_bytes(damaged)
    report = verify_file(src)
    assert not report.ok and report.repairable
    assert report.damaged_sectors >= len(set(scattered) | set(range(start, start + run_len))) - 5
    rep = _repair_ok(tmp_path, damaged, prot)
    assert rep.sectors_repaired == report.damaged_sectors
    assert rep.damaged_ranges == report.damaged_ranges


def test_nonzero_garbage_is_detected_and_repaired(
    tmp_path: Path, medium: tuple[Path, bytes, bytes]
) -> None:
    """A drive that returns wrong bytes instead of an error is caught by the CRC all the same."""
    _, _, prot = medium
    buf = bytearray(prot)
    rng = random.Random(4)
    hit = sorted(rng.sample(range(len(prot) // SECTOR), 200))
    for s in hit:
        buf[s * SECTOR + rng.randrange(SECTOR)] ^= 1 << rng.randrange(8)
    src = tmp_path / "damaged.img"
    src.write_bytes(buf)
    assert verify_file(src).damaged_sectors == len(hit)
    _repair_ok(tmp_path, bytes(buf), prot)


# --------------------------------------------------------------------------- where the damage is


def test_first_sectors_file_system_area(tmp_path: Path, medium: tuple[Path, bytes, bytes]) -> None:
    """An ISO's system area, volume descriptors and directory records live at the start."""
    _, _, prot = medium
    _repair_ok(tmp_path, _zero(prot, range(0, 64)), prot)


def test_end_of_file_descriptor_area(tmp_path: Path, medium: tuple[Path, bytes, bytes]) -> None:
    _, data, prot = medium
    n = len(prot) // SECTOR
    damaged = _zero(prot, range(n - n // 100, n))  # the last descriptor and the last parity rows
    src = tmp_path / "damaged.img"
    src.write_bytes(damaged)
    assert protected_data_size(src) == len(data)
    _repair_ok(tmp_path, damaged, prot)


def test_middle_of_recovery_region(tmp_path: Path, medium: tuple[Path, bytes, bytes]) -> None:
    _, data, prot = medium
    lay = layout_for_redundancy(len(data), DEFAULT_REDUNDANCY)
    mid = lay.pc_starts[1]  # a parity-checksum copy, its descriptor and parity around it
    damaged = _zero(prot, range(mid - 200, mid + 200))
    _repair_ok(tmp_path, damaged, prot)


def test_data_checksum_sectors_rebuilt(tmp_path: Path, medium: tuple[Path, bytes, bytes]) -> None:
    """The per-sector CRCs of the data are themselves rebuilt by Reed-Solomon."""
    _, data, prot = medium
    lay = layout_for_redundancy(len(data), DEFAULT_REDUNDANCY)
    crc_area = range(lay.n_data - 3, lay.n_msg)  # every checksum sector, and some data
    damaged = _zero(prot, list(crc_area) + list(range(500, 520)))
    src = tmp_path / "damaged.img"
    src.write_bytes(damaged)
    report = verify_file(src)
    assert report.repairable
    assert report.damaged_ranges == [
        (500 * SECTOR, 520 * SECTOR),
        ((lay.n_data - 3) * SECTOR, lay.n_msg * SECTOR),
    ]
    _repair_ok(tmp_path, damaged, prot)


def test_every_parity_checksum_copy_region(
    tmp_path: Path, medium: tuple[Path, bytes, bytes]
) -> None:
    _, data, prot = medium
    lay = layout_for_redundancy(len(data), DEFAULT_REDUNDANCY)
    assert lay.copies == 3 and lay.n_pc >= 2
    # Every copy damaged, but each checksum sector survives in one of them.
    first, second, third = lay.pc_starts
    hit = [*range(first - 1, first + lay.n_pc), second, *range(third + 1, third + lay.n_pc)]
    _repair_ok(tmp_path, _zero(prot, [*hit, 7, 8, 9]), prot)


def test_truncated_file(tmp_path: Path, small: tuple[Path, bytes, bytes]) -> None:
    """A read that gave up before the end: the missing tail counts as damaged."""
    _, data, prot = small
    lay = layout_for_redundancy(len(data), DEFAULT_REDUNDANCY)
    cut = prot[: len(prot) - 2 * lay.columns * SECTOR]
    src = tmp_path / "damaged.img"
    src.write_bytes(cut)
    report = verify_file(src)
    assert report.repairable and not report.ok
    assert report.damaged_ranges[-1][1] == len(prot)
    _repair_ok(tmp_path, cut, prot)


# --------------------------------------------------------------------------- verify's answer


def test_verify_names_damaged_ranges(tmp_path: Path, medium: tuple[Path, bytes, bytes]) -> None:
    _, data, prot = medium
    lay = layout_for_redundancy(len(data), DEFAULT_REDUNDANCY)
    parity = lay.parity_rows[5] + 3
    sectors = [*range(10, 13), 100, *range(parity, parity + 17), lay.total_sectors - 1]
    src = tmp_path / "damaged.img"
    src.write_bytes(_zero(prot, sectors))
    report = verify_file(src)
    assert report.damaged_ranges == [
        (10 * SECTOR, 13 * SECTOR),
        (100 * SECTOR, 101 * SECTOR),
        (parity * SECTOR, (parity + 17) * SECTOR),
        (len(prot) - SECTOR, len(prot)),
    ]
    assert report.damaged_sectors == len(sectors)
    assert report.repairable and not report.ok
    assert report.to_json()["damaged_ranges"] == [list(r) for r in report.damaged_ranges]


# --------------------------------------------------------------------------- beyond the redundancy


def test_beyond_redundancy_is_unrepairable(
    tmp_path: Path, medium: tuple[Path, bytes, bytes]
) -> None:
    _, _, prot = medium
    n = len(prot) // SECTOR
    damaged = _zero(prot, range(n // 3, n // 3 + n * 16 // 100))  # one run of 16%
    src = tmp_path / "damaged.img"
    src.write_bytes(damaged)
    report = verify_file(src)
    assert not report.repairable and report.groups_unrepairable > 0
    message = _repair_fails(tmp_path, damaged)
    assert f"sectors {n // 3}-{n // 3 + n * 16 // 100 - 1} damaged" in message
    assert "groups lost more than the 34 blocks of 256" in message


def test_heavy_random_damage_is_unrepairable(
    tmp_path: Path, small: tuple[Path, bytes, bytes]
) -> None:
    _, _, prot = small
    n = len(prot) // SECTOR
    _repair_fails(tmp_path, _zero(prot, random.Random(3).sample(range(n), n * 20 // 100)))


def _damage(prot: bytes, runs: list[tuple[float, float]], scattered: list[float]) -> bytes:
    n = len(prot) // SECTOR
    hit: list[int] = [int(f * n) for f in scattered]
    for start, length in runs:
        s = int(start * n)
        hit += range(s, min(n, s + max(1, int(length * n))))
    return _zero(prot, hit)


_runs = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.floats(0, 0.03)), max_size=4)
_scattered = st.lists(st.floats(0, 1, exclude_max=True), max_size=120)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(runs=_runs, scattered=_scattered)
def test_any_damage_repairs_exactly_or_refuses(
    tmp_path_factory: pytest.TempPathFactory,
    small: tuple[Path, bytes, bytes],
    runs: list[tuple[float, float]],
    scattered: list[float],
) -> None:
    """Never a wrong repair: verify's verdict holds, and a repair is byte-identical."""
    _, _, prot = small
    damaged = _damage(prot, runs, scattered)
    work = tmp_path_factory.mktemp("hyp")
    src = work / "damaged.img"
    src.write_bytes(damaged)
    if verify_file(src).repairable:
        _repair_ok(work, damaged, prot)
    else:
        _repair_fails(work, damaged)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    runs=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.floats(0, 0.01)), max_size=3),
    scattered=st.lists(st.floats(0, 1, exclude_max=True), max_size=20),
)
def test_damage_within_budget_always_repairs(
    tmp_path_factory: pytest.TempPathFactory,
    small: tuple[Path, bytes, bytes],
    runs: list[tuple[float, float]],
    scattered: list[float],
) -> None:
    """Up to three runs of 1% each plus 20 scattered sectors always repair, wherever they fall."""
    _, _, prot = small
    _repair_ok(tmp_path_factory.mktemp("hyp"), _damage(prot, runs, scattered), prot)
