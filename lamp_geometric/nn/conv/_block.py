"""Parameters and node update shared by the sparse and dense LaMP layers.

Both :class:`~lamp_geometric.nn.LaMPConv` and
:class:`~lamp_geometric.nn.DenseLaMPConv` own exactly the same sub-modules
(and therefore the same ``state_dict`` keys); only the way the attention
message is computed differs.  This mixin builds those sub-modules and applies
the part of the block that comes after the attention (Eq. 18 and Eq. 8-9).
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import LayerNorm
from torch.nn.parameter import UninitializedParameter

from torch_geometric.nn.dense.linear import Linear

from lamp_geometric.nn.dropout import dropout


class LaMPBlockMixin:
    r"""Builds the parameters of one LaMP attention block.

    Sub-modules (identical in the sparse and the dense layer):

    * ``lin_query``, ``lin_key``, ``lin_value``: :math:`\mathbf{W}^q`,
      :math:`\mathbf{W}^u`, :math:`\mathbf{W}^v` of all heads, stacked.
    * ``lin_out``: :math:`\mathbf{W}^c`, projects the concatenated heads.
    * ``lin_skip``: projects the destination features onto ``out_channels``
      for the residual connection; :obj:`None` when the sizes already match.
    * ``norm1``, ``norm2``: the LayerNorms after the attention and the MLP
      sub-layer.
    * ``lin1``, ``lin2``: :math:`\mathbf{W}^r, b_1` and
      :math:`\mathbf{W}^b, b_2` of the MLP update (Eq. 8).
    """

    in_channels: Union[int, Tuple[int, int]]
    out_channels: int
    heads: int
    dropout: float

    def _init_block(
        self,
        in_channels: Union[int, Tuple[int, int]],
        out_channels: int,
        heads: int,
        dropout: float,
        ff_channels: Optional[int],
        bias: bool,
    ) -> None:
        if heads < 1:
            raise ValueError(f"'heads' must be at least 1 (got {heads})")
        if out_channels % heads != 0:
            raise ValueError(f"'out_channels' ({out_channels}) must be "
                             f"divisible by 'heads' ({heads})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"'dropout' must be in [0, 1) (got {dropout})")

        self.in_channels = in_channels
        self.out_channels = out_channels
        self.heads = heads
        self.dropout = dropout
        self.ff_channels = ff_channels or out_channels
        self.bias = bias

        if isinstance(in_channels, int):
            in_channels = (in_channels, in_channels)
        src_channels, dst_channels = in_channels

        self.lin_query = Linear(dst_channels, out_channels, bias=bias,
                                weight_initializer='glorot')
        self.lin_key = Linear(src_channels, out_channels, bias=bias,
                              weight_initializer='glorot')
        self.lin_value = Linear(src_channels, out_channels, bias=bias,
                                weight_initializer='glorot')
        # No bias on W^c: a destination without incoming edges then receives
        # an exact zero message (Eq. 18 has no bias either).
        self.lin_out = Linear(out_channels, out_channels, bias=False,
                              weight_initializer='glorot')
        if dst_channels != out_channels:
            self.lin_skip = Linear(dst_channels, out_channels, bias=False,
                                   weight_initializer='glorot')
        else:
            self.lin_skip = None
        self.norm1 = LayerNorm(out_channels)
        self.lin1 = Linear(out_channels, self.ff_channels, bias=True,
                           weight_initializer='kaiming_uniform')
        self.lin2 = Linear(self.ff_channels, out_channels, bias=True,
                           weight_initializer='kaiming_uniform')
        self.norm2 = LayerNorm(out_channels)

    def _reset_block(self) -> None:
        self.lin_query.reset_parameters()
        self.lin_key.reset_parameters()
        self.lin_value.reset_parameters()
        self.lin_out.reset_parameters()
        if self.lin_skip is not None:
            self.lin_skip.reset_parameters()
        self.norm1.reset_parameters()
        self.lin1.reset_parameters()
        self.lin2.reset_parameters()
        self.norm2.reset_parameters()

    def _project(self, x_src: Tensor, x_dst: Tensor, shared: bool,
                 keys_only: bool = False) -> Tuple[Tensor, ...]:
        r"""Query of the destinations, key and value of the sources (with
        :obj:`keys_only`: key and value only).

        The key and value projections read the same input, so they run as one
        matrix product with the two weights stacked; when :obj:`shared` (the
        sources are the destinations) the query joins them.  The results are
        the same as calling the three :class:`Linear` layers.
        """
        lin_q, lin_k, lin_v = self.lin_query, self.lin_key, self.lin_value
        if (isinstance(lin_q.weight, UninitializedParameter)
                or isinstance(lin_k.weight, UninitializedParameter)):
            if keys_only:
                return lin_k(x_src), lin_v(x_src)
            return lin_q(x_dst), lin_k(x_src), lin_v(x_src)
        shared = shared and not keys_only
        lins = [lin_q, lin_k, lin_v] if shared else [lin_k, lin_v]
        weight = torch.cat([lin.weight for lin in lins], dim=0)
        bias: Optional[Tensor] = None
        if lin_q.bias is not None:
            bias = torch.cat([lin.bias for lin in lins], dim=0)
        out = F.linear(x_src, weight, bias)
        if shared:
            q, k, v = out.chunk(3, dim=-1)
            return q, k, v
        k, v = out.chunk(2, dim=-1)
        if keys_only:
            return k, v
        return lin_q(x_dst), k, v

    def _update(self, msg: Tensor, x_dst: Tensor,
                projected: bool = False) -> Tensor:
        r"""Eq. 18 then Eq. 8-9, with a LayerNorm after each residual sum.

        Args:
            msg (torch.Tensor): The aggregated attention messages with the
                heads concatenated, :math:`[*, \text{out\_channels}]`.
            x_dst (torch.Tensor): The destination node features
                :math:`\mathbf{v}_i`.
            projected (bool, optional): :obj:`msg` is already multiplied by
                :math:`\mathbf{W}^c`. (default: :obj:`False`)
        """
        training = self.training  # type: ignore[attr-defined]
        res = x_dst if self.lin_skip is None else self.lin_skip(x_dst)
        if not projected:
            msg = self.lin_out(msg)
        msg = dropout(msg, self.dropout, training)
        m = self.norm1(res + msg)
        # In place: the output of `lin1` is not needed by its backward.
        h = self.lin2(F.relu(self.lin1(m), inplace=True))
        h = dropout(h, self.dropout, training)
        return self.norm2(m + h)

    def _repr_args(self) -> str:
        return (f'{self.in_channels}, {self.out_channels}, '
                f'heads={self.heads}')

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self._repr_args()})'


def split_heads(x: Tensor, heads: int) -> Tensor:
    """Reshapes ``[..., heads * D]`` into ``[..., heads, D]``."""
    return x.view(*x.shape[:-1], heads, x.size(-1) // heads)
