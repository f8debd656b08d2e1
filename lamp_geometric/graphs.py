r"""Label graphs :math:`G_{yy}` for LaMP's label-to-label message passing.

Every builder returns an :obj:`edge_index` of shape :obj:`[2, E]` (row 0 the
source label, row 1 the destination label) over label indices
:obj:`0..L-1`.  Undirected relations are returned with both directions.
Self loops are left to the model (:class:`~lamp_geometric.nn.LaMP` adds them,
since every label also attends to itself) unless a builder is asked for them.
"""
from typing import Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from torch_geometric.utils import coalesce, remove_self_loops

ArrayLike = Union[Tensor, np.ndarray]


def edgeless(num_labels: int, self_loops: bool = True) -> Tensor:
    r"""The edgeless label graph of LaMP\ :sub:`el`: each label is connected
    to itself only (or to nothing with :obj:`self_loops=False`)."""
    _check_num_labels(num_labels)
    if not self_loops:
        return torch.empty(2, 0, dtype=torch.long)
    return torch.arange(num_labels).repeat(2, 1)


def fully_connected(num_labels: int, self_loops: bool = True) -> Tensor:
    r"""The fully connected label graph of LaMP\ :sub:`fc` (all ordered
    pairs, with self loops unless :obj:`self_loops=False`)."""
    _check_num_labels(num_labels)
    adj = torch.ones(num_labels, num_labels, dtype=torch.bool)
    if not self_loops:
        adj.fill_diagonal_(False)
    return adj.nonzero().t().contiguous()


def co_occurrence(
    y_train: ArrayLike,
    min_count: int = 1,
    self_loops: bool = False,
    threshold: Optional[float] = None,
    return_weights: bool = False,
) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    r"""The co-occurrence prior of LaMP\ :sub:`pr`: an edge between labels
    :math:`i \neq j` when they are both positive in at least
    :obj:`min_count` training samples (the paper uses :obj:`min_count=1`).

    Build it from the *training* label matrix only: validation and test
    labels must never shape the model.  Missing targets (NaN) count as
    negative.

    Args:
        y_train (torch.Tensor or numpy.ndarray): Training targets
            :obj:`[N, L]` in :math:`\{0, 1\}` (NaN allowed).
        min_count (int, optional): Minimum number of co-occurrences.
            (default: :obj:`1`)
        self_loops (bool, optional): If set to :obj:`True`, adds every self
            loop. (default: :obj:`False`)
        threshold (float, optional): If given, keeps the directed edge
            :math:`j \to i` only if the conditional probability
            :math:`P(y_j = 1 \mid y_i = 1) = C_{ij} / C_{ii}` is at least
            :obj:`threshold` (the ML-GCN re-weighting scheme).
            (default: :obj:`None`)
        return_weights (bool, optional): If set to :obj:`True`, also returns
            the co-occurrence count of each edge (self loops: the label's
            positive count). (default: :obj:`False`)
    """
    y = torch.as_tensor(np.asarray(y_train, dtype=np.float64))
    if y.dim() != 2:
        raise ValueError(f"'y_train' must be a [num_samples, num_labels] "
                         f"matrix (got shape {list(y.shape)})")
    if min_count < 1:
        raise ValueError(f"'min_count' must be at least 1 (got {min_count})")
    y = torch.nan_to_num(y, nan=0.0)
    bad = ~((y == 0) | (y == 1))
    if bad.any():
        row, col = bad.nonzero()[0].tolist()
        raise ValueError(f"'y_train' must hold 0, 1 or NaN (got "
                         f"{y[row, col].item()} at row {row}, column {col})")
    counts = y.t() @ y  # C[i, j] = #samples with labels i and j
    keep = counts >= min_count
    keep.fill_diagonal_(False)
    if threshold is not None:
        pos = counts.diagonal().clamp(min=1).unsqueeze(1)
        keep &= (counts / pos) >= threshold  # row i: P(j | i)
    if self_loops:
        keep.fill_diagonal_(True)
    dst, src = keep.nonzero(as_tuple=True)  # keep[i, j]: i listens to j
    edge_index = coalesce(torch.stack([src, dst]), num_nodes=y.size(1))
    if return_weights:
        weights = counts[edge_index[1], edge_index[0]]
        return edge_index, weights
    return edge_index


def validate_edge_index(
    edge_index: ArrayLike,
    num_labels: int,
    allow_self_loops: bool = True,
    remove_duplicates: bool = True,
) -> Tensor:
    r"""Checks a label graph and returns it as a coalesced
    :obj:`torch.long` tensor.

    Raises :class:`ValueError` with the offending value for a wrong shape,
    a non-integer dtype, or indices outside :obj:`0..num_labels-1`.
    Duplicate edges are merged (or rejected with
    :obj:`remove_duplicates=False`); self loops are kept, or removed with
    :obj:`allow_self_loops=False`.
    """
    _check_num_labels(num_labels)
    edge_index = torch.as_tensor(edge_index)
    if edge_index.is_floating_point() or edge_index.dtype == torch.bool:
        raise ValueError(f"'edge_index' must hold integer label indices (got "
                         f"dtype {edge_index.dtype})")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"'edge_index' must have shape [2, num_edges] (got "
                         f"{list(edge_index.shape)})")
    edge_index = edge_index.long()
    if edge_index.numel() > 0:
        lo, hi = int(edge_index.min()), int(edge_index.max())
        if lo < 0 or hi >= num_labels:
            raise ValueError(f"'edge_index' holds label indices in [{lo}, "
                             f"{hi}], but there are {num_labels} labels "
                             f"(valid: 0..{num_labels - 1})")
    if not allow_self_loops:
        edge_index, _ = remove_self_loops(edge_index)
    merged = coalesce(edge_index, num_nodes=num_labels)
    if not remove_duplicates and merged.size(1) != edge_index.size(1):
        raise ValueError(f"'edge_index' holds "
                         f"{edge_index.size(1) - merged.size(1)} duplicate "
                         f"edge(s)")
    return merged


def density(edge_index: Tensor, num_labels: int) -> float:
    r"""Number of edges divided by :math:`L^2`."""
    _check_num_labels(num_labels)
    return edge_index.size(1) / num_labels**2


def _check_num_labels(num_labels: int) -> None:
    if int(num_labels) < 1:
        raise ValueError(f"'num_labels' must be positive (got {num_labels})")
