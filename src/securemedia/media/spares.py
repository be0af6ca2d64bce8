"""Cross-volume parity: the spare volumes that let any ``spares`` volumes of a set be lost.

Data volume i's payload P_i (i = 1..n) is read as zero-padded to the stripe
length L. Spare j (j = 1..m) holds L bytes Q_j where, for every byte position
t, Q_j[t] is parity block number n + j - 1 (0-based) of the zfec code with
k = n and total n + m applied to the column (P_1[t], ..., P_n[t]). Reed-Solomon
works byte by byte, so encoding a stripe of any width gives the same bytes:
the writer and the rebuilder work through the payloads ``stripe_width`` bytes
at a time, and memory stays flat whatever the disc size. Any n of the n + m
payloads give back all of them. With n == 1 every spare is a copy of the one
data payload (zfec's code with k = 1 repeats its block): a set of mirrors.
"""

from __future__ import annotations

from ..errors import MediaError
from . import rs_backend
from .header import MAX_CODED_VOLUMES, MAX_SPARES
from .sizes import SECTOR

STRIPE_SECTORS = 64
"""Sectors of each volume handled at once (128 KiB per volume)..."""

STRIPE_BUDGET = 16 * 1024 * 1024
"""...unless the whole stripe over all volumes would exceed this many bytes."""


def stripe_width(total: int) -> int:
    """Bytes of each volume to encode at once for a set of ``total`` volumes.

    A whole number of sectors, at most ``STRIPE_SECTORS``, and small enough
    that the stripe of all volumes fits ``STRIPE_BUDGET`` (at least one sector).
    """
    sectors = max(1, min(STRIPE_SECTORS, STRIPE_BUDGET // (max(total, 1) * SECTOR)))
    return sectors * SECTOR


def check_geometry(n: int, spares: int) -> None:
    """Refuse a code zfec cannot make: GF(2^8) gives at most 256 blocks."""
    if n < 1 or not 1 <= spares <= MAX_SPARES or n + spares > MAX_CODED_VOLUMES:
        raise MediaError(
            f"{n} data volumes with {spares} spares: at most {MAX_CODED_VOLUMES} volumes "
            f"in all and {MAX_SPARES} spares"
        )


def encode_stripe(columns: list[bytes], spares: int) -> list[bytes]:
    """The ``spares`` parity strings of ``columns`` (n equal-length byte strings).

    Returns, in order, the bytes of spare volumes 1..spares for this stripe.
    """
    n = len(columns)
    check_geometry(n, spares)
    width = len(columns[0])
    if any(len(c) != width for c in columns):
        raise ValueError("stripe columns differ in length")
    return rs_backend.codec(n, n + spares).encode(columns)


def decode_stripe(n: int, spares: int, present: dict[int, bytes]) -> list[bytes]:
    """The n data columns of a stripe from any n of its n + spares columns.

    ``present`` maps the 0-based volume index (data 0..n-1, spares n..n+spares-1)
    to its bytes for this stripe, all of one length. Raises MediaError when
    fewer than n are present.
    """
    check_geometry(n, spares)
    usable = sorted(i for i in present if 0 <= i < n + spares)
    if len(usable) < n:
        raise MediaError(
            f"{n + spares - len(usable)} of {n + spares} volumes are missing: "
            f"the set's {spares} spare(s) rebuild at most {spares}"
        )
    # Data columns first: the ones zfec does not have to compute.
    chosen = usable[:n]
    widths = {len(present[i]) for i in chosen}
    if len(widths) != 1:
        raise ValueError("stripe columns differ in length")
    if chosen == list(range(n)):
        return [bytes(present[i]) for i in chosen]
    return rs_backend.codec(n, n + spares).decode({i: present[i] for i in chosen})
