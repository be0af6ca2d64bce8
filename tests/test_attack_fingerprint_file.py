"""Round-2 attack: a fingerprint is public, so a neighbour can plant a file
named after it in a shared working directory. ``-r FP`` then encrypted to the
neighbour's key, and ``--require-signer FP`` accepted the neighbour's
signature: a fingerprint-shaped argument is now always a fingerprint."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import securemedia
from conftest import make_archive
from securemedia.archive.reader import ArchiveReader
from securemedia.errors import SignatureError
from securemedia.keys import SecretKey


def _plant(cwd: Path, fingerprint: str, key: SecretKey) -> list[str]:
    """Files named as the fingerprint may be typed, each holding ``key``."""
    names = [fingerprint, fingerprint.replace("-", "").lower()]
    for name in names:
        (cwd / name).write_text(key.public.to_line() + "\n")
    return names


def test_a_file_named_after_a_fingerprint_does_not_stand_in_for_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, classic_key: SecretKey
) -> None:
    office, neighbour = classic_key, SecretKey.generate(classic=True)
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    (keys / "office.pub").write_text(office.public.to_line() + "\n")
    monkeypatch.setenv("SECUREMEDIA_KEYS", str(keys))
    shared = tmp_path / "shared"
    shared.mkdir()
    monkeypatch.chdir(shared)
    for typed in _plant(shared, office.public.fingerprint, neighbour):
        assert securemedia.load_signers(typed) == [office.public]
        (recipient,) = securemedia.load_recipients(typed)
        assert office.public.fingerprint in recipient.description
    # The planted file is still reachable by a name no fingerprint looks like.
    assert securemedia.load_signers(f"./{office.public.fingerprint}") == [neighbour.public]


def test_a_planted_signer_is_not_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, classic_key: SecretKey
) -> None:
    sender, neighbour = SecretKey.generate(classic=True), SecretKey.generate(classic=True)
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    (keys / "sender.pub").write_text(sender.public.to_line() + "\n")
    monkeypatch.setenv("SECUREMEDIA_KEYS", str(keys))
    monkeypatch.chdir(tmp_path)
    (typed, _) = _plant(tmp_path, sender.public.fingerprint, neighbour)
    forged = make_archive([("a.csv", b"x")], [classic_key.public.recipient()], signer=neighbour)
    with pytest.raises(SignatureError, match="not by the required signer"):
        ArchiveReader(
            io.BytesIO(forged),
            [classic_key.identity()],
            require_signer=securemedia.load_signers(typed),
        )
