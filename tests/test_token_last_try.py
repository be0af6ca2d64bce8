"""A token with one PIN try left (CKF_USER_PIN_FINAL_TRY): a PIN from a file or
the environment is not spent on it; a PIN the operator types at the prompt is,
after a warning.

SoftHSM 2.6.1 counts wrong PINs only as far as CKF_USER_PIN_COUNT_LOW and never
sets FINAL_TRY itself, but it keeps the token's flags in its store and reports
them: this test sets FINAL_TRY there (as a card with two wrong tries would
report it), in a store of its own, and the real module then says so to us. The
PIN given is the right one, so a PIN that were spent would open the archive.
"""

from __future__ import annotations

import os
import pty
import select
import struct
import sys
import time
from pathlib import Path

import pytest

from conftest import RunCli
from token_support import PIN, fresh_store

FINAL_TRY = 0x20000  # CKF_USER_PIN_FINAL_TRY
_TOKEN_FLAGS = struct.pack(">QQ", 0x8000534B, 2)  # SoftHSM's CKA_OS_TOKENFLAGS, an unsigned long


def _set_final_try(root: Path) -> None:
    (path,) = (root / "tokens").glob("*/token.object")
    raw = bytearray(path.read_bytes())
    at = raw.find(_TOKEN_FLAGS)
    if at < 0:
        pytest.fail("SoftHSM's token store has changed its layout: CKA_OS_TOKENFLAGS not found")
    at += len(_TOKEN_FLAGS)
    (flags,) = struct.unpack(">Q", raw[at : at + 8])
    raw[at : at + 8] = struct.pack(">Q", flags | FINAL_TRY)
    path.write_bytes(raw)


def _typed(cwd: Path, args: list[str], env: dict[str, str], typed: str) -> tuple[int, str]:
    """Run the CLI on a terminal of its own (a pty), type ``typed`` at its PIN
    prompt; the exit status and everything the terminal showed."""
    command = [str(Path(sys.executable).parent / "securemedia"), *args]
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        os.chdir(cwd)
        os.execve(command[0], command, env)
    seen = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"Token PIN:" in seen:
            os.write(fd, typed.encode() + b"\n")
            answered = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode("utf-8", "replace")


def test_last_pin_try_is_spent_only_on_a_typed_pin(run_cli: RunCli, tmp_path: Path) -> None:
    env = fresh_store(tmp_path / "store", "Last")
    uri = "pkcs11:token=Last;object=office"
    made = run_cli(
        "keygen", "--pkcs11", uri, "--kind", "p256", "-o", "office",
        env={**env, "SECUREMEDIA_PKCS11_PIN": PIN},
    )  # fmt: skip
    assert made.code == 0, made.stderr
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("registry")
    assert run_cli("pack", "data", "-o", "a.sm", "-r", "office.crt", env=env).code == 0
    _set_final_try(tmp_path / "store")

    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN + "\n")
    for how in ({"SECUREMEDIA_PKCS11_PIN": PIN}, {}):
        extra = [] if how else ["--pin-file", str(pin_file)]
        refused = run_cli("unpack", "a.sm", "-i", uri, *extra, "-o", "out", env={**env, **how})
        assert refused.code == 3, refused.stderr
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr
        assert "token 'Last' has one PIN try left before it locks" in lines[0]
        assert "not spent on it" in lines[0]
        assert PIN not in refused.stderr
        assert not (tmp_path / "out").exists()

    clean = {"PATH": os.environ["PATH"], "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    code, shown = _typed(tmp_path, ["unpack", "a.sm", "-i", uri, "-o", "out"], clean | env, PIN)
    assert code == 0, shown
    assert "one PIN try left before it locks: a wrong PIN now locks it" in shown
    assert shown.index("one PIN try left") < shown.index("Token PIN:")
    assert (tmp_path / "out" / "data" / "a.txt").read_text() == "registry"
