"""The command-line contract, through the real entry point in a child process:
commands, exit codes, one-line errors, outputs that appear only when complete,
passphrases never on argv, and sender signatures."""

from __future__ import annotations

import io
import json
import os
import struct
from collections.abc import Callable
from pathlib import Path

import click
import pytest

from conftest import CliResult, KeyFiles, RunCli, make_archive
from securemedia import signature
from securemedia.archive.records import TRAILER
from securemedia.archive.writer import ArchiveWriter
from securemedia.cli.main import cli
from securemedia.envelope import open_header
from securemedia.header import MAC_SIZE, Stanza, StanzaType, encode_unsigned, read_header
from securemedia.keys import SecretKey
from securemedia.stream import CHUNK_SIZE, CIPHER_CHUNK_SIZE, StreamReader, StreamWriter

PASS_ENV = "SECUREMEDIA_PASSPHRASE"
MEMBER_NAME = "patients-secret-name.csv"


def assert_error(result: CliResult, code: int, match: str | None = None) -> str:
    """Exit ``code`` with exactly one line on stderr, prefixed, no traceback."""
    assert result.code == code, (result.code, result.stderr)
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("securemedia: error: "), lines[0]
    if match is not None:
        assert match in lines[0], lines[0]
    return lines[0]


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its content (None for a directory)."""
    out: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        out[str(path.relative_to(root))] = None if path.is_dir() else path.read_bytes()
    return out


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "export"
    (root / "sub").mkdir(parents=True)
    (root / MEMBER_NAME).write_bytes(b"id,diagnosis\n" + b"1,x\n" * 500)
    (root / "sub" / "blob.bin").write_bytes(os.urandom(5000))
    (root / "sub" / "empty").write_bytes(b"")
    return root


@pytest.fixture
def alice(make_keys: Callable[..., KeyFiles]) -> KeyFiles:
    return make_keys("alice")


@pytest.fixture
def bob(make_keys: Callable[..., KeyFiles]) -> KeyFiles:
    return make_keys("bob", classic=True)


@pytest.fixture
def packed(run_cli: RunCli, dataset: Path, alice: KeyFiles, tmp_path: Path) -> Path:
    result = run_cli("pack", "export", "-o", "a.sm", "-r", alice.pub_path, "-q")
    assert result.code == 0, result.stderr
    return tmp_path / "a.sm"


@pytest.fixture
def big(run_cli: RunCli, alice: KeyFiles, tmp_path: Path) -> tuple[Path, bytes]:
    """A one-member archive of three chunks, stored uncompressed."""
    content = os.urandom(2 * CHUNK_SIZE + 999)
    (tmp_path / "big.bin").write_bytes(content)
    result = run_cli("pack", "big.bin", "-o", "big.sm", "-r", alice.pub_path, "--no-compress")
    assert result.code == 0, result.stderr
    return tmp_path / "big.sm", content


def damage(path: Path, offset: int, *, into: Path | None = None) -> Path:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    target = into or path.with_name("damaged-" + path.name)
    target.write_bytes(bytes(data))
    return target


# -- pack and unpack -------------------------------------------------------------------


def test_pack_unpack_round_trip(
    run_cli: RunCli, packed: Path, dataset: Path, alice: KeyFiles, tmp_path: Path
) -> None:
    result = run_cli("unpack", packed, "-i", alice.path, "-o", "out")
    assert result.code == 0, result.stderr
    assert result.stdout == b""
    assert "restored 3 file(s)" in result.stderr
    assert tree(tmp_path / "out" / "export") == tree(dataset)
    listed = run_cli("list", packed, "-i", alice.path)
    assert listed.code == 0 and MEMBER_NAME in listed.out


def test_pack_several_inputs_and_recipients(
    run_cli: RunCli, dataset: Path, alice: KeyFiles, bob: KeyFiles, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("notes")
    result = run_cli(
        "pack",
        "export",
        "notes.txt",
        "-o",
        "multi.sm",
        "-r",
        alice.pub_line,  # a key line on argv
        "-r",
        bob.pub_path,  # a key file
        "--json",
    )
    assert result.code == 0, result.stderr
    doc = json.loads(result.out)
    assert len(doc["recipients"]) == 2 and doc["signed"] is False
    assert {m["path"] for m in doc["members"]} >= {"export", "notes.txt", f"export/{MEMBER_NAME}"}
    for who in (alice, bob):
        out = f"out-{who.path.name}"
        assert run_cli("unpack", "multi.sm", "-i", who.path, "-o", out, "-q").code == 0
        assert (tmp_path / out / "notes.txt").read_text() == "notes"
        assert tree(tmp_path / out / "export") == tree(dataset)


def test_pack_from_stdin_and_unpack_to_stdout(run_cli: RunCli, alice: KeyFiles) -> None:
    data = os.urandom(300_000)
    packed = run_cli(
        "pack", "-", "-o", "-", "-r", alice.pub_path, "--stdin-name", "s.bin", stdin=data
    )
    assert packed.code == 0, packed.stderr
    archive = packed.stdout
    assert archive.startswith(b"securemedia\x00")
    from_pipe = run_cli("unpack", "-", "-i", alice.path, "--stdout", stdin=archive)
    assert from_pipe.code == 0, from_pipe.stderr
    assert from_pipe.stdout == data


def test_passphrase_archive_with_default_argon2_parameters(
    run_cli: RunCli, dataset: Path, tmp_path: Path
) -> None:
    packed = run_cli(
        "pack", "export", "-o", "p.sm", "-p", env={PASS_ENV: "velvet orbit canyon lantern"}
    )
    assert packed.code == 0, packed.stderr
    info = run_cli("inspect", "p.sm", "--json")
    assert info.code == 0
    [recipient] = json.loads(info.out)["recipients"]
    assert recipient == {"kind": "passphrase (Argon2id)", "argon2id": "t=3 m=64 MiB p=4"}
    wrong = run_cli(
        "unpack", "p.sm", "-p", "-o", "out", env={PASS_ENV: "velvet orbit canyon lanterN"}
    )
    assert_error(wrong, 3, "no identity opens this archive")
    assert not (tmp_path / "out").exists()
    (tmp_path / "pw").write_text("velvet orbit canyon lantern\n")
    right = run_cli("unpack", "p.sm", "-p", "--passphrase-file", "pw", "-o", "out", "-q")
    assert right.code == 0, right.stderr
    assert tree(tmp_path / "out" / "export") == tree(dataset)


def test_passphrase_without_a_source_and_without_a_terminal(
    run_cli: RunCli, dataset: Path, tmp_path: Path
) -> None:
    result = run_cli("pack", "export", "-o", "p.sm", "-p")
    assert_error(result, 2, "no terminal")
    assert not (tmp_path / "p.sm").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".p.sm")]


def test_passphrase_mixed_with_a_recipient_refused(
    run_cli: RunCli, dataset: Path, alice: KeyFiles, tmp_path: Path
) -> None:
    result = run_cli(
        "pack", "export", "-o", "p.sm", "-p", "-r", alice.pub_path, env={PASS_ENV: "x"}
    )
    assert_error(result, 2, "cannot be combined")
    assert not (tmp_path / "p.sm").exists()


def test_no_option_takes_a_passphrase_value() -> None:
    """Every option naming a passphrase is a flag or names a file."""
    seen = 0
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None
        for param in command.params:
            if not isinstance(param, click.Option):
                continue
            names = " ".join(param.opts + param.secondary_opts)
            if "passphrase" not in names and "password" not in names:
                continue
            seen += 1
            assert param.is_flag or names.endswith(("-file", "-out")), (command.name, names)
    assert seen >= 5


def test_a_passphrase_on_argv_is_not_taken(run_cli: RunCli, dataset: Path, tmp_path: Path) -> None:
    result = run_cli("pack", "export", "-o", "p.sm", "--passphrase=hunter2")
    assert_error(result, 2)
    result = run_cli("pack", "export", "-o", "p.sm", "-p", "hunter2", env={PASS_ENV: "x"})
    assert_error(result, 1, "hunter2: no such file")  # taken as a (missing) input
    assert not (tmp_path / "p.sm").exists()


# -- exit codes and one-line errors ------------------------------------------------------


def test_usage_errors_exit_2(run_cli: RunCli, dataset: Path, packed: Path, alice: KeyFiles) -> None:
    assert_error(run_cli("pack", "export", "-o", "x.sm"), 2, "at least one recipient")
    assert_error(run_cli("pack", "export", "-o", "x.sm", "-r", "smpub1-x25519-AAAA"), 2)
    assert_error(run_cli("pack", "export", "-o", "x.sm", "-r", alice.path), 2, "private key")
    assert_error(run_cli("unpack", packed), 2, "-i KEYFILE")
    assert_error(run_cli("unpack", packed, "-i", alice.path, "-o", "d", "--stdout"), 2)
    assert_error(run_cli("pack", "--no-such-option"), 2)
    assert_error(run_cli("no-such-command"), 2)


def test_damaged_public_key_line_on_argv(
    run_cli: RunCli, dataset: Path, alice: KeyFiles, tmp_path: Path
) -> None:
    line = alice.pub_line
    pos = len(line) // 2
    damaged = line[:pos] + ("A" if line[pos] != "A" else "B") + line[pos + 1 :]
    result = run_cli("pack", "export", "-o", "x.sm", "-r", damaged)
    assert_error(result, 2, "public key is damaged (checksum mismatch): copy it again")
    assert not (tmp_path / "x.sm").exists()


def test_operational_errors_exit_1(
    run_cli: RunCli, packed: Path, dataset: Path, alice: KeyFiles, tmp_path: Path
) -> None:
    assert_error(run_cli("unpack", "nothing.sm", "-i", alice.path), 1, "cannot read")
    assert_error(run_cli("pack", "missing", "-o", "x.sm", "-r", alice.pub_path), 1)
    before = packed.read_bytes()
    assert_error(
        run_cli("pack", "export", "-o", packed.name, "-r", alice.pub_path), 1, "already exists"
    )
    assert packed.read_bytes() == before
    assert_error(run_cli("inspect", "nothing.sm"), 1)


def test_wrong_key_exits_3(run_cli: RunCli, packed: Path, bob: KeyFiles, tmp_path: Path) -> None:
    assert_error(run_cli("unpack", packed, "-i", bob.path, "-o", "out"), 3)
    assert_error(run_cli("list", packed, "-i", bob.path), 3)
    assert not (tmp_path / "out").exists()


def test_damaged_recipient_stanza_exits_3(
    run_cli: RunCli, packed: Path, alice: KeyFiles, tmp_path: Path
) -> None:
    stanza_body = 12 + 1 + 4 + 16 + 2 + 3
    for offset in (stanza_body, stanza_body + 500, stanza_body + 1167):
        damaged = damage(packed, offset)
        line = assert_error(run_cli("unpack", damaged, "-i", alice.path, "-o", "out"), 3)
        assert "damaged recipient entry" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("where", ["nonce", "mac", "payload", "last-byte"])
def test_tampered_archive_exits_4(
    where: str, run_cli: RunCli, packed: Path, alice: KeyFiles, tmp_path: Path
) -> None:
    hlen = len(read_header(io.BytesIO(packed.read_bytes())).raw)
    offset = {"nonce": 20, "mac": hlen - 1, "payload": hlen + 10, "last-byte": -1}[where]
    damaged = damage(packed, offset)
    assert_error(run_cli("unpack", damaged, "-i", alice.path, "-o", "out"), 4, "authentication")
    assert not (tmp_path / "out").exists()


def test_truncated_and_foreign_inputs_exit_4(
    run_cli: RunCli, packed: Path, alice: KeyFiles, tmp_path: Path
) -> None:
    data = packed.read_bytes()
    for cut in (5, 100, len(data) - 1):
        (tmp_path / "cut.sm").write_bytes(data[:cut])
        assert_error(run_cli("unpack", "cut.sm", "-i", alice.path, "-o", "out"), 4)
    (tmp_path / "text.sm").write_text("hello, I am not an archive\n")
    assert_error(run_cli("unpack", "text.sm", "-i", alice.path), 4, "not a securemedia archive")
    assert_error(run_cli("inspect", "text.sm"), 4, "not a securemedia archive")
    (tmp_path / "extra.sm").write_bytes(data + b"\x00")
    assert_error(run_cli("unpack", "extra.sm", "-i", alice.path, "-o", "out"), 4)
    assert not (tmp_path / "out").exists()


# -- destinations: nothing appears unless everything verified -----------------------------


def test_failed_unpack_removes_a_directory_it_created(
    run_cli: RunCli, big: tuple[Path, bytes], alice: KeyFiles, tmp_path: Path
) -> None:
    archive, _ = big
    damaged = damage(archive, archive.stat().st_size - 40)  # the last chunk: index/trailer
    assert_error(run_cli("unpack", damaged, "-i", alice.path, "-o", "new/deeper"), 4)
    assert not (tmp_path / "new").exists()
    piped = run_cli("unpack", "-", "-i", alice.path, "-o", "piped", stdin=damaged.read_bytes())
    assert_error(piped, 4)
    assert not (tmp_path / "piped").exists()


def test_failed_unpack_leaves_an_existing_directory_untouched(
    run_cli: RunCli,
    big: tuple[Path, bytes],
    packed: Path,
    alice: KeyFiles,
    bob: KeyFiles,
    tmp_path: Path,
) -> None:
    archive, _ = big
    dest = tmp_path / "existing"
    (dest / "keep").mkdir(parents=True)
    (dest / "keep" / "file.txt").write_text("mine")
    before = tree(dest)
    damaged = damage(archive, len(read_header(io.BytesIO(archive.read_bytes())).raw) + 5)
    assert_error(run_cli("unpack", damaged, "-i", alice.path, "-o", dest), 4)
    assert tree(dest) == before
    # An existing file of a member's name stays as it was, even with --force.
    (dest / "big.bin").write_text("an older file of the same name")
    before = tree(dest)
    late = damage(archive, archive.stat().st_size - 40)
    assert_error(run_cli("unpack", late, "-i", alice.path, "-o", dest, "--force"), 4)
    assert tree(dest) == before
    assert_error(run_cli("unpack", packed, "-i", bob.path, "-o", dest), 3)
    assert tree(dest) == before
    # Without --force an existing file is not replaced either.
    assert_error(run_cli("unpack", archive, "-i", alice.path, "-o", dest), 1, "already exists")
    assert tree(dest) == before


def test_unpack_stdout_from_a_file_verifies_before_writing(
    run_cli: RunCli, big: tuple[Path, bytes], alice: KeyFiles
) -> None:
    archive, content = big
    ok = run_cli("unpack", archive, "-i", alice.path, "--stdout")
    assert ok.code == 0, ok.stderr
    assert ok.stdout == content
    # Damage in the last chunk: the first two chunks would authenticate, but a
    # file is verified end to end first, so nothing at all is written.
    for offset in (archive.stat().st_size - 40, archive.stat().st_size - CIPHER_CHUNK_SIZE // 2):
        damaged = damage(archive, offset)
        result = run_cli("unpack", damaged, "-i", alice.path, "--stdout")
        assert_error(result, 4)
        assert result.stdout == b""


def test_unpack_stdout_from_a_pipe(
    run_cli: RunCli, big: tuple[Path, bytes], alice: KeyFiles
) -> None:
    archive, content = big
    data = archive.read_bytes()
    ok = run_cli("unpack", "-", "-i", alice.path, "--stdout", stdin=data)
    assert ok.code == 0, ok.stderr
    assert ok.stdout == content
    for cut in (len(data) - 1, len(data) - CIPHER_CHUNK_SIZE, len(data) // 2):
        truncated = run_cli("unpack", "-", "-i", alice.path, "--stdout", stdin=data[:cut])
        assert_error(truncated, 4)
        # Only authenticated bytes went out, and not all of them.
        assert len(truncated.stdout) < len(content)
        assert content.startswith(truncated.stdout)


def test_unpack_stdout_needs_one_member(run_cli: RunCli, packed: Path, alice: KeyFiles) -> None:
    assert_error(run_cli("unpack", packed, "-i", alice.path, "--stdout"), 2, "--member")
    one = run_cli(
        "unpack", packed, "-i", alice.path, "--stdout", "--member", f"export/{MEMBER_NAME}"
    )
    assert one.code == 0, one.stderr
    assert one.stdout.startswith(b"id,diagnosis\n")


# -- inspect ---------------------------------------------------------------------------


def test_inspect_shows_public_facts_only(
    run_cli: RunCli, dataset: Path, alice: KeyFiles, bob: KeyFiles, tmp_path: Path
) -> None:
    assert (
        run_cli("pack", "export", "-o", "a.sm", "-r", alice.pub_path, "-r", bob.pub_path, "-q").code
        == 0
    )
    text = run_cli("inspect", "a.sm")
    assert text.code == 0, text.stderr
    doc_result = run_cli("inspect", "a.sm", "--json")
    doc = json.loads(doc_result.out)
    for output in (text.out, doc_result.out):
        assert MEMBER_NAME not in output and "blob.bin" not in output and "export" not in output
        assert alice.secret.public.fingerprint not in output
    assert [r["kind"] for r in doc["recipients"]] == [
        "ML-KEM-768+X25519 post-quantum hybrid (HPKE)",
        "X25519 (HPKE)",
    ]
    assert doc["archive_bytes"] == (tmp_path / "a.sm").stat().st_size
    assert doc["payload_looks_complete"] is True
    assert "recipients   2 (anonymous)" in text.out
    archive = (tmp_path / "a.sm").read_bytes()
    hlen = doc["header_bytes"]
    (tmp_path / "cut.sm").write_bytes(archive[: hlen + 10])  # shorter than one tag
    cut = run_cli("inspect", "cut.sm", "--json")
    assert cut.code == 0 and json.loads(cut.out)["payload_looks_complete"] is False


# -- signatures ------------------------------------------------------------------------


def test_signed_archive_with_required_signer(
    run_cli: RunCli, dataset: Path, alice: KeyFiles, bob: KeyFiles, tmp_path: Path
) -> None:
    sender = bob
    packed = run_cli(
        "pack", "export", "-o", "s.sm", "-r", alice.pub_path, "--sign", sender.path, "--json"
    )
    assert packed.code == 0, packed.stderr
    assert json.loads(packed.out)["signed"] is True
    ok = run_cli(
        "unpack", "s.sm", "-i", alice.path, "-o", "out", "--require-signer", sender.pub_path
    )
    assert ok.code == 0, ok.stderr
    assert f"signed by {sender.secret.public.fingerprint}" in ok.stderr
    # The key line works as well as the file.
    ok2 = run_cli(
        "unpack", "s.sm", "-i", alice.path, "-o", "out2", "--require-signer", sender.pub_line, "-q"
    )
    assert ok2.code == 0, ok2.stderr
    other = run_cli(
        "unpack", "s.sm", "-i", alice.path, "-o", "out3", "--require-signer", alice.pub_path
    )
    assert_error(
        other,
        4,
        f"signed by {sender.secret.public.fingerprint}, not by the required signer "
        f"({alice.secret.public.fingerprint})",
    )
    assert not (tmp_path / "out3").exists()
    piped = run_cli(
        "unpack",
        "-",
        "-i",
        alice.path,
        "-o",
        "out4",
        "--require-signer",
        alice.pub_path,
        stdin=(tmp_path / "s.sm").read_bytes(),
    )
    assert_error(piped, 4)
    assert not (tmp_path / "out4").exists()


def test_unsigned_archive_with_required_signer(
    run_cli: RunCli, packed: Path, alice: KeyFiles, bob: KeyFiles, tmp_path: Path
) -> None:
    result = run_cli(
        "unpack", packed, "-i", alice.path, "-o", "out", "--require-signer", bob.pub_path
    )
    assert_error(result, 4, "not signed")
    assert not (tmp_path / "out").exists()


def test_co_recipient_cannot_re_encrypt_as_the_sender(
    run_cli: RunCli,
    dataset: Path,
    alice: KeyFiles,
    bob: KeyFiles,
    make_keys: Callable[..., KeyFiles],
    tmp_path: Path,
) -> None:
    """Bob receives the sender's archive with Alice; he can read it and write a
    new one for Alice, but without the sender's key it fails --require-signer."""
    sender = make_keys("sender")
    assert (
        run_cli(
            "pack",
            "export",
            "-o",
            "orig.sm",
            "-r",
            alice.pub_path,
            "-r",
            bob.pub_path,
            "--sign",
            sender.path,
            "-q",
        ).code
        == 0
    )
    assert run_cli("unpack", "orig.sm", "-i", bob.path, "-o", "bob-got", "-q").code == 0
    (tmp_path / "bob-got" / "export" / MEMBER_NAME).write_text("altered\n")
    for extra in ([], ["--sign", bob.path]):
        out = f"forged{len(extra)}.sm"
        assert (
            run_cli("pack", "bob-got/export", "-o", out, "-r", alice.pub_path, "-q", *extra).code
            == 0
        )
        result = run_cli(
            "unpack", out, "-i", alice.path, "-o", "alice-got", "--require-signer", sender.pub_path
        )
        assert_error(result, 4)
        assert not (tmp_path / "alice-got").exists()
    good = run_cli(
        "unpack",
        "orig.sm",
        "-i",
        alice.path,
        "-o",
        "alice-got",
        "-q",
        "--require-signer",
        sender.pub_path,
    )
    assert good.code == 0, good.stderr


