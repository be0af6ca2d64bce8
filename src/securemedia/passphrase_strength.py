"""How many guesses a new passphrase would cost an attacker, and the rule that
refuses an obviously weak one.

The estimate is zxcvbn's (Wheeler, USENIX Security 2016): the cheapest way to
build the passphrase from common passwords, names and words (ranked by
frequency), keyboard walks, repeats, sequences, dates and years, with l33t and
capital variants, else brute force. It is a lower bound on an attacker's work
only in that an attacker who knows nothing better follows the same lists.

The threshold (:data:`MIN_GUESSES_LOG10`) follows from what one guess costs
against our Argon2id (t=3, 64 MiB, 4 lanes; ``docs/FORMAT.md``):

* measured (``python benchmarks/passphrase_cost.py``): 0.19 s per guess on
  the 2-core reference machine idle, 0.33 s while other jobs ran;
* a GPU or ASIC is bounded by memory bandwidth, not by arithmetic: each guess
  moves at least 3 passes x 64 MiB x 3 block accesses, 0.6 GB, so a 2 TB/s
  GPU manages at most ~3,300 guesses per second;
* an attacker with 100 such GPUs for a year (a few hundred thousand dollars of
  rented time, for a disc of health records): 3.3e3 x 100 x 3.2e7 s, about
  10^13 guesses.

Below 10^14 estimated guesses the passphrase is refused: ten times that
attacker's year, since the data on a disc stays sensitive for decades and
hardware gets cheaper. Four random common words (a diceware phrase) always
pass (the lowest of 200 sampled scored 10^14.5; three words: 182 of 200);
``Summer2024!`` (10^7.4) or ``correct horse`` (10^8.2) do not.

The passphrase never appears in a message: the reason names the kinds of
patterns found, not where or what they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import Remedy, UsageError

MIN_GUESSES_LOG10 = 14.0
"""Refuse a new passphrase that zxcvbn estimates at fewer than 10^14 guesses."""
MAX_ESTIMATED_CHARS = 72
"""zxcvbn's matching is super-linear in the length (and it refuses longer input):
a longer passphrase is judged on its first 72 characters, which can only make
the estimate lower (the rule stricter), never higher."""
SUGGESTION = "use four or more random words (a diceware phrase), or a generated passphrase"

# What each zxcvbn pattern is, for a reason that names no part of the passphrase.
_PATTERNS = {
    "dictionary": "common words, names or passwords",
    "spatial": "keyboard patterns",
    "repeat": "repeated characters or words",
    "sequence": "sequences like abc or 987",
    "regex": "years",
    "date": "dates",
}
# Words that an attacker who knows the context tries first.
_CONTEXT = ["securemedia", "secure", "media", "archive", "export", "registry", "passphrase"]


@dataclass(frozen=True)
class Strength:
    """The estimate for one passphrase; holds nothing of the passphrase itself."""

    guesses_log10: float
    patterns: tuple[str, ...]
    """The kinds of guessable parts found (``"dictionary"``, ``"date"``...)."""

    @property
    def acceptable(self) -> bool:
        """At least :data:`MIN_GUESSES_LOG10`."""
        return self.guesses_log10 >= MIN_GUESSES_LOG10

    def reason(self) -> str:
        """Why it is weak, in one clause (no part of the passphrase in it)."""
        found = [_PATTERNS[p] for p in dict.fromkeys(self.patterns) if p in _PATTERNS]
        listed = "; ".join(found)
        made_of = f": it is made of {listed}" if found else ": it is too short"
        return f"about 10^{math.floor(self.guesses_log10)} guesses would find it{made_of}"


def _text(passphrase: bytes | str) -> str:
    if isinstance(passphrase, str):
        return passphrase
    # Bytes that are not UTF-8 are judged as Latin-1: one character per byte.
    try:
        return passphrase.decode("utf-8")
    except UnicodeDecodeError:
        return passphrase.decode("latin-1")


def estimate(passphrase: bytes | str) -> Strength:
    """zxcvbn's estimate of the guesses needed to find ``passphrase``."""
    import zxcvbn  # only a new passphrase pays for loading its word lists

    text = _text(passphrase)[:MAX_ESTIMATED_CHARS]
    if not text:
        return Strength(0.0, ())
    result: dict[str, Any] = zxcvbn.zxcvbn(text, user_inputs=_CONTEXT)
    patterns = tuple(str(m["pattern"]) for m in result["sequence"])
    return Strength(float(result["guesses_log10"]), patterns)


class WeakPassphraseError(UsageError):
    """A new passphrase is below :data:`MIN_GUESSES_LOG10` (exit 2)."""


def check_new_passphrase(passphrase: bytes | str, what: str = "passphrase") -> None:
    """Raise :class:`WeakPassphraseError` if ``passphrase`` is too easy to guess.

    For passphrases that will protect something (a new archive, a new key file);
    one that opens an existing archive is never judged. The message says why and
    what to do instead, never the passphrase.
    """
    strength = estimate(passphrase)
    if not strength.acceptable:
        raise WeakPassphraseError(
            f"the {what} is too weak ({strength.reason()}); {SUGGESTION}",
            remedy=Remedy.WEAK_PASSPHRASE,
        )
