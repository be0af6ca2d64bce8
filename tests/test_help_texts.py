"""``--help`` of every command (issue 11, "Done when"): plain text, no RST or
Markdown markup, one name (metavar) per argument, the shared options the same
everywhere, and every command in the README.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from media_support import cli
from securemedia.cli import main
from securemedia.cli.commands import COMMANDS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()

# Names click makes up from a parameter's type: a reader learns nothing from them.
_TYPE_NAMES = {"TEXT", "INTEGER", "INTEGER RANGE", "FLOAT", "PATH", "DIRECTORY", "BOOLEAN"}

# Options several commands share: one metavar for each, whatever the command.
_SHARED = {
    "-i, --identity": "KEYFILE",
    "--key-passphrase-file": "FILE",
    "--passphrase-file": "FILE",
    "--require-signer": "PUBKEY",
    "--media": "KIND",
    "--redundancy": "PCT",
    "--spare-discs": "N",
}

# Capitalised words of the help texts that are not names of arguments.
_NOT_METAVARS = {
    "README", "TXT", "ISO", "NOT", "PEM", "TMPDIR", "SIGTERM", "SIGHUP", "JSON", "UTF",
    "SECUREMEDIA_PASSPHRASE", "SECUREMEDIA_KEY_PASSPHRASE", "SECUREMEDIA_KEYS", "ZIP", "AES",
    "KEM", "ML",
    "BLAKE3", "SIZE", "MB", "MIB", "KIB", "GB", "CD", "DVD", "BD", "PKI", "RSA", "OAEP",
    "UDF", "EC", "HPKE", "GCM", "STDOUT", "OK", "ID", "IDS", "PUBLIC", "COMPAT", "MAC",
    "PIN", "PKCS", "SECUREMEDIA_PKCS11_MODULE", "SECUREMEDIA_PKCS11_PIN",
}  # fmt: skip


def help_of(command: str) -> str:
    result = cli(command, "--help")
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def helps() -> dict[str, str]:
    return {command: help_of(command) for command in COMMANDS}


_OPTION_LINE = re.compile(
    r"^  (-{1,2}[\w-]+(?:, --[\w-]+)?)(?: ([A-Z](?:[A-Z_ .]*[A-Z.])?|\[[^\]]+\]))?(?:  |$)"
)


def _options(text: str) -> dict[str, str | None]:
    """Option declaration ("-o, --output") -> its metavar (None for a flag)."""
    found: dict[str, str | None] = {}
    body = text.split("Options:", 1)[1]
    for line in body.splitlines():
        match = _OPTION_LINE.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_no_markup_in_any_help(helps: dict[str, str]) -> None:
    for command, text in helps.items():
        for mark in ("``", "::", "**", "`"):
            assert mark not in text, (command, mark)


def test_every_value_has_a_named_metavar(helps: dict[str, str]) -> None:
    """Each option that takes a value says what it is (not click's TEXT or
    PATH), and the options several commands share are named alike."""
    group = main.cli
    for command, text in helps.items():
        declared = group.get_command(click.Context(group), command)
        assert declared is not None
        named = {", ".join(p.opts) for p in declared.params if p.metavar}
        for option, metavar in _options(text).items():
            if option not in named:  # click's own name, from the type
                assert metavar not in _TYPE_NAMES, (command, option, metavar)
            if option in _SHARED:
                assert metavar == _SHARED[option], (command, option, metavar)


def test_help_names_only_the_arguments_the_usage_has(helps: dict[str, str]) -> None:
    """Every argument the text names (ARCHIVE, KEYFILE, INPUT...) is the usage
    line's argument or an option's metavar: one name per argument."""
    for command, text in helps.items():
        usage = text.splitlines()[0]
        names = set(re.findall(r"\b([A-Z][A-Z0-9_]+)\b", usage)) - {"OPTIONS"}
        names |= {m.rstrip(".") for m in _options(text).values() if m and not m.startswith("[")}
        described = text.split("Options:", 1)[0].split("\n", 1)[1]
        described += "".join(
            line for line in text.split("Options:", 1)[1].splitlines(keepends=True)
        )
        for word in set(re.findall(r"\b([A-Z][A-Z0-9_]{1,})\b", described)):
            if word in _NOT_METAVARS or word in names:
                continue
            if any(c.isdigit() for c in word):  # X25519, SHA256: names of algorithms
                continue
            pytest.fail(f"{command} --help names {word}, which is no argument of it: {names}")


def test_every_command_is_in_the_readme(helps: dict[str, str]) -> None:
    for command in helps:
        assert f"securemedia {command}" in README, command
    assert "--json" in README and "-q" in README


def test_readme_uses_only_options_the_help_lists(helps: dict[str, str]) -> None:
    """Every option a README command line gives is one its --help lists."""
    checked = 0
    for line in re.findall(r"securemedia (\w+)([^`\n]*)", README):
        command, rest = line
        if command not in helps:
            continue
        listed = set(re.findall(r"(?<![\w-])(--?[\w-]+)", helps[command].split("Options:", 1)[1]))
        for option in re.findall(r"(?<![\w./-])(--?[a-z][\w-]*)", rest.split("#", 1)[0]):
            assert option in listed, (command, option, rest)
            checked += 1
    assert checked > 20
