"""The physical reference for authenticated encryption: no format, nothing else.

Reads 1 MiB at a time and seals it with AES-256-GCM (``cryptography``'s AESGCM),
a counter nonce per chunk, and writes nonce-less ciphertext. It runs as its own
Python process so start-up is counted the same way as securemedia's.

usage: aesgcm_loop.py encrypt|decrypt KEYFILE INPUT OUTPUT
"""

from __future__ import annotations

import sys
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CHUNK = 1 << 20
TAG = 16


def nonce(i: int) -> bytes:
    return i.to_bytes(12, "big")


def main() -> int:
    mode, key_path, src, dst = sys.argv[1:5]
    aead = AESGCM(Path(key_path).read_bytes())
    size = CHUNK if mode == "encrypt" else CHUNK + TAG
    seal = aead.encrypt if mode == "encrypt" else aead.decrypt
    with open(src, "rb", buffering=0) as fin, open(dst, "wb", buffering=0) as fout:
        i = 0
        while block := fin.read(size):
            fout.write(seal(nonce(i), block, None))
            i += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
