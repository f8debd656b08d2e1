r"""Attention over padded sources of very different sizes, per group of
samples of similar size: the ``'ragged'`` backend.

The same result as :func:`~lamp_geometric.nn.attention.attention` with the
padding masked, at the cost of the real sources instead of the padded ones
(see :obj:`AttentionPolicy.ragged_max_fill
<lamp_geometric.nn.attention.AttentionPolicy>`).
"""
from typing import Callable, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from lamp_geometric.nn.attention.dense import attention
from lamp_geometric.nn.attention.policy import get_policy


def ragged_groups(lengths: Tensor,
                  min_fill: Optional[float] = None
                  ) -> List[Tuple[Tensor, int]]:
    r"""Groups samples of similar size: :obj:`(indices, size)` pairs that
    cover every sample once, each with the largest length of its group.
    Samples are taken in ascending order of length and a group grows while
    its lengths fill at least :obj:`min_fill` of :obj:`len(group) * size`
    (default: :obj:`ragged_group_fill` of the current policy)."""
    if min_fill is None:
        min_fill = get_policy().ragged_group_fill
    lengths_cpu = lengths.cpu()
    order = torch.argsort(lengths_cpu, stable=True)
    sorted_len = lengths_cpu[order].tolist()
    groups: List[Tuple[Tensor, int]] = []
    start, total = 0, 0
    for i, n in enumerate(sorted_len):
        if i > start and total + n < min_fill * (i + 1 - start) * n:
            groups.append((order[start:i], sorted_len[i - 1]))
            start, total = i, 0
        total += n
    if sorted_len:
        groups.append((order[start:], sorted_len[-1]))
    return [(idx.to(lengths.device), size) for idx, size in groups]


def in_groups(lengths: Tensor, groups: List[Tuple[Tensor, int]],
              compute: Callable[[Tensor, int, Optional[Tensor]], Tensor]
              ) -> Tensor:
    r"""Runs :obj:`compute(idx, size, mask)` for every group of
    :func:`ragged_groups` (:obj:`mask [n, size]` marks the real sources of
    the group's samples, :obj:`None` when all are real) and returns the
    concatenated results in sample order."""
    parts = []
    for idx, size in groups:
        len_g = lengths[idx]
        mask = None
        if size > 0 and bool((len_g < size).any()):
            mask = (torch.arange(size, device=lengths.device).view(1, size) <
                    len_g.view(-1, 1))
        parts.append(compute(idx, size, mask))
    out = torch.cat(parts) if len(parts) > 1 else parts[0]
    perm = torch.cat([idx for idx, _ in groups])
    if bool((perm != torch.arange(perm.numel(), device=perm.device)).any()):
        out = out[torch.argsort(perm)]
    return out


def ragged_attention(q: Tensor, k: Tensor, v: Tensor, lengths: Tensor,
                     dropout_p: float = 0.0,
                     trim_queries: bool = False,
                     groups: Optional[List[Tuple[Tensor, int]]] = None
                     ) -> Tensor:
    r"""Attention of :obj:`q [B, H, L, D]` over padded sources
    :obj:`k, v [B, H, S, D]` of which only the first :obj:`lengths[b]` are
    real, computed per group of samples of similar size
    (:func:`ragged_groups`, or :obj:`groups` if given) on sources trimmed to
    the group's largest size: the same result as :func:`attention` with the
    padding masked, at the cost of the real sources instead of
    :obj:`B * S`.  Rows of a sample without sources are zero.  With
    :obj:`trim_queries` (nodes attending over the nodes of their own sample,
    :obj:`L == S`), the query rows are trimmed alike and the rows of
    padding nodes are zero."""
    B, H, L, D = q.shape
    shared = q.stride(0) == 0  # one query for all samples (step 1 of LaMP)

    def compute(idx: Tensor, size: int, mask: Optional[Tensor]) -> Tensor:
        n = idx.numel()
        if size == 0:
            return q.new_zeros(n, H, L, v.size(-1))
        q_g = q[:1].expand(n, H, L, D) if shared else q[idx]
        if trim_queries:
            q_g = q_g[:, :, :size]
        if mask is not None:
            mask = mask.view(n, 1, 1, size)
        part = attention(q_g, k[idx, :, :size], v[idx, :, :size], mask,
                         dropout_p)
        if trim_queries and mask is not None:  # rows of padding nodes
            part = part * mask.view(n, 1, size, 1).to(part.dtype)
        if trim_queries and size < L:
            part = F.pad(part, (0, 0, 0, L - size))
        return part

    return in_groups(lengths, groups if groups is not None else
                     ragged_groups(lengths), compute)

