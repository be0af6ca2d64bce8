"""RFC 7512 pkcs11: URIs, read strictly (no token needed)."""

from __future__ import annotations

import pytest

from securemedia.errors import UsageError
from securemedia.tokens.uri import MAX_URI, is_token_uri, parse


def test_the_attributes_we_use() -> None:
    uri = parse(
        "pkcs11:token=Registry%20Office;object=office;id=%01%ff;serial=abc;type=private"
        "?module-path=/usr/lib/softhsm/libsofthsm2.so"
    )
    assert uri.token == "Registry Office"
    assert uri.object == "office"
    assert uri.id == b"\x01\xff"
    assert uri.serial == "abc"
    assert uri.type == "private"
    assert uri.module_path == "/usr/lib/softhsm/libsofthsm2.so"
    assert parse("PKCS11:object=x").object == "x"
    assert parse("pkcs11:").token is None


def test_is_token_uri() -> None:
    assert is_token_uri("pkcs11:token=a")
    assert is_token_uri("PKCS11:token=a")
    assert not is_token_uri("office.key")
    assert not is_token_uri("./pkcs11:token=a")


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("pkcs11:token=a;pin-value=1234", "PIN in a pkcs11: URI"),
        ("pkcs11:token=a?pin-source=file:/p", "PIN in a pkcs11: URI"),
        ("pkcs11:token=a;slot-id=1", "not supported"),
        ("pkcs11:token=a?module-name=softhsm2", "not supported"),
        ("pkcs11:token=a;token=b", "given twice"),
        ("pkcs11:token", "NAME=VALUE"),
        ("pkcs11:object=%zz", "two hex digits"),
        ("pkcs11:object=%ff", "not UTF-8"),
        ("pkcs11:type=secret", "not a PKCS#11 object type"),
        ("pkcs11:object=" + "a" * MAX_URI, "longer than"),
        ("file:office.key", "not a pkcs11: URI"),
    ],
)
def test_refused(uri: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        parse(uri)


def test_a_refused_pin_is_not_echoed() -> None:
    with pytest.raises(UsageError) as caught:
        parse("pkcs11:token=a;pin-value=s3cret-pin")
    assert "s3cret" not in str(caught.value)


def test_without_python_pkcs11_one_clear_line() -> None:
    """Installed without the pkcs11 extra: a UsageError that says what to install."""
    import subprocess
    import sys

    script = (
        "import sys; sys.modules['pkcs11'] = None\n"
        "from securemedia.errors import UsageError\n"
        "from securemedia.keyring import load_identities\n"
        "try:\n"
        "    load_identities('pkcs11:token=a;object=b?module-path=/x.so')\n"
        "except UsageError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert "pip install 'securemedia[pkcs11]'" in done.stdout