def _forge(original: bytes, bob: SecretKey, content: bytes, *, keep_index: bool) -> bytes:
    """What a co-recipient can do at the byte level: keep the sender's header (so
    the MAC holds) and signature block, and re-encrypt a new payload under the
    same payload key."""
    source = io.BytesIO(original)
    header = read_header(source)
    key = open_header(header, [bob.identity()])
    plain = b"".join(StreamReader(key, source).chunks())
    index_offset, index_len, sig_len, _ = TRAILER.unpack(plain[-TRAILER.size :])
    index = plain[index_offset + 1 : index_offset + 1 + index_len]
    block = plain[index_offset + 1 + index_len : index_offset + 1 + index_len + sig_len]
    assert len(block) in signature.BLOCK_SIZES
    # A new payload with Bob's content, written by the library and decrypted back.
    scratch = io.BytesIO()
    with (
        ArchiveWriter(scratch, [bob.public.recipient()]) as writer,
        writer.open_member(f"export/{MEMBER_NAME}", mtime_ns=0) as out,
    ):
        out.write(content)
    scratch.seek(0)
    new_header = read_header(scratch)
    new_plain = b"".join(StreamReader(open_header(new_header, [bob.identity()]), scratch).chunks())
    new_index_offset, new_index_len, _, magic = TRAILER.unpack(new_plain[-TRAILER.size :])
    records = new_plain[:new_index_offset]
    if keep_index:
        records_index = index
    else:
        records_index = new_plain[new_index_offset + 1 : new_index_offset + 1 + new_index_len]
    forged_plain = (
        records
        + b"I"
        + records_index
        + block
        + struct.pack(">QQI8s", len(records), len(records_index), len(block), magic)
    )
    sink = io.BytesIO()
    stream = StreamWriter(key, sink)
    stream.write(forged_plain)
    stream.close()
    return header.raw + sink.getvalue()


