import ctypes
import subprocess
import sys

import pytest

from lamp_geometric.allocator import allocator_choice, keep_freed_memory

GLIBC = allocator_choice() is None


@pytest.mark.parametrize('name,value', [
    ('MALLOC_MMAP_THRESHOLD_', '16777216'),
    ('MALLOC_ARENA_MAX', '2'),
])
def test_leaves_settings_of_the_environment_alone(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    reason = allocator_choice()
    assert reason is not None and name in reason
    assert keep_freed_memory() is False


def test_leaves_a_preloaded_allocator_alone(monkeypatch):
    monkeypatch.setenv('LD_PRELOAD', '/usr/lib/libjemalloc.so.2')
    assert 'jemalloc' in allocator_choice()
    assert keep_freed_memory() is False


def test_leaves_glibc_tunables_alone(monkeypatch):
    monkeypatch.setenv('GLIBC_TUNABLES', 'glibc.malloc.trim_threshold=0')
    assert 'GLIBC_TUNABLES' in allocator_choice()


@pytest.mark.parametrize('kwargs', [dict(mmap_threshold=-1),
                                    dict(trim_threshold=2**31)])
def test_rejects_thresholds_out_of_range(kwargs):
    with pytest.raises(ValueError, match='threshold'):
        keep_freed_memory(**kwargs)


# In a fresh process, so that glibc's dynamic threshold starts at its
# default (128 KiB) and no earlier test has changed the settings.
PROBE = """
import ctypes, sys
from lamp_geometric.allocator import keep_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        'arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks',
        'fsmblks', 'uordblks', 'fordblks', 'keepcost')]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == 'keep':
    assert keep_freed_memory()
before = libc.mallinfo2().hblks
block = libc.malloc(4 * 2**20)
print(libc.mallinfo2().hblks - before)
libc.free(block)
"""


def mapped_blocks(mode):
    proc = subprocess.run([sys.executable, '-c', PROBE, mode],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return int(proc.stdout.split()[-1])


@pytest.mark.skipif(not GLIBC or not hasattr(ctypes.CDLL(None), 'mallinfo2'),
                    reason='needs glibc (2.33 or later, for mallinfo2) '
                    'without allocator settings in the environment')
def test_blocks_of_a_few_mib_come_from_the_heap():
    # A 4 MiB block is mapped on its own under glibc's defaults, and taken
    # from the heap (where freed memory is reused) once the settings apply.
    assert mapped_blocks('default') == 1
    assert mapped_blocks('keep') == 0
