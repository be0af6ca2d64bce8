"""Write a deterministic synthetic health-registry CSV (issue #6).

The default row count, 5,282,616, is the number of people whose health records
were on a CD lost in 2015: the dataset securemedia exists to protect. Every value
is invented; no row describes a real person.

The columns follow a hospital-discharge register: pseudonymous id, birth year,
sex, municipality, ICD-10 diagnosis, admission and discharge dates, hospital,
ATC drug code and cost. Distributions are skewed (Zipf-like code lists, an
ageing population, short stays), so zstd -3 compresses the file to roughly a
third, like real registry extracts and unlike uniform noise.

Generation is vectorised with numpy: each chunk of rows is built as one byte
array by scattering fixed-width "glyph" matrices into row offsets, so the full
file (about 370 MB) takes seconds rather than minutes of Python string work.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

DEFAULT_ROWS = 5_282_616
DEFAULT_SEED = 2015
CHUNK_ROWS = 262_144

COLUMNS = (
    "person_id",
    "birth_year",
    "sex",
    "municipality",
    "icd10",
    "admission_date",
    "discharge_date",
    "hospital",
    "atc",
    "cost",
)
HEADER = (",".join(COLUMNS) + "\n").encode("ascii")

# Register period: admissions 2010-01-01 .. 2014-12-31, stays up to ~120 days.
FIRST_DAY = date(2010, 1, 1)
ADMISSION_DAYS = (date(2015, 1, 1) - FIRST_DAY).days
MAX_STAY = 120

# ICD-10 chapters with a rough share of hospital admissions (letters, weight).
ICD_CHAPTERS: tuple[tuple[str, float], ...] = (
    ("I", 14.0),  # circulatory
    ("J", 9.0),  # respiratory
    ("K", 10.0),  # digestive
    ("S", 8.0),  # injuries
    ("C", 7.0),  # neoplasms
    ("O", 6.0),  # pregnancy
    ("M", 7.0),  # musculoskeletal
    ("N", 5.0),  # genitourinary
    ("F", 5.0),  # mental
    ("R", 8.0),  # symptoms
    ("Z", 6.0),  # health services
    ("E", 3.0),  # endocrine
    ("G", 3.0),  # nervous
    ("A", 2.0),  # infectious
    ("D", 2.0),  # blood, benign neoplasms
    ("H", 2.0),  # eye, ear
    ("L", 1.5),  # skin
    ("T", 1.5),  # poisoning
    ("Q", 0.5),  # congenital
)
# ATC anatomical groups most dispensed in hospitals.
ATC_GROUPS = ("A", "B", "C", "J", "N", "M", "R", "L", "H", "S")

Glyphs = tuple[NDArray[np.uint8], NDArray[np.int64]]
"""A column as a (rows, width) byte matrix plus each row's used length."""


@dataclass(frozen=True)
class Pools:
    """Code lists and their sampling weights, built once from the seed."""

    icd: list[bytes]
    icd_p: NDArray[np.float64]
    atc: list[bytes]
    atc_p: NDArray[np.float64]
    municipality: NDArray[np.int64]
    municipality_p: NDArray[np.float64]
    hospital_of_municipality: NDArray[np.int64]
    hospitals: list[bytes]
    dates: list[bytes]


def zipf_weights(n: int, s: float) -> NDArray[np.float64]:
    """Normalised 1/rank**s weights: a few codes dominate, as in real registers."""
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** s
    return w / w.sum()


