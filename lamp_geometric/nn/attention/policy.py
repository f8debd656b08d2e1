r"""Which attention backend computes a LaMP attention block, and every
measured threshold behind that choice.

One :class:`AttentionPolicy` is current at any time (per thread; the
default one unless a ``with`` block set another).  The layers and
:class:`~lamp_geometric.nn.LaMP` ask it instead of reading module globals:

.. code-block:: python

    from lamp_geometric.nn.attention import AttentionPolicy, attention_policy

    with attention_policy(backend='segment'):  # force one backend
        out = conv(x, edge_index)

    with AttentionPolicy(factored_max_cost=0.0):  # a whole policy
        out = dense_conv((x_src, x_dst), mask=mask)

:func:`attention_policy` starts from the current policy and changes only
the given fields; an :class:`AttentionPolicy` given in full replaces it.
Either restores the previous policy when the block ends.
"""
import contextvars
import math
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, List, Optional, Tuple

from torch import Tensor

#: The backends, by what they compute: over the edges of a sparse graph
#: (``'segment'``: :class:`~torch_geometric.nn.conv.MessagePassing` with a
#: segment softmax; ``'edge'``: the fused, memory-lean edge attention), or
#: over padded dense tensors (``'dense'``: scaled dot-product attention;
#: ``'ragged'``: the same per group of samples of similar size;
#: ``'factored'``: the projected message in factored form for few sources).
SPARSE_BACKENDS = ('segment', 'edge')
DENSE_BACKENDS = ('dense', 'ragged', 'factored')
BACKENDS = SPARSE_BACKENDS + DENSE_BACKENDS


def _measured_dense_thresholds() -> Dict[int, float]:
    return {16: 0.10, 128: 0.03}


