"""Kernel keyrings the worker starts with: nothing another submission left there, and none it can use.

A key added to a keyring outlives the process that added it: the user keyring
(``@u``), the user session keyring (``@us``) and the persistent keyring belong
to the uid, and the session keyring (``@s``) is inherited. Workers of a slot
share a uid, so a key one submission adds would be read by the next; a key
made readable by anyone (``KEYCTL_SETPERM``) would be read by a worker of
another uid, graded at the same time. Keyrings are not namespaced.

Each worker therefore joins a new, empty session keyring and clears its uid's
keyrings (what a worker before this code, or anything else of the uid, left),
then forbids itself the keyring system calls (``add_key``, ``request_key``,
``keyctl``: they fail with EPERM, as in Docker's default profile) with a
seccomp filter its children inherit, before any student code runs.
Linux only; elsewhere (or where the kernel has no keyrings) nothing is done.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform

SYSCALLS = {"x86_64": {"add_key": 248, "request_key": 249, "keyctl": 250},
            "aarch64": {"add_key": 217, "request_key": 218, "keyctl": 219}}  # fmt: skip
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}  # seccomp_data.arch of the native calls
X32_SYSCALL_BIT = 0x40000000  # x86_64's x32 ABI: the same calls under other numbers
KEYCTL_JOIN_SESSION_KEYRING = 1
KEYCTL_CLEAR = 7
KEYCTL_GET_PERSISTENT = 22
KEY_SPEC_SESSION_KEYRING = -3
KEY_SPEC_USER_KEYRING = -4
KEY_SPEC_USER_SESSION_KEYRING = -5

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
BPF_LD_W_ABS, BPF_JEQ_K, BPF_JGE_K, BPF_RET_K = 0x20, 0x15, 0x35, 0x06


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _keyctl(*args) -> int:
    number = SYSCALLS.get(platform.machine(), {}).get("keyctl")
    if number is None or os.name != "posix":
        return -1
    return _libc().syscall(number, *args)


def fresh_keyrings() -> bool:
    """Join a new anonymous session keyring and empty the uid's own (the persistent one too, where the kernel
    has it); True when the session and the user keyrings held."""
    joined = _keyctl(KEYCTL_JOIN_SESSION_KEYRING, None) >= 0
    rings = [KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING]
    persistent = _keyctl(KEYCTL_GET_PERSISTENT, ctypes.c_long(-1), ctypes.c_long(KEY_SPEC_SESSION_KEYRING))
    cleared = [_keyctl(KEYCTL_CLEAR, ctypes.c_long(ring)) >= 0 for ring in rings]
    if persistent > 0:
        _keyctl(KEYCTL_CLEAR, ctypes.c_long(persistent))
    return joined and all(cleared)


def keyring_filter(machine: str) -> list[tuple[int, int, int, int]]:
    """The seccomp program (code, jt, jf, k): the keyring calls, and any call of a foreign ABI (32-bit calls from
    a 64-bit process, x32), fail with EPERM; everything else is allowed."""
    numbers = sorted(SYSCALLS[machine].values())
    deny = 4 + len(numbers) + 1  # the index of the last instruction
    program = [(BPF_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
               (BPF_JEQ_K, 0, deny - 2, AUDIT_ARCH[machine]),
               (BPF_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
               (BPF_JGE_K, deny - 4, 0, X32_SYSCALL_BIT)]
    for number in numbers:
        program.append((BPF_JEQ_K, deny - len(program) - 1, 0, number))
    return program + [(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW), (BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | errno.EPERM)]


def forbid_keyrings() -> bool:
    """Install the filter in this process (and so in all it starts); True when it is in place."""
    machine = platform.machine()
    if os.name != "posix" or machine not in SYSCALLS:
        return False
    instructions = keyring_filter(machine)
    program = (SockFilter * len(instructions))(*(SockFilter(*i) for i in instructions))
    fprog = SockFprog(len(instructions), program)
    libc = _libc()
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0
