"""The seccomp filter linux.uml runs under: ``ptrace(PTRACE_GETREGSET, ..., NT_X86_XSTATE)`` fails with EIO, so
that UML falls back to FXSAVE (see the package docstring); and the rest of the forked child's set-up."""

from __future__ import annotations

import ctypes
import os
import signal
import struct

from underlay_dev.box.config import EXIT_BOX_FAILED, SIGNALS

# seccomp: struct seccomp_data is {int nr; __u32 arch; __u64 ip; __u64 args[6]}.
_AUDIT_ARCH_X86_64 = 0xC000003E

_NR_PTRACE = 101

_PTRACE_GETREGSET = 0x4204

_NT_X86_XSTATE = 0x202

_BPF_LD_W_ABS, _BPF_JEQ_K, _BPF_RET_K = 0x20, 0x15, 0x06

_SECCOMP_RET_ALLOW, _SECCOMP_RET_ERRNO = 0x7FFF0000, 0x00050000

_EIO = 5

_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, _PR_SET_NO_NEW_PRIVS = 22, 2, 38

_PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36


def _bpf(code, jt, jf, k):
    return struct.pack('HBBI', code, jt, jf, k)


# if arch == x86_64 and nr == ptrace and args[0] == PTRACE_GETREGSET and args[2] == NT_X86_XSTATE:
#     return -EIO
# allow  (the 32-bit compares look at the low halves of the 64-bit arguments)
_FILTER = b''.join([
    _bpf(_BPF_LD_W_ABS, 0, 0, 4), _bpf(_BPF_JEQ_K, 0, 7, _AUDIT_ARCH_X86_64),
    _bpf(_BPF_LD_W_ABS, 0, 0, 0), _bpf(_BPF_JEQ_K, 0, 5, _NR_PTRACE),
    _bpf(_BPF_LD_W_ABS, 0, 0, 16), _bpf(_BPF_JEQ_K, 0, 3, _PTRACE_GETREGSET),
    _bpf(_BPF_LD_W_ABS, 0, 0, 32), _bpf(_BPF_JEQ_K, 0, 1, _NT_X86_XSTATE),
    _bpf(_BPF_RET_K, 0, 0, _SECCOMP_RET_ERRNO | _EIO),
    _bpf(_BPF_RET_K, 0, 0, _SECCOMP_RET_ALLOW),
])


class _SockFprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]

libc = ctypes.CDLL(None, use_errno=True)
# Built before any fork: the child only makes system calls.
_filter_buf = ctypes.create_string_buffer(_FILTER, len(_FILTER))

_fprog = _SockFprog(len(_FILTER) // 8, ctypes.cast(_filter_buf, ctypes.c_void_p))


def uml_preexec():
    """In the forked child, before exec linux.uml: our signal mask undone, die with us, the ptrace filter."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(EXIT_BOX_FAILED)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        os._exit(EXIT_BOX_FAILED)
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(_fprog), 0, 0) != 0:
        os._exit(EXIT_BOX_FAILED)
