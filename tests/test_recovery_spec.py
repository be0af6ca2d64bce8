"""docs/MEDIA.md section 4 checked against the code: a second implementation from the text.

Everything below the "reference" line is written from the specification alone -
the CRC32C, the GF(2^8) field, zfec's matrix, the layout and the sector formats -
and must reproduce what securemedia (through zfec) writes, byte for byte. The
library is used only to make the protected files (``protect_file``) and as the
thing compared against (``zfec.Encoder``); nothing of ``sectors.py`` is imported.
A wrong polynomial, wrong evaluation points or a wrongly built matrix fail here
(``test_a_wrong_code_is_caught`` shows that they would). Last, a repairer written
from section 4.10 with that reference repairs every vector of tests/vectors/media/
to the expected bytes and refuses the others: the text is enough to repair a disc.
"""

from __future__ import annotations

import gzip
import hashlib
import random
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
import zfec

from securemedia.media.recovery import protect_file

SECTOR = 2048

# --------------------------------------------------------------------------- reference


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """4.1: reflected 0x82F63B78, init and final XOR 0xFFFFFFFF."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFFFFFF


class Field:
    """4.6: GF(2^8) modulo ``poly`` with generator x (the byte 2)."""

    def __init__(self, poly: int = 0x11D) -> None:
        self.exp = [0] * 255
        self.log = [0] * 256
        value = 1
        for i in range(255):
            self.exp[i] = value
            self.log[value] = i
            value <<= 1
            if value & 0x100:
                value ^= poly
        # Multiplication by a constant as a 256-byte translation table, so that
        # a whole block is multiplied with bytes.translate.
        self.times = [bytes(self.mul(c, v) for v in range(256)) for c in range(256)]

    def mul(self, a: int, b: int) -> int:
        if a == 0 or b == 0:
            return 0
        return self.exp[(self.log[a] + self.log[b]) % 255]

    def inv(self, a: int) -> int:
        return self.exp[(255 - self.log[a]) % 255]

    def point_power(self, r: int, c: int) -> int:
        """``x_r ** c`` with x_0 = 0 (0^0 = 1) and x_r = alpha^(r-1)."""
        if r == 0:
            return 1 if c == 0 else 0
        return self.exp[((r - 1) * c) % 255]

    def invert(self, matrix: list[list[int]]) -> list[list[int]]:
        """Gauss-Jordan over GF(2^8); rows are kept as bytes for speed."""
        k = len(matrix)
        rows = [
            bytes(row) + bytes(1 if i == j else 0 for j in range(k)) for i, row in enumerate(matrix)
        ]
        for col in range(k):
            pivot = next(r for r in range(col, k) if rows[r][col])
            rows[col], rows[pivot] = rows[pivot], rows[col]
            rows[col] = rows[col].translate(self.times[self.inv(rows[col][col])])
            for r in range(k):
                if r != col and rows[r][col]:
                    rows[r] = xor(rows[r], rows[col].translate(self.times[rows[r][col]]))
        return [list(row[k:]) for row in rows]

    def encoding_matrix(self, k: int, n: int) -> list[list[int]]:
        """E = V . A^-1 (n x k): identity on top, parity rows below."""
        v = [[self.point_power(r, c) for c in range(k)] for r in range(n)]
        a_inv = [bytes(row) for row in self.invert(v[:k])]
        # Row r of E is the combination of the rows of A^-1 weighted by V[r].
        return [list(self.combine(row, a_inv)) for row in v]

    def combine(self, coefficients: list[int], blocks: list[bytes]) -> bytes:
        """XOR over c of coefficients[c] * blocks[c], byte by byte."""
        out = bytes(len(blocks[0]))
        for coef, block in zip(coefficients, blocks, strict=True):
            if coef:
                out = xor(out, block.translate(self.times[coef]))
        return out

    def encode(self, k: int, n: int, blocks: list[bytes]) -> list[bytes]:
        """The n - k parity blocks of k data blocks."""
        e = self.encoding_matrix(k, n)
        return [self.combine(e[r], blocks) for r in range(k, n)]


def xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "little") ^ int.from_bytes(b, "little")).to_bytes(len(a), "little")


GF = Field()


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def max_k(r: float) -> int:
    """4.2."""
    k = 255
    while k + max(1, ceil_div_round(r * k)) > 256:
        k -= 1
    return k


def ceil_div_round(x: float) -> int:
    whole = round(x, 9)
    return int(whole) + (whole > int(whole))


@dataclass
class SpecLayout:
    """4.3, computed from (D, k, p, copies) alone."""

    d: int
    k: int
    p: int
    copies: int

    def __post_init__(self) -> None:
        self.n = ceil_div(self.d, SECTOR)
        self.c = max(1, ceil_div(self.n, 508))
        self.m = self.n + self.c
        self.g = ceil_div(self.m, self.k)
        self.pc = max(1, ceil_div(self.p * self.g, 508))
        self.descs: list[int] = []
        self.pc_starts: list[int] = []
        self.rows: list[int] = []
        pos = self.m
        for q in range(self.copies):
            self.descs.append(pos)
            self.pc_starts.append(pos + 1)
            pos += 1 + self.pc
            for _ in range(self.p * q // self.copies, self.p * (q + 1) // self.copies):
                self.descs.append(pos)
                self.rows.append(pos + 1)
                pos += 1 + self.g
        self.descs.append(pos)
        self.t = pos + 1


def spec_layout_for(d: int, r: float) -> SpecLayout:
    """4.2: the parameters a writer chooses for redundancy ``r``."""
    n = ceil_div(d, SECTOR)
    m = n + max(1, ceil_div(n, 508))
    k = min(max_k(r), m)
    return SpecLayout(d, k, max(4, ceil_div_round(r * k)), 3)


def parse_descriptor(raw: bytes) -> tuple[int, int, int, int, int, int, int] | None:
    """4.7: (version, k, p, copies, D, T, own sector), or None if not intact."""
    if raw[:8] != b"SMRECOV1" or struct.unpack_from("<I", raw, 40)[0] != crc32c(raw[:40]):
        return None
    return struct.unpack_from("<HHHHQQQ", raw, 8)


def find_descriptor(image: bytes) -> SpecLayout:
    """4.8: the last sector-aligned intact descriptor naming its own place."""
    for s in range(len(image) // SECTOR - 1, -1, -1):
        fields = parse_descriptor(image[s * SECTOR : (s + 1) * SECTOR])
        if fields is None or fields[0] != 1 or fields[6] != s:
            continue
        _, k, p, copies, d, t, own = fields
        assert k >= 1 and 1 <= p <= max(4, k) and k + p <= 256 and 1 <= copies <= 8
        lay = SpecLayout(d, k, p, copies)
        assert lay.t == t and own in lay.descs
        return lay
    raise AssertionError("no descriptor")


def checksum_entries(raw: bytes, kind: int, index: int) -> list[int]:
    """4.4: the 508 entries of an intact checksum sector (asserting it is one)."""
    assert raw[:4] == b"SMCK" and raw[4] == kind and raw[5:8] == bytes(3)
    assert struct.unpack_from("<I", raw, 8)[0] == index
    assert struct.unpack_from("<I", raw, 2044)[0] == crc32c(raw[:2044])
    return list(struct.unpack_from("<508I", raw, 12))


# --------------------------------------------------------------------------- the field and the code


def test_crc32c_check_value() -> None:
    import google_crc32c

    assert crc32c(b"123456789") == 0xE3069283
    sample = random.Random(5).randbytes(3000)
    assert crc32c(sample) == google_crc32c.value(sample)


def test_field_as_specified() -> None:
    assert GF.exp[:10] == [1, 2, 4, 8, 16, 32, 64, 128, 0x1D, 0x3A]
    assert sorted(GF.exp) == list(range(1, 256))  # x generates every non-zero byte


def test_check_values_of_the_spec() -> None:
    assert GF.encoding_matrix(2, 4)[2:] == [[3, 2], [5, 4]]
    e = GF.encoding_matrix(3, 5)
    assert e[:3] == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert e[3:] == [[0x0F, 0x08, 0x06], [0x2D, 0x30, 0x1C]]
    assert GF.encode(3, 5, [b"\x01", b"\x02", b"\x03"]) == [b"\x15", b"\x69"]
    assert bytes(zfec.Encoder(3, 5).encode([b"\x01", b"\x02", b"\x03"], (3, 4))[0]) == b"\x15"


CODES = [(1, 2), (1, 5), (1, 256), (2, 4), (3, 5), (10, 14), (50, 58), (128, 256), (200, 256),
         (222, 256), (254, 256), (255, 256), (20, 20)]  # fmt: skip


@pytest.mark.parametrize(("k", "n"), CODES)
def test_reference_reproduces_zfec(k: int, n: int) -> None:
    rng = random.Random(k * 1000 + n)
    blocks = [rng.randbytes(64) for _ in range(k)]
    blocks[0] = bytes(64)  # an all-zero block, and an all-0xFF one
    if k > 1:
        blocks[1] = b"\xff" * 64
    want = [bytes(b) for b in zfec.Encoder(k, n).encode(blocks, tuple(range(k, n)))]
    assert GF.encode(k, n, blocks) == want


@pytest.mark.parametrize(("k", "n"), [(1, 4), (5, 9), (30, 40)])
def test_any_k_blocks_decode(k: int, n: int) -> None:
    """4.6: invert the rows of E for any k intact blocks; zfec decodes the same."""
    rng = random.Random(n)
    data = [rng.randbytes(32) for _ in range(k)]
    blocks = data + GF.encode(k, n, data)
    e = GF.encoding_matrix(k, n)
    for _ in range(5):
        chosen = sorted(rng.sample(range(n), k))
        inverse = GF.invert([e[r] for r in chosen])
        got = [GF.combine(row, [blocks[r] for r in chosen]) for row in inverse]
        assert got == data
        dec = zfec.Decoder(k, n).decode([blocks[r] for r in chosen], chosen)
        assert [bytes(b) for b in dec] == data


def test_a_wrong_code_is_caught() -> None:
    """What the tests above would see if the spec named another field or matrix."""
    blocks = [bytes([1, 2, 3, 4]), bytes([5, 6, 7, 8]), bytes([9, 10, 11, 12])]
    want = [bytes(b) for b in zfec.Encoder(3, 6).encode(blocks, (3, 4, 5))]
    assert Field(0x11B).encode(3, 6, blocks) != want  # AES's polynomial
    assert Field(0x12B).encode(3, 6, blocks) != want

    class NoZeroPoint(Field):
        def point_power(self, r: int, c: int) -> int:
            return self.exp[(r * c) % 255]

    class Transposed(Field):
        def invert(self, matrix: list[list[int]]) -> list[list[int]]:
            inv = super().invert(matrix)
            return [list(col) for col in zip(*inv, strict=True)]

    assert NoZeroPoint().encode(3, 6, blocks) != want
    assert Transposed().encode(3, 6, blocks) != want


# --------------------------------------------------------------------------- geometry


def test_parameter_table_of_the_spec() -> None:
    table = {0.02: 250, 0.05: 243, 0.10: 232, 0.15: 222, 0.20: 213, 0.25: 204, 0.5: 170, 1.0: 128}
    parity = {0.02: 5, 0.05: 13, 0.10: 24, 0.15: 34, 0.20: 43, 0.25: 51, 0.5: 85, 1.0: 128}
    for r, k in table.items():
        assert max_k(r) == k
        assert max(4, ceil_div_round(r * k)) == parity[r]
    assert ceil_div_round(0.15 * 200) == 30  # not 31
    # The known defect the spec states: at 1 % the floor of 4 overflows the field.
    assert max_k(0.01) == 253 and max(4, ceil_div_round(0.01 * 253)) == 4


def test_worked_example_of_the_spec() -> None:
    lay = spec_layout_for(8_000_000, 0.15)
    assert (lay.n, lay.c, lay.m, lay.k, lay.p, lay.g, lay.pc) == (3907, 8, 3915, 222, 34, 18, 2)
    assert lay.pc_starts == [3916, 4128, 4340]
    assert lay.descs[:3] == [3915, 3918, 3937] and lay.rows[:2] == [3919, 3938]
    assert lay.descs[-1] == 4570 and lay.t == 4571 and len(lay.descs) == 38
    assert lay.rows[10] + 18 == 4127 and lay.rows[11] == 4131 and lay.rows[22] == 4343
    empty = spec_layout_for(0, 0.15)
    assert (empty.n, empty.c, empty.m, empty.k, empty.p, empty.g, empty.pc, empty.t) == (
        0, 1, 1, 1, 4, 1, 1, 16,
    )  # fmt: skip


# --------------------------------------------------------------------------- a real file


@pytest.mark.parametrize(
    ("size", "redundancy"),
    [(1_000_001, 0.15), (5_000, 0.15), (300_000, 1.0), (0, 0.15)],
    ids=["three-groups", "one-small-group", "k128-p128", "empty"],
)
def test_real_file_parsed_from_the_spec(tmp_path: Path, size: int, redundancy: float) -> None:
    data = random.Random(size).randbytes(size)
    path = tmp_path / "vol"
    path.write_bytes(data)
    protect_file(path, redundancy)
    image = path.read_bytes()

    def sector(s: int) -> bytes:
        return image[s * SECTOR : (s + 1) * SECTOR]

    lay = find_descriptor(image)
    assert lay.descs[-1] == lay.t - 1  # the intact file's last sector is a descriptor
    assert (lay.d, lay.copies) == (size, 3)
    assert lay.g == {1_000_001: 3, 300_000: 2}.get(size, 1)  # interleave exercised
    want = spec_layout_for(size, redundancy)
    assert (lay.k, lay.p) == (want.k, want.p)
    assert len(image) == lay.t * SECTOR
    assert image[:size] == data and image[size : lay.n * SECTOR] == bytes(lay.n * SECTOR - size)
    for s in lay.descs:
        fields = parse_descriptor(sector(s))
        assert fields == (1, lay.k, lay.p, 3, size, lay.t, s)
        assert sector(s)[44:] == bytes(SECTOR - 44)

    data_sums: list[int] = []
    for t in range(lay.c):
        data_sums += checksum_entries(sector(lay.n + t), 0, t)
    assert data_sums[: lay.n] == [crc32c(sector(s)) for s in range(lay.n)]
    assert not any(data_sums[lay.n :])
    tables = [b"".join(sector(start + t) for t in range(lay.pc)) for start in lay.pc_starts]
    assert tables[0] == tables[1] == tables[2]
    parity_sums: list[int] = []
    for t in range(lay.pc):
        parity_sums += checksum_entries(sector(lay.pc_starts[0] + t), 1, t)

    e = GF.encoding_matrix(lay.k, lay.k + lay.p)
    for col in range(lay.g):
        message = [sector(i) if i < lay.m else bytes(SECTOR)
                   for i in (row * lay.g + col for row in range(lay.k))]  # fmt: skip
        for j, row_start in enumerate(lay.rows):
            parity = sector(row_start + col)
            assert parity == GF.combine(e[lay.k + j], message), (col, j)
            assert parity_sums[j * lay.g + col] == crc32c(parity)


# ---------------------------------------------------------------- a repairer from the spec

LARGEST_DISC = 24_438_784 * SECTOR  # BD-R DL (section 5)


class Refused(Exception):
    """What the spec's repairer says instead of repairing."""


