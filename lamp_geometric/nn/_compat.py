r"""PyTorch functions the library needs that moved or changed between the
versions it supports (``torch>=2.1``): the device-generic autocast state
(2.4) and :func:`torch.compiler.is_compiling` (2.3)."""
from typing import Optional

import torch


def is_compiling() -> bool:
    r""":func:`torch.compiler.is_compiling`, or its older form."""
    fn = getattr(torch.compiler, 'is_compiling', None)
    if fn is None:  # torch < 2.3
        from torch import _dynamo
        fn = getattr(_dynamo, 'is_compiling', None)
    return bool(fn()) if fn is not None else False


def autocast_dtype(device_type: str) -> Optional[torch.dtype]:
    r"""The dtype :func:`torch.autocast` casts to on :obj:`device_type`
    (:obj:`'cpu'`, :obj:`'cuda'`, ...) where it is enabled there, else
    :obj:`None`."""
    try:
        if not torch.is_autocast_enabled(device_type):  # type: ignore
            return None
        return torch.get_autocast_dtype(device_type)  # type: ignore
    except (TypeError, AttributeError):  # torch < 2.4
        if device_type == 'cpu':
            return (torch.get_autocast_cpu_dtype()
                    if torch.is_autocast_cpu_enabled() else None)
        if device_type == 'cuda':
            return (torch.get_autocast_gpu_dtype()
                    if torch.is_autocast_enabled() else None)
        return None
