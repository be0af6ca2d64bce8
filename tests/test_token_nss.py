"""RSA-OAEP (SHA-256, MGF1-SHA-256, the format's label) on a real token that
has it: NSS's softoken (Debian libnss3), which SoftHSM 2.6.1 is not.

python-pkcs11 calls C_Initialize without arguments, and the softoken needs its
database directory in them, so it is loaded through p11-kit's proxy module,
whose module file passes them (``x-init-reserved``). p11-kit reads module files
from system directories only when run as root, so the test runs the CLI in a
mount namespace of its own (``unshare -m``) where a directory with that one
module file is bind-mounted over p11-kit's: nothing outside the test sees it.
Where that cannot be done (no root, no unshare, no NSS tools), the test is
skipped and says why; on the reference machine it runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PIN = "1234"
LIBDIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib")
MODULE_DIRS = ("/usr/share/p11-kit/modules", "/etc/pkcs11/modules")

SCRIPT = """
set -euo pipefail
mount --bind "$NSS_MODULES" "$P11_MODULE_DIR"
T='pkcs11:token=NSS%20Certificate%20DB'
securemedia keygen --pkcs11 "$T;object=office-rsa" --kind rsa-3072 -o office-rsa
securemedia pack data -o a.sm -r office-rsa.crt -q
securemedia unpack a.sm -i "$T;object=office-rsa" -o out
securemedia keygen --pkcs11 "$T;object=signer" --kind p256-sign -o signer
securemedia pack data -o s.sm -r office-rsa.crt --sign "$T;object=signer" -q
securemedia unpack s.sm -i "$T;object=office-rsa" --require-signer signer.pub -o signed
"""


def _find(name: str) -> str | None:
    return next((f"{d}/{name}" for d in LIBDIRS if Path(f"{d}/{name}").is_file()), None)


def test_rsa_oaep_round_trip_on_nss_softoken(tmp_path: Path) -> None:
    softoken, proxy = _find("libsoftokn3.so"), _find("libp11-kit.so.0")
    certutil, unshare = shutil.which("certutil"), shutil.which("unshare")
    module_dir = next((d for d in MODULE_DIRS if Path(d).is_dir()), None)
    if not (softoken and proxy and certutil and unshare and module_dir):
        pytest.skip("needs libnss3, libnss3-tools (certutil), p11-kit and unshare")
    if os.geteuid() != 0 or subprocess.run([unshare, "-m", "true"], check=False).returncode:
        pytest.skip("needs root and a mount namespace of its own (unshare -m)")
    db = tmp_path / "nssdb"
    db.mkdir()
    (tmp_path / "pw").write_text(PIN + "\n")
    subprocess.run(
        [certutil, "-N", "-d", f"sql:{db}", "-f", str(tmp_path / "pw")],
        check=True,
        capture_output=True,
    )
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "nss.module").write_text(
        f"module: {softoken}\n"
        f"x-init-reserved: configdir='sql:{db}' certPrefix='' keyPrefix='' "
        "secmod='secmod.db' flags=\n"
    )
    (tmp_path / "data").mkdir()
    content = os.urandom(5000)
    (tmp_path / "data" / "x.bin").write_bytes(content)
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "NSS_MODULES": str(modules),
        "P11_MODULE_DIR": module_dir,
        "SECUREMEDIA_PKCS11_MODULE": proxy,
        "SECUREMEDIA_PKCS11_PIN": PIN,
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    done = subprocess.run(
        [unshare, "-m", "--propagation", "private", "bash", "-c", SCRIPT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        start_new_session=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "out" / "data" / "x.bin").read_bytes() == content
    assert (tmp_path / "signed" / "data" / "x.bin").read_bytes() == content
    assert "signed by ECDSA P-256 signing key" in done.stderr
