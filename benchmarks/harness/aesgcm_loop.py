"""The physical reference for authenticated encryption: no format, nothing else.

Reads 1 MiB at a time and seals it with AES-256-GCM (``cryptography``'s AESGCM),
a counter nonce per chunk, and writes nonce-less ciphertext. It runs as its own
Python process so start-up is counted the same way as securemedia's.

``--blake3`` also hashes the plaintext (single-threaded) and ``--fsync`` makes
the output durable before exit: with both, the loop does the least any archive
with a content digest and a crash-safe output must do, which separates the
format's own cost from the cost of those two promises.

usage: aesgcm_loop.py encrypt|decrypt KEYFILE INPUT OUTPUT [--blake3] [--fsync]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CHUNK = 1 << 20
TAG = 16


def nonce(i: int) -> bytes:
    return i.to_bytes(12, "big")


def main() -> int:
    mode, key_path, src, dst = sys.argv[1:5]
    flags = set(sys.argv[5:])
    aead = AESGCM(Path(key_path).read_bytes())
    encrypting = mode == "encrypt"
    size = CHUNK if encrypting else CHUNK + TAG
    seal = aead.encrypt if encrypting else aead.decrypt
    digest = None
    if "--blake3" in flags:
        import blake3  # only paid for by the variant that hashes

        digest = blake3.blake3()
    with open(src, "rb", buffering=0) as fin, open(dst, "wb", buffering=0) as fout:
        i = 0
        while block := fin.read(size):
            out = seal(nonce(i), block, None)
            if digest is not None:
                digest.update(block if encrypting else out)
            fout.write(out)
            i += 1
        if "--fsync" in flags:
            os.fsync(fout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