def build_pools(rng: np.random.Generator) -> Pools:
    """Draw the code lists (ICD, ATC, municipalities, hospitals, dates) once."""
    icd: list[bytes] = []
    icd_w: list[float] = []
    for letter, share in ICD_CHAPTERS:
        cats = rng.choice(100, size=40, replace=False)
        local = zipf_weights(len(cats) * 3, 1.1) * share
        for k, cat in enumerate(cats):
            for j, sub in enumerate(rng.choice(10, size=3, replace=False)):
                # About a fifth of the codes are recorded at category level only.
                code = f"{letter}{cat:02d}" if sub == 9 else f"{letter}{cat:02d}.{sub}"
                icd.append(code.encode("ascii"))
                icd_w.append(float(local[k * 3 + j]))
    icd_p = np.array(icd_w) / np.sum(icd_w)
    order = rng.permutation(len(icd))  # decouple popularity from chapter order
    icd = [icd[i] for i in order]
    icd_p = icd_p[order]

    atc: list[bytes] = []
    for _ in range(450):
        g = ATC_GROUPS[int(rng.integers(len(ATC_GROUPS)))]
        d = rng.integers(0, 10, size=4)
        letters = rng.choice(list("ABCDEFGHJKLMNPQRSTX"), size=2)
        atc.append(f"{g}{d[0]}{d[1]}{letters[0]}{letters[1]}{d[2]}{d[3]}".encode("ascii"))
    atc_p = zipf_weights(len(atc), 1.05)

    municipality = np.sort(rng.choice(np.arange(101, 5500), size=356, replace=False))
    municipality_p = zipf_weights(len(municipality), 0.9)[rng.permutation(len(municipality))]
    hospitals = [f"HF{h:04d}".encode("ascii") for h in rng.choice(9000, size=64, replace=False)]
    # Each municipality sends its patients to one of a few nearby hospitals.
    hospital_of_municipality = rng.integers(0, len(hospitals), size=(len(municipality), 3))

    dates = [
        (FIRST_DAY + timedelta(days=d)).isoformat().encode("ascii")
        for d in range(ADMISSION_DAYS + MAX_STAY + 1)
    ]
    return Pools(
        icd=icd,
        icd_p=icd_p,
        atc=atc,
        atc_p=atc_p,
        municipality=municipality,
        municipality_p=municipality_p,
        hospital_of_municipality=hospital_of_municipality,
        hospitals=hospitals,
        dates=dates,
    )


def pool_glyphs(pool: list[bytes]) -> Glyphs:
    """A list of byte strings as a padded matrix plus lengths, for fancy indexing."""
    width = max(len(s) for s in pool)
    mat = np.zeros((len(pool), width), dtype=np.uint8)
    for i, s in enumerate(pool):
        mat[i, : len(s)] = np.frombuffer(s, dtype=np.uint8)
    return mat, np.array([len(s) for s in pool], dtype=np.int64)


def take(glyphs: Glyphs, idx: NDArray[np.int64]) -> Glyphs:
    """The glyphs of the pool entries ``idx``, one row per CSV row."""
    mat, lens = glyphs
    return mat[idx], lens[idx]


def digits(values: NDArray[np.int64], width: int, pad: bool) -> Glyphs:
    """Decimal rendering of non-negative ints, zero-padded or variable width."""
    n = len(values)
    mat = np.empty((n, width), dtype=np.uint8)
    v = values.copy()
    for k in range(width - 1, -1, -1):
        mat[:, k] = 48 + v % 10
        v //= 10
    if pad:
        return mat, np.full(n, width, dtype=np.int64)
    # Left-align: shift each row by its count of leading zeros (keep at least one digit).
    ndig = np.maximum(1, np.floor(np.log10(np.maximum(values, 1))).astype(np.int64) + 1)
    shift = width - ndig
    cols = np.arange(width)[None, :] + shift[:, None]
    aligned = np.take_along_axis(mat, np.minimum(cols, width - 1), axis=1)
    return aligned, ndig


def hex_ids(values: NDArray[np.uint64], width: int) -> Glyphs:
    """Fixed-width lowercase hex, the look of a keyed-hash pseudonym."""
    alphabet = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    mat = np.empty((len(values), width), dtype=np.uint8)
    v = values.copy()
    for k in range(width - 1, -1, -1):
        mat[:, k] = alphabet[(v & np.uint64(15)).astype(np.int64)]
        v >>= np.uint64(4)
    return mat, np.full(len(values), width, dtype=np.int64)


def concat_fields(fields: list[Glyphs], suffixes: list[bytes]) -> bytes:
    """Scatter the columns of a chunk into one CSV byte string.

    ``suffixes[i]`` follows field ``i`` (a comma, or the newline, possibly with a
    literal such as ``.`` between two numeric fields).
    """
    n = len(fields[0][1])
    extra = sum(len(s) for s in suffixes)
    row_len = sum(lens for _, lens in fields) + extra
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(row_len[:-1], out=starts[1:])
    out = np.empty(int(row_len.sum()), dtype=np.uint8)
    pos = starts.copy()
    for (mat, lens), suffix in zip(fields, suffixes, strict=True):
        for j in range(mat.shape[1]):
            used = lens > j
            out[pos[used] + j] = mat[used, j]
        pos += lens
        for b in suffix:
            out[pos] = b
            pos += 1
    return out.tobytes()


