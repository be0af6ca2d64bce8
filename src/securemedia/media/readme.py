"""``README.TXT``: the plain-text note on every disc, for whoever finds it."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError, os_error

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
    # meant to be read in any text viewer.
    cleaned = "".join(ch for ch in text if ch in "\n\t" or ch >= " ").strip("\n")
    if cleaned.count("\n") >= MAX_NOTICE_LINES:
        raise UsageError(f"notice text has more than {MAX_NOTICE_LINES} lines")
    return cleaned or None


def disc_title(number: int, count: int, spares: int = 0) -> str:
    """``volume 2 of 4``, ``volume 2 of 4 (+1 spare)`` or ``spare 1 of 1 (volume 5 of 4+1)``."""
    if number > count:
        return f"spare {number - count} of {spares} (volume {number} of {count}+{spares})"
    if spares:
        return f"volume {number} of {count} (+{spares} spare)"
    return f"volume {number} of {count}"


SENDER_LINE = "If you found this disc, please return it to the sender:"
NO_CONTACT = "(The sender gave no return contact.)"


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

    ``count`` is the number of data volumes; ``spares`` the spare volumes after
    them (a spare's ``number`` is above ``count``).
    """
    contact = notice if notice else NO_CONTACT
    what = (
        "one spare volume (parity that replaces any lost disc) of an encrypted"
        if number > count
        else "one volume of an encrypted securemedia"
    )
    lines = [
        f"SECUREMEDIA ENCRYPTED DISC - {disc_title(number, count, spares)}",
        "",
        f"This disc holds {volume_name}, {what}",
        "archive. The data is encrypted: without the private key of the person it",
        "was sent to, it cannot be read, and it is of no use to anyone else.",
        "",
        SENDER_LINE,
        "",
        *("    " + line for line in contact.splitlines()),
        "",
        "For the recipient and the sender's operator",
        "-------------------------------------------",
        "Check the disc without any key (finds damaged sectors and mixed-up discs):",
        "",
        "    securemedia verify DISC-IMAGE-OR-VOLUME...",
        "",
        "Repair a damaged copy (unreadable sectors read as zeros, e.g. with ddrescue):",
        "",
        "    securemedia repair DAMAGED-IMAGE -o OUTPUT-DIRECTORY",
        "",
        "Unpack (needs the recipient's key; give every disc of the set, any order):",
        "",
        "    securemedia unpack -i KEYFILE DISC1.iso DISC2.iso ... -o DESTINATION",
        "",
        "Without securemedia: FORMAT.TXT on this disc specifies the archive format",
        "byte by byte, and MEDIA.TXT the volumes, the disc image and the recovery",
        "data (sector checksums, Reed-Solomon code), enough to write a reader or a",
        "repairer. Both are public and carry nothing about the data.",
        "",
        f"Set id: {set_hex} (every disc of this shipment carries the same id)",
        "",
    ]
    return "\r\n".join(lines).encode("utf-8")
