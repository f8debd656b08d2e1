r"""Scaled dot-product attention on padded dense tensors: the ``'dense'``
backend.

For destinations :obj:`q [B, H, L, D]` over sources :obj:`k, v [B, H, S, D]`
and every head :math:`k`,

.. math::
    \alpha_{ij}^k = \mathrm{softmax}_{j:\, A_{ij} = 1}
    \left( \mathbf{q}_i^{k\top} \mathbf{k}_j^k / \sqrt{D} \right), \qquad
    \mathbf{o}_i^k = \sum_{j} \alpha_{ij}^k \mathbf{v}_j^k,

with the boolean mask :math:`A`.  Without dropout this is PyTorch's fused
kernel; with dropout, :class:`DropoutAttention` computes it chunk by chunk.
"""
import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from lamp_geometric.nn.attention.policy import get_policy
from lamp_geometric.nn.dropout import as_factor, dropout, keep_mask


def attention(q: Tensor, k: Tensor, v: Tensor, attn_mask: Optional[Tensor],
              dropout_p: float = 0.0) -> Tensor:
    r"""Scaled dot-product attention of :obj:`q [B, H, L, D]` over
    :obj:`k, v [B, H, S, D]` with a boolean :obj:`attn_mask` of shape
    :obj:`[B or 1, 1, L or 1, S]` (every row must allow at least one source),
    as :func:`torch.nn.functional.scaled_dot_product_attention`.

    Without dropout this is PyTorch's fused kernel (no score tensor is
    kept).  With dropout, PyTorch's CPU kernel falls back to a reference
    implementation that keeps the scores, the softmax and the dropped
    weights for the backward pass (and upcasts bfloat16 to float32).  Here
    (:class:`DropoutAttention`) the work is split into chunks (see
    :func:`attention_chunks`), only the boolean dropout mask is kept,
    and the backward pass recomputes the softmax chunk by chunk, in the
    manner of FlashAttention; 16-bit inputs keep their attention weights
    instead, and so do float32 inputs whose weights are small enough (see
    :meth:`AttentionPolicy.save_weights
    <lamp_geometric.nn.attention.AttentionPolicy.save_weights>`).
    """
    if dropout_p == 0.0:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
    # The chunks are computed in the inputs' dtype (under autocast: the
    # projections' bfloat16), identically in the forward and backward pass.
    # Contiguous [B, H, N, D] operands (the projections are strided views):
    # one copy here, kept for the backward pass in place of the projection
    # output, instead of a copy inside every batched product.  A query
    # shared by all samples (stride 0) stays shared.
    k, v = k.to(q.dtype).contiguous(), v.to(q.dtype).contiguous()
    if q.stride(0) != 0:
        q = q.contiguous()
    with torch.autocast(q.device.type, enabled=False):
        if torch.is_grad_enabled() and (q.requires_grad or k.requires_grad
                                        or v.requires_grad):
            return DropoutAttention.apply(q, k, v, attn_mask, dropout_p)
        chunks = attention_chunks(q.size(0), q.size(1), q.size(2),
                                  k.size(-2))
        out, _ = _dropout_attention_forward(q, k, v, attn_mask, dropout_p,
                                            save=False, chunks=chunks)
    return out


