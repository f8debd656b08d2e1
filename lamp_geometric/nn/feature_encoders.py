r"""Feature encoders for non-molecule inputs: bag of words, text and dense
vectors, in the paper's two variants "Emb" and "FMP" (Sec. 3.1).

They read the sample layout of :mod:`lamp_geometric.data.multilabel`: each
sample's feature nodes carry an id in ``x`` (:obj:`[S]` or :obj:`[S, 1]`)
and, for vectors, a value in ``value`` (:obj:`[S]`).  Like every encoder of
:mod:`lamp_geometric.nn.encoders`, :obj:`forward(data)` returns the feature
node embeddings :obj:`[num_feature_nodes, hidden_channels]` aligned with
:obj:`data.batch`.

* :class:`TokenEmbedding` -- one learned embedding per feature id
  (:math:`\mathbf{z}_j = \mathbf{W}^x x_j`): each present word of a bag of
  words, or each token of a text; with :obj:`positional=True` plus the
  sinusoidal positional encoding of the token's position in its sample
  (paper Sec. 8.1, as in the Transformer).
* :class:`FeatureValueEmbedding` -- dense vectors: every feature is a node
  with embedding :math:`\mathbf{z}_j = \mathbf{e}_j + v_j \mathbf{a}_j`, a
  learned identity :math:`\mathbf{e}_j` of feature :math:`j` plus its value
  :math:`v_j` times a learned per-feature direction :math:`\mathbf{a}_j`.
  (Scaling the identity by the value alone, :math:`v_j \mathbf{e}_j`, would
  erase the identity of features whose value is 0 and flip it for negative
  values; this keeps both the identity and a linear response to the value.)
* :func:`feature_encoder` -- builds "Emb" (the embedding alone) or "FMP" (the
  embedding then 2 LaMP attention blocks over a fully connected
  :math:`G_{xx}` per sample, :class:`~lamp_geometric.nn.FMPEncoder` with
  :obj:`graph='complete'`; for molecules over the bond graph) for any input
  type.
"""
import math
from typing import Optional

import torch
from torch import Tensor
from torch.nn import Embedding, Parameter

from torch_geometric.data import Batch

from lamp_geometric.nn.encoders import FMPEncoder, molecule_encoder

__all__ = [
    'TokenEmbedding',
    'FeatureValueEmbedding',
    'sinusoidal_positional_encoding',
    'positions_in_sample',
    'feature_encoder',
    'INPUT_TYPES',
    'FEATURE_ENCODERS',
]

#: Input types :func:`feature_encoder` knows.
INPUT_TYPES = ('bow', 'sequence', 'vector', 'molecule')
#: Encoder variants of :func:`feature_encoder` (the paper's Emb and FMP).
FEATURE_ENCODERS = ('emb', 'fmp')


def positions_in_sample(data: Batch, num_nodes: int,
                        device: Optional[torch.device] = None) -> Tensor:
    r"""The position of every feature node within its sample
    (:obj:`0, 1, ..., S_b - 1` for sample :obj:`b`), from :obj:`data.ptr`,
    else from :obj:`data.batch` (nodes of a sample are contiguous), else
    :obj:`0..num_nodes-1` for a single sample."""
    arange = torch.arange(num_nodes, device=device)
    batch: Optional[Tensor] = getattr(data, 'batch', None)
    if batch is None:
        return arange
    ptr: Optional[Tensor] = getattr(data, 'ptr', None)
    if ptr is None:
        num_samples = int(batch.max()) + 1 if batch.numel() else 0
        counts = torch.bincount(batch, minlength=num_samples)
        ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
    return arange - ptr.to(arange.device)[batch]