@pytest.mark.parametrize("keep_index", [False, True], ids=["new-index", "sender-index"])
def test_forged_payload_under_the_senders_header_and_signature(
    keep_index: bool,
    run_cli: RunCli,
    alice: KeyFiles,
    bob: KeyFiles,
    tmp_path: Path,
    make_keys: Callable[..., KeyFiles],
) -> None:
    sender = make_keys("sender")
    original = make_archive(
        [(f"export/{MEMBER_NAME}", b"1,x\n")],
        [alice.secret.public.recipient(), bob.secret.public.recipient()],
        signer=sender.secret,
    )
    (tmp_path / "orig.sm").write_bytes(original)
    assert (
        run_cli(
            "unpack",
            "orig.sm",
            "-i",
            alice.path,
            "-o",
            "ok",
            "-q",
            "--require-signer",
            sender.pub_path,
        ).code
        == 0
    )
    forged = _forge(original, bob.secret, b"1,y\n", keep_index=keep_index)
    (tmp_path / "forged.sm").write_bytes(forged)
    result = run_cli(
        "unpack", "forged.sm", "-i", alice.path, "-o", "out", "--require-signer", sender.pub_path
    )
    assert_error(result, 4)
    assert not (tmp_path / "out").exists()
    # Even without --require-signer the forgery is refused: the signature block
    # present no longer matches what it signs, or the index no longer matches.
    assert_error(run_cli("unpack", "forged.sm", "-i", alice.path, "-o", "out"), 4)


