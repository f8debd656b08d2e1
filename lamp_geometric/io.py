r"""Small file helpers shared by checkpoints and training."""
import os
import tempfile
from typing import Any

import torch


def atomic_save(obj: Any, path: str) -> None:
    r"""Saves :obj:`obj` with :func:`torch.save` atomically: the data goes to
    a temporary file in the same directory, is flushed to disk, and then
    replaces :obj:`path` in one :func:`os.replace`.  A crash mid-write leaves
    the previous file (or none) in place, never a truncated one."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-',
                               suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
