"""The Reed-Solomon backends: ISA-L and zfec give the same parity and the same decodes.

The recovery format is zfec's code. ISA-L is fed zfec's matrix, so every byte
must agree with zfec itself, for every geometry, length and erasure pattern;
and whole protected files must come out identical whichever backend wrote them.
"""

from __future__ import annotations

import os
import platform
import random
import signal
import time
from pathlib import Path

import pytest
import zfec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from securemedia.errors import OperationalError
from securemedia.media import rs_backend
from securemedia.media.recovery import SECTOR, protect_file, repair_file, verify_file
from securemedia.media.rs_backend import BACKEND_ENV, Codec

BACKENDS = ("isal", "zfec")


def _zfec_parity(k: int, total: int, blocks: list[bytes]) -> list[bytes]:
    return [bytes(b) for b in zfec.Encoder(k, total).encode(blocks, tuple(range(k, total)))]


def test_isal_is_what_a_default_install_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyeclib's Linux wheels (a dependency there) carry ISA-L: it must load on Linux."""
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "aarch64"):
        pytest.skip("pyeclib ships ISA-L in its x86-64 and aarch64 Linux wheels only")
    assert rs_backend.backend_name() == "isal"
    assert rs_backend.codec(222, 256).backend == "isal"  # and it passed its self-check


def test_env_var_selects_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BACKEND_ENV, "zfec")
    assert rs_backend.backend_name() == "zfec"
    assert rs_backend.codec(5, 9).backend == "zfec"
    monkeypatch.setenv(BACKEND_ENV, "ZFEC ")
    assert rs_backend.backend_name() == "zfec"
    monkeypatch.setenv(BACKEND_ENV, "gf256")
    with pytest.raises(OperationalError, match=BACKEND_ENV):
        rs_backend.backend_name()


