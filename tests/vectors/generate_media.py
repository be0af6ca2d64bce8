"""Generate the recovery-layer repair vectors in tests/vectors/media/ (see ../README.md).

    python tests/vectors/generate_media.py            # vectors from the committed sources
    python tests/vectors/generate_media.py --fresh    # rebuild the sources with the writer first
    python tests/vectors/generate_media.py --out DIR  # write elsewhere (determinism check)

A *source* is an intact protected file made by the real writer
(``VolumeSetWriter``: a volume file, a disc image, and a volume file whose
groups interleave); every other vector is a source with damage applied here,
byte by byte, from docs/MEDIA.md section 4 (zeroed sectors, a scratch, damaged
descriptors and checksum tables, a cut tail, a forged descriptor).

The sources are committed and the damaged vectors derived from them, so
regeneration never changes a vector: a disc image carries FORMAT.TXT and
MEDIA.TXT (docs/*.md), so a fresh image differs whenever the documents change.
``--fresh`` fixes the set id, the payload and pycdlib's clock (its only source
of variation), so a fresh volume file is byte-identical to the committed one.

Every vector file is gzip-compressed (mtime 0): a text header of ``key: value``
lines, one blank line, then the protected file's bytes to the end.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import random
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import google_crc32c

HERE = Path(__file__).resolve().parent
MEDIA = HERE / "media"
SECTOR = 2048
CLOCK = 1_700_000_000.0  # pycdlib's dates in a fresh image (2023-11-14T22:13:20Z)
SET_ID = bytes.fromhex("5ec0e0a5e7c0ffee0123456789abcdef")

# The three sources: (vector name, file name inside the image/set, redundancy).
SOURCES = {
    "intact_volume": "ship.sm.001.smv",
    "intact_image": "ship.sm.001.iso",
    "intact_interleaved": "wide.sm.001.smv",
}


@dataclass
class Vector:
    name: str
    body: bytes
    fields: list[tuple[str, str]] = field(default_factory=list)

    def file_bytes(self) -> bytes:
        head = "".join(f"{k}: {v}\n" for k, v in self.fields) + "\n"
        return gzip.compress(head.encode("utf-8") + self.body, compresslevel=9, mtime=0)


def read_vector(path: Path) -> Vector:
    raw = gzip.decompress(path.read_bytes())
    head, _, body = raw.partition(b"\n\n")
    fields = [tuple(line.split(": ", 1)) for line in head.decode("utf-8").splitlines()]
    return Vector(path.name.removesuffix(".gz"), body, [(k, v) for k, v in fields])


# -- sources: the real writer ------------------------------------------------------


def _payload(size: int, seed: int, compressible: bool) -> bytes:
    if not compressible:
        return random.Random(seed).randbytes(size)
    # Text-like and sector-stamped: small once gzipped, but no two sectors alike.
    line = b"".join(
        f"sector {i:06d} of a wide test volume\n".encode() for i in range(size // 32 + 1)
    )
    return line[:size]


@contextmanager
def _fixed_clock() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        with mock.patch("time.time", return_value=CLOCK):
            yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


def _write_set(
    directory: Path, base: str, payload: bytes, *, iso: bool, redundancy: float
) -> bytes:
    from securemedia.media.volumes import VolumeSetWriter

    writer = VolumeSetWriter(directory / base, 64 * 2**20, iso=iso, redundancy=redundancy)
    writer.set_id = SET_ID
    with _fixed_clock(), writer:
        writer.write(payload)
    assert len(writer.paths) == 1
    return writer.paths[0].read_bytes()


def build_sources() -> dict[str, bytes]:
    """The intact protected files, made by the real writer."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        return {
            # 37 sectors: one group of k = 22 message and p = 4 parity blocks.
            "intact_volume": _write_set(
                d, "ship.sm", _payload(40_000, 1, False), iso=False, redundancy=0.15
            ),
            # The whole image (file system, README, FORMAT.TXT, MEDIA.TXT, volume).
            "intact_image": _write_set(
                d, "ship.sm", _payload(6_000, 2, False), iso=True, redundancy=0.15
            ),
            # 2 % redundancy: k = 250, p = 5, and G = 3 groups interleaved.
            "intact_interleaved": _write_set(
                d, "wide.sm", _payload(1_030_000, 3, True), iso=False, redundancy=0.02
            ),
        }


# -- the layout, from docs/MEDIA.md section 4 ---------------------------------------


def crc32c(data: bytes) -> int:
    return int(google_crc32c.value(data))


