"""``README.TXT``: the plain-text note on every disc, for whoever finds it."""

from __future__ import annotations

import functools
import importlib.metadata
import unicodedata
from pathlib import Path

from ..errors import UsageError, os_error
from .disc_names import IMAGE_SUFFIX, VOLUME_SUFFIX

MAX_NOTICE = 4096
"""Bytes of sender contact text accepted; it is printed on every disc."""

MAX_NOTICE_LINES = 64

NOTICE_ALLOWANCE = MAX_NOTICE + MAX_NOTICE_LINES * 8
"""What the longest accepted notice can add to the README (indent and CRLF per
line): capacity planning reserves it, so the plan never depends on the notice."""


def load_notice(path: Path | None, text: str | None) -> str | None:
    """The sender's return contact from ``--notice FILE`` or ``--notice-text TEXT``."""
    if path is not None and text is not None:
        raise UsageError("give --notice or --notice-text, not both")
    if path is not None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise os_error(exc, "read notice file", path) from exc
        if len(raw) > MAX_NOTICE:
            raise UsageError(f"notice file {path} is larger than {MAX_NOTICE} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"notice file {path} is not UTF-8 text") from exc
    if text is None:
        return None
    if len(text.encode("utf-8")) > MAX_NOTICE:
        raise UsageError(f"notice text is longer than {MAX_NOTICE} bytes")
    # Control characters other than line breaks and tabs have no place in a note
    # meant to be read in any text viewer: C0 and C1 (CSI is U+009B), DEL,
    # bidirectional and other format characters, separators; spaces stay.
    cleaned = "".join(ch for ch in text if ch in "\n\t" or _kept(ch)).strip("\n")
    if cleaned.count("\n") >= MAX_NOTICE_LINES:
        raise UsageError(f"notice text has more than {MAX_NOTICE_LINES} lines")
    return cleaned or None


def _kept(ch: str) -> bool:
    return ch.isprintable() or unicodedata.category(ch) == "Zs"


def disc_title(number: int, count: int, spares: int = 0) -> str:
    """``volume 2 of 4``, ``volume 2 of 4 (+1 spare)`` or ``spare 1 of 1 (volume 5 of 4+1)``."""
    if number > count:
        return f"spare {number - count} of {spares} (volume {number} of {count}+{spares})"
    if spares:
        return f"volume {number} of {count} (+{spares} spare)"
    return f"volume {number} of {count}"


SENDER_LINE = "If you found this disc, please return it to the sender:"
NO_CONTACT = (
    "The sender left no address. Please hand the disc to the\n"
    "organisation named on its label or envelope, or to the police,\n"
    "or destroy it. Please do not keep or copy it."
)
"""The return note when the sender gave no ``--notice``: what a finder can do
anyway. (:func:`read_notice` reads it back as no contact at all.)"""

FIXED_DATE_TEXT = "1980-01-01 00:00 UTC"
"""Every date the disc's file system records (``iso.py`` writes it): not when
the disc was made."""

LISTED_DISCS = 4
"""Up to this many discs, the README's commands name every disc file; more
are given as a wildcard."""

DOWNLOAD = "pip install securemedia"


def read_notice(raw: bytes) -> str | None:
    """The sender's contact from a README.TXT that :func:`render_readme` wrote, or None.

    A finder controls the disc: the text must pass what ``--notice-text`` does.
    """
    lines = raw.decode("utf-8", "replace").split("\r\n")
    if SENDER_LINE not in lines:
        return None
    start = lines.index(SENDER_LINE) + 2
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    text = "\n".join(line.removeprefix("    ") for line in lines[start:end])
    if text == NO_CONTACT:
        return None
    try:
        return load_notice(None, text)
    except UsageError:
        return None


@functools.cache
def _version() -> str:
    """`` 0.1.0 or later``: the version that wrote the disc reads it.

    Looked up once a process: each lookup scans the installed distributions
    (about 2 ms), and a pack renders the README once per disc and again for the
    capacity plan (8 lookups for a one-disc set)."""
    try:
        return f" {importlib.metadata.version('securemedia')} or later"
    except importlib.metadata.PackageNotFoundError:
        return ""


def _files(base: str, numbers: range, suffix: str) -> str:
    """``ship.sm.001.smv ship.sm.002.smv``, or ``ship.sm.*.smv`` for many discs."""
    if len(numbers) > LISTED_DISCS:
        return f"{base}.*{suffix}"
    return " ".join(f"{base}.{n:03d}{suffix}" for n in numbers)


def render_readme(
    *,
    volume_name: str,
    number: int,
    count: int,
    set_hex: str,
    notice: str | None,
    spares: int = 0,
) -> bytes:
    """The note as UTF-8 with CRLF line ends, which every system's viewer shows.

    ``volume_name`` is the volume file on the disc (``ship.sm.001.smv``);
    ``count`` the number of data volumes; ``spares`` the spare volumes after
    them (a spare's ``number`` is above ``count``). Everything but the sender's
    contact is ASCII, in lines of at most 72 characters where the file names
    allow.
    """
    base = volume_name.removesuffix(VOLUME_SUFFIX).rpartition(".")[0] or volume_name
    discs = count + spares
    numbers = range(1, discs + 1)
    volumes = _files(base, numbers, VOLUME_SUFFIX)
    images = _files(base, numbers, IMAGE_SUFFIX)
    contact = notice if notice else NO_CONTACT
    what = (
        [
            "one spare volume (parity that replaces a lost disc) of an encrypted",
            "securemedia archive. The data is encrypted: without the private key of",
            "the person it was sent to, it cannot be read, and it is of no use to",
            "anyone else.",
        ]
        if number > count
        else [
            "one volume of an encrypted securemedia archive. The data is encrypted:",
            "without the private key of the person it was sent to, it cannot be",
            "read, and it is of no use to anyone else.",
        ]
    )
    if spares:
        set_size = (
            f"{discs} discs, {count} data disc(s) and {spares} spare(s):\r\n"
            f"any {spares} of the {discs} may be missing"
        )
    else:
        set_size = f"{count} disc(s); every one of them is needed"
    lines = [
        f"SECUREMEDIA ENCRYPTED DISC - {disc_title(number, count, spares)}",
        "",
        "This disc holds",
        "",
        f"    {volume_name}",
        "",
        *what,
        "",
        SENDER_LINE,
        "",
        *("    " + line for line in contact.splitlines()),
        "",
        "What anyone can see on this disc without a key: this note, the names",
        "and sizes of the files on it (the volume file above and the two",
        "specifications), how many discs the set has, and the set id below.",
        f"Every date on the disc is {FIXED_DATE_TEXT}, not when it was made.",
        "The names, sizes and contents of the files inside the archive, and who",
        "it was sent to, are encrypted.",
        "",
        "For the recipient",
        "-----------------",
        f"The set has {set_size}.",
        "",
        f"1. Install securemedia{_version()} (Python 3.11 or later):",
        "",
        f"       {DOWNLOAD}",
        "",
        f"2. Copy the file {base}.NNN{VOLUME_SUFFIX} from each disc into one",
        "   folder.",
        "",
        "3. In that folder, with your private key file, run:",
        "",
        f"       securemedia unpack -i YOUR-KEY-FILE {volumes} -o DESTINATION",
        "",
        "   Disc images read off the discs work as well, in any order:",
        "",
        f"       securemedia unpack -i YOUR-KEY-FILE {images} -o DESTINATION",
        "",
        *(["   Leave out the file of a disc that is missing.", ""] if spares else []),
        "Check a disc without any key (finds damaged sectors and mixed-up discs):",
        "",
        "    securemedia verify DISC-IMAGE-OR-VOLUME...",
        "",
        "Repair a damaged copy (unreadable sectors read as zeros, e.g. with",
        "ddrescue):",
        "",
        "    securemedia repair DAMAGED-IMAGE -o OUTPUT-DIRECTORY",
        "",
        "After its files, the disc image holds recovery data that repairs",
        "scratches; it lies inside the file system's space, so a copy of the",
        "whole image keeps it.",
        "",
        "Without securemedia: FORMAT.TXT on this disc specifies the archive",
        "format byte by byte, and MEDIA.TXT the volumes, the disc image and the",
        "recovery data (sector checksums, Reed-Solomon code), enough to write a",
        "reader or a repairer. Both are public and carry nothing about the data.",
        "",
        f"Set id: {set_hex}",
        "(every disc of this shipment carries the same id)",
        "",
    ]
    return "\r\n".join(lines).encode("utf-8")
