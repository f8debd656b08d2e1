r"""Memory-lean multi-head attention over the edges of a sparse graph: the
``'edge'`` backend.

:class:`~lamp_geometric.nn.LaMPConv` computes, for every edge
:math:`j \to i` and head :math:`k`,

.. math::
    \alpha_{ij}^k = \mathrm{softmax}_{j \in \mathcal{N}(i)}
    \left( \mathbf{q}_i^{k\top} \mathbf{k}_j^k / \sqrt{D} \right), \qquad
    \mathbf{o}_i^k = \sum_{j \in \mathcal{N}(i)} \alpha_{ij}^k \mathbf{v}_j^k.

Written with :class:`~torch_geometric.nn.conv.MessagePassing`, autograd keeps
the gathered :math:`\mathbf{q}_i`, :math:`\mathbf{k}_j` and
:math:`\mathbf{v}_j` of every edge, their product and the messages: five
tensors of shape :obj:`[E, H, D]`.  Here the edges are processed in chunks
and only the node tensors, the edge indices and :math:`\alpha`
(:obj:`[E, H]`) are kept; the backward pass gathers again, chunk by chunk.
Memory is :math:`O(N H D + E H)` instead of :math:`O(E H D)`, which is what
lets a label graph with :math:`10^5` labels and millions of edges per batch
train on one machine.  The arithmetic is done in at least float32 (the node
tensors may be bfloat16 under autocast; float64 inputs stay float64).
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from torch_geometric.utils import scatter, softmax

from lamp_geometric.nn.attention.policy import get_policy
from lamp_geometric.nn.dropout import as_factor, keep_mask


class EdgeAttention(torch.autograd.Function):
    r"""Multi-head scaled dot-product attention along :obj:`edge_index`.

    Inputs: :obj:`query [N_dst, H, D]`, :obj:`key, value [N_src, H, D]`,
    :obj:`src, dst [E]`, :obj:`ptr [N_dst + 1]` (the CSR row pointer when
    :obj:`dst` is sorted, else :obj:`None`), :obj:`num_dst`, the attention
    dropout probability.  Returns the aggregated messages
    :obj:`[N_dst, H, D]` (float32, or float64 for float64 inputs) and the
    attention :obj:`[E, H]` before
    dropout (not differentiable).  The edges are processed in chunks of
    :obj:`AttentionPolicy.edge_chunk_elements
    <lamp_geometric.nn.attention.AttentionPolicy>` gathered elements.
    """
    @staticmethod
    def forward(ctx, query: Tensor, key: Tensor, value: Tensor, src: Tensor,
                dst: Tensor, ptr: Optional[Tensor], num_dst: int,
                dropout: float) -> Tuple[Tensor, Tensor]:
        E, (H, D) = src.numel(), query.shape[1:]
        chunk = max(1, get_policy().edge_chunk_elements // (H * D))
        scale = D**-0.5
        acc = torch.promote_types(query.dtype, torch.float32)

        score = query.new_empty(E, H, dtype=acc)
        for s in range(0, E, chunk):
            q = query.index_select(0, dst[s:s + chunk]).to(acc)
            k = key.index_select(0, src[s:s + chunk]).to(acc)
            score[s:s + chunk] = torch.einsum('ehd,ehd->eh', q, k)
        score.mul_(scale)
        if E > 0:
            alpha = softmax(score, None if ptr is not None else dst, ptr,
                            num_dst)
        else:
            alpha = score
        del score

        keep: Optional[Tensor] = None
        if dropout > 0.0:
            keep = keep_mask((E, H), dropout, alpha.device)

        out = query.new_zeros(num_dst, H * D, dtype=acc)
        for s in range(0, E, chunk):
            a = _dropped(alpha, keep, dropout, s, chunk)
            msg = value.index_select(0, src[s:s + chunk]).to(acc)
            out.index_add_(0, dst[s:s + chunk],
                           (msg * a.unsqueeze(-1)).view(-1, H * D))

        ctx.save_for_backward(query, key, value, src, dst, alpha, keep)
        ctx.has_keep = keep is not None
        ctx.dropout, ctx.num_dst, ctx.chunk = dropout, num_dst, chunk
        ctx.mark_non_differentiable(alpha)
        return out.view(num_dst, H, D), alpha

    @staticmethod
    def backward(ctx, grad_out: Tensor, _grad_alpha: Optional[Tensor]):
        query, key, value, src, dst, alpha, keep = ctx.saved_tensors
        if not ctx.has_keep:
            keep = None
        dropout, num_dst, chunk = ctx.dropout, ctx.num_dst, ctx.chunk
        E, (H, D) = src.numel(), query.shape[1:]
        scale = D**-0.5
        need_q, need_k, need_v = ctx.needs_input_grad[:3]
        acc = alpha.dtype
        grad_out = grad_out.to(acc).reshape(num_dst, H * D)

        # d(out)/d(value) and d(out)/d(alpha after dropout):
        grad_value = (torch.zeros(value.size(0), H * D,
                                  device=value.device, dtype=acc)
                      if need_v else None)
        grad_score: Optional[Tensor] = None
        if need_q or need_k:
            grad_score = alpha.new_empty(E, H)
        for s in range(0, E, chunk):
            g = grad_out.index_select(0, dst[s:s + chunk]).view(-1, H, D)
            if grad_value is not None:
                a = _dropped(alpha, keep, dropout, s, chunk)
                grad_value.index_add_(0, src[s:s + chunk],
                                      (g * a.unsqueeze(-1)).view(-1, H * D))
            if grad_score is not None:
                v = value.index_select(0, src[s:s + chunk]).to(acc)
                grad_score[s:s + chunk] = torch.einsum('ehd,ehd->eh', g, v)

        grad_query = grad_key = None
        if grad_score is not None:
            if keep is not None:
                grad_score.mul_(as_factor(keep)).div_(1.0 - dropout)
            # Softmax backward per destination segment:
            # g_s = alpha * (g_alpha - sum_j alpha_j g_alpha_j).
            grad_score.mul_(alpha)
            total = scatter(grad_score, dst, dim=0, dim_size=num_dst,
                            reduce='sum')
            grad_score.sub_(alpha * total.index_select(0, dst))
            grad_score.mul_(scale)
            if need_q:
                grad_query = torch.zeros(num_dst, H * D, device=query.device,
                                         dtype=acc)
            if need_k:
                grad_key = torch.zeros(key.size(0), H * D, device=key.device,
                                       dtype=acc)
            for s in range(0, E, chunk):
                gs = grad_score[s:s + chunk].unsqueeze(-1)
                if grad_query is not None:
                    k = key.index_select(0, src[s:s + chunk]).to(acc)
                    grad_query.index_add_(0, dst[s:s + chunk],
                                          (gs * k).view(-1, H * D))
                if grad_key is not None:
                    q = query.index_select(0, dst[s:s + chunk]).to(acc)
                    grad_key.index_add_(0, src[s:s + chunk],
                                        (gs * q).view(-1, H * D))

        def back(grad: Optional[Tensor], like: Tensor) -> Optional[Tensor]:
            return None if grad is None else grad.view_as(like).to(like.dtype)

        return (back(grad_query, query), back(grad_key, key),
                back(grad_value, value), None, None, None, None, None)


def _dropped(alpha: Tensor, keep: Optional[Tensor], dropout: float,
             start: int, chunk: int) -> Tensor:
    a = alpha[start:start + chunk]
    if keep is None:
        return a
    return a * as_factor(keep[start:start + chunk]) / (1.0 - dropout)


def edge_attention(query: Tensor, key: Tensor, value: Tensor, src: Tensor,
                   dst: Tensor, num_dst: int,
                   dropout: float = 0.0) -> Tuple[Tensor, Tensor]:
    r"""Runs :class:`EdgeAttention`; uses the faster segment softmax when
    :obj:`dst` is sorted."""
    ptr: Optional[Tensor] = None
    if dst.numel() > 0 and bool((dst[1:] >= dst[:-1]).all()):
        ptr = torch.ops.aten._convert_indices_from_coo_to_csr(
            dst, num_dst, out_int32=False)
    return EdgeAttention.apply(query, key, value, src, dst, ptr, num_dst,
                               dropout)
