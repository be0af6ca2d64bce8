"""The README is a contract: its commands and its example must stay true."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _first_block(lang: str) -> str:
    match = re.search(rf"```{lang}\n(.*?)```", README, re.S)
    assert match, f"README has no {lang} block"
    return match.group(1)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    install, test_command = _first_block("sh").strip().splitlines()[:2]
    assert "python -m securemedia.demo" in install
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == test_command


def test_demo_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "securemedia.demo"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "received files identical to the export: True" in result.stdout
    assert "nothing written for the tampered archive: True" in result.stdout


def test_export_script_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    example = _first_block("python")
    monkeypatch.chdir(tmp_path)
    env = {
        "PATH": os.environ["PATH"],
        "SECUREMEDIA_KEY_PASSPHRASE": "velvet orbit canyon lantern",
    }
    # The example reads the key's passphrase from the environment, as a script would.
    monkeypatch.setenv("SECUREMEDIA_KEY_PASSPHRASE", env["SECUREMEDIA_KEY_PASSPHRASE"])
    for name in ("office.key", "sender.key"):
        subprocess.run(
            [sys.executable, "-m", "securemedia", "keygen", "-o", name],
            check=True,
            env=env,
            capture_output=True,
        )
    (tmp_path / "codes").mkdir()
    (tmp_path / "codes" / "atc.csv").write_text("code,name\nA10,diabetes\n")
    rows = [(i, f"name-{i}", "æøå") for i in range(50_000)]
    seen: list[str] = []
    namespace = {"cursor": iter(rows), "print": lambda *a: seen.append(" ".join(map(str, a)))}
    exec(compile(example, "README.md", "exec"), namespace)
    expected = sum(len(f"{i},name-{i},æøå\r\n".encode()) for i in range(50_000))
    assert any(line.startswith(f"registry.csv {expected} ") for line in seen), seen
    assert any(line.startswith("codes/atc.csv") for line in seen)
    sender = (tmp_path / "sender.key.pub").read_text().split("fingerprint ")[1].split()[0]
    assert f"signed by {sender}" in seen, seen


def _block_after(heading: str) -> str:
    section = README[README.index(heading) :]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, f"README has no sh block after {heading}"
    return match.group(1)


def test_token_workflow_runs_against_softhsm(tmp_path: Path) -> None:
    """The README's token workflow, line by line as written, against a real
    SoftHSM2 store of its own with blank tokens "Registry" and "Sender"."""
    from token_support import PIN, fresh_store

    block = _block_after("### Keys on a smartcard or HSM (PKCS#11)")
    store = fresh_store(tmp_path / "store", "Registry", "Sender")
    debian = "/usr/lib/softhsm/libsofthsm2.so"
    assert f"SECUREMEDIA_PKCS11_MODULE={debian}" in block
    block = block.replace(debian, store["SECUREMEDIA_PKCS11_MODULE"])  # another architecture
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "registry.csv").write_text("id,code\n1,A10\n")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "SOFTHSM2_CONF": store["SOFTHSM2_CONF"],
        "SECUREMEDIA_PKCS11_PIN": PIN,
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # this checkout's securemedia
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        start_new_session=True,  # no terminal: nothing can prompt
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "received" / "export" / "registry.csv").read_text() == "id,code\n1,A10\n"
    sender = (tmp_path / "sender.pub").read_text().split("fingerprint ")[1].split()[0]
    assert f"signed by ECDSA P-256 signing key {sender}" in done.stderr, done.stderr
