"""What the worst header a finder can craft costs a reader before it is accepted or refused.

A finder of a disc controls every header byte, and stanzas are unwrapped (Argon2,
RSA, HPKE) before anything can be authenticated. Each case below builds the
costliest header the reader's caps allow for one identity, opens it in a fresh
child process (``ArchiveReader`` with a real identity of that kind, so the real
parse-unwrap-MAC path runs) and reports the wall time to the refusal and the
child's peak RSS (the whole process: interpreter, imports and the work). Each
worst case is also given as a ratio to its baseline, an honest header of the same
kind measured in the same run. Headers just over the caps are timed too: they must
be refused structurally, at parse cost. The token case opens the worst header
with a P-256 key on the test token store (tests/token_support.py, SoftHSM2):
a token key tries at most 16 stanzas of its kind (MAX_TOKEN_TRIES), each one
ECDH on the token; a smartcard is slower per operation than SoftHSM.

Target (issue 9): under 5 s and 300 MiB for every case, on the 2-core reference
machine. Exits 1 if a case misses it.

    python benchmarks/header_cost.py
    python benchmarks/header_cost.py --json benchmarks/results/header_cost.json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
LIMIT_SECONDS = 5.0
LIMIT_MIB = 300.0
MAC_SIZE = 32
_TOKEN_URI = "HEADER_COST_TOKEN_URI"
_TOKEN_PIN = "HEADER_COST_TOKEN_PIN"


def _frame(stanzas: list[tuple[int, bytes]]) -> bytes:
    """A header framed by hand, as a finder would (its MAC matches no key)."""
    body = bytearray(16) + struct.pack(">H", len(stanzas))
    for kind, data in stanzas:
        body += struct.pack(">BH", kind, len(data)) + data
    total = 17 + len(body) + MAC_SIZE
    return b"securemedia\x00" + struct.pack(">BI", 1, total) + bytes(body) + bytes(MAC_SIZE)


def _argon2(t: int, m: int, p: int) -> list[tuple[int, bytes]]:
    from securemedia.header import StanzaType

    return [(StanzaType.ARGON2ID, os.urandom(16) + struct.pack(">III", t, m, p) + bytes(48))]


def _case(name: str, keydir: Path) -> tuple[list[tuple[int, bytes]], Any]:
    """(stanzas, identity) for one case; built before the clock starts."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from securemedia.header import MAX_RSA_STANZAS, MAX_STANZAS, StanzaType
    from securemedia.keys import SecretKey
    from securemedia.recipients.hpke import HPKEIdentity, HPKERecipient
    from securemedia.recipients.passphrase import (
        DEFAULT_MEMORY_KIB,
        DEFAULT_PARALLELISM,
        DEFAULT_TIME_COST,
        MAX_MEMORY_KIB,
        MAX_WORK_KIB,
        PassphraseIdentity,
    )
    from securemedia.recipients.rsa import RSAIdentity

    kind, _, count_text = name.partition(":")
    if kind.startswith("argon2"):
        identity = PassphraseIdentity(b"not the passphrase")
        if kind == "argon2-default":
            return _argon2(DEFAULT_TIME_COST, DEFAULT_MEMORY_KIB, DEFAULT_PARALLELISM), identity
        if kind == "argon2-max-memory":  # most memory, then as many passes as the work cap allows
            return _argon2(MAX_WORK_KIB // MAX_MEMORY_KIB, MAX_MEMORY_KIB, 1), identity
        if kind == "argon2-max-time":  # ten passes over as much memory as the work cap allows
            return _argon2(10, MAX_WORK_KIB // 10, 1), identity
        if kind == "argon2-over-cap":
            return _argon2(MAX_WORK_KIB // MAX_MEMORY_KIB + 1, MAX_MEMORY_KIB, 1), identity
    if count_text == "max":
        count = MAX_RSA_STANZAS if kind == "rsa8192" else MAX_STANZAS
    else:
        count = int(count_text or 1)
    if kind == "rsa8192":
        key = load_pem_private_key((keydir / "rsa8192.pem").read_bytes(), None)
        assert hasattr(key, "decrypt")
        return [(StanzaType.RSA_OAEP, os.urandom(1024)) for _ in range(count)], RSAIdentity(key)  # type: ignore[arg-type]
    if kind == "mlkem":
        other = SecretKey.generate().public.recipient()
        stanza = other.wrap(bytes(32))  # a real encapsulation for another key: full decap work
        return [(stanza.type, stanza.body)] * count, SecretKey.generate().identity()
    if kind == "p384":
        other = HPKERecipient(ec.generate_private_key(ec.SECP384R1()).public_key())
        stanza = other.wrap(bytes(32))
        return [(stanza.type, stanza.body)] * count, HPKEIdentity(
            ec.generate_private_key(ec.SECP384R1())
        )
    if kind == "token-p256":  # each stanza tried is a token ECDH (SoftHSM2 here)
        from securemedia.tokens import load_token_identities

        other = HPKERecipient(ec.generate_private_key(ec.SECP256R1()).public_key())
        stanza = other.wrap(bytes(32))
        (token,) = load_token_identities(os.environ[_TOKEN_URI], pin=os.environ[_TOKEN_PIN])
        return [(stanza.type, stanza.body)] * count, token
    raise SystemExit(f"unknown case {name}")


def child(name: str, keydir: Path) -> None:
    """Run one case in this (fresh) process and print its figures as JSON."""
    from securemedia.archive.reader import ArchiveReader
    from securemedia.errors import SecureMediaError

    stanzas, identity = _case(name, keydir)
    try:
        raw = _frame(stanzas)
        outcome = "accepted"
    except SecureMediaError as exc:
        raw, outcome = b"", type(exc).__name__
    started = time.perf_counter()
    try:
        ArchiveReader(io.BytesIO(raw + bytes(64)), [identity])
    except SecureMediaError as exc:
        outcome = type(exc).__name__
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"case": name, "seconds": seconds, "rss_mib": rss, "outcome": outcome}))


