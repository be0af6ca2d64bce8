"""Finding a public key by its fingerprint among the keys "at hand".

A fingerprint (``FZY7-...``, read over the phone or printed by ``keygen``)
names a key pair but cannot be turned back into the key: the key itself must
be on this machine. "At hand" means, in this order:

* every ``*.pub`` file in the key directory: ``$SECUREMEDIA_KEYS`` if set, else
  ``$XDG_CONFIG_HOME/securemedia/keys`` (``~/.config/securemedia/keys`` when
  ``XDG_CONFIG_HOME`` is unset); the directory need not exist;
* every public key (line or file) named elsewhere on the same command line or
  in the same call (``extra``).

The key directory must be owned by this user (or root) and writable by no one
else, nor lie in a directory others can change (sticky ones, as /tmp, excepted),
or a lookup refuses it: its files decide what a fingerprint means. Each
file is read bounded and without blocking (:func:`.keyring.load_public_keys`).

A fingerprint that matches nothing names the places it looked; one that matches
two different keys is refused (the fingerprint is too short to be collision-free
against someone who chooses keys, so we never guess).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from .errors import SecureMediaError, UsageError
from .signing_keys import SignerKey

MAX_KEY_DIR_FILES = 1000
"""Public key files read from the key directory at most: a lookup stays quick."""

KeyLoader = Callable[[str], list[SignerKey]]


def key_directory() -> Path:
    """Where ``*.pub`` files are looked up by fingerprint (see the module docstring)."""
    explicit = os.environ.get("SECUREMEDIA_KEYS")
    if explicit:
        return Path(explicit)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "securemedia" / "keys"


def _directory_files(directory: Path) -> list[Path]:
    """The ``*.pub`` files of the key directory, once it is trusted (see
    :func:`_check_trusted`); more than :data:`MAX_KEY_DIR_FILES` is an error,
    not a silent cut that could leave the wanted key out."""
    try:
        info = directory.stat()
    except OSError:  # missing or unreadable: no keys at hand there
        return []
    _check_trusted(directory, info)
    found: list[Path] = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if not entry.name.endswith(".pub") or not entry.is_file():
                    continue
                if len(found) == MAX_KEY_DIR_FILES:
                    raise UsageError(
                        f"the key directory {directory} holds more than {MAX_KEY_DIR_FILES} "
                        ".pub files: give the public key file itself"
                    )
                found.append(Path(entry.path))
    except OSError:
        return []
    return sorted(found)


def _check_trusted(directory: Path, info: os.stat_result) -> None:
    """Refuse a key directory that another user can write to.

    What is in it decides which key a fingerprint means: whoever can add or
    replace a file there can make a lookup refuse (two keys, one fingerprint,
    or a thousand files), or hand it a file that is not a key at all. So, as
    ssh does with ``~/.ssh``, it must be owned by this user (or root) and
    writable by nobody else.
    """
    owners = {os.getuid(), 0}
    others_write = stat.S_IWGRP | stat.S_IWOTH
    if info.st_uid not in owners or info.st_mode & others_write:
        raise UsageError(
            f"the key directory {directory} can be written by other users, so a key found "
            f"there by fingerprint is not trusted: make it yours alone (chmod go-w) or give "
            "the public key file itself"
        )
    # A directory above it that others can write (and that is not sticky, as
    # /tmp is) lets them rename the key directory away and put their own there.
    for parent in directory.resolve().parents:
        try:
            above = parent.stat()
        except OSError:
            continue
        sticky = above.st_mode & stat.S_ISVTX
        if above.st_uid not in owners or (above.st_mode & others_write and not sticky):
            raise UsageError(
                f"the key directory {directory} lies in {parent}, which other users can "
                "change, so a key found there by fingerprint is not trusted: move it, or "
                "give the public key file itself"
            )


def find_by_fingerprint(fingerprint: str, load: KeyLoader, extra: Sequence[str] = ()) -> SignerKey:
    """The one public key at hand whose fingerprint is ``fingerprint`` (printed form).

    ``load`` reads one spec (a key line or a public key file) into keys; files in
    the key directory that are not public key files are skipped, a bad ``extra``
    is reported by ``load`` as it would be anywhere else.
    """
    directory = key_directory()
    matches: dict[bytes, tuple[SignerKey, str]] = {}

    def consider(keys: Iterable[SignerKey], where: str) -> None:
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