def spec_find(image: bytes) -> SpecLayout:
    """4.8 and 4.9: the last intact descriptor in its own place, bounded."""
    for s in range(ceil_div(len(image), SECTOR) - 1, -1, -1):
        fields = parse_descriptor(image[s * SECTOR : (s + 1) * SECTOR].ljust(SECTOR, b"\0"))
        if fields is None or fields[0] != 1 or fields[6] != s:
            continue
        _, k, p, copies, d, t, own = fields
        if not (k >= 1 and 1 <= p <= max(4, k) and k + p <= 256 and 1 <= copies <= 8):
            raise Refused("forged parameters")
        if d > LARGEST_DISC:
            raise Refused("forged size")
        lay = SpecLayout(d, k, p, copies)
        if lay.t != t or own not in lay.descs:
            raise Refused("forged sizes")
        rebuildable = p * (1 + lay.g) + (1 + lay.pc) * copies + len(lay.descs)
        if t * SECTOR > LARGEST_DISC or t * SECTOR - len(image) > rebuildable * SECTOR:
            raise Refused("more missing than recovery can rebuild")
        return lay
    raise Refused("not protected")


def descriptor_at(lay: SpecLayout, own: int) -> bytes:
    body = struct.pack("<8sHHHHQQQ", b"SMRECOV1", 1, lay.k, lay.p, lay.copies, lay.d, lay.t, own)
    return (body + struct.pack("<I", crc32c(body))).ljust(SECTOR, b"\0")


