"""What a script passes to the API: a path where loaded keys are expected is a
clear TypeError (never an AttributeError from deep inside, never after the
inputs were walked), a passphrase may be str or bytes, and library errors say
what is wrong without naming a CLI option (the CLI adds it, in one place)."""

from __future__ import annotations

import ast
import io
from collections.abc import Callable
from pathlib import Path

import pytest

import securemedia
from conftest import FAST_ARGON2, KeyFiles, RunCli
from securemedia import PassphraseIdentity, PassphraseRecipient
from securemedia.cli.hints import cli_message
from securemedia.errors import (
    DestinationExistsError,
    KeyFileError,
    NoIdentityError,
    Remedy,
    UsageError,
)

SRC = Path(securemedia.__file__).parent


def _members(archive: Path, identities: object) -> int:
    """Open ``archive`` with ``identities`` through open_archive; its member count."""
    with securemedia.open_archive(archive, identities) as reader:  # type: ignore[arg-type]
        return reader.member_count


def _create(path: Path, recipients: object) -> None:
    with securemedia.create_archive(path, recipients):  # type: ignore[arg-type]
        pass


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "rows.csv").write_text("id,name\n1,a\n")
    return tmp_path / "export"


# -- a path where loaded keys are expected ----------------------------------------------


def test_a_path_as_the_recipients_is_a_clear_type_error(
    tmp_path: Path, dataset: Path, make_keys: Callable[..., KeyFiles]
) -> None:
    office = make_keys("office.key")
    for wrong in (str(office.pub_path), office.pub_path, [str(office.pub_path)]):
        with pytest.raises(TypeError, match=r"load_recipients") as caught:
            securemedia.pack([dataset], tmp_path / "x.sm", wrong)  # type: ignore[arg-type]
        assert "AttributeError" not in repr(caught.value)
    with pytest.raises(TypeError, match=r"recipients\[0\] is a str"):
        securemedia.pack([dataset], tmp_path / "x.sm", [str(office.pub_path)])
    with pytest.raises(TypeError, match=r"load_recipients"):
        _create(tmp_path / "y.sm", [office.pub_line])
    with pytest.raises(TypeError, match=r"recipients\[1\] is a int \(not a recipient\)"):
        securemedia.pack([dataset], tmp_path / "x.sm", [office.secret.public.recipient(), 7])  # type: ignore[list-item]
    public = office.secret.public
    with pytest.raises(TypeError, match=r"PublicKey \(not a recipient\) \(call its .recipient"):
        securemedia.pack([dataset], tmp_path / "x.sm", [public])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"put a single one in a list"):
        securemedia.pack([dataset], tmp_path / "x.sm", public.recipient())  # type: ignore[arg-type]
    assert not (tmp_path / "x.sm").exists() and not (tmp_path / "y.sm").exists()
    # Loaded, the same file works.
    loaded = securemedia.load_recipients(str(office.pub_path))
    securemedia.pack([dataset], tmp_path / "x.sm", loaded)


def test_a_path_as_the_identities_is_a_clear_type_error(
    tmp_path: Path, dataset: Path, make_keys: Callable[..., KeyFiles]
) -> None:
    office = make_keys("office.key")
    archive = tmp_path / "x.sm"
    securemedia.pack([dataset], archive, [office.secret.public.recipient()])
    for wrong in (str(office.path), [str(office.path)], office.path):
        with pytest.raises(TypeError, match=r"load_identities"):
            securemedia.unpack(archive, tmp_path / "out", wrong)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"load_identities"):
            _members(archive, wrong)
    with pytest.raises(TypeError, match=r"is a SecretKey \(not an identity\) \(call its .identity"):
        securemedia.unpack(archive, tmp_path / "out", [office.secret])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"load_identities"):
        securemedia.ArchiveReader(io.BytesIO(archive.read_bytes()), [str(office.path)])  # type: ignore[list-item]
    assert not (tmp_path / "out").exists()
    identities = securemedia.load_identities(str(office.path))  # unprotected: no passphrase
    securemedia.unpack(archive, tmp_path / "out", identities)
    assert (tmp_path / "out" / "export" / "rows.csv").read_text() == "id,name\n1,a\n"


def test_a_string_in_the_identities_is_never_quoted(tmp_path: Path) -> None:
    # It could be a passphrase given in the wrong place.
    secret = "velvet orbit canyon lantern"
    with pytest.raises(TypeError) as caught:
        _members(tmp_path / "nope.sm", [secret])
    assert secret not in str(caught.value) and "velvet" not in str(caught.value)
    assert "PassphraseIdentity" in str(caught.value)


def test_signer_and_required_signers_given_as_paths(
    tmp_path: Path, dataset: Path, make_keys: Callable[..., KeyFiles]
) -> None:
    office = make_keys("office.key")
    recipients = [office.secret.public.recipient()]
    with pytest.raises(TypeError, match=r"signer must be a securemedia SecretKey"):
        securemedia.pack([dataset], tmp_path / "x.sm", recipients, signer=str(office.path))  # type: ignore[arg-type]
    assert not (tmp_path / "x.sm").exists()
    with pytest.raises(TypeError, match=r"signer must be a securemedia SecretKey"):
        # A bare Ed25519 key cannot sign: the signature carries the pair's public key.
        securemedia.pack(
            [dataset],
            tmp_path / "x.sm",
            recipients,
            signer=office.secret.signing_key(),  # type: ignore[arg-type]
        )
    securemedia.pack([dataset], tmp_path / "x.sm", recipients, signer=office.secret)
    identities = [office.secret.identity()]
    for wrong in (str(office.pub_path), [str(office.pub_path)]):
        with pytest.raises(TypeError, match=r"load_signers"):
            securemedia.unpack(tmp_path / "x.sm", tmp_path / "o", identities, require_signer=wrong)  # type: ignore[arg-type]
    assert not (tmp_path / "o").exists()


