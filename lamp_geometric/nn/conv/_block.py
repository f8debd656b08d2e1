"""Parameters and node update shared by the sparse and dense LaMP layers.

Both :class:`~lamp_geometric.nn.LaMPConv` and
:class:`~lamp_geometric.nn.DenseLaMPConv` own exactly the same sub-modules
(and therefore the same ``state_dict`` keys); only the way the attention
message is computed differs.  This mixin builds those sub-modules and applies
the part of the block that comes after the attention (Eq. 18 and Eq. 8-9).
"""
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import LayerNorm
from torch.nn.parameter import UninitializedParameter

from torch_geometric.nn.dense.linear import Linear


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

    def _project(self, x_src: Tensor, x_dst: Tensor,
                 shared: bool) -> Tuple[Tensor, Tensor, Tensor]:
        r"""Query of the destinations, key and value of the sources.

        The key and value projections read the same input, so they run as one
        matrix product with the two weights stacked; when :obj:`shared` (the
        sources are the destinations) the query joins them.  The results are
        the same as calling the three :class:`Linear` layers.
        """
        lin_q, lin_k, lin_v = self.lin_query, self.lin_key, self.lin_value
        if (isinstance(lin_q.weight, UninitializedParameter)
                or isinstance(lin_k.weight, UninitializedParameter)):
            return lin_q(x_dst), lin_k(x_src), lin_v(x_src)
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
        return lin_q(x_dst), k, v

    def _update(self, msg: Tensor, x_dst: Tensor) -> Tensor:
        r"""Eq. 18 then Eq. 8-9, with a LayerNorm after each residual sum.

        Args:
            msg (torch.Tensor): The aggregated attention messages with the
                heads concatenated, :math:`[*, \text{out\_channels}]`.
            x_dst (torch.Tensor): The destination node features
                :math:`\mathbf{v}_i`.
        """
        training = self.training  # type: ignore[attr-defined]
        res = x_dst if self.lin_skip is None else self.lin_skip(x_dst)
        msg = dropout(self.lin_out(msg), self.dropout, training)
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


#: :func:`keep_mask` draws its random numbers in blocks of this many
#: elements (no mask-sized temporary is allocated; PyTorch's grain size, so
#: the comparison of a block runs on the calling thread instead of starting
#: an intra-op team from every worker) ...
KEEP_MASK_BLOCK: int = 2**15
#: ... and, for masks of at least this many elements on the CPU, splits them
#: over :func:`torch.get_num_threads` worker threads, each with its own
#: generator seeded from PyTorch's default one.  PyTorch's CPU generator is
#: sequential: one core drew every random number of a training step (20% of
#: a Delicious-sized step).
KEEP_MASK_PARALLEL: int = 2**18

_pool: Optional[ThreadPoolExecutor] = None
_pool_key: Tuple[int, int] = (0, 0)


def _workers(n: int) -> ThreadPoolExecutor:
    global _pool, _pool_key
    key = (os.getpid(), n)  # a forked child needs threads of its own
    if _pool is None or _pool_key != key:
        _pool = ThreadPoolExecutor(max_workers=n,
                                   thread_name_prefix='lamp-dropout')
        _pool_key = key
    return _pool


def _keep_threshold(p: float) -> int:
    r"""The signed 32-bit threshold of :func:`_fill_keep`: a uniform
    :obj:`int32` :math:`r` is kept iff :math:`r \geq t`, i.e. dropped with
    probability :math:`\mathrm{round}(p \cdot 2^{32}) / 2^{32}`."""
    return min(round(p * 2**32), 2**32) - 2**31


def _fill_keep(out: Tensor, p: float,
               generator: Optional[torch.Generator]) -> None:
    # Each 64-bit random word gives two uniform 32-bit integers, compared
    # with an integer threshold: twice the elements per draw of the
    # generator that torch.rand (one float per 32-bit draw) gets, and no
    # integer-to-float conversion.  The resolution (2^-32) is finer than
    # that of torch.rand's floats (2^-24).
    threshold = _keep_threshold(p)
    if threshold > 2**31 - 1:  # p within 2^-33 of 1
        out.fill_(False)
        return
    words = torch.empty(-(-min(out.numel(), KEEP_MASK_BLOCK) // 2),
                        dtype=torch.int64, device=out.device)
    for start in range(0, out.numel(), KEEP_MASK_BLOCK):
        block = out[start:start + KEEP_MASK_BLOCK]
        n = block.numel()
        rand = words[:-(-n // 2)].random_(-2**63, None, generator=generator)
        torch.ge(rand.view(torch.int32)[:n], threshold, out=block)


def keep_mask(shape, p: float, device=None,
              out: Optional[Tensor] = None) -> Tensor:
    r"""A boolean dropout mask: :obj:`True` (keep) with probability
    :obj:`1 - p`, every element independently.  On the CPU from uniform
    32-bit integers against an integer threshold (:obj:`p` rounded to a
    multiple of :math:`2^{-32}`, finer than :func:`torch.rand`'s floats),
    several times faster than :meth:`torch.Tensor.bernoulli_` (see
    ``benchmarks/layers/keep_mask.py``); elsewhere from
    :func:`torch.rand` (:math:`u \geq p`).  Reproducible under
    :func:`torch.manual_seed` for a given :func:`torch.get_num_threads`.
    Writes into :obj:`out` (a boolean tensor of :obj:`shape`, possibly a
    strided view) if given."""
    if out is None:
        out = torch.empty(shape, dtype=torch.bool, device=device)
    numel = out.numel()
    if out.device.type != 'cpu' or torch.compiler.is_compiling():
        return torch.ge(torch.rand(out.shape, device=out.device), p, out=out)
    flat = out if out.is_contiguous() else torch.empty(
        out.shape, dtype=torch.bool, device=out.device)
    flat1 = flat.view(-1)
    n = torch.get_num_threads()
    if n > 1 and numel >= KEEP_MASK_PARALLEL:
        seeds = torch.randint(0, 2**62, (n, )).tolist()
        size = -(-numel // n)

        def work(i: int) -> None:
            gen = torch.Generator().manual_seed(seeds[i])
            _fill_keep(flat1[i * size:(i + 1) * size], p, gen)

        list(_workers(n).map(work, range(n)))
    else:
        _fill_keep(flat1, p, None)
    if flat is not out:
        out.copy_(flat)
    return out


def as_factor(keep: Tensor) -> Tensor:
    r"""A boolean mask as a 0/1 factor for products (:obj:`x * keep`).

    The same bytes viewed as :obj:`torch.uint8`: the product then has
    :obj:`x`'s dtype and the same values, but skips PyTorch's conversion of
    the boolean operand, which on the CPU makes a bfloat16 product several
    times slower (see
    ``benchmarks/layers/mask_product.py``)."""
    return keep.view(torch.uint8) if keep.dtype == torch.bool else keep


def dropout(x: Tensor, p: float, training: bool) -> Tensor:
    r"""Dropout with the semantics of :func:`torch.nn.functional.dropout`
    (zero with probability :obj:`p`, scale the rest by :obj:`1 / (1 - p)`),
    cheaper on CPU: the mask comes from :func:`keep_mask` and autograd keeps
    it as a boolean tensor (one byte per element instead of a mask in
    :obj:`x`'s dtype)."""
    if not training or p == 0.0:
        return x
    if p >= 1.0:
        return x * 0.0
    keep = keep_mask(x.shape, p, x.device)
    # In place on the temporary product: a scalar factor needs nothing saved.
    return (x * as_factor(keep)).mul_(1.0 / (1.0 - p))