@dataclass
class Layout:
    """What a damage function needs: where the descriptors and tables are."""

    d: int
    k: int
    p: int
    copies: int
    t: int
    n: int
    c: int
    g: int
    descs: list[int]
    pc_starts: list[int]
    rows: list[int]


def layout_of(image: bytes) -> Layout:
    """From the last sector, which is a descriptor in an intact file (4.7, 4.3)."""
    last = len(image) // SECTOR - 1
    raw = image[last * SECTOR :]
    assert raw[:8] == b"SMRECOV1" and struct.unpack_from("<I", raw, 40)[0] == crc32c(raw[:40])
    _, k, p, copies, d, t, own = struct.unpack_from("<HHHHQQQ", raw, 8)
    assert own == last == t - 1
    n = -(-d // SECTOR)
    c = max(1, -(-n // 508))
    g = -(-(n + c) // k)
    pc = max(1, -(-(p * g) // 508))
    descs, pc_starts, rows = [], [], []
    pos = n + c
    for q in range(copies):
        descs.append(pos)
        pc_starts.append(pos + 1)
        pos += 1 + pc
        for _ in range(p * q // copies, p * (q + 1) // copies):
            descs.append(pos)
            rows.append(pos + 1)
            pos += 1 + g
    descs.append(pos)
    assert pos + 1 == t
    return Layout(d, k, p, copies, t, n, c, g, descs, pc_starts, rows)


# -- damage --------------------------------------------------------------------------


def zero(image: bytes, sectors: Iterator[int] | list[int] | range) -> bytes:
    """What ddrescue leaves for unreadable sectors."""
    buf = bytearray(image)
    for s in sectors:
        buf[s * SECTOR : (s + 1) * SECTOR] = bytes(SECTOR)
    return bytes(buf)


def flip(image: bytes, sector: int, offset: int) -> bytes:
    buf = bytearray(image)
    buf[sector * SECTOR + offset] ^= 0x40
    return bytes(buf)


def forged_descriptor(lay: Layout, own: int, k: int, p: int) -> bytes:
    """A self-checking descriptor (4.7) asking for parameters no writer makes."""
    body = struct.pack("<8sHHHHQQQ", b"SMRECOV1", 1, k, p, lay.copies, lay.d, lay.t, own)
    raw = body + struct.pack("<I", crc32c(body))
    return raw + bytes(SECTOR - len(raw))


def replace(image: bytes, sector: int, raw: bytes) -> bytes:
    return image[: sector * SECTOR] + raw + image[(sector + 1) * SECTOR :]


def damaged_sectors(intact: bytes, damaged: bytes) -> str:
    """The sectors a verifier must report: every one that differs or is missing."""
    bad = [
        s
        for s in range(len(intact) // SECTOR)
        if damaged[s * SECTOR : (s + 1) * SECTOR] != intact[s * SECTOR : (s + 1) * SECTOR]
    ]
    if not bad:
        return "none"
    runs: list[list[int]] = []
    for s in bad:
        if runs and runs[-1][1] == s - 1:
            runs[-1][1] = s
        else:
            runs.append([s, s])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


Damage = Callable[[bytes, Layout], bytes]

# name: (source, damage, expect, error substring, comment)
CASES: list[tuple[str, str, Damage, str, str, str]] = [
    ("volume_zeroed_sectors", "intact_volume",
     lambda b, lay: zero(b, [0, 9, 21]), "repaired", "",
     "three unreadable sectors: the volume header, a data sector, the data-checksum sector"),
    ("volume_scratch_p_blocks", "intact_volume",
     lambda b, lay: zero(b, range(5, 5 + lay.p)), "repaired", "",
     "a run of p = 4 sectors in the one group: exactly what the parity rebuilds"),
    ("volume_beyond_repair", "intact_volume",
     lambda b, lay: zero(b, range(5, 5 + lay.p + 1)), "unrepairable", "unrepairable",
     "a run of p + 1 = 5 sectors in the one group: one more than the parity rebuilds"),
    ("volume_descriptors_damaged", "intact_volume",
     lambda b, lay: zero(flip(flip(b, lay.descs[-2], 20), lay.descs[-3], 41), [lay.descs[-1]]),
     "repaired", "",
     "the last descriptor zeroed, the two before it with a flipped bit (field, CRC): "
     "the search falls back to an earlier copy"),
    ("volume_checksum_tables_damaged", "intact_volume",
     lambda b, lay: zero(b, [lay.n, lay.pc_starts[0], lay.pc_starts[1]]), "repaired", "",
     "the data-checksum sector (rebuilt through its group) and two of the three "
     "parity-checksum copies"),
    ("volume_tail_cut", "intact_volume",
     lambda b, lay: b[: (lay.t - 3) * SECTOR], "repaired", "",
     "the last 3 sectors missing (a short read-back): a parity row's end and the last "
     "descriptor are rebuilt"),
    ("image_zeroed_sectors", "intact_image",
     lambda b, lay: zero(b, sorted(random.Random(7).sample(range(16, lay.n), lay.p))),
     "repaired", "",
     "p sectors zeroed at random in sectors 16..N-1 (file system, specifications, volume; "
     "those that were zero already are not damaged)"),
    ("image_scratch_over_file_system", "intact_image",
     lambda b, lay: zero(b, range(16, 16 + lay.p)), "repaired", "",
     "sectors 16 to 16+p-1 zeroed: the volume descriptors, path tables and directories"),
    ("image_beyond_repair", "intact_image",
     lambda b, lay: zero(b, range(30, 30 + lay.p + 1)), "unrepairable", "unrepairable",
     "a run of p + 1 sectors over FORMAT.TXT: beyond the parity of the one group"),
    ("image_descriptor_forged", "intact_image",
     lambda b, lay: replace(b, lay.t - 1, forged_descriptor(lay, lay.t - 1, 1, 200)),
     "refused", "forged recovery descriptor",
     "the last descriptor replaced by a self-checking one asking for p = 200 > max(4, k): "
     "refused, never searched past"),
    ("image_region_cut_off", "intact_image",
     lambda b, lay: b[: lay.d], "refused", "no intact recovery descriptor",
     "only the image as pycdlib wrote it, without its recovery region"),
    ("interleaved_scratch_g_times_p", "intact_interleaved",
     lambda b, lay: zero(b, range(100, 100 + lay.g * lay.p)), "repaired", "",
     "a run of G * p = 15 sectors: p = 5 blocks from each of the G = 3 interleaved groups"),
    ("interleaved_scratch_one_more", "intact_interleaved",
     lambda b, lay: zero(b, range(100, 100 + lay.g * lay.p + 1)), "unrepairable", "unrepairable",
     "a run of G * p + 1 = 16 sectors: one group loses p + 1 blocks"),
]  # fmt: skip


def build_vectors(sources: dict[str, bytes]) -> list[Vector]:
    out: list[Vector] = []
    for name, body in sources.items():
        lay = layout_of(body)
        layout = f"D={lay.d} k={lay.k} p={lay.p} copies={lay.copies} G={lay.g} T={lay.t}"
        what = f"intact, as the real writer made it: the source of {name[7:]}_*"
        fields = [
            ("expect", "intact"),
            ("file", SOURCES[name]),
            ("sha256", hashlib.sha256(body).hexdigest()),
            ("layout", layout),
            ("damaged-sectors", "none"),
            ("comment", what),
        ]
        out.append(Vector(name, body, fields))
    for name, source, damage, expect, error, comment in CASES:
        intact = sources[source]
        lay = layout_of(intact)
        body = damage(intact, lay)
        fields = [("expect", expect), ("file", SOURCES[source])]
        if expect == "repaired":
            fields += [("repaired", source), ("sha256", hashlib.sha256(intact).hexdigest())]
        if expect != "refused":
            fields.append(("damaged-sectors", damaged_sectors(intact, body)))
        if error:
            fields.append(("error", error))
        fields.append(("comment", comment))
        out.append(Vector(name, body, fields))
    return out


def write_all(target: Path, *, fresh: bool) -> list[Vector]:
    if fresh:
        sources = build_sources()
    else:
        sources = {name: read_vector(MEDIA / f"{name}.gz").body for name in SOURCES}
    vectors = build_vectors(sources)
    target.mkdir(parents=True, exist_ok=True)
    names = {f"{v.name}.gz" for v in vectors}
    for stale in target.glob("*.gz"):
        if stale.name not in names:
            stale.unlink()
    for v in vectors:
        (target / f"{v.name}.gz").write_bytes(v.file_bytes())
    return vectors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="rebuild the sources first")
    parser.add_argument("--out", type=Path, default=MEDIA, help="where to write")
    args = parser.parse_args()
    vectors = write_all(args.out, fresh=args.fresh)
    total = sum(len(v.file_bytes()) for v in vectors)
    print(f"{len(vectors)} vectors, {total / 1e3:.0f} kB compressed in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
