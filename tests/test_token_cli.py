"""Keys on a real SoftHSM2 token through the real CLI: pack to a token key's
certificate, unpack/list/verify with -i pkcs11:..., and every failure as one
line with the exit code of the table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pkcs11
import pytest

from conftest import RunCli
from token_support import PIN, SECOND_PIN, TokenStore, certificate_for, public_key_of, token_store

CONTENT = b"id,value\n" + os.urandom(2000)


@pytest.fixture
def store() -> TokenStore:
    return token_store()


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "registry.csv").write_bytes(CONTENT)
    return data


def _pack_to(run_cli: RunCli, tmp_path: Path, label: str, token: str = "Registry") -> Path:
    cert = certificate_for(public_key_of(label, token), tmp_path / f"{label}.crt")
    packed = run_cli("pack", _data(tmp_path), "-o", "a.sm", "-r", cert)
    assert packed.code == 0, packed.stderr
    return tmp_path / "a.sm"


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_p256_token_key_round_trip(run_cli: RunCli, tmp_path: Path, store: TokenStore) -> None:
    _pack_to(run_cli, tmp_path, "office")
    uri = f"pkcs11:token=Registry;object=office?module-path={store.module}"
    env = store.env(SECUREMEDIA_PKCS11_PIN=PIN)
    unpacked = run_cli("unpack", "a.sm", "-i", uri, "-o", "out", env=env)
    assert unpacked.code == 0, unpacked.stderr
    assert (tmp_path / "out" / "data" / "registry.csv").read_bytes() == CONTENT
    listed = run_cli("list", "a.sm", "-i", uri, env=env)
    assert listed.code == 0, listed.stderr
    assert "registry.csv" in listed.out
    verified = run_cli("verify", "a.sm", "-i", uri, env=env)
    assert verified.code == 0, verified.stderr
    assert "authenticated" in verified.out + verified.stderr


def test_module_and_pin_from_options_and_environment(
    run_cli: RunCli, tmp_path: Path, store: TokenStore
) -> None:
    _pack_to(run_cli, tmp_path, "office")
    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN + "\n")
    uri = "pkcs11:token=Registry;object=office"
    by_option = run_cli(
        "unpack", "a.sm", "-i", uri, "--pkcs11-module", store.module,
        "--pin-file", pin_file, "-o", "one", env=store.env(),
    )  # fmt: skip
    assert by_option.code == 0, by_option.stderr
    by_env = run_cli(
        "unpack", "a.sm", "-i", uri, "-o", "two",
        env=store.env(SECUREMEDIA_PKCS11_MODULE=store.module, SECUREMEDIA_PKCS11_PIN=PIN),
    )  # fmt: skip
    assert by_env.code == 0, by_env.stderr
    assert (tmp_path / "two" / "data" / "registry.csv").read_bytes() == CONTENT


def test_a_key_on_a_second_token(run_cli: RunCli, tmp_path: Path, store: TokenStore) -> None:
    _pack_to(run_cli, tmp_path, "other", token="Second")
    env = store.env(SECUREMEDIA_PKCS11_MODULE=store.module)
    ok = run_cli(
        "unpack", "a.sm", "-i", "pkcs11:token=Second;object=other", "-o", "out",
        env={**env, "SECUREMEDIA_PKCS11_PIN": SECOND_PIN},
    )  # fmt: skip
    assert ok.code == 0, ok.stderr
    wrong_token = run_cli(
        "unpack", "a.sm", "-i", "pkcs11:token=Registry;object=office", "-o", "no",
        env={**env, "SECUREMEDIA_PKCS11_PIN": PIN},
    )  # fmt: skip
    assert wrong_token.code == 3
    assert "no identity opens" in _one_line(wrong_token.stderr)
    assert not (tmp_path / "no").exists()


def test_wrong_pin_is_one_line_exit_3(run_cli: RunCli, tmp_path: Path, store: TokenStore) -> None:
    _pack_to(run_cli, tmp_path, "office")
    uri = f"pkcs11:token=Registry;object=office?module-path={store.module}"
    wrong = run_cli(
        "unpack", "a.sm", "-i", uri, "-o", "out", env=store.env(SECUREMEDIA_PKCS11_PIN="9999")
    )
    assert wrong.code == 3
    line = _one_line(wrong.stderr)
    assert "wrong PIN" in line and "Registry" in line
    assert "9999" not in wrong.stderr + wrong.out
    assert not (tmp_path / "out").exists()


def test_one_login_attempt_per_token(tmp_path: Path, store: TokenStore) -> None:
    """Two keys named on one token with a wrong PIN: the PIN is asked for and
    tried once, not once per key (a smartcard locks after three)."""
    script = f"""
