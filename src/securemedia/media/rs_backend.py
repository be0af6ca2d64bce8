"""Reed-Solomon coding for the recovery data: Intel ISA-L when present, else zfec, same bytes.

The recovery format is zfec's code: groups of ``k`` message blocks and ``total
- k`` parity blocks, parity block ``j`` being a fixed GF(2^8) combination of the
message blocks. zfec computes it a byte at a time; ISA-L's ``ec_encode_data``
does the same multiply-accumulate with SIMD (AVX2, AVX-512, GFNI) about ten
times faster. We give ISA-L **zfec's own coefficient matrix**, read once per
``(k, total)`` by encoding unit vectors through zfec (linear code: parity of
``e_i`` is column ``i``), so the parity is byte-identical and the format does
not change. Decoding inverts the k x k submatrix of the surviving rows with
ISA-L's ``gf_invert_matrix``: no GF arithmetic of ours anywhere.

ISA-L comes from the pyeclib wheel or from the system, loaded with ctypes
(:mod:`.isal`; its calls release the GIL, so big jobs run on two threads).
``SECUREMEDIA_RS_BACKEND=zfec`` or ``=isal`` forces a backend; unset, ISA-L is
used when it loads and passes a self-check against zfec, else zfec.
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import zfec

from ..errors import OperationalError
from . import isal

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["BACKEND_ENV", "Codec", "backend_name", "codec"]

BACKEND_ENV = "SECUREMEDIA_RS_BACKEND"
"""``zfec`` or ``isal`` forces that backend (``isal`` fails if ISA-L cannot load)."""

SLICE = 4096
"""Bytes of every row ISA-L works on per call: k rows of 4 KiB stay in the L2
cache while all parity rows are computed from them, however long the rows
(unsliced, ISA-L streams the whole input again for every few parity rows).
``rsgroups`` batches are 32 KiB rows, short enough either way; the slices are
also what the two threads share out (``benchmarks/rs_backend.py``)."""

_PARALLEL_MIN = 1 << 20  # below this much input a second thread costs more than it saves
_DECODE_CACHE = 16  # decode tables kept per codec (a scratch repeats one erasure pattern)


def backend_name() -> str:
    """The backend codecs use: ``isal`` or ``zfec`` (see ``BACKEND_ENV``)."""
    forced = os.environ.get(BACKEND_ENV, "").strip().lower()
    if forced not in ("", "isal", "zfec"):
        raise OperationalError(f"{BACKEND_ENV} must be 'isal' or 'zfec', not {forced!r}")
    if forced == "zfec":
        return "zfec"
    if isal.load() is not None:
        return "isal"
    if forced == "isal":
        raise OperationalError(
            f"{BACKEND_ENV}=isal but ISA-L cannot be loaded (pip install pyeclib, "
            "or apt-get install libisal2)"
        )
    return "zfec"


@functools.cache
def _zfec_matrix(k: int, total: int) -> bytes:
    """zfec's parity coefficients, (total - k) rows of k bytes, read by encoding unit vectors."""
    units = [bytes(i == j for j in range(k)) for i in range(k)]
    rows = zfec.Encoder(k, total).encode(units, tuple(range(k, total)))
    return b"".join(bytes(r) for r in rows)


def _without(row: bytes, drop: Sequence[int]) -> bytes:
    """``row`` with the bytes at the sorted positions ``drop`` taken out."""
    parts, prev = [], 0
    for i in drop:
        parts.append(row[prev:i])
        prev = i + 1
    parts.append(row[prev:])
    return b"".join(parts)


def _length(buf: Buffer) -> int:
    return memoryview(buf).nbytes


def _same_length(buffers: Sequence[Buffer]) -> None:
    if len({_length(b) for b in buffers}) > 1:
        raise ValueError("blocks of a group must all have the same length")


_pool: tuple[int, ThreadPoolExecutor] | None = None  # (pid that made it, the pool)


