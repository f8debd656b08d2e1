r"""Multi-head attention over the edges of a sparse graph with a segment
softmax: the ``'segment'`` backend, the message function of
:class:`~lamp_geometric.nn.LaMPConv` under
:meth:`~torch_geometric.nn.conv.MessagePassing.propagate`.

For every edge :math:`j \to i` and head :math:`k`,

.. math::
    \alpha_{ij}^k = \mathrm{softmax}_{j \in \mathcal{N}(i)}
    \left( \mathbf{q}_i^{k\top} \mathbf{k}_j^k / \sqrt{D} \right), \qquad
    \mathbf{m}_{ij}^k = \alpha_{ij}^k \mathbf{v}_j^k,

summed per destination by the caller's aggregation.  Autograd keeps the
gathered :obj:`[E, H, D]` tensors; the ``'edge'`` backend
(:func:`~lamp_geometric.nn.attention.edge_attention`) computes the same
without them.
"""
import math
from typing import Optional, Tuple

from torch import Tensor

from torch_geometric.utils import softmax

from lamp_geometric.nn.dropout import dropout


def segment_attention(query_i: Tensor, key_j: Tensor, value_j: Tensor,
                      index: Tensor, ptr: Optional[Tensor],
                      num_dst: Optional[int],
                      dropout_p: float = 0.0) -> Tuple[Tensor, Tensor]:
    r"""The messages :obj:`[E, H, D]` of the edges whose destination
    queries, source keys and source values are :obj:`query_i, key_j,
    value_j [E, H, D]`, and the attention :obj:`[E, H]` before dropout.
    The softmax runs per destination :obj:`index` (or CSR :obj:`ptr`) of
    :obj:`num_dst` destinations; :obj:`dropout_p` drops attention weights.
    """
    scale = 1.0 / math.sqrt(query_i.size(-1))
    alpha = (query_i * key_j).sum(dim=-1) * scale
    alpha = softmax(alpha, index, ptr, num_dst)
    kept = dropout(alpha, dropout_p, dropout_p > 0.0)
    return value_j * kept.unsqueeze(-1), alpha
