r"""Process-group plumbing for data-parallel training with
:class:`torch.nn.parallel.DistributedDataParallel`.

Launch a script with :obj:`torchrun`; it sets the environment variables
:obj:`RANK`, :obj:`LOCAL_RANK`, :obj:`WORLD_SIZE`, :obj:`MASTER_ADDR` and
:obj:`MASTER_PORT` that :func:`init_distributed` reads:

.. code-block:: python

    from lamp_geometric.distributed import cleanup, init_distributed

    rank, world_size, device = init_distributed()  # gloo on CPU, NCCL on GPU
    try:
        ...  # make_loaders / fit / evaluate_splits are DDP-aware
    finally:
        cleanup()

Without those variables (a plain :obj:`python script.py`) nothing is
initialised and every helper here behaves as in a single process, so the
same script runs both ways.

Evaluation shards a data set with :class:`DistributedEvalSampler`: rank
:math:`r` of :math:`W` gets samples :math:`r, r + W, r + 2W, \dots` and no
sample twice, and :func:`all_gather_arrays` puts the per-rank predictions back
into data set order, so metrics computed on the gathered arrays equal those
of a single process.
"""
import datetime
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor
from torch.utils.data import Dataset
from torch.utils.data.distributed import DistributedSampler

__all__ = [
    'init_distributed',
    'cleanup',
    'is_distributed',
    'get_rank',
    'get_world_size',
    'is_main_process',
    'barrier',
    'all_reduce_sum',
    'all_gather_objects',
    'all_gather_arrays',
    'DistributedEvalSampler',
    'unwrap_model',
]

ArrayLike = Union[np.ndarray, Tensor]


def init_distributed(
    backend: Optional[str] = None,
    timeout_s: float = 1800.0,
) -> Tuple[int, int, torch.device]:
    r"""Initialises the default process group from the environment variables
    set by :obj:`torchrun` and returns :obj:`(rank, world_size, device)`.

    Without :obj:`WORLD_SIZE` (or with :obj:`WORLD_SIZE=1`) no process group
    is created and :obj:`(0, 1, device)` is returned.  If the default group
    is already initialised it is reused.

    Args:
        backend (str, optional): :obj:`'gloo'` or :obj:`'nccl'`.
            :obj:`None` picks NCCL when CUDA is available and gloo otherwise.
            (default: :obj:`None`)
        timeout_s (float, optional): Timeout of collective operations in
            seconds. (default: :obj:`1800.`)

    Returns:
        (int, int, torch.device): The global rank, the number of processes,
        and this process's device: :obj:`cuda:<LOCAL_RANK>` (made the
        current CUDA device) for NCCL, the CPU for gloo.

    Raises:
        ValueError: If :obj:`backend` is unknown, if NCCL is asked for
            without CUDA, or if the environment variables are inconsistent.
    """
    if backend is None:
        backend = 'nccl' if torch.cuda.is_available() else 'gloo'
    if backend not in ('gloo', 'nccl'):
        raise ValueError(f"'backend' must be 'gloo' or 'nccl' (got "
                         f"'{backend}')")
    if backend == 'nccl' and not torch.cuda.is_available():
        raise ValueError("The NCCL backend needs CUDA; use backend='gloo' "
                         "on CPU")

    local_rank = _env_int('LOCAL_RANK', 0)
    device = (torch.device('cuda', local_rank) if backend == 'nccl' else
              torch.device('cpu'))

    if is_distributed():
        return get_rank(), get_world_size(), device

    world_size = _env_int('WORLD_SIZE', 1)
    if world_size <= 1:
        if backend == 'nccl':
            torch.cuda.set_device(device)
        return 0, 1, device

    rank = _env_int('RANK', -1)
    if not 0 <= rank < world_size:
        raise ValueError(f"RANK must be in [0, {world_size - 1}] for "
                         f"WORLD_SIZE={world_size} (got "
                         f"{os.environ.get('RANK')!r}); launch with torchrun")
    missing = [k for k in ('MASTER_ADDR', 'MASTER_PORT')
               if not os.environ.get(k)]
    if missing:
        raise ValueError(f"{' and '.join(missing)} must be set for "
                         f"WORLD_SIZE={world_size}; launch with torchrun")
    if backend == 'nccl':
        torch.cuda.set_device(device)
    kwargs: Dict[str, Any] = {}
    if backend == 'nccl':
        kwargs['device_id'] = device  # binds the process to its GPU
    dist.init_process_group(backend=backend, init_method='env://',
                            rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=timeout_s),
                            **kwargs)
    return rank, world_size, device


def cleanup() -> None:
    r"""Destroys the default process group, if there is one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_distributed() -> bool:
    r"""Returns :obj:`True` if a default process group with more than one
    process is initialised."""
    return (dist.is_available() and dist.is_initialized()
            and dist.get_world_size() > 1)


def get_rank() -> int:
    r"""The global rank of this process (:obj:`0` without a process
    group)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return 0