def run(name: str, keydir: Path, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, "--keydir", str(keydir)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
    if out.returncode != 0:
        raise SystemExit(f"case {name} failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# (worst case, its baseline): the baseline is what an honest header of the kind costs.
PAIRS = [
    ("argon2-max-memory", "argon2-default"),
    ("argon2-max-time", "argon2-default"),
    ("argon2-over-cap", "argon2-default"),
    ("rsa8192:max", "rsa8192:1"),
    ("mlkem:max", "mlkem:1"),
    ("p384:max", "p384:1"),
    ("token-p256:max", "token-p256:1"),
]


def _token_env() -> dict[str, str]:
    """The test token store (tests/token_support.py, SoftHSM2) for the token case:
    its "office" P-256 key, which tries at most MAX_TOKEN_TRIES stanzas."""
    sys.path.insert(0, str(ROOT.parent / "tests"))
    from token_support import PIN, token_store

    store = token_store()
    uri = f"pkcs11:token=Registry;object=office?module-path={store.module}"
    return store.env(**{_TOKEN_URI: uri, _TOKEN_PIN: PIN})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--keydir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.keydir)
        return 0
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    results: list[dict[str, Any]] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="header-cost-") as tmp:
        keydir = Path(tmp)
        key = rsa.generate_private_key(65537, 8192)
        (keydir / "rsa8192.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        baselines: dict[str, dict[str, Any]] = {}
        env = _token_env()
        print(f"{'case':<20} {'outcome':<16} {'seconds':>8} {'RSS MiB':>8}   vs baseline")
        for worst, base in PAIRS:
            if base not in baselines:
                baselines[base] = run(base, keydir, env)
                b = baselines[base]
                print(f"{base:<20} {b['outcome']:<16} {b['seconds']:>8.3f} {b['rss_mib']:>8.1f}")
            w, b = run(worst, keydir, env), baselines[base]
            w["baseline"] = base
            w["time_ratio"] = w["seconds"] / max(b["seconds"], 1e-6)
            w["rss_ratio"] = w["rss_mib"] / b["rss_mib"]
            results.append(w)
            over = w["seconds"] >= LIMIT_SECONDS or w["rss_mib"] >= LIMIT_MIB
            failed |= over
            print(
                f"{worst:<20} {w['outcome']:<16} {w['seconds']:>8.3f} {w['rss_mib']:>8.1f}   "
                f"x{w['time_ratio']:.1f} time, x{w['rss_ratio']:.2f} RSS"
                + ("   OVER THE TARGET" if over else "")
            )
        results += list(baselines.values())
    worst = max(results, key=lambda r: r["seconds"])
    print(
        f"worst: {worst['case']}: {worst['seconds']:.2f} s, "
        f"{max(r['rss_mib'] for r in results):.0f} MiB peak RSS (target < {LIMIT_SECONDS:.0f} s, "
        f"< {LIMIT_MIB:.0f} MiB)"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
