r"""Dropout for LaMP and its encoders, cheaper on the CPU than PyTorch's.

:func:`keep_mask` draws boolean masks from uniform 16-bit integers against
an integer threshold (32-bit ones for probabilities that 16 bits would
round by more than :obj:`KEEP_MASK_MAX_ROUNDING`; several times faster than
:meth:`torch.Tensor.bernoulli_`, see ``benchmarks/layers/keep_mask.py``),
:func:`as_factor` multiplies by them without PyTorch's conversion of
booleans, and :func:`dropout` / :class:`Dropout` are drop-in replacements
for :func:`torch.nn.functional.dropout` / :class:`torch.nn.Dropout` built on
them.  The LaMP layers use them for their attention and sub-layer dropout;
encoders written for LaMP can use :class:`Dropout` too.
:func:`drop_feature_nodes` leaves whole feature nodes out of a batch (each
sample keeps at least one).

The masks come from a different random stream than PyTorch's dropout: the
same seed gives other masks (of the same distribution).
"""
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.utils import scatter

from lamp_geometric.nn._compat import is_compiling


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
#: The uniform integers have 16 bits (four per 64-bit draw of the generator,
#: compared as 16-bit integers; see ``benchmarks/layers/keep_mask.py``)
#: unless rounding :obj:`p` to a multiple of :math:`2^{-16}` would change it
#: (or :obj:`1 - p`) by more than this fraction of itself (e.g. :obj:`p`
#: below 0.01 or above 0.99); then 32.
KEEP_MASK_MAX_ROUNDING: float = 1e-3

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


def _keep_bits(p: float) -> int:
    r"""16 when :obj:`p` rounded to a multiple of :math:`2^{-16}` stays
    within :obj:`KEEP_MASK_MAX_ROUNDING` of it and of :obj:`1 - p`
    (relatively), else 32."""
    if p <= 0.0 or p >= 1.0:
        return 16
    rounded = round(p * 2**16) / 2**16
    # Relative to the smaller of the drop and the keep probability.
    return (16 if abs(rounded - p) <= KEEP_MASK_MAX_ROUNDING * min(p, 1 - p)
            else 32)


def _keep_threshold(p: float, bits: int = 32) -> int:
    r"""The signed :obj:`bits`-bit threshold of :func:`_fill_keep`: a
    uniform signed integer :math:`r` of that width is kept iff
    :math:`r \geq t`, i.e. dropped with probability
    :math:`\mathrm{round}(p \cdot 2^{b}) / 2^{b}`."""
    return min(round(p * 2**bits), 2**bits) - 2**(bits - 1)


def _fill_keep(out: Tensor, p: float,
               generator: Optional[torch.Generator]) -> None:
    # Each 64-bit random word gives four uniform 16-bit integers (or two
    # 32-bit ones), compared with an integer threshold: four (two) times the
    # elements per draw of the generator that torch.rand (one float per
    # 32-bit draw) gets, and no integer-to-float conversion.
    bits = _keep_bits(p)
    threshold = _keep_threshold(p, bits)
    if threshold > 2**(bits - 1) - 1:  # p rounds to 1
        out.fill_(False)
        return
    per_word = 64 // bits
    dtype = torch.int16 if bits == 16 else torch.int32
    words = torch.empty(-(-min(out.numel(), KEEP_MASK_BLOCK) // per_word),
                        dtype=torch.int64, device=out.device)
    for start in range(0, out.numel(), KEEP_MASK_BLOCK):
        block = out[start:start + KEEP_MASK_BLOCK]
        n = block.numel()
        rand = words[:-(-n // per_word)].random_(-2**63, None,
                                                 generator=generator)
        torch.ge(rand.view(dtype)[:n], threshold, out=block)


def keep_mask(shape, p: float, device=None,
              out: Optional[Tensor] = None) -> Tensor:
    r"""A boolean dropout mask: :obj:`True` (keep) with probability
    :obj:`1 - p`, every element independently.  On the CPU from uniform
    16-bit integers against an integer threshold (:obj:`p` rounded to a
    multiple of :math:`2^{-16}`, e.g. 0.2 to 0.199997; 32-bit integers and
    :math:`2^{-32}` where that rounding would change :obj:`p` by more than
    :obj:`KEEP_MASK_MAX_ROUNDING` of itself),
    several times faster than :meth:`torch.Tensor.bernoulli_` (see
    ``benchmarks/layers/keep_mask.py``); elsewhere from
    :func:`torch.rand` (:math:`u \geq p`).  Reproducible under
    :func:`torch.manual_seed` for a given :func:`torch.get_num_threads`.
    Writes into :obj:`out` (a boolean tensor of :obj:`shape`, possibly a
    strided view) if given."""
    if out is None:
        out = torch.empty(shape, dtype=torch.bool, device=device)
    numel = out.numel()
    if out.device.type != 'cpu' or is_compiling():
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


class Dropout(torch.nn.Module):
    r"""Drop-in replacement for :class:`torch.nn.Dropout` built on
    :func:`dropout`: during training, zeroes each element with probability
    :obj:`p` and scales the others by :math:`1 / (1 - p)`; the identity in
    evaluation mode.

    .. code-block:: python

        from lamp_geometric.nn import Dropout

        mlp = torch.nn.Sequential(Linear(512, 512), ReLU(), Dropout(0.2))

    Args:
        p (float, optional): Probability of an element to be zeroed.
            (default: :obj:`0.5`)

    Raises:
        ValueError: If :obj:`p` is not in :math:`[0, 1]`.
    """
    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and "
                             f"1, but got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f'p={self.p}'


def drop_feature_nodes(z: Tensor, batch: Tensor, p: float,
                       training: bool = True) -> Tuple[Tensor, Tensor]:
    r"""Leaves each feature node out with probability :obj:`p` during
    training; every sample that has feature nodes keeps at least one (its
    node with the highest random draw).

    Unlike :func:`dropout`, whole nodes go: the feature-to-label attention
    of :class:`~lamp_geometric.nn.LaMP` then normalises over the nodes that
    are left, so nothing is rescaled.  For a set of words or atoms this is
    word dropout (a sample seen through a random subset of its features),
    a regulariser for small training sets.

    Args:
        z (torch.Tensor): Feature node embeddings :obj:`[N, F]`.
        batch (torch.Tensor): Sample index of every node :obj:`[N]`.
        p (float): Probability of a node to be left out, in :math:`[0, 1)`.
        training (bool, optional): Drop nothing if :obj:`False`.
            (default: :obj:`True`)

    Returns:
        (z, batch) of the kept nodes, in their order.

    Raises:
        ValueError: If :obj:`p` is not in :math:`[0, 1)`.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"'p' must be in [0, 1) (got {p})")
    if not training or p == 0.0 or batch.numel() == 0:
        return z, batch
    draw = torch.rand(batch.numel(), device=batch.device)
    best = scatter(draw, batch, dim=0, reduce='max')
    keep = (draw >= p) | (draw == best[batch])
    return z[keep], batch[keep]
