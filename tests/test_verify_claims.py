"""``verify`` says exactly what it checked: a plain archive is not passed keylessly,
and ``verify -i`` names the signer (or says nobody signed) and takes --require-signer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import KeyFiles, RunCli


@pytest.fixture
def keys(make_keys: Callable[..., KeyFiles]) -> tuple[KeyFiles, KeyFiles, KeyFiles]:
    return make_keys("alice"), make_keys("sender"), make_keys("other")


@pytest.fixture
def archives(
    run_cli: RunCli, tmp_path: Path, keys: tuple[KeyFiles, KeyFiles, KeyFiles]
) -> tuple[Path, Path]:
    alice, sender, _ = keys
    (tmp_path / "data.csv").write_bytes(b"id,x\n" + b"1,2\n" * 2000)
    for name, extra in (("unsigned.sm", []), ("signed.sm", ["--sign", str(sender.path)])):
        result = run_cli("pack", "data.csv", "-o", name, "-r", alice.pub_path, "-q", *extra)
        assert result.code == 0, result.stderr
    return tmp_path / "unsigned.sm", tmp_path / "signed.sm"


def test_keyless_verify_of_a_truncated_plain_archive_does_not_pass(
    run_cli: RunCli, archives: tuple[Path, Path]
) -> None:
    unsigned, _ = archives
    truncated = unsigned.with_name("truncated.sm")
    data = unsigned.read_bytes()
    # Cut at a chunk boundary's worth: the length alone still looks possible.
    truncated.write_bytes(data[: len(data) - 100])
    for path in (unsigned, truncated):
        result = run_cli("verify", path)
        assert result.code != 0, result.out
        assert "OK" not in result.out
        if result.code == 2:
            assert "NOT checked" in result.stderr and "-i KEYFILE" in result.stderr
    doc = json.loads(run_cli("verify", "--json", unsigned).out)
    assert doc["ok"] is False and doc["authenticated"] is False
    assert "content" in doc["not_checked"]


def test_verify_names_the_signer_or_says_nobody_signed(
    run_cli: RunCli, archives: tuple[Path, Path], keys: tuple[KeyFiles, KeyFiles, KeyFiles]
) -> None:
    unsigned, signed = archives
    alice, sender, _ = keys
    fingerprint = sender.secret.public.fingerprint  # the one keygen printed
    result = run_cli("verify", unsigned, "-i", alice.path)
    assert result.code == 0, result.stderr
    # The words list and unpack use for the same fact.
    assert "archive authenticated end to end, not signed: nobody vouches" in result.out
    result = run_cli("verify", signed, "-i", alice.path)
    assert result.code == 0, result.stderr
    assert f"signed by {fingerprint}" in result.out
    doc = json.loads(run_cli("verify", "--json", signed, "-i", alice.path).out)
    assert doc["signer"] == fingerprint


def test_verify_require_signer(
    run_cli: RunCli, archives: tuple[Path, Path], keys: tuple[KeyFiles, KeyFiles, KeyFiles]
) -> None:
    unsigned, signed = archives
    alice, sender, other = keys
    ok = run_cli("verify", signed, "-i", alice.path, "--require-signer", sender.pub_path)
    assert ok.code == 0, ok.stderr
    for path, signer in ((unsigned, sender), (signed, other)):
        refused = run_cli("verify", path, "-i", alice.path, "--require-signer", signer.pub_path)
        assert refused.code == 4, refused.stderr
        assert "signe" in refused.stderr
        assert "authenticated" not in refused.out
    assert run_cli("verify", signed, "--require-signer", sender.pub_path).code == 2
