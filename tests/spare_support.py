"""Spare volumes for read-side tests, written straight from the design with zfec.

Until ``securemedia.media.spares`` (the writer side) is in this checkout, the
tests read spare sets through the stand-in ``decode_stripe`` below, which is
the contract of docs/MEDIA.md ("Spare discs"): spare j's byte t is zfec's block
n+j-1 (0-based) of the column (P_1[t], ..., P_n[t]) with k = n, m = n + spares.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from pathlib import Path

import zfec

from securemedia.media import recovery
from securemedia.media.header import (
    FLAG_SPARE,
    FLAG_VOLUME_PROTECTED,
    HEADER_SIZE,
    VolumeHeader,
    parse_header,
)

Decode = Callable[[int, int, dict[int, bytes]], list[bytes]]
STRIPE = 64 * 2048


def encode_stripe(columns: list[bytes], spares: int) -> list[bytes]:
    """The spares' bytes for equal-length data columns."""
    n = len(columns)
    enc = zfec.Encoder(n, n + spares)
    return [bytes(b) for b in enc.encode(tuple(columns), tuple(range(n, n + spares)))]


def decode_stripe(n: int, spares: int, present: dict[int, bytes]) -> list[bytes]:
    """The n data columns from any n of the n + spares columns (0-based index)."""
    use = sorted(present)[:n]
    if use == list(range(n)):
        return [present[i] for i in use]
    dec = zfec.Decoder(n, n + spares)
    return [bytes(b) for b in dec.decode(tuple(present[i] for i in use), tuple(use))]


def real_decoder() -> Decode | None:
    """``spares.decode_stripe`` once helper A's module is merged, else None."""
    try:
        module = importlib.import_module("securemedia.media.spares")
    except ImportError:
        return None
    found: Decode = module.decode_stripe
    return found


def add_spares(paths: list[Path], spares: int) -> list[Path]:
    """Turn a finished set of volume files (no images) into one with ``spares`` spare
    volumes: data headers patched, spare files ``NAME.00k`` written beside them, each
    file protected again with 15 % recovery data if it was protected."""
    headers = [parse_header(p.read_bytes()[:HEADER_SIZE], str(p)) for p in paths]
    protected = bool(headers[0].flags & FLAG_VOLUME_PROTECTED)
    n = len(paths)
    stripe = max(h.payload_length for h in headers)
    for path, header in zip(paths, headers, strict=True):
        with path.open("r+b") as fp:
            fp.truncate(header.file_length)  # drop the recovery region: it is redone
            fp.write(dataclasses.replace(header, spares=spares, stripe_length=stripe).pack())
    base = paths[0].name.removesuffix(".001.smv")
    outs = [paths[0].with_name(f"{base}.{n + j:03d}.smv") for j in range(1, spares + 1)]
    files = [o.open("xb") for o in outs]
    try:
        for j, fp in enumerate(files, 1):
            spare = VolumeHeader(
                headers[0].set_id,
                n + j,
                n,
                0,
                stripe,
                headers[0].archive_length,
                FLAG_SPARE | (headers[0].flags & FLAG_VOLUME_PROTECTED),
                spares,
                stripe,
            )
            fp.write(spare.pack())
        for at in range(0, stripe, STRIPE):
            size = min(STRIPE, stripe - at)
            columns = []
            for path, header in zip(paths, headers, strict=True):
                with path.open("rb") as fp:
                    fp.seek(HEADER_SIZE + at)
                    got = fp.read(max(0, min(size, header.payload_length - at)))
                columns.append(got + bytes(size - len(got)))
            for fp, parity in zip(files, encode_stripe(columns, spares), strict=True):
                fp.write(parity)
    finally:
        for fp in files:
            fp.close()
    if protected:
        for path in [*paths, *outs]:
            recovery.protect_file(path, 0.15)
    return [*paths, *outs]
