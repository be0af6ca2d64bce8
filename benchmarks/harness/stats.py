"""Summaries of the runs and the check of the targets of issues #6 and #13.

Every ratio is the median over rounds of a within-round ratio: both commands ran
minutes apart at most, in the same round-robin pass, so drift of this shared,
noisy machine cancels out far better than it would between two medians.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from harness.tools import BUSY_PREFIX, MEDIA_PACK, MEDIA_PACK_NV, REPAIR

Run = dict[str, Any]
"""One measured run, as stored in results.json (see compare.measure_round)."""

MIB = 1024 * 1024
BASELINE = "cp"
REFERENCE = "AESGCM loop encrypt"

SM_PACK = "securemedia pack"
SM_UNPACK = "securemedia unpack"
SM_NC_PACK = "securemedia --no-compress pack"
SM_NC_UNPACK = "securemedia --no-compress unpack"
AGE_ENC = "age encrypt"
AGE_DEC = "age -d"
ZSTD = "zstd -3 -T2"
ZSTD_D = "zstd -d"
FULL_LOOP = "AESGCM+BLAKE3+fsync loop encrypt"
FULL_LOOP_D = "AESGCM+BLAKE3+fsync loop decrypt"
REFERENCE_D = "AESGCM loop decrypt"
SM_NC_PACK_BUSY = BUSY_PREFIX + SM_NC_PACK
AGE_ENC_BUSY = BUSY_PREFIX + AGE_ENC
RSS_LIMIT_MIB = 100.0


@dataclass(frozen=True)
class Summary:
    """One table row: an operation's medians over its successful runs."""

    op: str
    tool: str
    group: str
    action: str
    runs: int
    median_s: float
    min_s: float
    max_s: float
    mb_per_s: float
    x_baseline: float | None
    x_reference: float | None
    peak_rss_mib: float
    size_pct: float | None


@dataclass(frozen=True)
class Target:
    """One goal of the issue, with the measured ratio and its verdict."""

    name: str
    value: float | None
    limit: float
    comparison: str  # "<=", ">=" or "<"
    status: str  # "PASS", "MISS", "SKIP", or "INFO" (context, not a goal)
    note: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ok_runs(runs: list[Run], op: str) -> list[Run]:
    return [r for r in runs if r["op"] == op and r["returncode"] == 0]


def per_round_ratio(
    runs: list[Run], num: str, den: str, key: Callable[[Run], float] = lambda r: r["seconds"]
) -> float | None:
    """Median over rounds of key(num) / key(den), using rounds where both ran."""
    a = {r["round"]: key(r) for r in ok_runs(runs, num)}
    b = {r["round"]: key(r) for r in ok_runs(runs, den)}
    ratios = [a[k] / b[k] for k in sorted(a.keys() & b.keys()) if b[k] > 0]
    return statistics.median(ratios) if ratios else None


def summarise(runs: list[Run], input_bytes: int) -> list[Summary]:
    """One Summary per operation, in the order operations first appear."""
    order = list(dict.fromkeys(r["op"] for r in runs))
    rows = []
    for op in order:
        good = ok_runs(runs, op)
        if not good:
            continue
        secs = [r["seconds"] for r in good]
        med = statistics.median(secs)
        sizes = [r["output_bytes"] for r in good if r["action"] == "pack"]
        rows.append(
            Summary(
                op=op,
                tool=good[0]["tool"],
                group=good[0]["group"],
                action=good[0]["action"],
                runs=len(good),
                median_s=med,
                min_s=min(secs),
                max_s=max(secs),
                mb_per_s=input_bytes / med / 1e6,
                x_baseline=per_round_ratio(runs, op, BASELINE),
                x_reference=per_round_ratio(runs, op, REFERENCE),
                peak_rss_mib=max(r["max_rss_kib"] for r in good) / 1024,
                size_pct=100 * statistics.median(sizes) / input_bytes if sizes else None,
            )
        )
    return rows


def verdict(value: float | None, limit: float, comparison: str) -> str:
    if value is None:
        return "SKIP"
    passed = {
        "<=": value <= limit,
        ">=": value >= limit,
        "<": value < limit,
    }[comparison]
    return "PASS" if passed else "MISS"


def ratio_target(
    runs: list[Run], name: str, num: str, den: str, limit: float, comparison: str, note: str
) -> Target:
    value = per_round_ratio(runs, num, den)
    why = note if value is not None else f"needs both '{num}' and '{den}' measured"
    return Target(name, value, limit, comparison, verdict(value, limit, comparison), why)