def sinusoidal_positional_encoding(positions: Tensor, channels: int,
                                   base: float = 10000.) -> Tensor:
    r"""The Transformer's positional encoding (Vaswani et al., 2017):

    .. math::
        PE_{p, 2i} = \sin(p / b^{2i/d}), \qquad
        PE_{p, 2i+1} = \cos(p / b^{2i/d})

    Args:
        positions (torch.Tensor): Positions :obj:`[N]` (any integers).
        channels (int): :math:`d` (odd sizes drop the last cosine).
        base (float, optional): :math:`b`. (default: :obj:`10000.`)

    Returns:
        torch.Tensor: :obj:`[N, channels]` float encodings in
        :math:`[-1, 1]`.
    """
    half = (channels + 1) // 2
    freq = torch.exp(torch.arange(half, device=positions.device,
                                  dtype=torch.float) *
                     (-2.0 * math.log(base) / channels))
    angle = positions.float().unsqueeze(-1) * freq
    pe = torch.stack([angle.sin(), angle.cos()], dim=-1).flatten(-2)
    return pe[:, :channels]


def _ids(data: Batch) -> Tensor:
    x = data.x
    if x.dim() == 2:
        if x.size(-1) != 1:
            raise ValueError(f"Expected feature ids 'x' of shape [S] or "
                             f"[S, 1] (got {list(x.shape)})")
        x = x.view(-1)
    if x.is_floating_point():
        raise ValueError("Feature ids 'x' must be integers (got "
                         f"{x.dtype})")
    return x.long()


class TokenEmbedding(torch.nn.Module):
    r"""The "Emb" encoder of bag-of-words and text inputs: every feature
    node gets the learned embedding of its id,
    :math:`\mathbf{z}_j = \mathbf{W}^x x_j`.

    With :obj:`positional=True` (text, paper Sec. 8.1) the sinusoidal
    encoding of the token's position within its sample is added
    (:func:`sinusoidal_positional_encoding`; positions from
    :obj:`data.ptr`). With :obj:`use_value=True` the embedding is multiplied
    by the node's :obj:`data.value` (e.g. tf-idf weights).

    Embeddings are initialised from :math:`\mathcal{N}(0, 1)` (PyTorch's
    default, as in the original implementation), so token and positional
    terms have comparable scales.

    Args:
        num_tokens (int): Size of the vocabulary (ids :obj:`0..num_tokens-1`).
        hidden_channels (int): Embedding size :math:`d`.
        positional (bool, optional): Add positional encodings.
            (default: :obj:`False`)
        use_value (bool, optional): Scale by :obj:`data.value`.
            (default: :obj:`False`)
        padding_idx (int, optional): An id whose embedding stays zero.
            (default: :obj:`None`)
    """
    def __init__(self, num_tokens: int, hidden_channels: int,
                 positional: bool = False, use_value: bool = False,
                 padding_idx: Optional[int] = None):
        super().__init__()
        if num_tokens < 1:
            raise ValueError(f"'num_tokens' must be positive (got "
                             f"{num_tokens})")
        self.num_tokens = num_tokens
        self.hidden_channels = hidden_channels
        self.positional = positional
        self.use_value = use_value
        self.padding_idx = padding_idx
        self.embedding = Embedding(num_tokens, hidden_channels,
                                   padding_idx=padding_idx)
        self.reset_parameters()

    def reset_parameters(self):
        self.embedding.reset_parameters()

    def forward(self, data: Batch) -> Tensor:
        ids = _ids(data)
        if ids.numel() and (int(ids.min()) < 0
                            or int(ids.max()) >= self.num_tokens):
            raise ValueError(f"Feature ids must lie in [0, "
                             f"{self.num_tokens - 1}] (got ids in "
                             f"[{int(ids.min())}, {int(ids.max())}])")
        z = self.embedding(ids)
        if self.use_value:
            value = getattr(data, 'value', None)
            if value is None:
                raise ValueError("use_value=True needs 'data.value'")
            z = z * value.view(-1, 1).to(z.dtype)
        if self.positional:
            pos = positions_in_sample(data, ids.numel(), ids.device)
            z = z + sinusoidal_positional_encoding(
                pos, self.hidden_channels).to(z.dtype)
        return z

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.num_tokens}, '
                f'{self.hidden_channels}, positional={self.positional})')


