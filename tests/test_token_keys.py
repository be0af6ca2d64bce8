"""Token keys never leave the token: the attributes securemedia's key
generation sets, read back from a real SoftHSM2 token."""

from __future__ import annotations

import pkcs11
import pytest
from pkcs11 import Attribute, ObjectClass

from token_support import registry_session


@pytest.mark.parametrize("label", ["office-rsa", "office", "office-384", "sender"])
def test_generated_private_keys_are_sensitive_and_never_extractable(label: str) -> None:
    with registry_session() as session:
        keys = list(
            session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: label})
        )
        assert len(keys) == 1
        key = keys[0]
        assert key[Attribute.TOKEN] is True
        assert key[Attribute.PRIVATE] is True
        assert key[Attribute.SENSITIVE] is True
        assert key[Attribute.EXTRACTABLE] is False
        # Set by the token itself: true only if the key was born sensitive and
        # was never extractable (an imported key, or one changed later, is not).
        assert key[Attribute.ALWAYS_SENSITIVE] is True
        assert key[Attribute.NEVER_EXTRACTABLE] is True
        assert key[Attribute.LOCAL] is True
        with pytest.raises(pkcs11.AttributeSensitive):
            key[Attribute.PRIVATE_EXPONENT if label == "office-rsa" else Attribute.VALUE]


def test_an_imported_key_is_told_apart() -> None:
    """The check above can fail: a key put on the token from software is not LOCAL."""
    with registry_session() as session:
        key = next(
            session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: "copy"})
        )
        assert key[Attribute.LOCAL] is False
        assert key[Attribute.ALWAYS_SENSITIVE] is False