import sys
from securemedia.errors import NoIdentityError
from securemedia.tokens import load_token_identities
calls = []
def pin():
    calls.append(1)
    return "0000"
for name in ("office", "office-384"):
    uri = "pkcs11:token=Registry;object=" + name + "?module-path={store.module}"
    try:
        load_token_identities(uri, pin=pin)
    except NoIdentityError as exc:
        print(exc)
print(len(calls))
"""
    env = {**os.environ, **store.env()}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    lines = done.stdout.splitlines()
    assert lines[-1] == "1"
    assert len(lines) == 3 and all("wrong PIN" in line for line in lines[:2])


@pytest.mark.parametrize(
    ("uri", "env_extra", "code", "words"),
    [
        ("pkcs11:token=Registry;object=office?module-path=/nonexistent/p11.so", {}, 1, "no such"),
        ("pkcs11:token=Registry;object=office", {}, 2, "which PKCS#11 module"),
        ("pkcs11:token=Nowhere;object=office?module-path={module}", {}, 1, "no such token"),
        ("pkcs11:token=Registry;object=absent?module-path={module}", {}, 1, "no such private"),
        ("pkcs11:token=Registry;object=office;pin-value=1234", {}, 2, "PIN in a pkcs11: URI"),
        ("pkcs11:token=Registry;slot-id=3?module-path={module}", {}, 2, "not supported"),
        ("pkcs11:object=office?module-path={module}", {}, 2, "2 tokens match"),
    ],
)
def test_token_mistakes_are_one_line(
    run_cli: RunCli,
    tmp_path: Path,
    store: TokenStore,
    uri: str,
    env_extra: dict[str, str],
    code: int,
    words: str,
) -> None:
    # A real archive: its header is read before -i is acted on (open_reader).
    _pack_to(run_cli, tmp_path, "office")
    spec = uri.format(module=store.module)
    result = run_cli(
        "unpack", "a.sm", "-i", spec, "-o", "out",
        env=store.env(SECUREMEDIA_PKCS11_PIN=PIN, **env_extra),
    )  # fmt: skip
    assert result.code == code, result.stderr
    assert words in _one_line(result.stderr)
    assert PIN not in result.stderr


def test_not_an_archive_before_the_token(
    run_cli: RunCli, tmp_path: Path, store: TokenStore
) -> None:
    """The input's header is read before a token is opened or its PIN asked:
    a file that is not an archive is refused as such (exit 4), even with a
    token URI whose module does not exist."""
    (tmp_path / "a.sm").write_bytes(b"not an archive")
    spec = "pkcs11:token=Registry;object=office?module-path=/nonexistent/p11.so"
    for command in (["unpack", "a.sm", "-o", "out"], ["list", "a.sm"]):
        result = run_cli(*command, "-i", spec, env=store.env(SECUREMEDIA_PKCS11_PIN=PIN))
        assert result.code == 4, result.stderr
        assert "not a securemedia archive" in _one_line(result.stderr)


def test_rsa_token_key(run_cli: RunCli, tmp_path: Path, store: TokenStore) -> None:
    """RSA-OAEP with SHA-256 and a label on the token. SoftHSM 2.6 only does
    OAEP with SHA-1 and no label (fixed upstream after 2.6.1): there the one
    clear line says so; a module that has it opens the archive."""
    _pack_to(run_cli, tmp_path, "office-rsa")
    uri = f"pkcs11:token=Registry;object=office-rsa?module-path={store.module}"
    result = run_cli(
        "unpack", "a.sm", "-i", uri, "-o", "out", env=store.env(SECUREMEDIA_PKCS11_PIN=PIN)
    )
    if pkcs11.lib(store.module).library_version < (2, 7):
        assert result.code == 2
        assert "cannot decrypt RSA-OAEP with SHA-256 and a label" in _one_line(result.stderr)
        assert not (tmp_path / "out").exists()
    else:
        assert result.code == 0, result.stderr
        assert (tmp_path / "out" / "data" / "registry.csv").read_bytes() == CONTENT