def test_version(run_cli: RunCli) -> None:
    result = run_cli("--version")
    assert result.code == 0 and "version" in result.out


def test_hostile_argon2_stanza_refused_before_hashing(run_cli: RunCli, tmp_path: Path) -> None:
    """A passphrase archive whose stanza asks for 4 GiB and t=1000 is refused
    with exit 4 at once, without running Argon2 (exit 3 would mean it tried)."""
    body = os.urandom(16) + struct.pack(">III", 1000, 4 * 1024 * 1024, 4) + bytes(48)
    header = encode_unsigned(os.urandom(16), [Stanza(StanzaType.ARGON2ID, body)])
    (tmp_path / "hostile.sm").write_bytes(header + bytes(MAC_SIZE) + bytes(100))
    result = run_cli("unpack", "hostile.sm", "-p", "-o", "out", env={PASS_ENV: "x"}, timeout=30)
    assert_error(result, 4, "passphrase parameters are out of range")
    assert not (tmp_path / "out").exists()


def test_bare_command_shows_help_not_an_error(run_cli: RunCli) -> None:
    result = run_cli()
    assert result.code == 2
    assert result.stderr.startswith("Usage: securemedia")
    assert "error" not in result.stderr.splitlines()[0]
    for command in ("pack", "unpack", "inspect", "list", "verify", "repair", "plan", "keygen"):
        assert command in result.stderr


