"""Round-2 attack: the key directory that fingerprints are looked up in, and
the key files read from it (a neighbour's plants, /proc files, FIFOs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import securemedia
from securemedia.errors import KeyFileError, UsageError
from securemedia.keydir import MAX_KEY_DIR_FILES
from securemedia.keyring import MAX_KEY_FILE
from securemedia.keys import SecretKey


def _key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: SecretKey) -> Path:
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    text = f"# sender\n{key.public.to_line()}\n"
    (keys / "sender.pub").write_text(text)
    monkeypatch.setenv("SECUREMEDIA_KEYS", str(keys))
    return keys


def test_a_key_directory_others_can_write_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, classic_key: SecretKey
) -> None:
    keys = _key_dir(tmp_path, monkeypatch, classic_key)
    fingerprint = classic_key.public.fingerprint
    assert securemedia.load_signers(fingerprint) == [classic_key.public]
    for mode in (0o777, 0o1777, 0o770):  # world, /tmp-like, group
        keys.chmod(mode)
        with pytest.raises(UsageError, match="can be written by other users") as caught:
            securemedia.load_signers(fingerprint)
        assert "chmod go-w" in str(caught.value)
    keys.chmod(0o755)
    assert securemedia.load_signers(fingerprint) == [classic_key.public]


def test_a_key_directory_inside_one_others_can_write_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, classic_key: SecretKey
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    keys = _key_dir(shared, monkeypatch, classic_key)
    shared.chmod(0o777)  # anyone can rename keys/ away and make their own
    with pytest.raises(UsageError, match=f"lies in {shared}, which other users can change"):
        securemedia.load_signers(classic_key.public.fingerprint)
    shared.chmod(0o1777)  # sticky, as /tmp: only the owner renames keys/
    assert securemedia.load_signers(classic_key.public.fingerprint) == [classic_key.public]
    assert keys.is_dir()


def test_more_key_files_than_the_cap_is_an_error_not_a_silent_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, classic_key: SecretKey
) -> None:
    keys = _key_dir(tmp_path, monkeypatch, classic_key)
    # Sorted before sender.pub: a silent cut at the cap dropped the real key.
    for i in range(MAX_KEY_DIR_FILES):
        (keys / f"a{i:04}.pub").write_text("# not a key\n")
    with pytest.raises(UsageError, match=f"more than {MAX_KEY_DIR_FILES} .pub files"):
        securemedia.load_signers(classic_key.public.fingerprint)


@pytest.mark.skipif(
    not os.access("/proc/kallsyms", os.R_OK), reason="needs a readable /proc/kallsyms"
)
def test_a_proc_file_is_read_no_further_than_the_key_file_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, classic_key: SecretKey
) -> None:
    # stat says 0 bytes; reading gives megabytes. The cap is on what is read.
    with open("/proc/kallsyms", "rb") as handle:
        if len(handle.read(MAX_KEY_FILE + 1)) <= MAX_KEY_FILE:
            pytest.skip("/proc/kallsyms is small here")
    with pytest.raises(KeyFileError, match="too large to be a key file"):
        securemedia.load_signers("/proc/kallsyms")
    # Planted in the key directory as a link: skipped, the real key still found.
    keys = _key_dir(tmp_path, monkeypatch, classic_key)
    (keys / "planted.pub").symlink_to("/proc/kallsyms")
    assert securemedia.load_signers(classic_key.public.fingerprint) == [classic_key.public]


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "office.pub"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a file"):
        securemedia.load_signers(str(fifo))
    with pytest.raises(UsageError, match="not a file"):
        securemedia.load_recipients(str(fifo))
