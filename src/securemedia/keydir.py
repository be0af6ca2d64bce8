"""Finding a public key by its fingerprint among the keys "at hand".

A fingerprint (``FZY7-...``, read over the phone or printed by ``keygen``)
names a key pair but cannot be turned back into the key: the key itself must
be on this machine. "At hand" means, in this order:

* every ``*.pub`` file in the key directory: ``$SECUREMEDIA_KEYS`` if set, else
  ``$XDG_CONFIG_HOME/securemedia/keys`` (``~/.config/securemedia/keys`` when
  ``XDG_CONFIG_HOME`` is unset); the directory need not exist;
* every public key (line or file) named elsewhere on the same command line or
  in the same call (``extra``).

A fingerprint that matches nothing names the places it looked; one that matches
two different keys is refused (the fingerprint is too short to be collision-free
against someone who chooses keys, so we never guess).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from .errors import SecureMediaError, UsageError
from .keys import PublicKey

MAX_KEY_DIR_FILES = 1000
"""Public key files read from the key directory at most: a lookup stays quick."""

KeyLoader = Callable[[str], list[PublicKey]]


def key_directory() -> Path:
    """Where ``*.pub`` files are looked up by fingerprint (see the module docstring)."""
    explicit = os.environ.get("SECUREMEDIA_KEYS")
    if explicit:
        return Path(explicit)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "securemedia" / "keys"


def _directory_files(directory: Path) -> list[Path]:
    try:
        found = sorted(p for p in directory.glob("*.pub") if p.is_file())
    except OSError:
        return []
    return found[:MAX_KEY_DIR_FILES]


def find_by_fingerprint(fingerprint: str, load: KeyLoader, extra: Sequence[str] = ()) -> PublicKey:
    """The one public key at hand whose fingerprint is ``fingerprint`` (printed form).

    ``load`` reads one spec (a key line or a public key file) into keys; files in
    the key directory that are not public key files are skipped, a bad ``extra``
    is reported by ``load`` as it would be anywhere else.
    """
    directory = key_directory()
    matches: dict[bytes, tuple[PublicKey, str]] = {}

    def consider(keys: Iterable[PublicKey], where: str) -> None:
        for key in keys:
            if key.fingerprint == fingerprint:
                matches.setdefault(key.to_blob(), (key, where))

    for spec in extra:
        consider(load(spec), spec if not spec.startswith("smpub1-") else "a key line")
    for path in _directory_files(directory):
        try:
            keys = load(str(path))
        except SecureMediaError:  # unreadable, or not a public key file: skip it
            continue
        consider(keys, str(path))
    if not matches:
        places = f"the *.pub files in {directory}"
        if extra:
            places += " and the other public keys given"
        raise UsageError(
            f"no public key with fingerprint {fingerprint} at hand: looked in {places} "
            "(put the key's .pub file there, or set SECUREMEDIA_KEYS to its directory)"
        )
    if len(matches) > 1:
        where = ", ".join(w for _, w in matches.values())
        raise UsageError(
            f"fingerprint {fingerprint} matches more than one key ({where}): "
            "give the public key file itself"
        )
    return next(iter(matches.values()))[0]