@st.composite
def _groups(draw: st.DrawFn) -> tuple[int, int, list[bytes], list[int]]:
    k = draw(st.sampled_from([1, 2, 3, 7, 16, 33, 128, 222, 255, 256]) | st.integers(1, 64))
    total = draw(st.integers(k, min(256, k + draw(st.sampled_from([0, 1, 5, 34, 255])))))
    length = draw(st.integers(1, 5000) | st.sampled_from([64, 2048, 4096, 4097, 8191]))
    seed = draw(st.integers(0, 2**32))
    rng = random.Random(seed)
    blocks = [rng.randbytes(length) for _ in range(k)]
    held = sorted(rng.sample(range(total), draw(st.integers(k, total))))
    return k, total, blocks, held


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_groups())
def test_backends_agree_with_zfec(group: tuple[int, int, list[bytes], list[int]]) -> None:
    k, total, blocks, held = group
    want = _zfec_parity(k, total, blocks)
    everything = blocks + want
    for backend in BACKENDS:
        codec = Codec(k, total, backend)
        assert codec.encode(blocks) == want, backend
        # Any subset of parity rows, in any order (repair re-encodes just the lost ones).
        some = sorted(range(k, total), key=lambda r: (r * 7919) % 251)[: max(0, total - k) // 2]
        assert codec.encode(blocks, some) == [want[r - k] for r in some], backend
        assert codec.decode({i: everything[i] for i in held}) == blocks, backend


SL = rs_backend.SLICE


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("length", [2 * SL, 2 * SL + 1, 3 * SL - 1, 3 * SL + SL // 2, 6 * SL + 333])
def test_large_group_on_two_threads(backend: str, length: int) -> None:
    """Input past the two-thread threshold, the helper's half one slice or less, or
    several, and not a multiple of the slice: same bytes."""
    assert length * 222 >= rs_backend._PARALLEL_MIN
    rng = random.Random(5)
    blocks = [rng.randbytes(length) for _ in range(222)]
    codec = Codec(222, 256, backend)
    par = codec.encode(blocks)
    assert par == _zfec_parity(222, 256, blocks)
    lost = set(rng.sample(range(222), 34))
    group = {i: b for i, b in enumerate(blocks + par) if i not in lost}
    assert codec.decode(group) == blocks


def test_decode_tables_are_reused_and_bounded() -> None:
    """A cached decode matrix gives the same answer; the cache does not grow without end."""
    rng = random.Random(6)
    blocks = [rng.randbytes(100) for _ in range(10)]
    codec = Codec(10, 14, "isal" if rs_backend.backend_name() == "isal" else "zfec")
    every = blocks + codec.encode(blocks)
    for lost in [(0, 1), (0, 1), (2, 9), *[(i,) for i in range(10)], (0, 1)]:
        assert codec.decode({i: b for i, b in enumerate(every) if i not in lost}) == blocks
    assert len(codec._tables) <= rs_backend._DECODE_CACHE


@pytest.mark.parametrize("backend", BACKENDS)
def test_blocks_of_unequal_length_are_refused(backend: str) -> None:
    """ISA-L works on raw addresses: a short block must be refused, never read past."""
    codec = Codec(3, 5, backend)
    with pytest.raises(ValueError, match="same length"):
        codec.encode_into([b"abcd", b"abcd", b"ab"], [bytearray(4), bytearray(4)])
    with pytest.raises(ValueError, match="same length"):
        codec.encode_into([b"abcd"] * 3, [bytearray(4), bytearray(9)])
    with pytest.raises(ValueError, match="same length"):
        codec.decode({0: b"abcd", 3: b"abcd", 4: b"abcdef"})
    with pytest.raises(ValueError, match="out of the buffer"):
        codec.rebuild_in_place(bytearray(19), 4, 0, 4, [0])


def test_too_few_blocks_is_refused() -> None:
    codec = Codec(3, 5, "zfec")
    with pytest.raises(ValueError, match="need 3"):
        codec.decode({0: b"a", 4: b"b"})
    with pytest.raises(ValueError, match="k <= total"):
        Codec(5, 3)


def _protect_with(backend: str, data: bytes, path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setenv(BACKEND_ENV, backend)
    path.write_bytes(data)
    protect_file(path)
    return path.read_bytes()


def test_protected_files_identical_across_backends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = random.Random(7).randbytes(2 * 10**6 + 13)
    isal = _protect_with("isal", data, tmp_path / "a", monkeypatch)
    plain = _protect_with("zfec", data, tmp_path / "b", monkeypatch)
    assert isal == plain


@pytest.mark.parametrize("backend", BACKENDS)
def test_repair_of_a_scratch_and_scattered_damage(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long run (neighbouring groups share their erasure pattern) plus scattered sectors,
    in data, checksum and parity rows, repaired byte for byte by either backend."""
    data = random.Random(8).randbytes(3 * 10**6 + 5)
    protected = _protect_with("zfec", data, tmp_path / "vol", monkeypatch)
    monkeypatch.setenv(BACKEND_ENV, backend)
    damaged = bytearray(protected)
    n = len(damaged) // SECTOR
    rng = random.Random(9)
    hit = [*range(n // 3, n // 3 + n // 100), *rng.sample(range(n), n // 50)]
    hit += range(n - n // 8, n - n // 8 + 20)  # inside the parity rows
    for s in hit:
        damaged[s * SECTOR : (s + 1) * SECTOR] = bytes(SECTOR)
    bad = tmp_path / "bad"
    bad.write_bytes(damaged)
    assert verify_file(bad).repairable
    out = tmp_path / "fixed"
    repair_file(bad, out)
    assert out.read_bytes() == protected


@settings(max_examples=30, deadline=None)
@given(_groups())
def test_rebuild_in_place(group: tuple[int, int, list[bytes], list[int]]) -> None:
    """Lost message and parity blocks of a strided batch, recomputed where they lie."""
    k, total, blocks, held = group
    everything = blocks + _zfec_parity(k, total, blocks)
    size = len(blocks[0])
    stride, offset = size + 3, 2  # blocks not packed end to end: the stride is honoured
    whole = bytearray(b"\xaa" * (total * stride + 5))
    for r, b in enumerate(everything):
        whole[r * stride + offset : r * stride + offset + size] = b
    lost = [r for r in range(total) if r not in held]
    for backend in BACKENDS:
        damaged = bytearray(whole)
        for r in lost:
            damaged[r * stride + offset : r * stride + offset + size] = bytes(size)
        Codec(k, total, backend).rebuild_in_place(damaged, stride, offset, size, lost)
        assert damaged == whole, backend


def test_two_threads_after_fork() -> None:
    """A child forked after the helper thread started still encodes on two threads."""
    rng = random.Random(10)
    blocks = [rng.randbytes(4 * SL) for _ in range(222)]
    codec = rs_backend.codec(222, 256)
    want = codec.encode(blocks)  # starts the helper thread here
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if it got the same parity back
        os._exit(0 if codec.encode(blocks) == want else 1)
    for _ in range(600):  # a child waiting on a helper thread it does not have would hang
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung")
    assert os.waitstatus_to_exitcode(status) == 0