def get_world_size() -> int:
    r"""The number of processes (:obj:`1` without a process group)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def is_main_process() -> bool:
    r"""Returns :obj:`True` on rank 0 (the process that prints and writes
    files) and in a single process."""
    return get_rank() == 0


def barrier() -> None:
    r"""Waits for every process (a no-op in a single process)."""
    if is_distributed():
        dist.barrier()


def _collective_device() -> torch.device:
    if dist.get_backend() == 'nccl':
        return torch.device('cuda', torch.cuda.current_device())
    return torch.device('cpu')


def all_reduce_sum(values: Sequence[float]) -> List[float]:
    r"""Sums each number of :obj:`values` over all processes (in float64) and
    returns the sums; returns :obj:`values` unchanged in a single process.
    """
    values = [float(v) for v in values]
    if not is_distributed():
        return values
    t = torch.tensor(values, dtype=torch.float64,
                     device=_collective_device())
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.cpu().tolist()


def all_gather_objects(obj: Any) -> List[Any]:
    r"""Returns the list of :obj:`obj` of every process, in rank order
    (:obj:`[obj]` in a single process)."""
    if not is_distributed():
        return [obj]
    out: List[Any] = [None] * get_world_size()
    dist.all_gather_object(out, obj)
    return out


def all_gather_arrays(array: ArrayLike,
                      num_samples: Optional[int] = None) -> np.ndarray:
    r"""Gathers per-process arrays of possibly different lengths into one
    array in data set order.

    Rank :math:`r` of :math:`W` must hold the samples at positions
    :math:`r, r + W, r + 2W, \dots` of the data set along dimension 0 -- the
    layout of :class:`DistributedEvalSampler` and of
    :class:`~torch.utils.data.distributed.DistributedSampler` with
    :obj:`shuffle=False` (with :obj:`shuffle=True` the gathered order is the
    sampler's permutation).  :class:`DistributedSampler` pads the data set to
    a multiple of :math:`W` by repeating its first samples; pass
    :obj:`num_samples=len(dataset)` to drop those duplicates, so that metrics
    on the result equal single-process ones.

    Args:
        array (numpy.ndarray or torch.Tensor): This process's rows.
        num_samples (int, optional): Keep only the first :obj:`num_samples`
            rows of the gathered array. (default: :obj:`None`)

    Returns:
        numpy.ndarray: The gathered array (in a single process:
        :obj:`array` as NumPy, truncated to :obj:`num_samples`).

    Raises:
        ValueError: If the per-rank lengths do not fit the strided layout.
    """
    if isinstance(array, Tensor):
        array = array.detach().cpu().numpy()
    array = np.asarray(array)
    parts = all_gather_objects(array)
    world = len(parts)
    total = sum(len(p) for p in parts)
    for r, p in enumerate(parts):
        expected = len(range(r, total, world))
        if len(p) != expected:
            raise ValueError(f"all_gather_arrays expects rank r to hold rows "
                             f"r, r + {world}, ... of the data set: rank {r} "
                             f"holds {len(p)} rows, expected {expected} "
                             f"(lengths: {[len(q) for q in parts]})")
    if world == 1:
        out = parts[0]
    else:
        # A rank without rows may hold a placeholder of another shape.
        like = next((p for p in parts if len(p)), parts[0])
        out = np.empty((total, ) + like.shape[1:], dtype=like.dtype)
        for r, p in enumerate(parts):
            if len(p):
                out[r::world] = p
    if num_samples is not None:
        if num_samples > total:
            raise ValueError(f"Asked for {num_samples} rows but the "
                             f"processes hold {total} together")
        out = out[:num_samples]
    return out


class DistributedEvalSampler(DistributedSampler):
    r"""A :class:`~torch.utils.data.distributed.DistributedSampler` for
    evaluation: rank :math:`r` of :math:`W` gets the samples
    :math:`r, r + W, r + 2W, \dots` in order, without the padding that
    :class:`DistributedSampler` adds, so no sample is predicted twice and
    sums over processes are exact.  Ranks may get one sample more than
    others; evaluate with the unwrapped model (no collective per batch).

    Args:
        dataset (torch.utils.data.Dataset): The data set.
        num_replicas (int, optional): Number of processes.
            (default: the world size)
        rank (int, optional): This process's rank. (default: the rank)
    """
    def __init__(self, dataset: Dataset, num_replicas: Optional[int] = None,
                 rank: Optional[int] = None):
        if num_replicas is None:
            num_replicas = get_world_size()
        if rank is None:
            rank = get_rank()
        super().__init__(dataset, num_replicas=num_replicas, rank=rank,
                         shuffle=False, drop_last=False)
        n = len(dataset)  # type: ignore[arg-type]
        self.total_size = n
        self.num_samples = len(range(self.rank, n, self.num_replicas))

    def __iter__(self):
        n = len(self.dataset)  # type: ignore[arg-type]
        return iter(range(self.rank, n, self.num_replicas))

    def __len__(self) -> int:
        return self.num_samples


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    r"""Returns the module inside a
    :class:`~torch.nn.parallel.DistributedDataParallel`,
    :class:`~torch.nn.DataParallel` or :func:`torch.compile` wrapper, also
    when they are nested (the library's one unwrapping helper: training,
    evaluation and checkpoints reach the model through it)."""
    while True:
        if isinstance(model, (torch.nn.parallel.DistributedDataParallel,
                              torch.nn.DataParallel)):
            model = model.module
        elif hasattr(model, '_orig_mod'):
            model = model._orig_mod
        else:
            return model


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == '':
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"Environment variable {name} must be an integer "
                         f"(got {value!r})") from None
