"""What ``pack`` and ``plan`` say about their disc options, declared once.

``plan`` answers "how many discs would ``pack`` write": the two commands take
the same --media, --redundancy and --spare-discs, so their help must describe
them in the same words (``pack`` adds that they need --media).
"""

from __future__ import annotations

MEDIA_KINDS = (
    "cd, cd74, dvd, dvd-dl, bd, bd-dl, or a SIZE like 700MiB or 8MB "
    "(at least 256KiB, with --iso at least 706KiB)."
)
REDUNDANCY = "recovery data as a share of each disc, e.g. 15% (the default); 0 for none."
SPARE_DISCS = "N spare discs of parity, so that any N discs of the set may be lost (default 0)."
