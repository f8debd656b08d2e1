r"""The attention backends of the LaMP layers and the policy that chooses
among them.

Every backend computes the same multi-head scaled dot-product attention of
destinations over their allowed sources (Eq. 15-17 of the paper),

.. math::
    \alpha_{ij}^{k} = \mathrm{softmax}_{j \in \mathcal{N}(i)} \left(
    \frac{\mathbf{q}_i^{k\top} \mathbf{k}_j^k}{\sqrt{D}} \right), \qquad
    \mathbf{o}_i^k = \sum_{j \in \mathcal{N}(i)} \alpha_{ij}^k
    \mathbf{v}_j^k,

from queries, keys and values split into heads, with attention dropout
:obj:`dropout_p`, and returns the message of every destination and head
(the factored backend returns it already projected by
:math:`\mathbf{W}^c`).  They differ in how the graph is given and in what
they cost:

* over the edges of a sparse graph (:class:`~lamp_geometric.nn.LaMPConv`):
  ``'segment'`` (:func:`segment_attention`, the message of
  :meth:`~torch_geometric.nn.conv.MessagePassing.propagate`) and
  ``'edge'`` (:func:`edge_attention`, fused and memory-lean);
* over padded dense tensors (:class:`~lamp_geometric.nn.DenseLaMPConv`):
  ``'dense'`` (:func:`attention`), ``'ragged'`` (:func:`ragged_attention`,
  per group of samples of similar size) and ``'factored'``
  (:func:`factored_message`, for few sources).

:class:`AttentionPolicy` holds every measured threshold and chooses; use it
(or :func:`attention_policy`) as a context manager to change the choice for
a block of code.
"""
from .policy import (
    BACKENDS,
    DENSE_BACKENDS,
    SPARSE_BACKENDS,
    AttentionPolicy,
    attention_policy,
    get_policy,
)
from .segment import segment_attention
from .edge import EdgeAttention, edge_attention
from .dense import (
    DropoutAttention,
    attention,
    attention_chunks,
    attention_weights,
)
from .ragged import in_groups, ragged_attention, ragged_groups
from .factored import factored_costs, factored_message

__all__ = [
    'BACKENDS',
    'DENSE_BACKENDS',
    'SPARSE_BACKENDS',
    'AttentionPolicy',
    'attention_policy',
    'get_policy',
    'segment_attention',
    'EdgeAttention',
    'edge_attention',
    'DropoutAttention',
    'attention',
    'attention_chunks',
    'attention_weights',
    'in_groups',
    'ragged_attention',
    'ragged_groups',
    'factored_costs',
    'factored_message',
]