def _two_ways(length: int, rows: int, work: Callable[[int, int], None]) -> None:
    """``work(start, end)`` over [0, length) of ``rows`` rows: half on a helper thread if large.

    The helper waits on a queue when idle (never spins), and the main thread
    does its own half meanwhile, so a busy second core slows nothing down.
    """
    global _pool
    if length * rows < _PARALLEL_MIN or length < 2 * SLICE or (os.cpu_count() or 1) < 2:
        work(0, length)
        return
    if _pool is None or _pool[0] != os.getpid():  # a forked child has no helper thread
        _pool = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="securemedia-rs"))
    half = (length // 2 + SLICE - 1) // SLICE * SLICE
    later = _pool[1].submit(work, half, length)
    try:
        work(0, half)
    finally:
        later.result()


class Codec:
    """Encoder and decoder of one ``(k, total)`` geometry (zfec's ``k`` and ``m``).

    Blocks are any buffers of one common length; outputs of ``*_into`` must be
    writable. Results are byte-identical whichever backend runs.
    """

    def __init__(self, k: int, total: int, backend: str | None = None) -> None:
        if not 1 <= k <= total <= 256:
            raise ValueError(f"need 1 <= k <= total <= 256, not k={k}, total={total}")
        self.k, self.total = k, total
        self.backend = backend or backend_name()
        if self.backend not in ("isal", "zfec"):
            raise ValueError(f"no Reed-Solomon backend {self.backend!r}")
        if self.backend == "isal":
            isal.lib()  # refuse at once, not at the first block
        self._matrix = _zfec_matrix(k, total)
        self._zenc = zfec.Encoder(k, total)
        self._zdec = zfec.Decoder(k, total)
        self._tables: OrderedDict[tuple[tuple[int, ...], tuple[int, ...]], isal.Tables]
        self._tables = OrderedDict()

    def _row(self, r: int) -> bytes:
        """Row ``r`` of the whole generator matrix: identity for message blocks, then zfec's."""
        k = self.k
        if r < k:
            return bytes(r == j for j in range(k))
        return self._matrix[(r - k) * k : (r - k + 1) * k]

    # ------------------------------------------------------------------ encode

    def encode(self, blocks: Sequence[Buffer], rows: Sequence[int] | None = None) -> list[bytes]:
        """Parity blocks ``rows`` (default: all, ``k .. total-1``) of the k message blocks."""
        rows = tuple(range(self.k, self.total)) if rows is None else tuple(rows)
        size = len(memoryview(blocks[0]).cast("B")) if blocks else 0
        outs = [bytearray(size) for _ in rows]
        self.encode_into(blocks, outs, rows)
        return [bytes(o) for o in outs]

    def encode_into(
        self, blocks: Sequence[Buffer], outs: Sequence[Buffer], rows: Sequence[int] | None = None
    ) -> None:
        """Like ``encode``, writing parity block ``rows[i]`` into ``outs[i]``."""
        rows = tuple(range(self.k, self.total)) if rows is None else tuple(rows)
        if len(blocks) != self.k or len(outs) != len(rows):
            raise ValueError("need k message blocks and one output per parity row")
        if any(not self.k <= r < self.total for r in rows):
            raise ValueError("parity rows are numbered k .. total-1")
        _same_length([*blocks, *outs])
        if not rows:
            return
        if self.backend == "zfec":
            got = self._zenc.encode(list(blocks), rows)
            for out, par in zip(outs, got, strict=True):
                memoryview(out).cast("B")[:] = par
            return
        coeffs = b"".join(self._row(r) for r in rows)
        tables = self._init_tables(coeffs, len(rows))
        size = _length(outs[0])
        src, dst = isal.Pointers(blocks, False, size), isal.Pointers(outs, True, size)
        self._run(tables, src.addrs, dst.addrs, size)

    # ------------------------------------------------------------------ decode

    def decode(self, blocks_by_index: Mapping[int, Buffer]) -> list[bytes]:
        """The k message blocks from any k blocks of the group, keyed by their index."""
        size = len(memoryview(next(iter(blocks_by_index.values()))).cast("B"))
        outs = [bytearray(size) for _ in range(self.k)]
        self.decode_into(blocks_by_index, outs)
        return [bytes(o) for o in outs]

    def decode_into(self, blocks_by_index: Mapping[int, Buffer], outs: Sequence[Buffer]) -> None:
        """Like ``decode``, writing message block ``i`` into ``outs[i]``."""
        use = sorted(blocks_by_index)[: self.k]
        if len(use) < self.k or use[0] < 0 or use[-1] >= self.total:
            raise ValueError(f"need {self.k} distinct block indexes in 0 .. {self.total - 1}")
        if len(outs) != self.k:
            raise ValueError("need one output per message block")
        _same_length([*blocks_by_index.values(), *outs])
        missing = [i for i in range(self.k) if i not in blocks_by_index]
        for i in range(self.k):
            if i in blocks_by_index:
                memoryview(outs[i]).cast("B")[:] = memoryview(blocks_by_index[i]).cast("B")
        if not missing:
            return
        if self.backend == "zfec":
            got = self._zdec.decode([blocks_by_index[i] for i in use], use)
            for i in missing:
                memoryview(outs[i]).cast("B")[:] = got[i]
            return
        tables = self._decode_tables(tuple(use), tuple(missing))
        size = _length(outs[0])
        src = isal.Pointers([blocks_by_index[i] for i in use], False, size)
        dst = isal.Pointers([outs[i] for i in missing], True, size)
        self._run(tables, src.addrs, dst.addrs, size)

    def rebuild_in_place(
        self, rows: bytearray, stride: int, offset: int, size: int, lost: Sequence[int]
    ) -> None:
        """Recompute the ``lost`` blocks (message or parity) of a group, in place.

        Block ``r`` is ``rows[r * stride + offset :][:size]`` for every r in
        0 .. total-1 (how ``rsgroups`` holds a batch of groups): no block is
        copied, so decoding a run of neighbouring groups costs one call.
        """
        lost_set = set(lost)
        held = [r for r in range(self.total) if r not in lost_set]
        if len(held) < self.k:
            raise ValueError(f"need {self.k} intact blocks, {len(held)} left")
        if offset < 0 or size < 0 or (self.total - 1) * stride + offset + size > len(rows):
            raise ValueError("blocks out of the buffer")
        use = held[: self.k]
        missing = [r for r in range(self.k) if r in lost_set]
        parity = sorted(r for r in lost_set if r >= self.k)
        view = memoryview(rows)
        if self.backend == "zfec":

            def block(r: int) -> memoryview:
                return view[r * stride + offset : r * stride + offset + size]

            if missing:
                got = self._zdec.decode([block(r) for r in use], use)
                for r in missing:
                    block(r)[:] = got[r]
            if parity:
                got = self._zenc.encode([block(r) for r in range(self.k)], tuple(parity))
                for r, par in zip(parity, got, strict=True):
                    block(r)[:] = par
            return
        arr = (ctypes.c_char * len(rows)).from_buffer(rows)
        base = ctypes.addressof(arr) + offset
        try:
            if missing:
                tables = self._decode_tables(tuple(use), tuple(missing))
                dst = [base + r * stride for r in missing]
                self._run(tables, [base + r * stride for r in use], dst, size)
            if parity:
                tables = self._init_tables(b"".join(self._row(r) for r in parity), len(parity))
                src = [base + r * stride for r in range(self.k)]
                self._run(tables, src, [base + r * stride for r in parity], size)
        finally:
            del arr

    def _decode_tables(self, use: tuple[int, ...], missing: tuple[int, ...]) -> isal.Tables:
        """ISA-L tables that compute the ``missing`` message blocks from the blocks ``use``.

        ``use`` (sorted) is the message blocks we hold, then parity rows J, one per
        missing block E. With C the parity coefficients: C[J,E] d_E = P_J + C[J,rest]
        d_rest (minus is plus in GF(2^8)), so d_E = C[J,E]^-1 P_J + M d_rest with
        M = C[J,E]^-1 C[J,rest]. Only the small e x e matrix is inverted
        (gf_invert_matrix on the whole k x k one costs k^3 calls: ~50 ms at 222),
        and M is computed by ec_encode_data itself, the rows of C[J,rest] as data.
        """
        key = (use, missing)
        if key in self._tables:
            self._tables.move_to_end(key)
            return self._tables[key]
        lib = isal.lib()
        parity = [r for r in use if r >= self.k]
        rest = [r for r in use if r < self.k]
        e = len(missing)
        coef = [self._row(j) for j in parity]
        square = bytes(row[i] for row in coef for i in missing)
        a = (ctypes.c_ubyte * (e * e)).from_buffer_copy(square)
        inv = (ctypes.c_ubyte * (e * e))()
        if lib.gf_invert_matrix(a, inv, e) != 0:  # cannot happen for an MDS code
            raise ValueError("singular decode matrix")
        inverse = bytes(inv)
        prod = [bytearray(len(rest)) for _ in range(e)]
        if rest:
            sources = [_without(row, missing) for row in coef]  # the columns of ``rest``
            src = isal.Pointers(sources, False, len(rest))
            dst = isal.Pointers(prod, True, len(rest))
            lib.ec_encode_data(
                len(rest),
                e,
                e,
                isal.tables(inverse, e, e),
                (ctypes.c_void_p * e)(*src.addrs),
                (ctypes.c_void_p * e)(*dst.addrs),
            )
        coeffs = b"".join(bytes(prod[i]) + inverse[i * e : (i + 1) * e] for i in range(e))
        tables = isal.tables(coeffs, self.k, e)
        self._tables[key] = tables
        if len(self._tables) > _DECODE_CACHE:
            self._tables.popitem(last=False)
        return tables

    # ------------------------------------------------------------------ ISA-L

    def _init_tables(self, coeffs: bytes, rows: int) -> isal.Tables:
        return isal.tables(coeffs, self.k, rows)

    def _run(self, tables: isal.Tables, src: list[int], dst: list[int], length: int) -> None:
        """ec_encode_data over ``length`` bytes at those addresses, a SLICE at a time."""
        lib = isal.lib()
        k, rows = len(src), len(dst)

        def work(start: int, end: int) -> None:
            if start == 0 and end <= SLICE:  # one call: no address arithmetic
                at = (ctypes.c_void_p * k)(*src), (ctypes.c_void_p * rows)(*dst)
                lib.ec_encode_data(end, k, rows, tables, *at)
                return
            src_at = (ctypes.c_void_p * k)()
            dst_at = (ctypes.c_void_p * rows)()
            for off in range(start, end, SLICE):
                n = min(SLICE, end - off)
                src_at[:] = [a + off for a in src]
                dst_at[:] = [a + off for a in dst]
                lib.ec_encode_data(n, k, rows, tables, src_at, dst_at)

        _two_ways(length, k, work)


@functools.lru_cache(maxsize=8)
def _codec(k: int, total: int, backend: str) -> Codec:
    made = Codec(k, total, backend)
    if backend == "isal" and not _agrees_with_zfec(made):
        # A library that computes other bytes would write recovery data no
        # other copy of securemedia can use: never take it.
        return Codec(k, total, "zfec")
    return made


def _agrees_with_zfec(made: Codec) -> bool:
    """Whether ISA-L's parity and decode of a small pseudo-random group match zfec's."""
    k, total = made.k, made.total
    blocks = [bytes((i * 131 + j * 29 + 7) % 256 for j in range(100)) for i in range(k)]
    parity = made.encode(blocks)
    want = [bytes(b) for b in made._zenc.encode(blocks, tuple(range(k, total)))]
    if parity != want:
        return False
    group = dict(enumerate(blocks + parity))
    keep = {i: group[i] for i in sorted(group, reverse=True)[:k]}  # parity first: real work
    return made.decode(keep) == blocks


def codec(k: int, total: int) -> Codec:
    """The shared codec of a geometry, on the backend ``backend_name()`` picks."""
    return _codec(k, total, backend_name())
