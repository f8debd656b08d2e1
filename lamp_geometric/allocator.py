r"""The process's memory allocator, told to keep freed memory for reuse.

A training step allocates the same large temporaries (attention scores and
weights of :obj:`[B, H, L, S]`, a few MiB to tens of MiB each) step after
step.  Under glibc's default settings many of them are mapped afresh and
returned to the kernel when freed, so every step faults in and zeroes the
same memory again (measured per step in ``benchmarks/throughput``, see
``benchmarks/README.md``).  :func:`keep_freed_memory` raises glibc's
``mmap`` threshold to its maximum (32 MiB on 64-bit systems) and its trim
threshold to :obj:`TRIM_THRESHOLD`, so freed blocks stay in the heap and are
handed out again without faults.  The process's resident memory then stays
near its peak until it exits.

:func:`lamp_geometric.experiment.run` (and so the command line and the
examples) calls it unless ``TrainingConfig(keep_memory=False)``
(``--no-keep-memory``).  It changes nothing where the C library is not
glibc, or where the environment already chose the allocator's settings
(``MALLOC_*`` variables, ``GLIBC_TUNABLES`` with ``glibc.malloc``, or a
preloaded allocator such as jemalloc or tcmalloc).
"""
import ctypes
import os
import sys
from typing import Optional

__all__ = ['MMAP_THRESHOLD', 'TRIM_THRESHOLD', 'keep_freed_memory',
           'allocator_choice']

#: Blocks of at least this many bytes are still mapped on their own (and
#: returned on free): glibc's largest allowed threshold on 64-bit systems.
MMAP_THRESHOLD: int = 32 * 2**20
#: Free memory at the top of the heap is returned to the kernel only beyond
#: this many bytes.
TRIM_THRESHOLD: int = 2**30

# mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

_ENV_SETTINGS = ('MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_',
                 'MALLOC_TOP_PAD_', 'MALLOC_MMAP_MAX_', 'MALLOC_ARENA_MAX')


def allocator_choice() -> Optional[str]:
    r"""Why :func:`keep_freed_memory` would leave the allocator alone, or
    :obj:`None` if it would change it: not glibc, or the environment
    already set the allocator (glibc ``MALLOC_*`` variables,
    ``GLIBC_TUNABLES`` with ``glibc.malloc``, a preloaded ``*malloc*``
    library)."""
    if not sys.platform.startswith('linux'):
        return f'the C library of {sys.platform} is not glibc'
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version
        libc.mallopt
    except (OSError, AttributeError):
        return 'the C library is not glibc'
    given = [name for name in _ENV_SETTINGS if name in os.environ]
    if given:
        return f'set by the environment ({", ".join(given)})'
    if 'glibc.malloc' in os.environ.get('GLIBC_TUNABLES', ''):
        return 'set by the environment (GLIBC_TUNABLES)'
    preload = os.environ.get('LD_PRELOAD', '')
    if 'malloc' in preload:
        return f'another allocator is preloaded ({preload})'
    return None


def keep_freed_memory(mmap_threshold: int = MMAP_THRESHOLD,
                      trim_threshold: int = TRIM_THRESHOLD) -> bool:
    r"""Tells glibc's allocator to keep freed memory for reuse: blocks
    below :obj:`mmap_threshold` bytes come from the heap (instead of a
    fresh mapping of their own) and free memory at the top of the heap is
    returned to the kernel only beyond :obj:`trim_threshold` bytes.  A
    setting of the whole process, for its lifetime.

    Args:
        mmap_threshold (int, optional): glibc's ``M_MMAP_THRESHOLD``, at
            most 32 MiB. (default: :obj:`MMAP_THRESHOLD`)
        trim_threshold (int, optional): glibc's ``M_TRIM_THRESHOLD``, less
            than :math:`2^{31}`. (default: :obj:`TRIM_THRESHOLD`)

    Returns:
        bool: Whether the settings were applied (:obj:`False` where
        :func:`allocator_choice` gives a reason not to, or glibc refused
        a value).

    Raises:
        ValueError: If a threshold is negative or does not fit a C
            :obj:`int`.
    """
    for name, value in (('mmap_threshold', mmap_threshold),
                        ('trim_threshold', trim_threshold)):
        if not 0 <= value < 2**31:
            raise ValueError(f"'{name}' must be in [0, 2**31) "
                             f"(got {value})")
    if allocator_choice() is not None:
        return False
    libc = ctypes.CDLL(None)
    done = libc.mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))
    done &= libc.mallopt(_M_TRIM_THRESHOLD, int(trim_threshold))
    return bool(done)