@dataclass(frozen=True)
class AttentionPolicy:
    r"""Chooses the attention backend of every LaMP layer call and holds the
    thresholds of that choice, each measured by the benchmark named below.

    A policy is a context manager: inside ``with policy:`` it is the
    current one (:func:`get_policy`), and the previous one comes back when
    the block ends (blocks nest; each thread has its own current policy).

    Args:
        backend (str, optional): :obj:`'auto'` lets the thresholds choose.
            One of :obj:`BACKENDS` forces it on the layers of its kind: a
            sparse backend (:obj:`'segment'`, :obj:`'edge'`) on
            :class:`~lamp_geometric.nn.LaMPConv`, a dense one
            (:obj:`'dense'`, :obj:`'ragged'`, :obj:`'factored'`) on
            :class:`~lamp_geometric.nn.DenseLaMPConv`; layers of the other
            kind keep the automatic choice, and
            :class:`~lamp_geometric.nn.LaMP` (``path='auto'``) builds layers
            of the forced kind.  A layer that cannot compute a call with the
            forced backend (the edge backend with a hook registered, ragged
            attention with an adjacency, factored attention within a sample,
            ...) runs the plain backend of its kind, :obj:`'segment'` or
            :obj:`'dense'`. (default: :obj:`'auto'`)
        dense_thresholds (dict, optional): Label graphs at least this dense
            (edges / :math:`L^2`, self loops included) run on the dense
            layer in :class:`~lamp_geometric.nn.LaMP` (``path='auto'``),
            by attention head dimension :math:`d / K`.  Measured by
            ``benchmarks/density/`` (see ``benchmarks/README.md``; one
            label-to-label layer, B=32, L=256 and 983): the dense layer's
            cost per label pair depends little on the head dimension, the
            sparse layer's cost per edge grows with it.  With 128 (d=512,
            4 heads) both train equally fast at 3-4% density, with 16
            (d=64, 4 heads) at about 10-15%; in inference (no attention
            dropout, fused attention kernel) the dense layer wins from lower
            densities.  (default: :obj:`{16: 0.10, 128: 0.03}`)
        dense_threshold (float, optional): One density threshold for every
            head dimension, in place of :obj:`dense_thresholds`.
            (default: :obj:`None`)
        factored_max_cost (float, optional): Bipartite attention over few
            sources (:math:`S` much smaller than the :math:`L` destinations
            and than :math:`d`, e.g. the 983 labels of a Delicious document
            attending over its 20 words) is computed in factored form
            (:func:`~lamp_geometric.nn.attention.factored_message`) when its
            counted multiply-adds
            (:func:`~lamp_geometric.nn.attention.factored_costs`) are at
            most this fraction of the plain backend's: products of inner
            size :math:`H S` run at a lower rate than the :math:`d \times d`
            projections they replace, and ``benchmarks/layers/factored.py``
            finds the factored layer slower from a counted ratio of about 1.
            ``0`` switches it off. (default: :obj:`0.8`)
        ragged_max_fill (float, optional): On the CPU, attention over padded
            sources of very different sizes (a batch of documents of 3 and
            of 300 words) is computed per group of samples of similar size,
            each group trimmed to its own largest sample
            (:func:`~lamp_geometric.nn.attention.ragged_attention`), when
            the real sources fill less than this fraction of the padded
            :obj:`[B, S]` (measured by ``benchmarks/train_step/ragged.py``;
            other devices keep the padded backend, whose fused kernels were
            not measured against it) ... (default: :obj:`0.5`)
        ragged_min_weights (int, optional): ... and the padded attention has
            at least this many weights :obj:`B * H * L * S` (below, one call
            on the padded tensors is cheaper than a loop over groups).
            (default: :obj:`2**20`)
        ragged_group_fill (float, optional): A group of
            :func:`~lamp_geometric.nn.attention.ragged_groups` grows while
            its real sources fill at least this fraction of its own padded
            size. (default: :obj:`0.8`)
        attention_chunk_bytes (int, optional): With attention dropout
            (training), the dense attention weights :obj:`[B, H, L, S]` are
            computed in chunks of at most this many bytes (counted as
            float32): whole samples at a time, or blocks of destination rows
            of one sample when a sample alone is larger.  Memory then stays
            :math:`O(\text{chunk})` plus a boolean dropout mask (16-bit
            inputs: the weights, see :obj:`saved_weights_max_itemsize`),
            instead of several :obj:`[B, H, L, S]` tensors.
            (default: :obj:`32 * 2**20`)
        saved_weights_max_itemsize (int, optional): For inputs of at most
            this many bytes per element (bfloat16 and float16, e.g. under
            autocast), dense attention with dropout keeps the attention
            weights :obj:`[B, H, L, S]` for the backward pass (two bytes per
            weight) instead of recomputing them from the boolean dropout
            mask (one byte per weight): the bfloat16 training step with
            :math:`L = 983` labels of ``benchmarks/train_step/`` then takes
            5.7 instead of 6.2 s, with 0.24 GB more allocated.  Wider inputs
            keep the mask (a quarter of the memory of float32 weights),
            unless :obj:`saved_weights_max_bytes` allows their weights.
            (default: :obj:`2`)
        saved_weights_max_bytes (int, optional): Wider inputs (float32)
            also keep their attention weights, in place of the mask, when
            all the weights :obj:`[B, H, L, S]` of the call take at most
            this many bytes: the backward pass then does not recompute the
            scores and the softmax (measured by
            ``benchmarks/throughput/``).  The label-to-label attention of a
            BibTeX batch (:math:`32 \times 4 \times 159^2`, 13 MB) keeps
            its weights; at Delicious' 983 labels (0.5 GB of weights) the
            mask is kept.  :obj:`0` always keeps the mask.
            (default: :obj:`64 * 2**20`)
        edge_chunk_elements (int, optional): Elements of one gathered
            :obj:`[chunk, H, D]` buffer of the edge backend (4 MiB in
            float32). (default: :obj:`2**20`)
    """
    backend: str = 'auto'
    dense_thresholds: Dict[int, float] = field(
        default_factory=_measured_dense_thresholds)
    dense_threshold: Optional[float] = None
    factored_max_cost: float = 0.8
    ragged_max_fill: float = 0.5
    ragged_min_weights: int = 2**20
    ragged_group_fill: float = 0.8
    attention_chunk_bytes: int = 32 * 2**20
    saved_weights_max_itemsize: int = 2
    saved_weights_max_bytes: int = 64 * 2**20
    edge_chunk_elements: int = 2**20

    def __post_init__(self) -> None:
        if self.backend != 'auto' and self.backend not in BACKENDS:
            raise ValueError(f"'backend' must be 'auto' or one of "
                             f"{BACKENDS} (got '{self.backend}')")
        if not self.dense_thresholds:
            raise ValueError("'dense_thresholds' must not be empty")

    # The choices ############################################################

    def dense_threshold_for(self, head_channels: int) -> float:
        r"""The density from which :class:`~lamp_geometric.nn.LaMP`
        (``path='auto'``) takes the dense label-to-label layer for heads of
        :obj:`head_channels` channels: :obj:`dense_threshold` if set, else
        :obj:`dense_thresholds` interpolated linearly in :math:`\log`
        (head dimension) and :math:`\log` (density) between the measured
        head dimensions and constant beyond them."""
        if self.dense_threshold is not None:
            return self.dense_threshold
        table = self.dense_thresholds
        dims = sorted(table)
        if head_channels <= dims[0]:
            return table[dims[0]]
        if head_channels >= dims[-1]:
            return table[dims[-1]]
        for lo, hi in zip(dims[:-1], dims[1:]):
            if lo <= head_channels <= hi:
                w = math.log(head_channels / lo) / math.log(hi / lo)
                return math.exp((1 - w) * math.log(table[lo]) +
                                w * math.log(table[hi]))
        raise AssertionError('unreachable')

    def dense_graph(self, density: Optional[float],
                    head_channels: int) -> bool:
        r"""Whether :class:`~lamp_geometric.nn.LaMP` runs a graph of the
        given :obj:`density` (:obj:`None`: complete; :obj:`0`: edgeless)
        on the dense layer: a forced backend decides by its kind, else
        complete graphs and graphs at least :meth:`dense_threshold_for`
        dense do (an edgeless one never)."""
        if self.backend in SPARSE_BACKENDS:
            return False
        if self.backend in DENSE_BACKENDS or density is None:
            return True
        return 0.0 < density and (
            density >= self.dense_threshold_for(head_channels))

    def edge(self) -> bool:
        r"""Whether the edge backend computes a sparse layer call that it
        can compute, rather than the segment backend: unless the segment
        backend is forced."""
        return self.backend != 'segment'

    def ragged(self, adj: Optional[Tensor], mask: Optional[Tensor],
               heads: int, num_dst: int) -> bool:
        r"""Whether the ragged backend computes a dense layer call: with a
        source mask alone whose real sources form a prefix of every row (as
        :func:`~torch_geometric.utils.to_dense_batch` pads) and, unless
        forced, on the CPU with little fill (:obj:`ragged_max_fill`) and a
        large attention (:obj:`ragged_min_weights`)."""
        if self.backend in ('dense', 'factored'):
            return False
        if adj is not None or mask is None or mask.numel() == 0:
            return False
        if self.backend != 'ragged':
            B, S = mask.shape
            if (mask.device.type != 'cpu'
                    or B * heads * num_dst * S < self.ragged_min_weights
                    or float(mask.float().mean()) >= self.ragged_max_fill):
                return False
        # A prefix mask: no real source after a padding slot.
        return not bool((mask[:, 1:] & ~mask[:, :-1]).any())

    def save_weights(self, shape: Tuple[int, ...], itemsize: int) -> bool:
        r"""Whether dense attention with dropout keeps the attention
        weights of :obj:`shape` (:obj:`[B, H, L, S]`, elements of
        :obj:`itemsize` bytes) for its backward pass rather than the
        boolean dropout mask (see :obj:`saved_weights_max_itemsize` and
        :obj:`saved_weights_max_bytes`)."""
        if itemsize <= self.saved_weights_max_itemsize:
            return True
        return math.prod(shape) * itemsize <= self.saved_weights_max_bytes

    def factored(self, costs: Callable[[], Tuple[float, float]]) -> bool:
        r"""Whether the factored backend computes a bipartite dense layer
        call: forced, or when the multiply-adds of the factored message are
        at most :obj:`factored_max_cost` of the plain one's, as
        :obj:`costs()` returns them :obj:`(plain, factored)`
        (:func:`~lamp_geometric.nn.attention.factored_costs`; only called
        when needed)."""
        if self.backend == 'factored':
            return True
        if self.backend in ('dense', 'ragged') or self.factored_max_cost <= 0:
            return False
        plain, factored = costs()
        return factored <= self.factored_max_cost * plain

    # The context manager ####################################################

    def __enter__(self) -> 'AttentionPolicy':
        stack: List[Any] = _tokens.__dict__.setdefault('stack', [])
        stack.append(_current.set(self))
        return self

    def __exit__(self, *exc: Any) -> None:
        _current.reset(_tokens.stack.pop())


_current: contextvars.ContextVar = contextvars.ContextVar(
    'lamp_attention_policy', default=AttentionPolicy())
_tokens = threading.local()


def get_policy() -> AttentionPolicy:
    r"""The current :class:`AttentionPolicy`."""
    return _current.get()


def attention_policy(**changes: Any) -> AttentionPolicy:
    r"""The current policy with the given fields changed, to use as a
    context manager: ``with attention_policy(backend='segment'): ...``."""
    return replace(get_policy(), **changes)
