import math
from typing import Callable, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.parameter import UninitializedParameter

from lamp_geometric.nn.conv._block import LaMPBlockMixin
from lamp_geometric.nn.dropout import as_factor, dropout, keep_mask

#: With attention dropout (training), the attention weights
#: :obj:`[B, H, L, S]` are computed in chunks of at most this many bytes
#: (counted as float32): whole samples at a time, or blocks of destination
#: rows of one sample when a sample alone is larger.  Memory then stays
#: :math:`O(\text{chunk})` plus a boolean dropout mask (16-bit inputs: the
#: weights, see :obj:`SAVED_WEIGHTS_MAX_ITEMSIZE`), instead of several
#: :obj:`[B, H, L, S]` tensors.
ATTENTION_CHUNK_BYTES: int = 32 * 2**20

#: For inputs of at most this many bytes per element (bfloat16 and float16,
#: e.g. under autocast), :class:`DropoutAttention` keeps the attention
#: weights :obj:`[B, H, L, S]` for the backward pass (two bytes per weight)
#: instead of recomputing them from the boolean dropout mask (one byte per
#: weight): the bfloat16 training step with :math:`L = 983` labels of
#: ``benchmarks/train_step/`` then takes 5.7 instead of 6.2 s, with 0.24 GB
#: more allocated.  Wider inputs keep the mask (a quarter of the memory of
#: float32 weights).
SAVED_WEIGHTS_MAX_ITEMSIZE: int = 2


#: On the CPU, attention over padded sources of very different sizes (a
#: batch of documents of 3 and of 300 words) is computed per group of
#: samples of similar size, each group trimmed to its own largest sample
#: (:func:`ragged_attention`), when the real sources fill less than this
#: fraction of the padded :obj:`[B, S]` (measured by
#: ``benchmarks/train_step/ragged.py``; other devices keep the padded
#: path, whose fused kernels were not measured against it) ...
RAGGED_MAX_FILL: float = 0.5
#: ... and the padded attention has at least this many weights
#: :obj:`B * H * L * S` (below, one call on the padded tensors is cheaper
#: than a loop over groups).
RAGGED_MIN_WEIGHTS: int = 2**20
#: A group of :func:`ragged_attention` grows while its real sources fill at
#: least this fraction of its own padded size.
RAGGED_GROUP_FILL: float = 0.8


#: Bipartite attention over few sources (:math:`S` much smaller than the
#: :math:`L` destinations and than :math:`d`, e.g. the 983 labels of a
#: Delicious document attending over its 20 words) is computed in factored
#: form (:func:`factored_message`): the output projection :math:`\mathbf{W}^c`
#: is applied to the :math:`S` values instead of the :math:`L` messages and,
#: for destinations that differ between samples, the query projection
#: :math:`\mathbf{W}^q` to the :math:`S` keys instead of the :math:`L`
#: destinations.  The same function, at a cost of :math:`O(S d^2 + H L S d)`
#: per sample instead of :math:`O(L d^2)`.  It is taken when its counted
#: multiply-adds are at most this fraction of the plain path's
#: (:func:`factored_costs`): products of inner size :math:`H S` run at a
#: lower rate than the :math:`d \times d` projections they replace, and
#: ``benchmarks/layers/factored.py`` finds the factored layer slower from a
#: counted ratio of about 1.  ``0`` switches it off.
FACTORED_MAX_COST: float = 0.8


def ragged_groups(lengths: Tensor,
                  min_fill: float = RAGGED_GROUP_FILL
                  ) -> List[Tuple[Tensor, int]]:
    r"""Groups samples of similar size: :obj:`(indices, size)` pairs that
    cover every sample once, each with the largest length of its group.
    Samples are taken in ascending order of length and a group grows while
    its lengths fill at least :obj:`min_fill` of :obj:`len(group) * size`."""
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


def _in_groups(lengths: Tensor, groups: List[Tuple[Tensor, int]],
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

    return _in_groups(lengths, groups if groups is not None else
                     ragged_groups(lengths), compute)


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
    (see :obj:`FACTORED_MAX_COST`):

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
    :obj:`ATTENTION_CHUNK_BYTES`), only the boolean dropout mask is kept,
    and the backward pass recomputes the softmax chunk by chunk, in the
    manner of FlashAttention; 16-bit inputs keep their attention weights
    instead (see :obj:`SAVED_WEIGHTS_MAX_ITEMSIZE`).
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
        out, _ = _dropout_attention_forward(q, k, v, attn_mask, dropout_p,
                                            save=False)
    return out


