import typing
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from torch_geometric.nn.conv import MessagePassing
from torch_geometric.typing import (
    Adj,
    NoneType,
    OptTensor,
    PairTensor,
    SparseTensor,
)
from torch_geometric.utils import is_torch_sparse_tensor
from torch_geometric.utils.sparse import set_sparse_value

from lamp_geometric.nn._compat import is_compiling
from lamp_geometric.nn.attention import (
    edge_attention,
    get_policy,
    segment_attention,
)
from lamp_geometric.nn.conv._block import LaMPBlockMixin

if typing.TYPE_CHECKING:
    from typing import overload
else:
    from torch.jit import _overload_method as overload


class LaMPConv(LaMPBlockMixin, MessagePassing):
    r"""The label message passing block from the `"Neural Message Passing for
    Multi-Label Classification" <https://arxiv.org/abs/1904.08049>`_ paper
    (LaMP), as a sparse message passing layer.

    Every destination node :math:`i` attends over its incoming neighbours
    :math:`j \in \mathcal{N}(i)` with :math:`K` heads of scaled dot-product
    attention (Eq. 15-17), where :math:`d` is :obj:`out_channels` and each
    head has :math:`d/K` channels:

    .. math::
        \alpha_{ij}^{k} = \mathrm{softmax}_{j \in \mathcal{N}(i)} \left(
        \frac{(\mathbf{W}^{q,k} \mathbf{v}_i)^{\top}
        (\mathbf{W}^{u,k} \mathbf{v}_j)}{\sqrt{d/K}} \right)

    The heads are concatenated, projected by :math:`\mathbf{W}^c` and added
    to the node itself (Eq. 18), then an MLP updates the node with a second
    residual connection (Eq. 8-9); a LayerNorm follows each residual sum:

    .. math::
        \mathbf{m}_i &= \mathrm{LN}\left(\mathbf{v}_i + \left(
        \big\Vert_{k=1}^{K} \sum_{j \in \mathcal{N}(i)} \alpha_{ij}^{k}
        \mathbf{W}^{v,k} \mathbf{v}_j \right) \mathbf{W}^c \right)

        \mathbf{v}_i^{\prime} &= \mathrm{LN}\left(\mathbf{m}_i +
        \mathrm{ReLU}(\mathbf{m}_i \mathbf{W}^r + \mathbf{b}_1)
        \mathbf{W}^b + \mathbf{b}_2 \right)

    The same block serves all three message passing stages of LaMP:
    feature-to-label (bipartite, :math:`\mathbf{v}_j = \mathbf{z}_j`, Eq.
    10-11), label-to-label (Eq. 12-13) and feature-to-feature (Eq. 22-23).
    A destination node without incoming edges receives a zero message, so its
    output is the residual path alone (never NaN).
    :class:`~lamp_geometric.nn.DenseLaMPConv` computes the same block on
    padded tensors with identical parameters.

    The attention runs on one of two backends of
    :mod:`lamp_geometric.nn.attention`, as the current
    :class:`~lamp_geometric.nn.attention.AttentionPolicy` chooses: the
    fused, memory-lean ``'edge'`` backend for a plain :obj:`edge_index`
    (the default), else the ``'segment'`` backend inside
    :meth:`~torch_geometric.nn.conv.MessagePassing.propagate` (sparse
    layouts, hooks, explain mode, decomposed layers, compilation, another
    aggregation, or ``with attention_policy(backend='segment')``).

    Args:
        in_channels (int or tuple): Size of each input sample. A tuple
            corresponds to the sizes of source and destination
            dimensionalities (bipartite graphs).
        out_channels (int): Size of each output sample :math:`d`; must be
            divisible by :obj:`heads`.
        heads (int, optional): Number of attention heads :math:`K`.
            (default: :obj:`1`)
        dropout (float, optional): Dropout probability of the normalized
            attention coefficients and of the outputs of both sub-layers.
            (default: :obj:`0.`)
        ff_channels (int, optional): Hidden size of the MLP update. If set to
            :obj:`None`, uses :obj:`out_channels` as in Eq. 8.
            (default: :obj:`None`)
        bias (bool, optional): If set to :obj:`True`, the query, key and value
            projections learn an additive bias (Eq. 15-17 have none).
            (default: :obj:`False`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:**
          node features :math:`(|\mathcal{V}|, F_{in})` or
          :math:`((|\mathcal{V_s}|, F_{s}), (|\mathcal{V_t}|, F_{t}))`
          if bipartite,
          edge indices :math:`(2, |\mathcal{E}|)` (source, destination)
        - **output:** node features :math:`(|\mathcal{V}_t|, F_{out})` or
          :math:`((|\mathcal{V}_t|, F_{out}), ((2, |\mathcal{E}|),
          (|\mathcal{E}|, H)))` if :obj:`return_attention_weights=True`
    """
    _alpha: OptTensor

    def __init__(
        self,
        in_channels: Union[int, Tuple[int, int]],
        out_channels: int,
        heads: int = 1,
        dropout: float = 0.,
        ff_channels: Optional[int] = None,
        bias: bool = False,
        **kwargs,
    ):
        kwargs.setdefault('aggr', 'add')
        super().__init__(node_dim=0, **kwargs)
        self._init_block(in_channels, out_channels, heads, dropout,
                         ff_channels, bias)
        self._alpha = None
        self.reset_parameters()

    def reset_parameters(self):
        super().reset_parameters()
        self._reset_block()

    @overload
    def forward(
        self,
        x: Union[Tensor, PairTensor],
        edge_index: Adj,
        return_attention_weights: NoneType = None,
    ) -> Tensor:
        pass

    @overload
    def forward(  # noqa: F811
        self,
        x: Union[Tensor, PairTensor],
        edge_index: Tensor,
        return_attention_weights: bool = None,
    ) -> Tuple[Tensor, Tuple[Tensor, Tensor]]:
        pass

    @overload
    def forward(  # noqa: F811
        self,
        x: Union[Tensor, PairTensor],
        edge_index: SparseTensor,
        return_attention_weights: bool = None,
    ) -> Tuple[Tensor, SparseTensor]:
        pass

    def forward(  # noqa: F811
        self,
        x: Union[Tensor, PairTensor],
        edge_index: Adj,
        return_attention_weights: Optional[bool] = None,
    ) -> Union[
            Tensor,
            Tuple[Tensor, Tuple[Tensor, Tensor]],
            Tuple[Tensor, SparseTensor],
    ]:
        r"""Runs the forward pass of the module.

        Args:
            x (torch.Tensor or (torch.Tensor, torch.Tensor)): The input node
                features, or the (source, destination) pair if bipartite.
            edge_index (torch.Tensor or SparseTensor): The edge indices
                (source in row 0, destination in row 1), a
                :class:`torch_geometric.EdgeIndex`, or a transposed sparse
                adjacency (:obj:`torch.sparse` CSR/CSC/COO or
                :class:`torch_sparse.SparseTensor` of shape
                :obj:`[num_dst, num_src]`).  A CSC adjacency is converted to
                CSR (the layout of the returned attention adjacency) and a
                COO one is coalesced.
            return_attention_weights (bool, optional): If set to a value,
                additionally returns the tuple
                :obj:`(edge_index, attention_weights)` with the attention
                coefficients :math:`\alpha_{ij}^k` of shape
                :obj:`[num_edges, heads]`. (default: :obj:`None`)
        """
        H, D = self.heads, self.out_channels // self.heads

        if isinstance(x, Tensor):
            x = (x, x)
        edge_index = self._readable(edge_index)

        query, key, value = self._project(x[0], x[1], x[0] is x[1])
        query = query.view(-1, H, D)
        key = key.view(-1, H, D)
        value = value.view(-1, H, D)

        if self._fusable(edge_index) and get_policy().edge():
            assert isinstance(edge_index, Tensor)
            out, alpha = self._edge_attention(query, key, value, edge_index)
        else:
            # propagate_type: (query: Tensor, key: Tensor, value: Tensor)
            out = self.propagate(edge_index, query=query, key=key,
                                 value=value)
            alpha = self._alpha
            self._alpha = None

        out = self._update(out.view(-1, H * D), x[1])

        if isinstance(return_attention_weights, bool):
            assert alpha is not None
            if isinstance(edge_index, Tensor):
                if is_torch_sparse_tensor(edge_index):
                    adj = set_sparse_value(edge_index, alpha)
                    return out, (adj, alpha)
                return out, (edge_index, alpha)
            elif isinstance(edge_index, SparseTensor):
                return out, edge_index.set_value(alpha, layout='coo')
        return out

    @staticmethod
    def _readable(edge_index: Adj) -> Adj:
        r"""`MessagePassing` reads CSR and coalesced COO adjacencies only: a
        CSC one (e.g. ``to_torch_csr_tensor(edge_index).t()``) is converted
        to CSR, and a transposed COO one is coalesced."""
        if isinstance(edge_index, Tensor) and is_torch_sparse_tensor(
                edge_index):
            if edge_index.layout == torch.sparse_csc:
                return edge_index.to_sparse_csr()
            if (edge_index.layout == torch.sparse_coo
                    and not edge_index.is_coalesced()):
                return edge_index.coalesce()
        return edge_index

    def _edge_attention(self, query: Tensor, key: Tensor, value: Tensor,
                        edge_index: Tensor) -> Tuple[Tensor, Tensor]:
        r"""The ``'edge'`` backend: messages :obj:`[N_dst, H, D]` and
        attention :obj:`[E, H]`."""
        p = self.dropout if self.training else 0.0
        try:
            out, alpha = edge_attention(query, key, value, edge_index[0],
                                        edge_index[1], query.size(0), p)
        except (IndexError, RuntimeError):
            # An index out of range: `propagate`'s clear message.
            self._index_select_safe(key, edge_index[0])
            self._index_select_safe(query, edge_index[1])
            raise
        return out.to(value.dtype), alpha

    def _fusable(self, edge_index: Adj) -> bool:
        r"""Whether the ``'edge'`` backend can compute this call: it reads a
        plain :obj:`edge_index` tensor; everything
        :class:`~torch_geometric.nn.conv.MessagePassing` offers beyond that
        (sparse layouts, hooks, explainers, decomposed layers, compilation,
        another aggregation) goes through :meth:`propagate`."""
        if type(edge_index) is not Tensor:
            return False
        if (edge_index.dim() != 2 or edge_index.size(0) != 2
                or edge_index.dtype != torch.long):
            return False  # `propagate` reports (or converts) it
        if torch.jit.is_scripting() or is_compiling():
            return False
        if self.explain or self.decomposed_layers > 1 or self.aggr != 'add':
            return False
        return not any((
            self._propagate_forward_pre_hooks, self._propagate_forward_hooks,
            self._message_forward_pre_hooks, self._message_forward_hooks,
            self._aggregate_forward_pre_hooks, self._aggregate_forward_hooks,
        ))

    def message(self, query_i: Tensor, key_j: Tensor, value_j: Tensor,
                index: Tensor, ptr: OptTensor,
                size_i: Optional[int]) -> Tensor:
        p = self.dropout if self.training else 0.0
        msg, self._alpha = segment_attention(query_i, key_j, value_j, index,
                                             ptr, size_i, p)
        return msg

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self._repr_args()})'
