"""Write or extract an AES-256 (WinZip AE-2) zip with pyzipper: the peer a
Python user reaches for first.

usage: zip_aes.py encrypt stored|deflated PASSWORD INPUT OUTPUT.zip
       zip_aes.py decrypt PASSWORD ARCHIVE.zip OUTDIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyzipper


def encrypt(method: str, password: bytes, src: Path, dst: Path) -> None:
    compression = pyzipper.ZIP_DEFLATED if method == "deflated" else pyzipper.ZIP_STORED
    with pyzipper.AESZipFile(dst, "w", compression=compression, encryption=pyzipper.WZ_AES) as zf:
        zf.setpassword(password)
        zf.setencryption(pyzipper.WZ_AES, nbits=256)
        zf.write(src, src.name)


def decrypt(password: bytes, src: Path, outdir: Path) -> None:
    with pyzipper.AESZipFile(src) as zf:
        zf.setpassword(password)
        zf.extractall(outdir)


def main() -> int:
    if sys.argv[1] == "encrypt":
        _, _, method, password, src, dst = sys.argv
        encrypt(method, password.encode(), Path(src), Path(dst))
    else:
        _, _, password, src, outdir = sys.argv
        decrypt(password.encode(), Path(src), Path(outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