def checksum_sector(kind: int, index: int, entries: list[int]) -> bytes:
    body = struct.pack("<4sB3xI508I", b"SMCK", kind, index, *entries, *[0] * (508 - len(entries)))
    return body + struct.pack("<I", crc32c(body))


def intact_entries(raw: bytes, kind: int, index: int) -> list[int] | None:
    try:
        return checksum_entries(raw, kind, index)
    except AssertionError:
        return None


def spec_repair(damaged: bytes) -> bytes:
    """4.10, step by step, with the GF(2^8) reference above: the repaired file."""
    lay = spec_find(damaged)
    sec = [damaged[s * SECTOR : (s + 1) * SECTOR].ljust(SECTOR, b"\0") for s in range(lay.t)]
    n_blocks = lay.k + lay.p
    e = GF.encoding_matrix(lay.k, n_blocks)

    def place(row: int, col: int) -> int | None:
        """File sector of block ``row`` of group ``col``; None for a virtual zero."""
        if row >= lay.k:
            return lay.rows[row - lay.k] + col
        i = row * lay.g + col
        return i if i < lay.m else None

    def decode(blocks: dict[int, bytes]) -> list[bytes]:
        rows = sorted(blocks)[: lay.k]
        inverse = GF.invert([e[r] for r in rows])
        return [GF.combine(line, [blocks[r] for r in rows]) for line in inverse]

    # 2. parity checksums: the first intact copy of each table sector.
    psums: list[int | None] = []
    for t in range(lay.pc):
        copies = (intact_entries(sec[start + t], 1, t) for start in lay.pc_starts)
        found = next((x for x in copies if x is not None), None)
        psums += found if found is not None else [None] * 508

    # 3. data checksums, rebuilt through their groups while that helps.
    dsums: dict[int, list[int]] = {}
    progress = True
    while progress:
        progress = False
        for t in range(lay.c):
            if t in dsums:
                continue
            got = intact_entries(sec[lay.n + t], 0, t)
            if got is None:
                col = (lay.n + t) % lay.g
                known: dict[int, bytes] = {}
                maybe: dict[int, bytes] = {}
                for row in range(n_blocks):
                    s = place(row, col)
                    raw = sec[s] if s is not None else bytes(SECTOR)
                    ok = good(row, s, raw, lay, dsums, psums)
                    if ok:
                        known[row] = raw
                    elif ok is None and raw != bytes(SECTOR):
                        maybe[row] = raw
                chosen = dict(list(known.items()) + list(maybe.items())[: lay.k - len(known)])
                if len(chosen) >= lay.k:
                    raw = decode(chosen)[(lay.n + t) // lay.g]
                    got = intact_entries(raw, 0, t)
                    if got is not None:
                        sec[lay.n + t] = raw
            if got is not None:
                dsums[t] = got
                progress = True
    if len(dsums) < lay.c:
        raise Refused("unrepairable: a data-checksum sector is lost")

    # 4.-6. scan each group, decide, rebuild.
    for col in range(lay.g):
        blocks = {}
        for row in range(n_blocks):
            s = place(row, col)
            raw = sec[s] if s is not None else bytes(SECTOR)
            if good(row, s, raw, lay, dsums, psums):
                blocks[row] = raw
        if len(blocks) == n_blocks:
            continue
        if len(blocks) < lay.k:
            raise Refused(f"unrepairable: group {col} lost {n_blocks - len(blocks)} blocks")
        message = decode(blocks)
        full = message + [GF.combine(e[r], message) for r in range(lay.k, n_blocks)]
        for row in range(n_blocks):
            s = place(row, col)
            if s is not None and row not in blocks:
                if good(row, s, full[row], lay, dsums, psums) is False:
                    raise Refused("unrepairable: a rebuilt sector does not check")
                sec[s] = full[row]

    # 7. descriptors and parity-checksum copies afresh.
    entries = [crc32c(sec[start + c]) for start in lay.rows for c in range(lay.g)]
    for t in range(lay.pc):
        raw = checksum_sector(1, t, entries[t * 508 : (t + 1) * 508])
        for start in lay.pc_starts:
            sec[start + t] = raw
    for s in lay.descs:
        sec[s] = descriptor_at(lay, s)
    return b"".join(sec)


def good(
    row: int,
    s: int | None,
    raw: bytes,
    lay: SpecLayout,
    dsums: dict[int, list[int]],
    psums: list[int | None],
) -> bool | None:
    """4.10 step 4: whether a block checks; None when its checksum is unknown."""
    if s is None:
        return True
    if row >= lay.k:
        want = psums[(row - lay.k) * lay.g + (s - lay.rows[row - lay.k])]
    elif s >= lay.n:
        return intact_entries(raw, 0, s - lay.n) is not None
    else:
        table = dsums.get(s // 508)
        want = None if table is None else table[s % 508]
    return None if want is None else crc32c(raw) == want


MEDIA_VECTORS = sorted((Path(__file__).parent / "vectors" / "media").glob("*.gz"))


@pytest.mark.parametrize("path", MEDIA_VECTORS, ids=[p.name for p in MEDIA_VECTORS])
def test_a_repairer_from_the_spec_repairs_the_vectors(path: Path) -> None:
    """The spec is enough: a repairer written from section 4 alone (above) turns every
    repair vector into the expected bytes, and refuses the others."""
    head, _, body = gzip.decompress(path.read_bytes()).partition(b"\n\n")
    fields = dict(line.split(": ", 1) for line in head.decode().splitlines())
    if fields["expect"] == "unrepairable":
        with pytest.raises(Refused, match="unrepairable"):
            spec_repair(body)
        return
    if fields["expect"] == "refused":
        with pytest.raises(Refused, match=r"forged|not protected"):
            spec_repair(body)
        return
    assert hashlib.sha256(spec_repair(body)).hexdigest() == fields["sha256"]


def test_small_redundancy_protects_a_large_file(tmp_path: Path) -> None:
    """1 % is below the parity floor's break-even: k must leave room for 4 parity blocks."""
    from securemedia.media import recovery
    from securemedia.media.sectors import layout_for_redundancy, max_k

    assert max_k(0.01) == 252
    lay = layout_for_redundancy(600 * 2048, 0.01)
    assert lay.k + lay.p <= 256
    target = tmp_path / "big"
    target.write_bytes(bytes(range(256)) * (600 * 8))
    recovery.protect_file(target, 0.01)
    assert recovery.verify_file(target).ok
