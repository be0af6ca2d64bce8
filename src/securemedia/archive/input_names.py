"""Why an input cannot be packed under its name, said about the file on disk.

The name rules are the reader's (:mod:`.paths`, :mod:`.name_check`); their
messages speak of member names. While packing, the person who can fix the
input needs the file's path, the rule, and the fix: these builders turn the
rule's finding into that one line (an :class:`InputError`, exit 5).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import InputError
from .paths import display_name, folded_name, quoted_name
from .scanned import Source

# The fix for each rule of validate_member_name, by a phrase of its message.
_FIXES = (
    ("reserved device name", "Windows cannot create a file of that name: rename it"),
    ("backslash", "Windows takes '\\' for a folder separator: rename it without one"),
    ("':'", "rename it without ':'"),
    ("ends with a dot or a space", "rename it without the dot or space at the end"),
    ("character", "rename it with visible characters only"),
    ("separator", "rename it with visible characters only"),
    ("too long", "give it a shorter name"),
    ("longer than", "give it a shorter name, or pack a folder nearer to it"),
    ("nested deeper", "pack a folder nearer to it"),
)
_ELSE = "rename it"
_OR_MOVE = "or move it out of the input, and pack again"


def unsafe_name(path: Path, name: str, message: str) -> InputError:
    """``path``, packed as member ``name``, broke a rule: ``message`` is the
    rule's own (``unsafe member name 'NAME': RULE``)."""
    prefix = f"unsafe member name {quoted_name(name)}: "
    rule = message.removeprefix(prefix)
    fix = next((fix for phrase, fix in _FIXES if phrase in rule), _ELSE)
    # Quoted: the name is the problem, and a space at its end must show.
    shown = quoted_name(str(path), limit=400)
    return InputError(f"cannot pack {shown}: unsafe name: {rule}; {fix}, {_OR_MOVE}")


def same_top_name(first: Path, second: Path, name: str) -> InputError:
    """Two inputs that would both be stored under the top-level ``name``."""
    return InputError(
        f"cannot pack {_shown(second)}: {_shown(first)} is also given and both would be stored as "
        f"{quoted_name(name)} (an input keeps only its own name); rename one of them, "
        "or pack the folder that holds them"
    )


def name_conflict(sources: Sequence[Source], number: int, rule: str) -> InputError:
    """The first conflict :class:`~.name_check.NameCheck` found, at member ``number``,
    naming both files on disk. ``sources`` is the scan, walked again (the error
    path only; nothing but the two members is held)."""
    at = sources[number]
    key = folded_name(at.name)
    if rule == "duplicate":
        other = _first(sources, number, lambda k: k == key)
        if other is not None and other.name == at.name:
            return InputError(
                f"cannot pack {_where(at)}: {_where(other)} would also be stored as "
                f"{quoted_name(at.name)}; rename one of them, {_OR_MOVE}"
            )
        if other is not None:
            return InputError(
                f"cannot pack {_where(at)}: its name differs from that of {_where(other)} "
                "only in upper and lower case or Unicode form, so the two would overwrite "
                f"each other on Windows and macOS; rename one of them, {_OR_MOVE}"
            )
    elif rule == "inside":
        file = _first(sources, number, lambda k: key.startswith(k + "/"))
        if file is not None:
            return _inside(at, file)
    elif rule == "holds":
        held = _first(sources, len(sources), lambda k: k.startswith(key + "/"))
        if held is not None:
            return _inside(held, at)
    return InputError(f"cannot pack {_where(at)}: {rule} member name {quoted_name(at.name)}")


def _first(sources: Sequence[Source], before: int, match: Callable[[str], bool]) -> Source | None:
    """The first of the members numbered below ``before`` whose folded name matches."""
    for number, source in enumerate(sources):
        if number >= before:
            return None
        if match(folded_name(source.name)):
            return source
    return None


def _where(source: Source) -> str:
    """Where a member comes from, for the person who can change it."""
    return "standard input" if source.is_stdin else _shown(source.path)


def _shown(path: Path) -> str:
    """A path with everything a terminal would interpret escaped."""
    return display_name(str(path))


def _inside(member: Source, file: Source) -> InputError:
    return InputError(
        f"cannot pack {_where(member)}: its name {quoted_name(member.name)} would put it "
        f"inside {quoted_name(file.name)}, which is the file {_where(file)} (names that "
        "differ only in upper and lower case are one on Windows and macOS); rename one "
        f"of them, {_OR_MOVE}"
    )
