"""Generate the volume-set vectors in tests/vectors/volumes/ (see ../README.md).

    python tests/vectors/generate_volumes.py            # write tests/vectors/volumes/
    python tests/vectors/generate_volumes.py --out DIR  # write elsewhere (determinism check)

A vector is a whole set of volume files (docs/MEDIA.md section 2), without
recovery data, as a reader is given them: the files' names and sizes in the
header, their bytes after it, one file after the other. It tests the reader's
set rules (2.1): the header size, and payload ranges that must tile
``[0, archive length)``. The payloads are seeded bytes, not archives: the
volume layer treats them as opaque, and what a set that opens presents is
compared by its SHA-256.

The volume files are built by an encoder written here from MEDIA.md 2.1 and
4.11, which first reproduces the real writer's set (``VolumeSetWriter``, with
and without a spare volume) byte for byte, so a forged set differs from a
written one only where intended. Deterministic: a fixed set id, seeded data.

Every vector file is gzip-compressed (mtime 0): a text header of ``key: value``
lines, one blank line, then the files' bytes.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import struct
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import google_crc32c
import zfec

HERE = Path(__file__).resolve().parent
VOLUMES = HERE / "volumes"
SECTOR = 2048
SET_ID = bytes.fromhex("5e7c0de5f1eeda7a0123456789abcdef")
CAPACITY = 5000  # payload bytes per volume
# Three volumes: 5000, 5000, 2000 bytes. Text stamped with its offset, so no two
# slices are alike and the vectors compress.
ARCHIVE = b"".join(b"byte %06d of the archive\n" % i for i in range(0, 12_000, 27))[:12_000]

FLAG_SPARE = 4


@dataclass
class Volume:
    """One volume file's header fields (MEDIA.md 2.1) and payload."""

    number: int
    count: int
    offset: int
    payload: bytes
    total: int = len(ARCHIVE)
    spares: int = 0
    stripe: int = 0
    size: int = SECTOR  # the header-size field
    length: int | None = None  # the payload-length field, if not len(payload)

    def file_bytes(self) -> bytes:
        flags = FLAG_SPARE if self.number > self.count else 0
        length = len(self.payload) if self.length is None else self.length
        body = struct.pack(
            "<8sHH16sIIQQQIHHQQ",
            b"\x89SMVOL\r\n",
            1,
            self.size,
            SET_ID,
            self.number,
            self.count,
            self.offset,
            length,
            self.total,
            flags,
            self.spares,
            0,
            self.stripe,
            0,
        ).ljust(SECTOR - 4, b"\0")
        return body + struct.pack("<I", google_crc32c.value(body)) + self.payload


def plain_set(archive: bytes = ARCHIVE, capacity: int = CAPACITY) -> list[Volume]:
    """The volumes a writer makes without spares: full volumes, the rest last."""
    pieces = [archive[i : i + capacity] for i in range(0, len(archive), capacity)] or [b""]
    count = len(pieces)
    return [
        Volume(n, count, (n - 1) * capacity, piece, len(archive))
        for n, piece in enumerate(pieces, 1)
    ]


def spare_set(
    data: list[bytes] | None = None, stripe: int = CAPACITY, total: int | None = None
) -> list[Volume]:
    """Data volumes ``data`` (by default ``ARCHIVE`` cut at ``stripe``) at offsets
    ``(i - 1) stripe`` (MEDIA.md 4.11), and one spare volume over them."""
    if data is None:
        data = [ARCHIVE[i : i + stripe] for i in range(0, len(ARCHIVE), stripe)]
    total = len(ARCHIVE) if total is None else total
    count = len(data)
    padded = [d.ljust(stripe, b"\0") for d in data]
    parity = zfec.Encoder(count, count + 1).encode(padded)[count]
    vols = [Volume(i, count, (i - 1) * stripe, d, total, 1, stripe) for i, d in enumerate(data, 1)]
    return [*vols, Volume(count + 1, count, 0, bytes(parity), total, 1, stripe)]


def written_set(spares: int) -> list[bytes]:
    """The real writer's volume files for ``ARCHIVE``, in volume order."""
    from securemedia.media.volumes import VolumeSetWriter

    with tempfile.TemporaryDirectory() as tmp:
        writer = VolumeSetWriter(
            Path(tmp) / "set.sm", SECTOR + CAPACITY, redundancy=None, spares=spares
        )
        writer.set_id = SET_ID
        with writer:
            writer.write(ARCHIVE)
        return [p.read_bytes() for p in writer.paths]


@dataclass
class Vector:
    name: str
    expect: str  # "opens" or "refused"
    volumes: list[Volume]
    comment: str
    error: str = ""
    order: list[int] = field(default_factory=list)  # indices into volumes, as given

    def file_bytes(self) -> bytes:
        given = [self.volumes[i] for i in (self.order or range(len(self.volumes)))]
        files = [v.file_bytes() for v in given]
        lines = [("expect", self.expect)]
        for v, data in zip(given, files, strict=True):
            lines.append(("file", f"set.sm.{v.number:03d}.smv {len(data)}"))
        if self.expect == "opens":
            lines.append(("sha256", hashlib.sha256(ARCHIVE).hexdigest()))
        else:
            lines.append(("error", self.error))
        lines.append(("comment", self.comment))
        head = "".join(f"{k}: {v}\n" for k, v in lines) + "\n"
        return gzip.compress(head.encode() + b"".join(files), compresslevel=9, mtime=0)


