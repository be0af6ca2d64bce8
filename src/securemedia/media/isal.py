"""Loading Intel ISA-L through ctypes, for :mod:`.rs_backend`.

ISA-L comes from the pyeclib wheel (``pyeclib.libs/libisal-*.so.2``) that
``pip install`` brings, or from the system (Debian's ``libisal2``). This module
finds and loads it, declares the prototypes of the three functions used
(``ec_init_tables``, ``ec_encode_data``, ``gf_invert_matrix``), and turns
Python buffers into the raw addresses ISA-L reads and writes. What is computed
with it, and the check that it gives zfec's bytes, is in :mod:`.rs_backend`.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import OperationalError

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["Pointers", "Tables", "lib", "load", "tables"]

_u8p = ctypes.POINTER(ctypes.c_ubyte)
Tables = ctypes.Array[ctypes.c_ubyte]
"""ISA-L's expanded multiplication tables (32 bytes per coefficient)."""


def _isal_paths() -> list[str]:
    """Where ISA-L may be: inside the pyeclib wheel first, then the system's library."""
    found: list[str] = []
    spec = importlib.util.find_spec("pyeclib")
    if spec is not None and spec.submodule_search_locations:
        libs = Path(next(iter(spec.submodule_search_locations))).parent / "pyeclib.libs"
        found += sorted(str(p) for p in libs.glob("libisal*.so*"))
    # The dynamic loader's own search, by soname: ctypes.util.find_library would
    # run ldconfig or a compiler through temporary files, which a read-only
    # ``verify`` must not create.
    found.append("libisal.so.2")
    return found


@functools.cache
def load() -> ctypes.CDLL | None:
    """ISA-L with the prototypes of the three functions used, or None if none loads."""
    for path in _isal_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        try:
            lib.ec_init_tables.argtypes = [ctypes.c_int, ctypes.c_int, _u8p, _u8p]
            lib.ec_init_tables.restype = None
            lib.ec_encode_data.argtypes = [
                ctypes.c_int,
                ctypes.c_int,
                ctypes.c_int,
                _u8p,
                ctypes.POINTER(ctypes.c_void_p),
                ctypes.POINTER(ctypes.c_void_p),
            ]
            lib.ec_encode_data.restype = None
            lib.gf_invert_matrix.argtypes = [_u8p, _u8p, ctypes.c_int]
            lib.gf_invert_matrix.restype = ctypes.c_int
        except AttributeError:  # some other library of that name
            continue
        return lib
    return None


def lib() -> ctypes.CDLL:
    """ISA-L, or OperationalError saying how to install it."""
    found = load()
    if found is None:
        raise OperationalError("ISA-L cannot be loaded (pip install pyeclib, or libisal2)")
    return found


def tables(coeffs: bytes, k: int, rows: int) -> Tables:
    """ISA-L's expanded multiplication tables for a rows x k coefficient matrix."""
    out = (ctypes.c_ubyte * (32 * k * rows))()
    a = (ctypes.c_ubyte * len(coeffs)).from_buffer_copy(coeffs)
    lib().ec_init_tables(k, rows, a, out)
    return out


class Pointers:
    """Addresses of the bytes of a list of buffers, kept alive as long as this object.

    Every buffer must hold exactly ``length`` bytes: ISA-L reads and writes that
    many at each address, whatever a buffer really holds.
    """

    def __init__(self, buffers: Sequence[Buffer], writable: bool, length: int) -> None:
        self._keep: list[object] = []
        self.addrs: list[int] = []
        for buf in buffers:
            view = memoryview(buf).cast("B")
            if len(view) != length:
                raise ValueError("blocks of a group must all have the same length")
            if view.readonly:
                if writable:
                    raise ValueError("output buffers must be writable")
                if not (isinstance(buf, bytes) and view.contiguous):
                    buf = bytes(view)
                ptr = ctypes.c_char_p(buf)  # a bytes object's own storage, not a copy
                self._keep.append((buf, ptr))
                self.addrs.append(ctypes.cast(ptr, ctypes.c_void_p).value or 0)
            else:
                arr = (ctypes.c_char * len(view)).from_buffer(view)
                self._keep.append((view, arr))
                self.addrs.append(ctypes.addressof(arr))
