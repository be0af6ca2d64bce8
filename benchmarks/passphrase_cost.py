"""The figures behind the new-passphrase rule (src/securemedia/passphrase_strength.py).

1. What one guess costs against our Argon2id (t=3, 64 MiB, 4 lanes) on this
   machine: the median of ROUNDS key derivations, each with a fresh salt.
2. The attacker's budget the threshold is set against, from that cost's memory
   traffic (a GPU or ASIC is bounded by memory bandwidth on Argon2).
3. How random diceware-style phrases score: SAMPLE phrases of N words drawn
   (fixed seed) from the 7,776 most frequent English words of 3+ letters in
   zxcvbn's own lists, i.e. the words an attacker tries first.

    python benchmarks/passphrase_cost.py
    python benchmarks/passphrase_cost.py --rounds 10 --sample 500
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import time

from securemedia.passphrase_strength import MIN_GUESSES_LOG10, estimate
from securemedia.recipients.passphrase import Argon2Params, derive_key

GPU_BANDWIDTH = 2e12  # bytes/s: a current high-end GPU's memory bandwidth
GPUS = 100
YEAR = 3.15e7  # seconds


def _argon2_seconds(rounds: int) -> float:
    params = Argon2Params()
    derive_key(b"warm-up", os.urandom(16), params)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        derive_key(b"a guess", os.urandom(16), params)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _phrases(words: int, sample: int) -> list[float]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    common = [w for w in FREQUENCY_LISTS["english_wikipedia"] if len(w) >= 3][:7776]
    rng = random.Random(1)
    return sorted(
        estimate(" ".join(rng.choice(common) for _ in range(words))).guesses_log10
        for _ in range(sample)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sample", type=int, default=200)
    args = parser.parse_args()
    per_guess = _argon2_seconds(args.rounds)
    p = Argon2Params()
    moved = p.time_cost * p.memory_kib * 1024 * 3  # each block: two read, one written
    gpu_rate = GPU_BANDWIDTH / moved
    budget = gpu_rate * GPUS * YEAR
    print(f"Argon2id t={p.time_cost} m={p.memory_kib // 1024} MiB p={p.parallelism}:")
    print(f"  {per_guess:.3f} s per guess here ({os.cpu_count()} cores), {1 / per_guess:.1f}/s")
    print(f"  >= {moved / 1e9:.2f} GB of memory traffic per guess")
    print(f"  a {GPU_BANDWIDTH / 1e12:.0f} TB/s GPU: <= {gpu_rate:,.0f} guesses/s")
    print(f"  {GPUS} GPUs for a year: {budget:.1e} guesses (10^{math.log10(budget):.1f})")
    print(f"threshold: 10^{MIN_GUESSES_LOG10:.0f} estimated guesses")
    for words in (3, 4, 5):
        scores = _phrases(words, args.sample)
        passed = sum(s >= MIN_GUESSES_LOG10 for s in scores)
        print(
            f"  {words} random words: lowest 10^{scores[0]:.1f}, "
            f"5th percentile 10^{scores[len(scores) // 20]:.1f}, "
            f"median 10^{statistics.median(scores):.1f}; {passed}/{len(scores)} pass"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