def _with(vols: list[Volume], index: int, **changes: object) -> list[Volume]:
    out = [Volume(**vars(v)) for v in vols]
    for key, value in changes.items():
        setattr(out[index], key, value)
    return out


def build_vectors() -> list[Vector]:
    plain, spared = plain_set(), spare_set()
    for mine, spares in ((plain, 0), (spared, 1)):
        assert [v.file_bytes() for v in mine] == written_set(spares), "encoder != writer"
    a = ARCHIVE
    disagrees = "its header disagrees with the other volumes"
    # The same archive cut where no writer cuts: the headers tile nothing.
    gap = _with(plain, 1, offset=5001, payload=a[5001:10000])
    overlap = _with(plain, 1, offset=4999, payload=a[4999:10000])
    first_not_at_zero = [
        Volume(1, 3, 1, a[1:5000]),
        Volume(2, 3, 5000, a[5000:10000]),
        Volume(3, 3, 10000, a[10000:]),
    ]
    empty_middle = [
        Volume(1, 4, 0, a[:5000]),
        Volume(2, 4, 5000, b""),
        Volume(3, 4, 5000, a[5000:10000]),
        Volume(4, 4, 10000, a[10000:]),
    ]
    short = [Volume(**{**vars(v), "total": len(a) + 1}) for v in plain]
    # Stripe 6000 over 12000 bytes: volumes 1 and 2 hold it all, volume 3 nothing.
    long_stripe = spare_set([a[:6000], a[6000:], b""], stripe=6000)
    # Stripe 5000, three full volumes: 15000 bytes, but the headers say 15001.
    too_short = spare_set([a[:5000], a[5000:10000], a[10000:] + bytes(3000)], total=15_001)
    # One data volume of 12000 bytes, its spare a copy: a stripe of 13000 is no payload's.
    wide_stripe = spare_set([a], stripe=13_000)
    return [
        Vector("opens_three_volumes", "opens", plain, "3 volumes of 5000, 5000, 2000 bytes"),
        Vector(
            "opens_in_any_order",
            "opens",
            plain,
            "the same 3 volumes given as 3, 1, 2: the headers say the order",
            order=[2, 0, 1],
        ),
        Vector(
            "opens_with_spare",
            "opens",
            spared,
            "3 data volumes and 1 spare volume (stripe length 5000)",
        ),
        Vector(
            "opens_spare_stands_in",
            "opens",
            spared,
            "volume 2 not given: its payload is rebuilt from the spare (MEDIA.md 4.11)",
            order=[0, 2, 3],
        ),
        Vector(
            "refused_header_size_4096",
            "refused",
            _with(plain, 1, size=4096),
            "volume 2's header-size field says 4096 (CRC valid): only 2048 exists",
            "malformed volume header",
        ),
        Vector(
            "refused_header_size_0",
            "refused",
            _with(plain, 0, size=0),
            "volume 1's header-size field says 0 (CRC valid)",
            "malformed volume header",
        ),
        Vector(
            "refused_payload_gap",
            "refused",
            gap,
            "volume 2 holds [5001, 10000): archive byte 5000 is in no volume",
            disagrees,
        ),
        Vector(
            "refused_payload_overlap",
            "refused",
            overlap,
            "volume 2 holds [4999, 10000): byte 4999 is in volumes 1 and 2",
            disagrees,
        ),
        Vector(
            "refused_first_offset_not_zero",
            "refused",
            first_not_at_zero,
            "volume 1 holds [1, 5000): archive byte 0 is in no volume",
            disagrees,
        ),
        Vector(
            "refused_empty_data_volume",
            "refused",
            empty_middle,
            "4 volumes, volume 2 empty: the ranges tile, but only the one volume of an "
            "empty archive may be empty",
            disagrees,
        ),
        Vector(
            "refused_short_of_archive_length",
            "refused",
            short,
            "the headers say 12001 archive bytes, the volumes hold 12000",
            "archive bytes but their headers say 12001",
        ),
        Vector(
            "refused_past_archive_length",
            "refused",
            _with(plain, 2, total=len(a) - 1),
            "volume 3 holds [10000, 12000) but says the archive is 11999 bytes",
            "lengths out of range",
        ),
        Vector(
            "refused_spare_stripe_too_short",
            "refused",
            too_short,
            "with a spare: 3 volumes of stripe 5000 cannot hold the 15001 bytes the headers say",
            "bytes but their headers say 15001",
        ),
        Vector(
            "refused_spare_stripe_leaves_volume_empty",
            "refused",
            long_stripe,
            "with a spare: stripe 6000 over 12000 bytes leaves volume 3 of 3 empty "
            "(the stripe is the longest data payload; every data volume holds some)",
            "leaves volume 3 of 3 empty",
        ),
        Vector(
            "refused_spare_stripe_longer_than_archive",
            "refused",
            wide_stripe,
            "with a spare: one data volume of 12000 bytes but a stripe length of 13000 "
            "(the stripe is the longest data payload)",
            "is longer than the archive",
        ),
        Vector(
            "opens_one_volume_with_spare",
            "opens",
            spare_set([a], stripe=len(a)),
            "one data volume and its spare, a copy of it (MEDIA.md 4.11, n = 1)",
            order=[1],
        ),
    ]


def write_all(target: Path) -> list[Vector]:
    vectors = build_vectors()
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
    parser.add_argument("--out", type=Path, default=VOLUMES, help="where to write")
    args = parser.parse_args()
    vectors = write_all(args.out)
    total = sum(len(v.file_bytes()) for v in vectors)
    print(f"{len(vectors)} vectors, {total / 1e3:.0f} kB compressed in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