def check_targets(runs: list[Run]) -> list[Target]:
    """The targets of issue #6, each as a within-round ratio (see module doc)."""
    size_of: Callable[[Run], float] = lambda r: float(r["output_bytes"])  # noqa: E731
    targets = [
        ratio_target(
            runs, "pack --no-compress throughput vs age encrypt", AGE_ENC, SM_NC_PACK,
            1.5, ">=", "age time / securemedia time",
        ),
        ratio_target(
            runs, "pack --no-compress time vs bare AESGCM loop", SM_NC_PACK, REFERENCE,
            1.3, "<=", "securemedia time / loop time",
        ),
        ratio_target(
            runs, "unpack throughput vs age -d", AGE_DEC, SM_UNPACK,
            1.5, ">=", "age -d time / securemedia unpack time (compressed archive)",
        ),
        ratio_target(
            runs, "unpack (--no-compress archive) throughput vs age -d", AGE_DEC, SM_NC_UNPACK,
            1.5, ">=", "age -d time / securemedia unpack time",
        ),
        # Issue #13, each against its baseline in the same round:
        ratio_target(
            runs, "pack time vs zstd -3 -T2", SM_PACK, ZSTD,
            1.05, "<=", "securemedia pack time / zstd time",
        ),
        ratio_target(
            runs, "unpack time vs zstd -d", SM_UNPACK, ZSTD_D,
            1.0, "<=", "securemedia unpack time (compressed archive) / zstd -d time",
        ),
        ratio_target(
            runs, "pack --no-compress time vs age encrypt, quiet", SM_NC_PACK, AGE_ENC,
            1.0, "<=", "securemedia time / age time",
        ),
        ratio_target(
            runs, "pack --no-compress time vs age encrypt, 1 core busy", SM_NC_PACK_BUSY,
            AGE_ENC_BUSY, 1.0, "<=",
            "both while a busy-loop process started by the harness runs",
        ),
        ratio_target(
            runs, "pack --media dvd --iso time vs pack", MEDIA_PACK, SM_PACK,
            1.35, "<=", "with the read-back check (the default) / plain pack",
        ),
        ratio_target(
            runs, "pack --media dvd --iso --no-verify time vs pack", MEDIA_PACK_NV, SM_PACK,
            1.2, "<=", "without the read-back check / plain pack",
        ),
    ]  # fmt: skip
    size = per_round_ratio(runs, SM_PACK, ZSTD, key=size_of)
    targets.append(
        Target(
            "pack output size vs zstd -3 -T2",
            size,
            1.01,
            "<=",
            verdict(size, 1.01, "<="),
            "securemedia archive bytes / .zst bytes",
        )
    )
    ours = dict.fromkeys(r["op"] for r in runs if r["group"] == "securemedia")
    for op in ours or (SM_PACK, SM_UNPACK, SM_NC_PACK, SM_NC_UNPACK):
        good = ok_runs(runs, op)
        peak = max(r["max_rss_kib"] for r in good) / 1024 if good else None
        targets.append(
            Target(
                f"peak RSS of {op} (MiB)",
                peak,
                RSS_LIMIT_MIB,
                "<",
                verdict(peak, RSS_LIMIT_MIB, "<"),
                "max ru_maxrss over runs" if good else f"'{op}' not measured",
            )
        )
    repairs = [r["seconds"] for r in ok_runs(runs, REPAIR)]
    targets.append(
        Target(
            "repair time (s)",
            statistics.median(repairs) if repairs else None,
            0.0,
            "",  # no bar of its own: a figure to halve (see the note)
            "INFO" if repairs else "SKIP",
            "median seconds of a whole repair of one damaged image; goal: half of its "
            "zfec decode time (see bench_recovery.py)",
        )
    )
    return targets + context(runs)


def context(runs: list[Run]) -> list[Target]:
    """Ratios that are not goals but say what the goals cost: how far a process
    with no format at all gets against the same bars, and what the format adds
    over the least that hashing the content and a durable output cost."""
    rows = [
        ("bare AESGCM loop throughput vs age encrypt", AGE_ENC, REFERENCE, 1.5, ">="),
        ("bare AESGCM decrypt loop throughput vs age -d", AGE_DEC, REFERENCE_D, 1.5, ">="),
        ("zstd -d throughput vs age -d", AGE_DEC, ZSTD_D, 1.5, ">="),
        ("pack --no-compress time vs AESGCM+BLAKE3+fsync loop", SM_NC_PACK, FULL_LOOP, 1.3, "<="),
        ("unpack --no-compress time vs AESGCM+BLAKE3 decrypt loop", SM_NC_UNPACK, FULL_LOOP_D,
         1.3, "<="),
    ]  # fmt: skip
    out = []
    for name, num, den, limit, comparison in rows:
        value = per_round_ratio(runs, num, den)
        status = "INFO" if value is not None else "SKIP"
        out.append(Target(f"{name} (context)", value, limit, comparison, status, f"{num} / {den}"))
    return out