def test_verify_a_plain_archive(
    run_cli: RunCli, packed: Path, alice: KeyFiles, bob: KeyFiles
) -> None:
    keyless = run_cli("verify", packed)
    assert keyless.code == 2, keyless.stderr  # content and length cannot be checked keylessly
    assert "1 recipient(s)" in keyless.out and "no recovery data" in keyless.out
    assert "NOT checked" in keyless.stderr and "-i KEYFILE" in keyless.stderr
    with_key = run_cli("verify", packed, "-i", alice.path)
    assert with_key.code == 0 and "authenticated end to end" in with_key.out
    assert run_cli("verify", packed, "-i", bob.path).code == 3
    damaged = packed.with_name("damaged.sm")
    data = bytearray(packed.read_bytes())
    data[-40] ^= 0x01
    damaged.write_bytes(bytes(data))
    result = run_cli("verify", damaged, "-i", alice.path)
    assert result.code == 4 and "failed authentication" in result.stderr
    # Without recovery data a keyless check sees only the header: a truncation is
    # found when the payload is authenticated, and keyless verify never passes it.
    truncated = packed.with_name("truncated.sm")
    truncated.write_bytes(packed.read_bytes()[:-1000])
    assert run_cli("verify", truncated).code != 0
    assert run_cli("verify", truncated, "-i", alice.path).code == 4
