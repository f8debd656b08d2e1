r"""The autocast state of a device, for the PyTorch versions the library
supports (``torch>=2.1``; the device-generic functions came with 2.4)."""
from typing import Optional

import torch


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
