"""What the salvage copy costs per disc: the reserve kept free in every volume
and the copy actually written, for a typical export and for 1,000,000 members.

The copy is the archive header plus the encrypted tail (from the chunk holding
the index's first byte: up to one 1 MiB chunk of member data, then the index,
the signature and the trailer). The reserve is its bound from the member names
alone (docs/MEDIA.md, "Salvage copies"). Small cases are written for real
through ArchiveWriter (the copy length measured); the million-member case
encodes the same index entries the writer would, without the member data.

    python benchmarks/salvage_cost.py [--json FILE]
"""

from __future__ import annotations

import argparse
import io
import json
import time

from securemedia.archive.index import Member, encode_entry
from securemedia.archive.writer import ArchiveWriter
from securemedia.keys import SecretKey
from securemedia.media.plan import volume_capacity
from securemedia.media.salvage_copy import copy_length, reserve_fits, salvage_reserve
from securemedia.media.sizes import parse_medium
from securemedia.stream import CHUNK_SIZE, TAG_SIZE


class _Sink(io.BytesIO):
    layout: tuple[int, int] = (0, 0)

    def salvage_layout(self, header_length: int, tail_offset: int) -> None:
        self.layout = (header_length, tail_offset)


def name(i: int) -> str:
    """A typical export path: ``export/0042/rows-0042017.csv`` (28 bytes)."""
    return f"export/{i // 1000:04d}/rows-{i:07d}.csv"


def written(count: int, size: int) -> dict[str, int]:
    """A real archive of ``count`` members of ``size`` bytes: its copy length."""
    key = SecretKey.generate()
    sink = _Sink()
    names = [name(i) for i in range(count)]
    with ArchiveWriter(sink, [key.public.recipient()]) as writer:
        block = bytes(size)
        for n in names:
            with writer.open_member(n, mtime_ns=1_733_000_000_000_000_000) as out:
                out.write(block)
    header, tail = sink.layout
    archive = len(sink.getvalue())
    return {
        "members": count,
        "header": header,
        "copy": copy_length(header, tail, archive),
        "reserve": salvage_reserve(names, header),
    }


def encoded(count: int, header: int) -> dict[str, int]:
    """The million-member case: the index the writer would write, worst-case slack."""
    index = len(b'{"version":1,"members":[]}') + count - 1
    offset = 0
    for i in range(count):
        entry = Member(
            name(i), "file", 250_000, 0o644, 1_733_000_000_000_000_000, "zstd",
            "ab" * 32, offset, 60_000,
        )  # fmt: skip
        index += len(encode_entry(entry))
        offset += 60_000
    plain = CHUNK_SIZE + 1 + index + 96 + 40  # slack, tag, index, signature, trailer
    content = header + plain + (-(-plain // CHUNK_SIZE) + 1) * TAG_SIZE
    return {
        "members": count,
        "header": header,
        "index": index,
        "copy": 2048 + -(-content // 2048) * 2048,
        "reserve": salvage_reserve((name(i) for i in range(count)), header),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    started = time.monotonic()
    cases = [written(10, 2_000_000), written(1_000, 20_000)]
    cases.append(encoded(1_000_000, cases[0]["header"]))
    rooms = {
        kind: volume_capacity(parse_medium(kind), iso=True, redundancy=0.15) - 2048
        for kind in ("cd", "dvd", "bd")
    }
    for case in cases:
        for kind, room in rooms.items():
            case[f"{kind}_reserve_permille"] = round(1000 * case["reserve"] / room, 2)
            case[f"{kind}_copy_written"] = int(reserve_fits(case["reserve"], room))
        print(json.dumps(case))
    print(f"({time.monotonic() - started:.1f} s)")
    if args.json:
        with open(args.json, "w") as fp:
            json.dump({"cases": cases, "rooms": rooms}, fp, indent=2)


if __name__ == "__main__":
    main()
