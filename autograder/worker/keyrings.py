"""Kernel keyrings the worker starts with: nothing another submission left there.

A key added to a keyring outlives the process that added it: the user keyring
(``@u``) and the user session keyring (``@us``) belong to the uid, and the session
keyring (``@s``) is inherited. Workers of a slot share a uid, so a key one
submission adds would be read by the next. Each worker therefore joins a new,
empty session keyring and clears its uid's keyrings before any student code runs.
Linux only; elsewhere (or where the kernel has no keyrings) nothing is done.
"""

from __future__ import annotations

import ctypes
import os
import platform

SYSCALLS = {"x86_64": {"keyctl": 250}, "aarch64": {"keyctl": 219}}
KEYCTL_JOIN_SESSION_KEYRING = 1
KEYCTL_CLEAR = 7
KEY_SPEC_USER_KEYRING = -4
KEY_SPEC_USER_SESSION_KEYRING = -5


def _keyctl(*args) -> int:
    number = SYSCALLS.get(platform.machine(), {}).get("keyctl")
    if number is None or os.name != "posix":
        return -1
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(number, *args)


def fresh_keyrings() -> bool:
    """Join a new anonymous session keyring and empty the uid's own; True when all three held."""
    joined = _keyctl(KEYCTL_JOIN_SESSION_KEYRING, None) >= 0
    cleared = [_keyctl(KEYCTL_CLEAR, ctypes.c_long(spec)) >= 0
               for spec in (KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING)]
    return joined and all(cleared)
