"""``--json`` and ``-q`` on every command, through the real CLI (issue 11).

With ``--json`` the whole of stdout is exactly one JSON document, on errors too
(``ok``, ``exit_code``, ``error``), and on stderr instead when stdout carries an
archive or a member. Exit codes do not change. ``-q`` leaves results and errors
and drops every other message. ``verify`` says each problem once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from media_support import cli


def one_document(text: str) -> dict[str, Any]:
    """``text`` is exactly one JSON object (json.loads refuses anything after it)."""
    doc = json.loads(text)
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("json")
    made = cli("keygen", "--no-passphrase", "--classic", "-o", root / "office.key")
    assert made.returncode == 0, made.stderr
    (root / "data").mkdir()
    (root / "data" / "a.txt").write_bytes(b"row\n" * 1000)
    (root / "data" / "b.bin").write_bytes(os.urandom(600_000))
    packed = cli("pack", root / "data", "-r", root / "office.key.pub", "-o", root / "a.sm")
    assert packed.returncode == 0, packed.stderr
    (root / "set").mkdir()
    discs = cli(
        "pack", root / "data", "-r", root / "office.key.pub", "-o", root / "set" / "s.sm",
        "--media", "300KB",
    )  # fmt: skip
    assert discs.returncode == 0, discs.stderr
    return root


def failing_cases(work: Path, tmp: Path) -> list[tuple[list[str | Path], int]]:
    """One failing run of every command with --json, and the exit code it keeps."""
    (tmp / "exists.key").write_text("x")
    return [
        (["keygen", "--no-passphrase", "-o", tmp / "exists.key"], 1),
        (["pack", work / "data", "-o", tmp / "x.sm"], 2),  # no recipient
        (["pack", work / "missing", "-r", work / "office.key.pub", "-o", tmp / "y.sm"], 1),
        (["unpack", tmp / "none.sm", "-i", work / "office.key", "-o", tmp / "u"], 1),
        (["inspect", work / "office.key.pub"], 4),
        (["list", work / "a.sm"], 2),  # no key
        (["plan", work / "data", "--media", "nonsense"], 2),
        (["verify", work / "a.sm"], 2),  # a plain archive needs -i
        (["repair", tmp / "none.iso", "-o", tmp / "r"], 1),
        (["pack", work / "data", "--level", "99", "-o", tmp / "z.sm"], 2),  # click's own check
        (["list", "--bogus-option", work / "a.sm"], 2),  # does not even parse
    ]


def test_every_command_fails_with_one_json_document(work: Path, tmp_path: Path) -> None:
    for args, code in failing_cases(work, tmp_path):
        plain = cli(*args)
        result = cli(*args, "--json")
        assert plain.returncode == result.returncode == code, (args, result.stderr)
        doc = one_document(result.stdout)
        assert doc["ok"] is False and doc["exit_code"] == code, (args, doc)
        assert doc["error"] and doc["error"] in plain.stderr, (args, doc, plain.stderr)


def test_json_goes_to_stderr_when_stdout_carries_the_archive(work: Path, tmp_path: Path) -> None:
    failed = cli("pack", work / "data", "-o", "-", "--json")  # no recipient
    assert failed.returncode == 2
    assert failed.stdout == ""
    doc = one_document(failed.stderr)  # stderr holds the one document and nothing else
    assert doc["exit_code"] == 2
    member = cli(
        "unpack", work / "a.sm", "-i", work / "office.key", "--stdout", "--member",
        "data/none", "--json",
    )  # fmt: skip
    assert member.returncode != 0
    assert member.stdout == ""
    assert one_document(member.stderr)["exit_code"] == member.returncode


def test_verify_failure_keeps_its_report_in_the_one_document(work: Path, tmp_path: Path) -> None:
    discs = sorted((work / "set").glob("s.sm.*"))
    assert len(discs) >= 2
    result = cli("verify", "--json", discs[0])  # the others are missing
    assert result.returncode == 4
    doc = one_document(result.stdout)
    assert doc["ok"] is False and doc["exit_code"] == 4
    assert "is missing" in doc["error"]
    assert doc["volumes"][0]["volume"] == 1  # the report is still there


def test_verify_says_each_problem_once(work: Path) -> None:
    discs = sorted((work / "set").glob("s.sm.*"))
    result = cli("verify", discs[0])
    assert result.returncode == 4
    missing = f"volume 2 of {len(discs)} is missing"
    assert (result.stdout + result.stderr).count(missing) == 1, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and "securemedia: error:" in result.stderr


def test_successes_print_one_document(work: Path, tmp_path: Path) -> None:
    discs = sorted((work / "set").glob("s.sm.*"))
    for args in (
        ["keygen", "--no-passphrase", "-o", tmp_path / "k.key"],
        ["inspect", work / "a.sm"],
        ["list", work / "a.sm", "-i", work / "office.key"],
        ["plan", work / "data", "--media", "cd"],
        ["verify", *discs],
        ["verify", "-i", work / "office.key", work / "a.sm"],
        ["unpack", work / "a.sm", "-i", work / "office.key", "-o", tmp_path / "out"],
    ):
        result = cli(*args, "--json")
        assert result.returncode == 0, (args, result.stderr)
        one_document(result.stdout)


def test_quiet_on_every_command(work: Path, tmp_path: Path) -> None:
    """-q drops messages; results on stdout are the same as without it."""
    discs = sorted((work / "set").glob("s.sm.*"))
    signed = tmp_path / "signed.sm"
    runs: list[list[str | Path]] = [
        ["keygen", "--no-passphrase", "-o", tmp_path / "{}.key"],
        ["pack", work / "data", "-r", work / "office.key.pub", "-o", tmp_path / "{}.sm"],
        ["inspect", work / "a.sm"],
        ["list", signed, "-i", work / "office.key"],
        ["plan", work / "data", "--media", "cd"],
        ["verify", *discs],
        ["repair", *discs, "-o", tmp_path / "{}-fixed"],
        ["unpack", work / "a.sm", "-i", work / "office.key", "-o", tmp_path / "{}-out"],
    ]
    made = cli(
        "pack", work / "data", "-r", work / "office.key.pub", "--sign", work / "office.key",
        "-o", signed,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    for n, args in enumerate(runs):
        loud = cli(*[str(a).replace("{}", f"loud{n}") for a in args])
        quiet = cli(*[str(a).replace("{}", f"quiet{n}") for a in args], "-q")
        assert loud.returncode == quiet.returncode == 0, (args, loud.stderr, quiet.stderr)
        assert quiet.stderr == "", (args, quiet.stderr)
        if args[0] not in ("keygen", "repair"):  # (a new key; the output paths)
            assert quiet.stdout == loud.stdout, args
    assert "signed by" in cli("list", signed, "-i", work / "office.key").stderr
    assert "# fingerprint" in cli("keygen", "--no-passphrase", "-o", tmp_path / "k2").stderr
