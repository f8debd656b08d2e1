r"""Small file helpers shared by checkpoints, training and the datasets'
processed files."""
import contextlib
import json
import os
import uuid
from typing import IO, Any, Iterator, Optional

import torch


@contextlib.contextmanager
def atomic_open(path: str, mode: str = 'wb',
                encoding: Optional[str] = None) -> Iterator[IO]:
    r"""Opens a temporary file beside :obj:`path` for writing; on a clean
    exit it is flushed to disk and replaces :obj:`path` in one
    :func:`os.replace`.  A crash mid-write leaves the previous file (or
    none) in place, never a truncated one, and a process reading
    :obj:`path` while another one writes it sees a whole file."""
    if mode not in ('w', 'wb'):
        raise ValueError(f"'mode' must be 'w' or 'wb' (got '{mode}')")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    # A new name opened exclusively: the file gets the permissions of any
    # file the process creates (the umask), as a plain open() would.
    tmp = os.path.join(directory,
                       f'.tmp-{uuid.uuid4().hex}-{os.path.basename(path)}')
    try:
        with open(tmp, mode.replace('w', 'x'), encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_save(obj: Any, path: str) -> None:
    r"""Saves :obj:`obj` with :func:`torch.save` atomically (see
    :func:`atomic_open`)."""
    with atomic_open(path, 'wb') as f:
        torch.save(obj, f)


def atomic_save_json(obj: Any, path: str, **kwargs: Any) -> None:
    r"""Writes :obj:`obj` as JSON atomically (see :func:`atomic_open`);
    :obj:`kwargs` go to :func:`json.dump`."""
    with atomic_open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, **kwargs)
