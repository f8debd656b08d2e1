r"""Checks of the inputs of the LaMP layers and model."""
from typing import Union

import numpy as np
import torch
from torch import Tensor

from torch_geometric.utils import coalesce, remove_self_loops

__all__ = ['validate_edge_index']


def validate_edge_index(
    edge_index: Union[Tensor, np.ndarray],
    num_labels: int,
    allow_self_loops: bool = True,
    remove_duplicates: bool = True,
    name: str = 'edge_index',
) -> Tensor:
    r"""Checks a label graph and returns it as a coalesced
    :obj:`torch.long` tensor.

    Raises :class:`ValueError` with the offending value for a wrong shape,
    a non-integer dtype, or indices outside :obj:`0..num_labels-1`.
    Duplicate edges are merged (or rejected with
    :obj:`remove_duplicates=False`); self loops are kept, or removed with
    :obj:`allow_self_loops=False`.  :obj:`name` is the argument's name in
    the error messages.
    """
    if int(num_labels) < 1:
        raise ValueError(f"'num_labels' must be positive (got {num_labels})")
    edge_index = torch.as_tensor(edge_index)
    if edge_index.is_floating_point() or edge_index.dtype == torch.bool:
        raise ValueError(f"'{name}' must hold integer label indices (got "
                         f"dtype {edge_index.dtype})")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"'{name}' must have shape [2, num_edges] (got "
                         f"{list(edge_index.shape)})")
    edge_index = edge_index.long()
    if edge_index.numel() > 0:
        lo, hi = int(edge_index.min()), int(edge_index.max())
        if lo < 0 or hi >= num_labels:
            raise ValueError(f"'{name}' holds label indices in [{lo}, "
                             f"{hi}], but there are {num_labels} labels "
                             f"(valid: 0..{num_labels - 1})")
    if not allow_self_loops:
        edge_index, _ = remove_self_loops(edge_index)
    merged = coalesce(edge_index, num_nodes=num_labels)
    if not remove_duplicates and merged.size(1) != edge_index.size(1):
        raise ValueError(f"'{name}' holds "
                         f"{edge_index.size(1) - merged.size(1)} duplicate "
                         f"edge(s)")
    return merged