def attention_chunks(B: int, H: int, L: int,
                     S: int) -> List[Tuple[int, int, int, int]]:
    r"""The chunks :obj:`(b0, b1, r0, r1)` (samples :obj:`b0:b1`,
    destination rows :obj:`r0:r1`) of :class:`DropoutAttention`, in the
    order their random numbers are drawn."""
    budget = ATTENTION_CHUNK_BYTES
    per_sample = H * L * S * 4
    if per_sample <= budget:
        nb = max(1, budget // per_sample)
        return [(b0, min(B, b0 + nb), 0, L) for b0 in range(0, B, nb)]
    rows = max(1, budget // (H * S * 4))
    return [(b, b + 1, r0, min(L, r0 + rows)) for b in range(B)
            for r0 in range(0, L, rows)]


def _attention_dropout(q: Tensor, k: Tensor, v: Tensor,
                       attn_mask: Optional[Tensor],
                       dropout_p: float) -> Tensor:
    r"""The plain (unchunked, autograd) form of :class:`DropoutAttention`;
    one chunk draws the same random numbers."""
    alpha = _softmax_scores(q, k.transpose(-1, -2), attn_mask)
    return torch.matmul(dropout(alpha, dropout_p, True), v)


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


def _saves_weights(dtype: torch.dtype) -> bool:
    return dtype.itemsize <= SAVED_WEIGHTS_MAX_ITEMSIZE


def _dropout_attention_forward(q: Tensor, k: Tensor, v: Tensor,
                               mask: Optional[Tensor], p: float,
                               save: bool
                               ) -> Tuple[Tensor, Optional[Tensor]]:
    r"""The forward pass of :class:`DropoutAttention`.  With
    :obj:`save`, also returns what the backward pass needs: the
    boolean dropout mask :math:`K`, or, for 16-bit inputs (see
    :obj:`SAVED_WEIGHTS_MAX_ITEMSIZE`), the signed weights
    :math:`W = P - 2 (P \circ K)` (:math:`|W| = P` and
    :math:`\min(W, 0) = -P \circ K`, as :math:`P \geq 0`)."""
    B, H, L, _ = q.shape
    S = k.size(-2)
    k_t = k.transpose(-1, -2)
    # [B, L, H, D] in memory: the caller's `transpose(1, 2).reshape(B, L,
    # H * D)` is then a view.
    out = q.new_empty(B, L, H, v.size(-1)).transpose(1, 2)
    weights = save and _saves_weights(q.dtype)
    saved = None
    if save:
        saved = torch.empty(B, H, L, S, device=q.device,
                            dtype=q.dtype if weights else torch.bool)
    for b0, b1, r0, r1 in attention_chunks(B, H, L, S):
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
    and, for 32- and 64-bit inputs, the boolean dropout mask
    :obj:`[B, H, L, S]`, from which the backward pass recomputes the softmax
    of every chunk; for 16-bit inputs (see
    :obj:`SAVED_WEIGHTS_MAX_ITEMSIZE`) it keeps the attention weights
    instead, with the mask in their sign, and recomputes nothing.  The
    random numbers are drawn as in :func:`_attention_dropout` (one
    :func:`keep_mask` per chunk), so with one chunk both give the same
    result.

    With :math:`P` the softmax, :math:`K` the mask, :math:`s = 1 / (1 - p)`
    and :math:`O = s (P \circ K) V`: :math:`dV = s (P \circ K)^\top dO`
    and the score gradient is :math:`s\, P \circ (K \circ dO\, V^\top -
    \mathrm{rowsum}(dO \circ O) / s)`, the softmax backward written with
    the output as in FlashAttention (no :obj:`[L, S]` row sums)."""
    @staticmethod
    def forward(ctx, q: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor],
                p: float) -> Tensor:
        out, saved = _dropout_attention_forward(q, k, v, mask, p,
                                                save=True)
        # `out` costs nothing extra: the next projection keeps it anyway.
        ctx.save_for_backward(q, k, v, mask, saved, out)
        ctx.p = p
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
        for b0, b1, r0, r1 in attention_chunks(B, H, L, S):
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


class DenseLaMPConv(LaMPBlockMixin, torch.nn.Module):
    r"""The LaMP attention block of :class:`~lamp_geometric.nn.LaMPConv`,
    computed on padded dense tensors with
    :func:`torch.nn.functional.scaled_dot_product_attention`.

    For a batch of :math:`B` samples with (padded) source nodes
    :math:`[B, S, F_s]` and destination nodes :math:`[B, L, F_t]`, every
    destination node :math:`i` attends over the sources :math:`j` allowed by
    the adjacency :obj:`adj` and the source :obj:`mask`:

    .. math::
        \alpha_{ij}^{k} = \mathrm{softmax}_{j:\, A_{ij} = 1} \left(
        \frac{(\mathbf{W}^{q,k} \mathbf{v}_i)^{\top}
        (\mathbf{W}^{u,k} \mathbf{v}_j)}{\sqrt{d/K}} \right)

    followed by the same update as :class:`~lamp_geometric.nn.LaMPConv`
    (Eq. 18 and Eq. 8-9 with LayerNorms).  Its parameters and
    ``state_dict`` keys are identical to :class:`LaMPConv`'s, so
    :obj:`dense.load_state_dict(sparse.state_dict())` works and both give the
    same outputs on the same graph.  A complete graph costs one fused
    attention kernel, which is why :class:`~lamp_geometric.nn.LaMP` uses this
    layer for unknown (fully connected) graphs.  A destination row with no
    allowed source receives a zero message (the residual path), never NaN,
    whatever the attention backend returns for an all-masked row.  Bipartite
    attention over few sources (many labels, few feature nodes) is computed
    in factored form (:func:`factored_message`, see
    :obj:`FACTORED_MAX_COST`), with the same result; that path reads the
    weights of ``lin_query`` and ``lin_out`` directly, so hooks on those
    two sub-modules do not run for it.

    Args:
        in_channels (int or tuple): Size of each input sample, or the sizes of
            source and destination features.
        out_channels (int): Size of each output sample :math:`d`; must be
            divisible by :obj:`heads`.
        heads (int, optional): Number of attention heads :math:`K`.
            (default: :obj:`1`)
        dropout (float, optional): Dropout probability of the attention
            coefficients and of the outputs of both sub-layers.
            (default: :obj:`0.`)
        ff_channels (int, optional): Hidden size of the MLP update.
            (default: :obj:`None` = :obj:`out_channels`)
        bias (bool, optional): If set to :obj:`True`, the query, key and value
            projections learn an additive bias. (default: :obj:`False`)

    Shapes:
        - **input:**
          node features :math:`(B, N, F_{in})` or
          :math:`((B, S, F_s), (B, L, F_t))` if bipartite,
          adjacency :math:`(L, S)` or :math:`(B, L, S)` (optional),
          source mask :math:`(B, S)` (optional)
        - **output:** node features :math:`(B, L, F_{out})`, and attention
          :math:`(B, H, L, S)` if :obj:`return_attention_weights=True`
    """
    def __init__(
        self,
        in_channels: Union[int, Tuple[int, int]],
        out_channels: int,
        heads: int = 1,
        dropout: float = 0.,
        ff_channels: Optional[int] = None,
        bias: bool = False,
    ):
        super().__init__()
        self._init_block(in_channels, out_channels, heads, dropout,
                         ff_channels, bias)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        self._reset_block()

    def forward(
        self,
        x: Union[Tensor, Tuple[Tensor, Tensor]],
        adj: Optional[Tensor] = None,
        mask: Optional[Tensor] = None,
        return_attention_weights: bool = False,
    ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        r"""Runs the forward pass of the module.

        Args:
            x (torch.Tensor or (torch.Tensor, torch.Tensor)): Node features
                :obj:`[B, N, F]` (homogeneous), or the pair
                :obj:`(x_src [B, S, F_s], x_dst [B, L, F_t])`.
            adj (torch.Tensor, optional): Boolean adjacency of allowed
                destination-from-source edges, :obj:`[L, S]` (shared by all
                samples) or :obj:`[B, L, S]`; :obj:`None` means complete.
                (default: :obj:`None`)
            mask (torch.Tensor, optional): Boolean mask :obj:`[B, S]` marking
                the real (non-padding) source nodes.  For homogeneous inputs
                the padded destination rows of the output are set to zero.
                (default: :obj:`None`)
            return_attention_weights (bool, optional): If set to :obj:`True`,
                additionally returns the attention coefficients
                :obj:`[B, heads, L, S]` (zero where not allowed).
                (default: :obj:`False`)
        """
        homogeneous = isinstance(x, Tensor)
        if isinstance(x, Tensor):
            x = (x, x)
        x_src, x_dst = x
        if x_src.dim() != 3 or x_dst.dim() != 3:
            raise ValueError(f"'{self.__class__.__name__}' expects node "
                             f"features of shape [B, N, F] (got "
                             f"{list(x_src.shape)} and {list(x_dst.shape)})")
        B, S, L = x_src.size(0), x_src.size(1), x_dst.size(1)
        if x_dst.size(0) not in (1, B):
            raise ValueError(f"'{self.__class__.__name__}' expects "
                             f"destination features of shape [{B}, L, F] "
                             f"or [1, L, F] (got {list(x_dst.shape)})")
        H, D = self.heads, self.out_channels // self.heads

        allowed = self._allowed(adj, mask, B, L, S, x_src.device)
        has_any: Optional[Tensor] = None
        attn_mask: Optional[Tensor] = None
        if allowed is not None:
            has_any = allowed.any(dim=-1)  # [B', L]
            # Rows without any allowed source attend to everything and are
            # zeroed afterwards: no backend-dependent NaN can leak out.
            attn_mask = (allowed | ~has_any.unsqueeze(-1)).unsqueeze(1)
        p = self.dropout if self.training else 0.0
        lengths = mask.sum(dim=1) if mask is not None else None
        groups: Optional[List[Tuple[Tensor, int]]] = None
        ragged = self._use_ragged(adj, mask, H, L)
        if ragged and not return_attention_weights:
            assert lengths is not None
            groups = ragged_groups(lengths)

        if (not homogeneous and not return_attention_weights
                and self._use_factored(x_src, x_dst, lengths, groups)):
            k, v = self._project(x_src, x_dst, False, keys_only=True)
            k, v = k.view(B, S, H, D), v.view(B, S, H, D)
            if groups is None:
                out = factored_message(self.lin_query.weight,
                                       self.lin_query.bias,
                                       self.lin_out.weight, x_dst, k, v,
                                       attn_mask, p)
            else:
                assert lengths is not None
                out = self._factored_groups(x_dst, k, v, lengths, groups, p)
            if has_any is not None:
                out = out * has_any.unsqueeze(-1).to(out.dtype)
            return self._update(out, x_dst, projected=True)

        q, k, v = self._project(x_src, x_dst, homogeneous)
        q = q.view(x_dst.size(0), L, H, D).transpose(1, 2)
        k = k.view(B, S, H, D).transpose(1, 2)
        v = v.view(B, S, H, D).transpose(1, 2)
        if q.size(0) != B:  # destinations shared by all samples
            q = q.expand(B, H, L, D)

        alpha: Optional[Tensor] = None
        if return_attention_weights:
            score = (q @ k.transpose(-1, -2)) / math.sqrt(D)
            if attn_mask is not None:
                score = score.masked_fill(~attn_mask, float('-inf'))
            alpha = score.softmax(dim=-1)
            if has_any is not None:
                alpha = alpha * has_any.unsqueeze(1).unsqueeze(-1)
            out = dropout(alpha, p, self.training) @ v
        elif groups is not None:
            assert lengths is not None
            out = ragged_attention(q, k, v, lengths, p,
                                   trim_queries=homogeneous, groups=groups)
        else:
            out = attention(q, k, v, attn_mask, p)

        out = out.transpose(1, 2).reshape(B, L, H * D)
        if has_any is not None:
            out = out * has_any.unsqueeze(-1).to(out.dtype)

        out = self._update(out, x_dst)
        if homogeneous and mask is not None:
            out = out * mask.unsqueeze(-1).to(out.dtype)

        if return_attention_weights:
            assert alpha is not None
            return out, alpha
        return out

    def _use_factored(self, x_src: Tensor, x_dst: Tensor,
                      lengths: Optional[Tensor],
                      groups: Optional[List[Tuple[Tensor, int]]]) -> bool:
        r"""Whether :func:`factored_message` computes this (bipartite)
        call: when its multiply-adds are at most :obj:`FACTORED_MAX_COST`
        of the plain path's (:func:`factored_costs`).  The plain path is
        counted with the mean number of real sources on the CPU (as the
        ragged path computes it; elsewhere with the padded number, which
        needs no device synchronisation), the factored one with the padded
        number or, with :obj:`groups` of :func:`ragged_groups`, the mean
        size of the groups it is computed on."""
        if FACTORED_MAX_COST <= 0 or any(
                isinstance(lin.weight, UninitializedParameter)
                for lin in (self.lin_query, self.lin_key, self.lin_value)):
            return False
        B, S, L = x_src.size(0), x_src.size(1), x_dst.size(1)
        real = float(S)
        if lengths is not None and lengths.device.type == 'cpu':  # no sync
            real = float(lengths.sum()) / max(B, 1)
        padded = float(S)
        if groups is not None:
            padded = sum(idx.numel() * size for idx, size in groups) / B
        args = (x_dst.size(-1), self.out_channels, self.heads,
                x_dst.size(0) == 1)
        plain, _ = factored_costs(L, real, *args)
        _, factored = factored_costs(L, padded, *args)
        return factored <= FACTORED_MAX_COST * plain

    def _factored_groups(self, x_dst: Tensor, k: Tensor, v: Tensor,
                         lengths: Tensor, groups: List[Tuple[Tensor, int]],
                         p: float) -> Tensor:
        r""":func:`factored_message` per group of samples of similar size
        (:func:`ragged_groups`), each on its sources trimmed to the group's
        largest sample; samples without sources get a zero message."""
        L, C = x_dst.size(1), self.out_channels

        def compute(idx: Tensor, size: int, mask: Optional[Tensor]) -> Tensor:
            if size == 0:
                return k.new_zeros(idx.numel(), L, C)
            if mask is not None:  # a row without sources attends to all
                mask = (mask | ~mask.any(dim=-1, keepdim=True))
                mask = mask.view(idx.numel(), 1, 1, size)
            x_g = x_dst if x_dst.size(0) == 1 else x_dst[idx]
            return factored_message(
                self.lin_query.weight, self.lin_query.bias,
                self.lin_out.weight, x_g, k[idx, :size], v[idx, :size], mask,
                p)

        return _in_groups(lengths, groups, compute)

    @staticmethod
    def _use_ragged(adj: Optional[Tensor], mask: Optional[Tensor], H: int,
                    L: int) -> bool:
        r"""Whether :func:`ragged_attention` computes this call (see
        :obj:`RAGGED_MAX_FILL`): on the CPU, a source mask alone, a prefix
        of real sources in every row (as
        :func:`~torch_geometric.utils.to_dense_batch` pads), little fill and
        a large attention."""
        if (adj is not None or mask is None or mask.numel() == 0
                or mask.device.type != 'cpu'):
            return False
        B, S = mask.shape
        if B * H * L * S < RAGGED_MIN_WEIGHTS:
            return False
        if float(mask.float().mean()) >= RAGGED_MAX_FILL:
            return False
        # A prefix mask: no real source after a padding slot.
        return not bool((mask[:, 1:] & ~mask[:, :-1]).any())

    @staticmethod
    def _allowed(adj: Optional[Tensor], mask: Optional[Tensor], B: int,
                 L: int, S: int, device: torch.device) -> Optional[Tensor]:
        if adj is None and mask is None:
            return None
        allowed: Optional[Tensor] = None
        if adj is not None:
            if adj.dtype != torch.bool:
                raise ValueError(f"'adj' must be a boolean tensor (got "
                                 f"{adj.dtype})")
            if adj.dim() == 2:
                adj = adj.unsqueeze(0)
            if (adj.dim() != 3 or adj.shape[-2:] != (L, S)
                    or adj.size(0) not in (1, B)):
                raise ValueError(f"'adj' must have shape [{L}, {S}] or "
                                 f"[{B}, {L}, {S}] (got {list(adj.shape)})")
            allowed = adj.to(device)
        if mask is not None:
            if mask.dtype != torch.bool or mask.shape != (B, S):
                raise ValueError(f"'mask' must be a boolean tensor of shape "
                                 f"[{B}, {S}] (got {mask.dtype} "
                                 f"{list(mask.shape)})")
            m = mask.view(B, 1, S)
            allowed = m if allowed is None else allowed & m
        assert allowed is not None
        return allowed.expand(-1, L, S)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self._repr_args()})'
