"""One rule for every writer used as a context manager: leaving the block
normally finishes the output (``close``); leaving it with an exception
abandons it (``abort``), so a failed run never looks like a complete one."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Self


class Finishing:
    """Mixin: ``with`` calls ``close()`` on success and ``abort()`` on an exception.

    The class using it provides both. They are declared here for the type
    checker only: at run time ``super().close()`` in a subclass must reach the
    next base (an ``io`` class), not a stub.
    """

    if TYPE_CHECKING:

        def close(self) -> object: ...

        def abort(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
