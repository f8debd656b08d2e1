r"""The projected attention message in factored form, for bipartite
attention over few sources: the ``'factored'`` backend.

The output projection :math:`\mathbf{W}^c` is applied to the :math:`S`
values instead of the :math:`L` messages and, for destinations that differ
between samples, the query projection :math:`\mathbf{W}^q` to the :math:`S`
keys instead of the :math:`L` destinations: the same function, at a cost of
:math:`O(S d^2 + H L S d)` per sample instead of :math:`O(L d^2)` (see
:obj:`AttentionPolicy.factored_max_cost
<lamp_geometric.nn.attention.AttentionPolicy>`).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from lamp_geometric.nn.dropout import dropout


def factored_costs(L: int, S: float, dst_channels: int, out_channels: int,
                   heads: int, shared_dst: bool) -> Tuple[float, float]:
    r"""Multiply-adds per sample of the plain and of the factored attention
    message (:func:`factored_message`) of :obj:`L` destinations over
    :obj:`S` sources, the parts in which they differ.  The key and value
    projections are common to both and not counted; with
    :obj:`shared_dst` the query projection is computed once per batch by
    both and not counted either."""
    C, H, F_t = out_channels, heads, dst_channels
    plain = 2 * L * S * C + L * C * C
    factored = S * C * C + H * L * S * C
    if shared_dst:
        factored += L * S * C
    else:
        plain += L * F_t * C
        factored += S * C * F_t + H * L * S * F_t
    return float(plain), float(factored)


def factored_message(q_weight: Tensor, q_bias: Optional[Tensor],
                     out_weight: Tensor, x_dst: Tensor, k: Tensor, v: Tensor,
                     attn_mask: Optional[Tensor], dropout_p: float) -> Tensor:
    r"""The projected attention message :math:`\mathbf{W}^c\,[\ldots\Vert
    \sum_j \alpha^k_{ij} \mathbf{W}^{v,k} \mathbf{v}_j \Vert\ldots]` of
    destinations :obj:`x_dst [B or 1, L, F_t]` over keys and values
    :obj:`k, v [B, S, H, D]`, computed in factored form for few sources
    (see :obj:`AttentionPolicy.factored_max_cost
    <lamp_geometric.nn.attention.AttentionPolicy>`):

    .. math::
        \mathbf{m}_i = \sum_{k=1}^{K} \sum_j \alpha^k_{ij}\,
        \mathbf{W}^{c,k} \mathbf{W}^{v,k} \mathbf{v}_j, \qquad
        (\mathbf{W}^{q,k} \mathbf{v}_i)^{\top} \mathbf{k}^k_j =
        \mathbf{v}_i^{\top} \big((\mathbf{W}^{q,k})^{\top}
        \mathbf{k}^k_j\big),

    where :math:`\mathbf{W}^{c,k}` are the columns of :math:`\mathbf{W}^c`
    that read head :math:`k`.  The value side :math:`\mathbf{W}^{c,k}
    \mathbf{W}^{v,k} \mathbf{v}_j` is formed on the :math:`S` sources; the
    query side on the :math:`S` keys when the destinations differ between
    samples (a shared :obj:`[1, L, F_t]` is projected once instead).  The
    softmax runs in float32 on :obj:`[B, L, H, S]` scores, masked by
    :obj:`attn_mask [B or 1, 1, L or 1, S]`; :obj:`dropout_p` drops
    attention weights as in :func:`attention`.  Returns :obj:`[B, L, C]`
    with :obj:`C = out_weight.size(0)`."""
    B, S, H, D = k.shape
    L = x_dst.size(1)
    C = out_weight.size(0)
    k = k * D**-0.5  # the scale on the (few) keys
    if x_dst.size(0) == 1:  # destinations shared by all samples
        q = F.linear(x_dst[0], q_weight, q_bias).view(L, H, D)
        score = torch.einsum('lhe,bshe->blhs', q, k)
    else:
        w_q = q_weight.view(H, D, -1)
        g = torch.einsum('bshe,hef->bhsf', k, w_q).reshape(B, H * S, -1)
        score = torch.matmul(x_dst, g.transpose(1, 2)).view(B, L, H, S)
        if q_bias is not None:
            score = score + torch.einsum('he,bshe->bhs', q_bias.view(H, D),
                                         k).unsqueeze(1)
    if score.dtype.itemsize < 4:  # the softmax in float32 (under autocast)
        score = score.float()
    if attn_mask is not None:
        score = score.masked_fill(~attn_mask.transpose(1, 2), float('-inf'))
    alpha = torch.softmax(score, dim=-1)
    alpha = dropout(alpha, dropout_p, dropout_p > 0.0)
    u = torch.einsum('bshe,che->bhsc', v, out_weight.view(C, H, D))
    return torch.matmul(alpha.view(B, L, H * S).to(u.dtype),
                        u.reshape(B, H * S, C))