def attention_chunks(B: int, H: int, L: int, S: int,
                     budget: Optional[int] = None
                     ) -> List[Tuple[int, int, int, int]]:
    r"""The chunks :obj:`(b0, b1, r0, r1)` (samples :obj:`b0:b1`,
    destination rows :obj:`r0:r1`) of :class:`DropoutAttention`, in the
    order their random numbers are drawn: at most :obj:`budget` bytes of
    float32 weights each (default: :obj:`attention_chunk_bytes` of the
    current :class:`~lamp_geometric.nn.attention.AttentionPolicy`)."""
    if budget is None:
        budget = get_policy().attention_chunk_bytes
    per_sample = H * L * S * 4
    if per_sample <= budget:
        nb = max(1, budget // per_sample)
        return [(b0, min(B, b0 + nb), 0, L) for b0 in range(0, B, nb)]
    rows = max(1, budget // (H * S * 4))
    return [(b, b + 1, r0, min(L, r0 + rows)) for b in range(B)
            for r0 in range(0, L, rows)]


def _mask_chunk(mask: Optional[Tensor], b0: int, b1: int, r0: int,
                r1: int) -> Optional[Tensor]:
    if mask is None:
        return None
    if mask.size(0) != 1:
        mask = mask[b0:b1]
    if mask.size(-2) != 1:
        mask = mask[..., r0:r1, :]
    return mask


def _softmax_scores(q: Tensor, k_t: Tensor, mask: Optional[Tensor]) -> Tensor:
    # The scale is applied to the (small) queries, not to the scores.
    score = torch.matmul(q * (q.size(-1)**-0.5), k_t)
    if mask is not None:
        score = score.masked_fill_(~mask, float('-inf'))
    return torch.softmax(score, dim=-1)


def _dropout_attention_forward(q: Tensor, k: Tensor, v: Tensor,
                               mask: Optional[Tensor], p: float,
                               save: bool,
                               chunks: List[Tuple[int, int, int, int]]
                               ) -> Tuple[Tensor, Optional[Tensor]]:
    r"""The forward pass of :class:`DropoutAttention`.  With
    :obj:`save`, also returns what the backward pass needs: the
    boolean dropout mask :math:`K`, or, for 16-bit inputs (see
    :meth:`AttentionPolicy.save_weights`), the signed weights
    :math:`W = P - 2 (P \circ K)` (:math:`|W| = P` and
    :math:`\min(W, 0) = -P \circ K`, as :math:`P \geq 0`)."""
    B, H, L, _ = q.shape
    S = k.size(-2)
    k_t = k.transpose(-1, -2)
    # [B, L, H, D] in memory: the caller's `transpose(1, 2).reshape(B, L,
    # H * D)` is then a view.
    out = q.new_empty(B, L, H, v.size(-1)).transpose(1, 2)
    weights = save and get_policy().save_weights((B, H, L, S),
                                                 q.dtype.itemsize)
    saved = None
    if save:
        saved = torch.empty(B, H, L, S, device=q.device,
                            dtype=q.dtype if weights else torch.bool)
    for b0, b1, r0, r1 in chunks:
        alpha = _softmax_scores(q[b0:b1, :, r0:r1], k_t[b0:b1],
                                _mask_chunk(mask, b0, b1, r0, r1))
        keep = keep_mask(alpha.shape, p, q.device,
                         None if saved is None or weights else
                         saved[b0:b1, :, r0:r1])
        out_c = out[b0:b1, :, r0:r1]
        if weights:
            assert saved is not None
            kept = alpha * as_factor(keep)
            torch.sub(alpha, kept, alpha=2, out=saved[b0:b1, :, r0:r1])
        else:
            kept = alpha.mul_(as_factor(keep))
        torch.matmul(kept, v[b0:b1], out=out_c)
        out_c.mul_(1.0 / (1.0 - p))  # on [rows, D] rather than [rows, S]
    return out, saved


class DropoutAttention(torch.autograd.Function):
    r"""Attention with dropout on the attention weights, computed chunk by
    chunk (see :func:`attention_chunks`).  Keeps :obj:`q, k, v`, the output
    and either the boolean dropout mask :obj:`[B, H, L, S]`, from which the
    backward pass recomputes the softmax of every chunk, or (16-bit inputs,
    and wider ones whose weights are small enough: see
    :meth:`AttentionPolicy.save_weights
    <lamp_geometric.nn.attention.AttentionPolicy.save_weights>`) the
    attention weights, with the mask in their sign, and then recomputes
    nothing.  The random numbers are drawn as by the plain form (softmax,
    then :func:`~lamp_geometric.nn.dropout.dropout`) with one
    :func:`keep_mask` per chunk, so with one chunk both give the same
    result.  The chunks are fixed in the forward pass, so the backward pass
    does not depend on the policy current when it runs.

    With :math:`P` the softmax, :math:`K` the mask, :math:`s = 1 / (1 - p)`
    and :math:`O = s (P \circ K) V`: :math:`dV = s (P \circ K)^\top dO`
    and the score gradient is :math:`s\, P \circ (K \circ dO\, V^\top -
    \mathrm{rowsum}(dO \circ O) / s)`, the softmax backward written with
    the output as in FlashAttention (no :obj:`[L, S]` row sums)."""
    @staticmethod
    def forward(ctx, q: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor],
                p: float) -> Tensor:
        chunks = attention_chunks(q.size(0), q.size(1), q.size(2),
                                  k.size(-2))
        out, saved = _dropout_attention_forward(q, k, v, mask, p,
                                                save=True, chunks=chunks)
        # `out` costs nothing extra: the next projection keeps it anyway.
        ctx.save_for_backward(q, k, v, mask, saved, out)
        ctx.p, ctx.chunks = p, chunks
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        q, k, v, mask, saved, out = ctx.saved_tensors
        p = ctx.p
        B, H, L, D = q.shape
        S = k.size(-2)
        drop_scale = 1.0 / (1.0 - p)
        factor = drop_scale * D**-0.5
        k_t, v_t = k.transpose(-1, -2), v.transpose(-1, -2)
        grad_out = grad_out.to(q.dtype).contiguous()
        # Gradients laid out [B, N, H, D] in memory, as the projections they
        # flow back to: undoing the caller's `view(B, N, H, D).transpose(1,
        # 2)` then needs no copy.
        grad_q = q.new_empty(B, L, H, D).transpose(1, 2)
        grad_k = k.new_empty(B, S, H, D).transpose(1, 2)
        grad_v = v.new_empty(B, S, H, v.size(-1)).transpose(1, 2)
        acc_k = acc_v = None
        weights = saved.dtype != torch.bool
        # With the saved weights W, the products below give -dV and -dS:
        sign = -1.0 if weights else 1.0
        for b0, b1, r0, r1 in ctx.chunks:
            q_c = q[b0:b1, :, r0:r1]
            g_c = grad_out[b0:b1, :, r0:r1]
            # rowsum(dO * O) / s, on [rows, D]:
            row = (g_c * out[b0:b1, :, r0:r1]).sum(-1, keepdim=True)
            row.mul_(1.0 / drop_scale)
            g = torch.matmul(g_c, v_t[b0:b1])
            if weights:
                w = saved[b0:b1, :, r0:r1]
                kept = w.clamp(max=0)  # -P * K
                g.mul_(kept).addcmul_(w.abs(), row)  # -dS
            else:
                keep_c = as_factor(saved[b0:b1, :, r0:r1])
                alpha = _softmax_scores(q_c, k_t[b0:b1],
                                        _mask_chunk(mask, b0, b1, r0, r1))
                kept = alpha * keep_c
                g = g.mul_(keep_c).sub_(row).mul_(alpha)
            part_v = torch.matmul(kept.transpose(-1, -2), g_c)
            part_v.mul_(sign * drop_scale)
            grad_q_c = grad_q[b0:b1, :, r0:r1]
            torch.matmul(g, k[b0:b1], out=grad_q_c)
            grad_q_c.mul_(sign * factor)
            part_k = torch.matmul(g.transpose(-1, -2), q_c)
            part_k.mul_(sign * factor)
            if r0 == 0 and r1 == L:  # whole samples: no accumulation
                grad_v[b0:b1] = part_v
                grad_k[b0:b1] = part_k
                continue
            # Blocks of rows of one sample: accumulate in float32.
            if r0 == 0:
                acc_k, acc_v = part_k.float(), part_v.float()
            else:
                assert acc_k is not None and acc_v is not None
                acc_k += part_k
                acc_v += part_v
            if r1 == L:
                assert acc_k is not None and acc_v is not None
                grad_k[b0:b1] = acc_k
                grad_v[b0:b1] = acc_v
        return grad_q, grad_k, grad_v, None, None



def attention_weights(q: Tensor, k: Tensor, v: Tensor,
                      attn_mask: Optional[Tensor], has_any: Optional[Tensor],
                      dropout_p: float = 0.0) -> Tuple[Tensor, Tensor]:
    r"""The attention of :func:`attention`, written out so that it also
    returns the attention weights :obj:`[B, H, L, S]`, zero in the rows
    that :obj:`has_any [B or 1, L]` marks as having no allowed source.
    Returns :obj:`(out, alpha)`."""
    score = (q @ k.transpose(-1, -2)) / math.sqrt(q.size(-1))
    if attn_mask is not None:
        score = score.masked_fill(~attn_mask, float('-inf'))
    alpha = score.softmax(dim=-1)
    if has_any is not None:
        alpha = alpha * has_any.unsqueeze(1).unsqueeze(-1)
    return dropout(alpha, dropout_p, dropout_p > 0.0) @ v, alpha
