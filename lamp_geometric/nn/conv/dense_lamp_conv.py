from typing import List, Optional, Tuple, Union

import torch
from torch import Tensor
from torch.nn.parameter import UninitializedParameter

from lamp_geometric.nn.attention import (
    AttentionPolicy,
    attention,
    attention_weights,
    factored_costs,
    factored_message,
    get_policy,
    in_groups,
    ragged_attention,
    ragged_groups,
)
from lamp_geometric.nn.conv._block import LaMPBlockMixin


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
    whatever the attention backend returns for an all-masked row.

    The attention runs on one of three backends of
    :mod:`lamp_geometric.nn.attention`, as the current
    :class:`~lamp_geometric.nn.attention.AttentionPolicy` chooses, all with
    the same result: ``'dense'``
    (:func:`~lamp_geometric.nn.attention.attention`, one fused kernel);
    ``'ragged'`` (:func:`~lamp_geometric.nn.attention.ragged_attention`)
    for padded sources of very different sizes; ``'factored'``
    (:func:`~lamp_geometric.nn.attention.factored_message`) for bipartite
    attention over few sources (many labels, few feature nodes), per ragged
    group where both are chosen.  The factored backend reads the weights of
    ``lin_query`` and ``lin_out`` directly, so hooks on those two
    sub-modules do not run for it.

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
        policy = get_policy()
        lengths = mask.sum(dim=1) if mask is not None else None
        groups: Optional[List[Tuple[Tensor, int]]] = None
        if (not return_attention_weights
                and policy.ragged(adj, mask, H, L)):
            assert lengths is not None
            groups = ragged_groups(lengths, policy.ragged_group_fill)

        if (not homogeneous and not return_attention_weights
                and self._use_factored(policy, x_src, x_dst, lengths,
                                       groups)):
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
            out, alpha = attention_weights(q, k, v, attn_mask, has_any, p)
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

    def _use_factored(self, policy: AttentionPolicy, x_src: Tensor,
                      x_dst: Tensor, lengths: Optional[Tensor],
                      groups: Optional[List[Tuple[Tensor, int]]]) -> bool:
        r"""Whether the factored backend computes this (bipartite) call, as
        :meth:`~lamp_geometric.nn.attention.AttentionPolicy.factored`
        decides from the multiply-adds of both backends
        (:func:`~lamp_geometric.nn.attention.factored_costs`).  The plain
        one is counted with the mean number of real sources on the CPU (as
        the ragged backend computes it; elsewhere with the padded number,
        which needs no device synchronisation), the factored one with the
        padded number or, with :obj:`groups` of
        :func:`~lamp_geometric.nn.attention.ragged_groups`, the mean size of
        the groups it is computed on."""
        if any(isinstance(lin.weight, UninitializedParameter)
               for lin in (self.lin_query, self.lin_key, self.lin_value)):
            return False

        def costs() -> Tuple[float, float]:
            B, S, L = x_src.size(0), x_src.size(1), x_dst.size(1)
            real = float(S)
            if lengths is not None and lengths.device.type == 'cpu':
                real = float(lengths.sum()) / max(B, 1)  # no sync
            padded = float(S)
            if groups is not None:
                padded = sum(idx.numel() * size for idx, size in groups) / B
            args = (x_dst.size(-1), self.out_channels, self.heads,
                    x_dst.size(0) == 1)
            return (factored_costs(L, real, *args)[0],
                    factored_costs(L, padded, *args)[1])

        return policy.factored(costs)

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

        return in_groups(lengths, groups, compute)

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
