"""What a key held on a PKCS#11 token adds to an unpack, against the same key
in a PEM file (SoftHSM2; a smartcard is slower per operation: see
docs/PKCS11.md).

The "copy" P-256 key of the test token store is on the token and in memory, so
both runs open the same archive with the same key; only where the private key
lives differs. Figures: median wall time of the whole CLI (a fresh process:
imports, module load, login, unwrap, decrypt, write), their difference and
ratio; the median time of one stanza unwrap in-process; and the cost of a
hostile header of MAX_STANZAS P-256 stanzas for other keys (each one a token
ECDH before it is refused: a token key tries at most MAX_TOKEN_TRIES of them).
Last, the time of one signature on the token (``pack --sign pkcs11:...`` makes
exactly one per archive), Ed25519 and ECDSA P-256, against a securemedia key
pair's Ed25519 signature in software.

    python benchmarks/token_unpack.py
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

RUNS = 7


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "securemedia", *args],
        env=env, cwd=cwd, check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from securemedia.errors import NoIdentityError
    from securemedia.header import MAX_STANZAS
    from securemedia.recipients import unwrap_candidates
    from securemedia.recipients.hpke import HPKEIdentity, HPKERecipient
    from securemedia.tokens import load_token_identities
    from token_support import PIN, certificate_for, token_store

    store = token_store()
    work = Path(tempfile.mkdtemp(prefix="sm-token-bench-"))
    data = work / "data"
    data.mkdir()
    (data / "registry.csv").write_bytes(os.urandom(4 << 20))
    cert = certificate_for(store.copy_key.public_key(), work / "copy.crt")
    pem = work / "copy.pem"
    pem.write_bytes(
        store.copy_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    env = {**os.environ, **store.env(SECUREMEDIA_PKCS11_PIN=PIN)}
    _cli(["pack", str(data), "-o", "a.sm", "-r", str(cert), "-q"], env, work)
    uri = f"pkcs11:token=Registry;object=copy?module-path={store.module}"
    file_times, token_times = [], []
    for run in range(RUNS):  # interleaved, so that machine noise hits both alike
        file_times.append(
            _cli(["unpack", "a.sm", "-i", str(pem), "-o", f"f{run}", "-q"], env, work)
        )
        token_times.append(_cli(["unpack", "a.sm", "-i", uri, "-o", f"t{run}", "-q"], env, work))
    f, t = statistics.median(file_times), statistics.median(token_times)
    print(f"unpack 4 MiB, P-256 key in a PEM file: {f * 1000:.0f} ms (median of {RUNS})")
    print(f"unpack 4 MiB, same key on the token:   {t * 1000:.0f} ms (median of {RUNS})")
    print(f"token adds {1000 * (t - f):.0f} ms, ratio {t / f:.2f}")

    (token,) = load_token_identities(uri, pin=PIN)
    software = HPKEIdentity(store.copy_key)
    stanza = HPKERecipient(store.copy_key.public_key()).wrap(os.urandom(32))

    def per_call(identity: object, n: int = 200) -> float:
        start = time.perf_counter()
        for _ in range(n):
            identity.unwrap(stanza)  # type: ignore[attr-defined]
        return (time.perf_counter() - start) / n

    s1, t1 = per_call(software), per_call(token)
    print(
        f"one stanza unwrap: software {s1 * 1e6:.0f} us, token {t1 * 1e6:.0f} us ({t1 / s1:.1f}x)"
    )
    hostile = [
        HPKERecipient(ec.generate_private_key(ec.SECP256R1()).public_key()).wrap(os.urandom(32))
        for _ in range(MAX_STANZAS)
    ]
    for name, identity in (("software", software), ("token", token)):
        start = time.perf_counter()
        with contextlib.suppress(NoIdentityError):
            unwrap_candidates(hostile, [identity])
        took = (time.perf_counter() - start) * 1000
        print(f"{MAX_STANZAS} hostile P-256 stanzas, {name}: {took:.0f} ms")
    _signatures(store.module)
    shutil.rmtree(work)


def _signatures(module: str) -> None:
    """Median time of one signature: on the token (Ed25519, P-256) and in software."""
    import pkcs11

    from securemedia.keys import SecretKey
    from securemedia.tokens import load_token_signer
    from securemedia.tokens.generate import TokenKeyKind, generate_key_pair
    from token_support import PIN

    with pkcs11.lib(module).get_token(token_label="Registry").open(rw=True) as session:
        generate_key_pair(session, TokenKeyKind.P256_SIGN, "bench-p256", os.urandom(8))
    message = os.urandom(200)  # the signed message: a domain tag, two digests, the signer

    def median_us(sign: Callable[[bytes], bytes], n: int = 200) -> float:
        times = []
        for _ in range(n):
            start = time.perf_counter()
            sign(message)
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1e6

    software = median_us(SecretKey.generate(classic=True).sign)
    print(f"one signature, key pair in software (Ed25519): {software:.0f} us")
    for label, name in (("sender", "Ed25519"), ("bench-p256", "ECDSA P-256")):
        uri = f"pkcs11:token=Registry;object={label}?module-path={module}"
        took = median_us(load_token_signer(uri, pin=PIN).sign)
        print(f"one signature on the token ({name}): {took:.0f} us ({took / software:.1f}x)")


if __name__ == "__main__":
    main()
