"""A finder's header cannot keep a token busy: a token key tries at most
MAX_TOKEN_TRIES stanzas of its kind per header (each one a token ECDH, tens of
milliseconds on a smartcard), and says so in the one error line when it
stopped before the end."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import RunCli
from securemedia import api
from securemedia.header import MAX_STANZAS
from securemedia.recipients.hpke import HPKERecipient
from securemedia.tokens.identities import MAX_TOKEN_TRIES
from token_support import PIN, TokenStore, public_key_of, token_store


@pytest.fixture
def store() -> TokenStore:
    return token_store()


def _archive(tmp_path: Path, office_at: int) -> Path:
    """An archive with MAX_STANZAS P-256 stanzas, the token key "office" at
    position ``office_at`` (0-based), the others for throwaway keys."""
    office = public_key_of("office")
    assert isinstance(office, ec.EllipticCurvePublicKey)
    others = [ec.generate_private_key(ec.SECP256R1()).public_key() for _ in range(MAX_STANZAS)]
    others[office_at] = office
    data = tmp_path / f"data{office_at}"
    data.mkdir()
    (data / "a.txt").write_bytes(b"registry")
    target = tmp_path / f"at{office_at}.sm"
    api.pack([data], target, [HPKERecipient(key) for key in others])
    return target


def test_a_token_key_tries_at_most_16_stanzas(
    run_cli: RunCli, tmp_path: Path, store: TokenStore
) -> None:
    assert MAX_TOKEN_TRIES == 16
    uri = f"pkcs11:token=Registry;object=office?module-path={store.module}"
    env = store.env(SECUREMEDIA_PKCS11_PIN=PIN)
    last_tried = _archive(tmp_path, MAX_TOKEN_TRIES - 1)
    opened = run_cli("unpack", last_tried, "-i", uri, "-o", "one", env=env)
    assert opened.code == 0, opened.stderr
    assert (tmp_path / "one" / last_tried.stem.replace("at", "data") / "a.txt").exists()

    first_not_tried = _archive(tmp_path, MAX_TOKEN_TRIES)
    refused = run_cli("unpack", first_not_tried, "-i", uri, "-o", "two", env=env)
    assert refused.code == 3
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert "no identity opens this archive" in lines[0]
    assert f"tried the first 16 of {MAX_STANZAS} P-256 stanzas only" in lines[0]
    assert not (tmp_path / "two").exists()
