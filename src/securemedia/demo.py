"""A built-in example, end to end: ``python -m securemedia.demo``.

Makes a key pair, writes a small synthetic registry export, packs it (signed),
shows what a finder sees, unpacks it, checks every byte, and shows what a
tampered disc looks like to the receiving office. Runs the real CLI, so what it
prints is what an operator would see.
"""

from __future__ import annotations

import csv
import filecmp
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def _run(*args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    shown = " ".join(a if " " not in a else repr(a) for a in args)
    print(f"\n$ securemedia {shown}")
    result = subprocess.run(
        [sys.executable, "-m", "securemedia", *args], capture_output=True, text=True, check=False
    )
    out = result.stdout.strip()
    if len(out) > 400:
        out = out[:120] + " ... " + out[-60:]
    if out:
        print(out)
    if result.stderr.strip():
        print(result.stderr.strip())
    if result.returncode != expect:
        raise SystemExit(f"demo failed: exit code {result.returncode}, expected {expect}")
    print(f"(exit code {result.returncode})")
    return result


def _write_export(root: Path, rows: int = 20_000) -> None:
    rng = random.Random(2015)
    export = root / "export"
    (export / "codes").mkdir(parents=True)
    with open(export / "registry.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["person_id", "birth_year", "sex", "municipality", "icd10", "cost"])
        for i in range(rows):
            writer.writerow(
                [
                    f"P{i:08d}",
                    rng.randint(1920, 2020),
                    rng.choice("FM"),
                    rng.randint(101, 5061),
                    rng.choice(["I21", "J18", "E11", "C50", "F32"]),
                    round(rng.uniform(100, 90_000), 2),
                ]
            )
    (export / "codes" / "municipalities.csv").write_text("code,name\n301,Oslo\n4601,Bergen\n")
    (export / "README.txt").write_text("Registry extract, synthetic, for the securemedia demo.\n")


def _same_tree(left: Path, right: Path) -> bool:
    """True when both trees hold the same names and byte-identical files."""
    names = sorted(p.relative_to(left) for p in left.rglob("*"))
    if names != sorted(p.relative_to(right) for p in right.rglob("*")):
        return False
    files = [str(n) for n in names if (left / n).is_file()]
    _, mismatch, errors = filecmp.cmpfiles(left, right, files, shallow=False)
    return not mismatch and not errors


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="securemedia-demo-"))
    os.chdir(work)
    try:
        print(f"securemedia demo in {work}")
        _write_export(work)
        _run("keygen", "-o", "office.key", "--no-passphrase")
        _run("pack", "export", "-o", "shipment.sm", "-r", "office.key.pub", "--sign", "office.key")
        _run("inspect", "shipment.sm")
        _run("list", "shipment.sm", "-i", "office.key")
        _run(
            "unpack",
            "shipment.sm",
            "-i",
            "office.key",
            "-o",
            "received",
            "--require-signer",
            "office.key.pub",
        )
        same = _same_tree(work / "export", work / "received" / "export")
        print(f"\nreceived files identical to the export: {same}")
        data = bytearray((work / "shipment.sm").read_bytes())
        data[len(data) // 2] ^= 0x01
        (work / "tampered.sm").write_bytes(bytes(data))
        print("\none bit flipped in the middle of the archive (a damaged or altered disc):")
        _run("unpack", "tampered.sm", "-i", "office.key", "-o", "received2", expect=4)
        print(f"nothing written for the tampered archive: {not (work / 'received2').exists()}")
        if not same:
            raise SystemExit("demo failed: received files differ")
        print("\ndemo finished: key made, dataset packed, signed, verified and restored.")
    finally:
        os.chdir("/")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