def chunk_bytes(rng: np.random.Generator, pools: Pools, n: int) -> bytes:
    """Generate ``n`` rows from ``rng`` as CSV bytes."""
    icd_g = pool_glyphs(pools.icd)
    atc_g = pool_glyphs([*pools.atc, b""])
    hosp_g = pool_glyphs(pools.hospitals)
    date_g = pool_glyphs(pools.dates)

    # Pseudonyms: 40-bit keyed-hash lookalikes.
    ids = rng.integers(0, 1 << 40, size=n, dtype=np.uint64)
    # Hospital patients skew old: a triangular-ish age distribution.
    age = np.clip((rng.triangular(0, 75, 100, size=n)).astype(np.int64), 0, 104)
    admit = rng.integers(0, ADMISSION_DAYS, size=n)
    birth_year = 2010 + admit // 365 - age
    sex = np.where(rng.random(n) < 0.53, ord("F"), ord("M")).astype(np.uint8)

    muni_i = rng.choice(len(pools.municipality), size=n, p=pools.municipality_p)
    # A third of rows are readmissions of a recent patient: the person's id,
    # birth year, sex and home municipality repeat, as in a real register.
    back = np.arange(n) - rng.integers(1, 5000, size=n)
    again = (rng.random(n) < 0.33) & (back >= 0)
    for person_field in (ids, birth_year, sex, muni_i):
        person_field[again] = person_field[back[again]]
    hosp_i = pools.hospital_of_municipality[muni_i, rng.choice(3, size=n, p=[0.7, 0.2, 0.1])]
    icd_i = rng.choice(len(pools.icd), size=n, p=pools.icd_p)
    # A third of stays have no dispensed drug recorded (empty field).
    atc_i = rng.choice(len(pools.atc), size=n, p=pools.atc_p)
    atc_i[rng.random(n) < 0.33] = len(pools.atc)

    stay = np.minimum(rng.geometric(0.22, size=n) - 1, MAX_STAY)
    # Cost grows with the stay; whole currency units with a cents part that is
    # usually .00 or .50 (tariff-based), as billing extracts look.
    base = rng.lognormal(mean=8.3, sigma=0.7, size=n) * (1 + 0.35 * stay)
    cost = np.maximum(base, 50).astype(np.int64)
    cents = np.where(rng.random(n) < 0.8, 0, 50).astype(np.int64)

    fields: list[Glyphs] = [
        hex_ids(ids, 10),
        digits(birth_year, 4, pad=True),
        (sex[:, None], np.ones(n, dtype=np.int64)),
        digits(pools.municipality[muni_i], 4, pad=True),
        take(icd_g, icd_i),
        take(date_g, admit),
        take(date_g, admit + stay),
        take(hosp_g, hosp_i),
        take(atc_g, atc_i),
        digits(cost, 7, pad=False),
        digits(cents, 2, pad=True),
    ]
    suffixes = [b","] * 9 + [b".", b"\n"]
    return concat_fields(fields, suffixes)


def generate(rows: int, seed: int = DEFAULT_SEED) -> Iterator[bytes]:
    """Yield the CSV (header first) in chunks; same (rows, seed) -> same bytes."""
    root = np.random.SeedSequence(seed)
    pools = build_pools(np.random.default_rng(root.spawn(1)[0]))
    yield HEADER
    # One independent stream per chunk: chunk k is the same whatever comes after.
    done = 0
    k = 0
    while done < rows:
        n = min(CHUNK_ROWS, rows - done)
        rng = np.random.default_rng([seed, 1, k])
        yield chunk_bytes(rng, pools, n)
        done += n
        k += 1


def write_registry(path: Path, rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> int:
    """Write the registry to ``path``; returns the number of bytes written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with path.open("wb") as f:
        for block in generate(rows, seed):
            f.write(block)
            size += len(block)
    return size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="data rows (no header)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("-o", "--output", type=Path, default=Path("benchmarks/work/registry.csv"))
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    t0 = time.perf_counter()
    size = write_registry(args.output, args.rows, args.seed)
    dt = time.perf_counter() - t0
    print(f"{args.output}: {args.rows:,} rows, {size:,} bytes in {dt:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