# -- passphrases: str or bytes -----------------------------------------------------------


def test_a_passphrase_callback_may_return_str(tmp_path: Path, dataset: Path) -> None:
    key = securemedia.SecretKey.generate(classic=True)
    path = tmp_path / "office.key"
    path.write_text(key.to_text("høst velvet orbit".encode(), FAST_ARGON2))
    archive = tmp_path / "x.sm"
    securemedia.pack([dataset], archive, [key.public.recipient()])
    # str from a callback (the crash of issue 11), str itself, bytes: the same key.
    text = "høst velvet orbit"
    for given in (lambda: text, text, lambda: text.encode()):
        assert _members(archive, securemedia.load_identities(str(path), given)) == 2
    with pytest.raises(TypeError, match=r"must be str or bytes, not int"):
        securemedia.load_identities(str(path), lambda: 1234)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match=r"callable returning one, or None, not float"):
        securemedia.load_identities(str(path), 12.5)  # type: ignore[arg-type]
    with pytest.raises(securemedia.UsageError, match="protected by a passphrase, and none"):
        securemedia.load_identities(str(path))
    with pytest.raises(NoIdentityError, match="wrong passphrase"):
        securemedia.load_identities(str(path), lambda: "another")


def test_passphrase_recipients_take_str_as_utf8_without_normalising(
    tmp_path: Path, dataset: Path
) -> None:
    archive = tmp_path / "x.sm"
    composed = "caf\u00e9 velvet orbit canyon"  # NFC
    securemedia.pack([dataset], archive, [PassphraseRecipient(composed, FAST_ARGON2)])
    for same in (composed, composed.encode("utf-8")):
        assert _members(archive, [PassphraseIdentity(same)]) == 2
    # The decomposed spelling is other bytes: not the same passphrase (as for the
    # CLI, which takes the bytes it is given; see arguments.passphrase_bytes).
    decomposed = "cafe\u0301 velvet orbit canyon"
    with pytest.raises(NoIdentityError):
        _members(archive, [PassphraseIdentity(decomposed)])
    with pytest.raises(TypeError, match="must be str or bytes, not int"):
        PassphraseRecipient(1234)  # type: ignore[arg-type]
    assert "café" not in repr(PassphraseRecipient(composed))


# -- library errors name no CLI option -----------------------------------------------------


def test_library_errors_name_the_problem_and_a_remedy_not_an_option(
    tmp_path: Path, dataset: Path, make_keys: Callable[..., KeyFiles]
) -> None:
    office = make_keys("office.key")
    recipients = [office.secret.public.recipient()]
    (tmp_path / "x.sm").write_bytes(b"taken")
    with pytest.raises(DestinationExistsError) as exists:
        securemedia.pack([dataset], tmp_path / "x.sm", recipients)
    assert str(exists.value).endswith("x.sm already exists")
    assert exists.value.remedy is Remedy.REPLACE
    with pytest.raises(KeyFileError) as private:
        securemedia.load_recipients(str(office.path))
    assert str(private.value).endswith(
        "office.key is a private key file, where a public key is needed: "
        "give its public key, " + str(office.path) + ".pub (or its fingerprint)"
    )
    with pytest.raises(securemedia.UsageError) as none:
        securemedia.pack([dataset], tmp_path / "z.sm", [])
    assert str(none.value) == "at least one recipient is needed (a public key or a passphrase)"
    assert none.value.remedy is Remedy.RECIPIENT


def test_every_remedy_has_its_cli_wording() -> None:
    for remedy in Remedy:
        worded = cli_message(UsageError("something is wrong", remedy=remedy))
        assert worded.startswith("something is wrong") and len(worded) > 20
    assert cli_message(UsageError("plain")) == "plain"


def test_the_cli_adds_the_option_to_the_same_errors(
    run_cli: RunCli, tmp_path: Path, dataset: Path, make_keys: Callable[..., KeyFiles]
) -> None:
    office = make_keys("office.key")
    (tmp_path / "x.sm").write_bytes(b"taken")
    exists = run_cli("pack", "export", "-o", "x.sm", "-r", office.pub_path)
    assert exists.code == 1
    assert exists.stderr.strip().endswith("x.sm already exists (use --force to overwrite)")
    private = run_cli("pack", "export", "-o", "y.sm", "-r", office.path)
    assert private.code == 2
    assert "is a private key file, where a public key is needed: give its public key" in (
        private.stderr
    )
    media = run_cli("pack", "export", "-o", "-", "-r", office.pub_path, "--media", "cd")
    assert media.code == 2 and "give -o NAME, not -o -" in media.stderr


def _raised_messages(path: Path) -> list[tuple[int, str]]:
    """The literal text of every exception raised in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            for arg in node.exc.args:
                for part in ast.walk(arg):
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        found.append((node.lineno, part.value))
    return found


# These validate the disc options pack passes through under their CLI names
# (media_output(iso=..., notice=...), load_notice): CLI glue beside the disc code.
_CLI_GLUE = {"media/output.py", "media/readme.py"}


def test_no_library_module_raises_a_message_naming_a_cli_option() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith("cli/") or relative in _CLI_GLUE or relative == "demo.py":
            continue
        for line, text in _raised_messages(path):
            words = text.replace("(", " ").replace(")", " ").split()
            if any(w.startswith("--") and len(w) > 2 for w in words) or any(
                w in ("-r", "-i", "-p", "-o") for w in words
            ):
                offenders.append(f"{relative}:{line}: {text!r}")
    assert offenders == []
