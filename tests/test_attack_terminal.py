"""Round-2 attack: no error line or JSON document carries a character a
terminal interprets. A finder names the files on a disc; an operator's glob
(``securemedia unpack /media/cdrom/*``) hands those names to us, and every
"cannot read NAME" message used to print them raw."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import RunCli

# OSC (set the window title), BEL, the C1 CSI, a right-to-left override.
HOSTILE = "ship\x1b]0;pwned\x07\x9b\u202e.sm"
INTERPRETED = ("\x1b", "\x07", "\x9b", "\u202e")


def test_an_error_line_escapes_what_a_terminal_interprets(run_cli: RunCli) -> None:
    result = run_cli("inspect", HOSTILE)
    assert result.code == 1
    assert result.stderr.startswith("securemedia: error: cannot read ship")
    assert not any(ch in result.stderr for ch in INTERPRETED)
    assert "\\x1b]0;pwned\\x07\\x9b\\u202e.sm" in result.stderr


def test_a_json_error_escapes_it_and_still_names_the_file(run_cli: RunCli) -> None:
    result = run_cli("inspect", "--json", HOSTILE)
    assert result.code == 1
    text = result.stdout.decode("utf-8")
    assert not any(ch in text for ch in INTERPRETED)
    assert HOSTILE in json.loads(text)["error"]  # the escapes decode to the name


def test_plain_names_and_backslashes_are_left_alone(run_cli: RunCli, tmp_path: Path) -> None:
    name = "æøå Straße\\x.sm"
    result = run_cli("inspect", name)
    assert f"cannot read {name}:" in result.stderr
    doc = json.loads(run_cli("inspect", "--json", name).stdout)
    assert name in doc["error"]