class FeatureValueEmbedding(torch.nn.Module):
    r"""The "Emb" encoder of dense vectors: every feature is a node whose
    embedding combines the feature's identity and its value,

    .. math::
        \mathbf{z}_j = \mathbf{e}_{x_j} + v_j \, \mathbf{a}_{x_j},

    with learned :math:`\mathbf{e}, \mathbf{a} \in
    \mathbb{R}^{F \times d}` (:math:`F` features), feature index
    :math:`x_j` in :obj:`data.x` and value :math:`v_j` in
    :obj:`data.value`.  Values are best standardised
    (:class:`~lamp_geometric.data.TFPPI` does so with training
    statistics).

    Args:
        num_features (int): Number of features :math:`F`.
        hidden_channels (int): Embedding size :math:`d`.
    """
    def __init__(self, num_features: int, hidden_channels: int):
        super().__init__()
        if num_features < 1:
            raise ValueError(f"'num_features' must be positive (got "
                             f"{num_features})")
        self.num_features = num_features
        self.hidden_channels = hidden_channels
        self.identity = Embedding(num_features, hidden_channels)
        self.direction = Parameter(torch.empty(num_features,
                                               hidden_channels))
        self.reset_parameters()

    def reset_parameters(self):
        self.identity.reset_parameters()
        torch.nn.init.normal_(self.direction)

    def forward(self, data: Batch) -> Tensor:
        ids = _ids(data)
        value = getattr(data, 'value', None)
        if value is None:
            raise ValueError(f"{self.__class__.__name__} needs the feature "
                             f"values 'data.value'")
        if value.shape != ids.shape:
            raise ValueError(f"'value' must have shape {list(ids.shape)} "
                             f"(got {list(value.shape)})")
        if ids.numel() and (int(ids.min()) < 0
                            or int(ids.max()) >= self.num_features):
            raise ValueError(f"Feature ids must lie in [0, "
                             f"{self.num_features - 1}]")
        v = value.to(self.direction.dtype).unsqueeze(-1)
        return self.identity(ids) + v * self.direction[ids]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.num_features}, '
                f'{self.hidden_channels})')


def feature_encoder(
    name: str,
    input_type: str,
    hidden_channels: int,
    num_features: Optional[int] = None,
    heads: int = 4,
    dropout: float = 0.,
    num_layers: int = 2,
) -> torch.nn.Module:
    r"""Builds the paper's "Emb" or "FMP" input encoder for an input type.

    ========== ================================ ===========================
    input_type "emb"                            "fmp" (:obj:`num_layers`)
    ========== ================================ ===========================
    bow        :class:`TokenEmbedding`           + LaMP blocks, complete
                                                G_xx
    sequence   :class:`TokenEmbedding` +         + LaMP blocks, complete
               positional encodings             G_xx
    vector     :class:`FeatureValueEmbedding`    + LaMP blocks, complete
                                                G_xx
    molecule   atom embeddings                  + LaMP blocks, bond graph
    ========== ================================ ===========================

    Args:
        name (str): :obj:`'emb'` or :obj:`'fmp'`.
        input_type (str): One of :obj:`INPUT_TYPES`.
        hidden_channels (int): Embedding size :math:`d`.
        num_features (int, optional): Vocabulary / feature count (all but
            molecules).
        heads (int, optional): Attention heads of FMP. (default: :obj:`4`)
        dropout (float, optional): Dropout of FMP. (default: :obj:`0.`)
        num_layers (int, optional): FMP layers (the paper uses 2).
            (default: :obj:`2`)
    """
    if name not in FEATURE_ENCODERS:
        raise ValueError(f"Unknown feature encoder '{name}' (choose from "
                         f"{FEATURE_ENCODERS})")
    if input_type not in INPUT_TYPES:
        raise ValueError(f"Unknown input type '{input_type}' (choose from "
                         f"{INPUT_TYPES})")
    if input_type == 'molecule':
        return molecule_encoder(name, hidden_channels, heads=heads,
                                dropout=dropout, num_layers=num_layers)
    if num_features is None:
        raise ValueError(f"Input type '{input_type}' needs 'num_features'")
    if input_type == 'vector':
        emb: torch.nn.Module = FeatureValueEmbedding(num_features,
                                                     hidden_channels)
    else:
        emb = TokenEmbedding(num_features, hidden_channels,
                             positional=input_type == 'sequence')
    if name == 'emb':
        return emb
    return FMPEncoder(emb, hidden_channels, num_layers=num_layers,
                      heads=heads, dropout=dropout, graph='complete')
