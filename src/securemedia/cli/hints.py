"""The one place where an error's remedy becomes the command-line option to use.

The library says what is wrong in its own terms and names the fix as a
:class:`~securemedia.errors.Remedy`; only the CLI knows its options' names.
"""

from __future__ import annotations

from ..errors import Remedy, SecureMediaError

_HINTS: dict[Remedy, str] = {
    Remedy.REPLACE: " (use --force to overwrite)",
    Remedy.CHOOSE_MEMBER: ": choose one with --member",
    Remedy.RECIPIENT: ": give -r KEY, or -p for a passphrase",
    Remedy.NAMED_OUTPUT: ": give -o NAME, not -o -",
    Remedy.WEAK_PASSPHRASE: " (or accept it with --allow-weak-passphrase)",
}


def cli_message(error: SecureMediaError) -> str:
    """``error``'s message, with the option that fixes it when there is one."""
    hint = _HINTS.get(error.remedy) if error.remedy is not None else None
    return f"{error}{hint or ''}"
