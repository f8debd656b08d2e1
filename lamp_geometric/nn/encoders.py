r"""Feature encoders: map a PyG :class:`~torch_geometric.data.Batch` to the
feature-node embeddings :math:`\{\mathbf{z}_1, \dots, \mathbf{z}_S\}` of
every sample.

Every encoder is a :class:`torch.nn.Module` whose :obj:`forward(data)`
returns a tensor :obj:`[num_feature_nodes, hidden_channels]` aligned with
:obj:`data.batch`; :class:`~lamp_geometric.nn.LaMP` accepts any module with
that contract (for example a stack of PyG :class:`GINConv` layers wrapped in
such a module).

* :class:`AtomEmbedding` -- the paper's "Emb" input for molecules: one
  learned embedding per atom (sum of the embeddings of its categorical
  RDKit features, as produced by :func:`torch_geometric.utils.from_smiles`).
* :class:`FMPEncoder` -- the paper's "FMP" input (Eq. 22-23): an embedding
  followed by :class:`~lamp_geometric.nn.LaMPConv` layers over the known
  feature graph :math:`G_{xx}` (for molecules the bond graph with self loops)
  or over a fully connected :math:`G_{xx}`.
* :class:`GINEncoder` -- a PyG :class:`~torch_geometric.nn.conv.GINEConv`
  stack over the bond graph, to show LaMP composed after a standard GNN.
* :class:`FingerprintNodes` -- wraps any of them and appends the set bits of
  each molecule's Morgan fingerprint as extra feature nodes (needs the
  :class:`~lamp_geometric.data.AddMorganBits` transform).  It returns the
  pair :obj:`(z, batch)`, since it adds nodes that :obj:`data.batch` does
  not know of; :class:`~lamp_geometric.nn.LaMP` accepts both forms.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import BatchNorm1d, Embedding, ModuleList, Sequential, ReLU

from torch_geometric.data import Batch
from torch_geometric.nn import GINEConv
from torch_geometric.nn.dense.linear import Linear
from torch_geometric.utils import add_self_loops, remove_self_loops
from torch_geometric.utils import to_dense_batch
from torch_geometric.utils.smiles import e_map, x_map

from lamp_geometric.nn.conv import DenseLaMPConv, LaMPConv
from lamp_geometric.nn.dropout import dropout

#: Number of categories of each of the 9 atom features of ``from_smiles``.
ATOM_FEATURE_SIZES: List[int] = [len(v) for v in x_map.values()]
#: Number of categories of each of the 3 bond features of ``from_smiles``.
BOND_FEATURE_SIZES: List[int] = [len(v) for v in e_map.values()]


class CategoricalEmbedding(torch.nn.Module):
    r"""Embeds rows of categorical features as the sum of one learned
    embedding per column.

    Args:
        hidden_channels (int): Size of the embeddings.
        num_categories (Sequence[int]): Number of categories of each column.
    """
    def __init__(self, hidden_channels: int, num_categories: Sequence[int]):
        super().__init__()
        self.hidden_channels = hidden_channels
        self.num_categories = list(num_categories)
        self.embeddings = ModuleList(
            [Embedding(n, hidden_channels) for n in self.num_categories])
        self.reset_parameters()

    def reset_parameters(self):
        for emb in self.embeddings:
            torch.nn.init.xavier_uniform_(emb.weight)

    def forward(self, x: Tensor) -> Tensor:
        r"""Embeds :obj:`x` of shape :obj:`[N, num_columns]` (long)."""
        if x.dim() == 1:
            x = x.unsqueeze(-1)
        if x.size(-1) != len(self.embeddings):
            raise ValueError(f"Expected {len(self.embeddings)} categorical "
                             f"columns (got {x.size(-1)})")
        out = x.new_zeros((x.size(0), self.hidden_channels), dtype=torch.float)
        out = out.to(self.embeddings[0].weight.dtype)
        for i, emb in enumerate(self.embeddings):
            out = out + emb(x[:, i])
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.hidden_channels}, '
                f'num_categories={self.num_categories})')


class AtomEmbedding(torch.nn.Module):
    r"""The "Emb" encoder for molecules: each atom is a feature node whose
    embedding :math:`\mathbf{z}_j = \mathbf{W}^x x_j` is the sum of the
    embeddings of its 9 categorical RDKit features (atomic number, chirality,
    degree, formal charge, number of hydrogens, radical electrons,
    hybridization, aromaticity, ring membership).

    Args:
        hidden_channels (int): Size of the embeddings :math:`d`.
    """
    def __init__(self, hidden_channels: int):
        super().__init__()
        self.hidden_channels = hidden_channels
        self.atom = CategoricalEmbedding(hidden_channels, ATOM_FEATURE_SIZES)

    def reset_parameters(self):
        self.atom.reset_parameters()

    def forward(self, data: Batch) -> Tensor:
        return self.atom(data.x)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.hidden_channels})'


class FMPEncoder(torch.nn.Module):
    r"""Feature message passing (FMP, paper Eq. 22-23): the feature
    embeddings are updated by :obj:`num_layers` LaMP attention blocks over the
    feature graph :math:`G_{xx}` before they are passed to the labels:

    .. math::
        \mathbf{m}_i^t &= \mathbf{z}_i^t + \sum_{j \in \mathcal{N}(i)}
        M_{\mathrm{atn}}(\mathbf{z}_i^t, \mathbf{z}_j^t;
        \mathbf{W}_{xx})

        \mathbf{z}_i^{t+1} &= \mathbf{m}_i^t + U_{\mathrm{mlp}}
        (\mathbf{m}_i^t; \mathbf{W}_{xx})

    Args:
        embedding (torch.nn.Module): Maps a batch to the initial feature
            embeddings :math:`\mathbf{z}^0` (e.g. :class:`AtomEmbedding`).
        hidden_channels (int): Size :math:`d` of the embeddings.
        num_layers (int, optional): Number of FMP layers.
            (default: :obj:`2`)
        heads (int, optional): Number of attention heads. (default: :obj:`4`)
        dropout (float, optional): Dropout probability. (default: :obj:`0.`)
        graph (str, optional): :obj:`"edge_index"` to pass messages over
            :obj:`data.edge_index` (with self loops added, as every node also
            attends to itself) -- the bond graph for molecules -- or
            :obj:`"complete"` for a fully connected :math:`G_{xx}` within each
            sample (dense path). (default: :obj:`"edge_index"`)
    """
    def __init__(
        self,
        embedding: torch.nn.Module,
        hidden_channels: int,
        num_layers: int = 2,
        heads: int = 4,
        dropout: float = 0.,
        graph: str = 'edge_index',
    ):
        super().__init__()
        if graph not in ('edge_index', 'complete'):
            raise ValueError(f"'graph' must be 'edge_index' or 'complete' "
                             f"(got '{graph}')")
        self.embedding = embedding
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.heads = heads
        self.dropout = dropout
        self.graph = graph
        conv_cls = LaMPConv if graph == 'edge_index' else DenseLaMPConv
        self.convs = ModuleList([
            conv_cls(hidden_channels, hidden_channels, heads=heads,
                     dropout=dropout) for _ in range(num_layers)
        ])

    def reset_parameters(self):
        if hasattr(self.embedding, 'reset_parameters'):
            self.embedding.reset_parameters()
        for conv in self.convs:
            conv.reset_parameters()

    def forward(self, data: Batch) -> Tensor:
        z = self.embedding(data)
        if self.graph == 'edge_index':
            edge_index, _ = remove_self_loops(data.edge_index)
            edge_index, _ = add_self_loops(edge_index, num_nodes=z.size(0))
            for conv in self.convs:
                z = conv(z, edge_index)
            return z
        batch = _batch_vector(data, z)
        z_pad, mask = to_dense_batch(z, batch, batch_size=_num_samples(data))
        for conv in self.convs:
            z_pad = conv(z_pad, mask=mask)
        return z_pad[mask]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.hidden_channels}, '
                f'num_layers={self.num_layers}, heads={self.heads}, '
                f'graph={self.graph})')


class GINEncoder(torch.nn.Module):
    r"""A stack of PyG :class:`~torch_geometric.nn.conv.GINEConv` layers over
    the bond graph (bond features embedded), with batch normalisation and
    ReLU, returning one embedding per atom.  It shows a standard PyG GNN as
    the feature encoder in front of LaMP's label message passing.

    Args:
        hidden_channels (int): Size of the embeddings.
        num_layers (int, optional): Number of GIN layers. (default: :obj:`3`)
        dropout (float, optional): Dropout after each layer.
            (default: :obj:`0.`)
    """
    def __init__(self, hidden_channels: int, num_layers: int = 3,
                 dropout: float = 0.):
        super().__init__()
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.dropout = dropout
        self.atom = CategoricalEmbedding(hidden_channels, ATOM_FEATURE_SIZES)
        self.bond = CategoricalEmbedding(hidden_channels, BOND_FEATURE_SIZES)
        self.convs = ModuleList()
        self.norms = ModuleList()
        for _ in range(num_layers):
            mlp = Sequential(
                Linear(hidden_channels, hidden_channels),
                ReLU(),
                Linear(hidden_channels, hidden_channels),
            )
            self.convs.append(GINEConv(mlp, train_eps=True))
            self.norms.append(BatchNorm1d(hidden_channels))

    def reset_parameters(self):
        self.atom.reset_parameters()
        self.bond.reset_parameters()
        for conv, norm in zip(self.convs, self.norms):
            conv.reset_parameters()
            norm.reset_parameters()

    def forward(self, data: Batch) -> Tensor:
        x = self.atom(data.x)
        edge_attr = self.bond(data.edge_attr)
        for conv, norm in zip(self.convs, self.norms):
            x = conv(x, data.edge_index, edge_attr)
            if not (self.training and x.size(0) == 1):
                x = norm(x)  # batch statistics need two or more atoms
            x = F.relu(x)
            x = dropout(x, self.dropout, self.training)
        return x

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.hidden_channels}, '
                f'num_layers={self.num_layers})')


class FingerprintNodes(torch.nn.Module):
    r"""Feature nodes = the nodes of :obj:`encoder` (e.g. the atoms after
    FMP) plus one node per set bit of the molecule's Morgan fingerprint,
    embedded by a learned table of :obj:`n_bits` rows:

    .. math::
        \mathcal{Z}_i = \{\mathbf{z}_a : a \in \text{atoms}(i)\} \cup
        \{\mathbf{E}_b : b \in \text{bits}(i)\}

    LaMP is agnostic to what its feature nodes are, so the labels attend
    over atoms and substructure bits alike.  :obj:`data` must carry
    :obj:`fp_bits` and :obj:`num_fp_bits`
    (:class:`~lamp_geometric.data.AddMorganBits`).

    Args:
        encoder (torch.nn.Module): Encoder of the atoms; returns
            :obj:`[num_atoms, hidden_channels]` aligned with :obj:`data.batch`.
        hidden_channels (int): Embedding size :math:`d`.
        n_bits (int, optional): Fingerprint length. (default: :obj:`2048`)

    Returns:
        (torch.Tensor, torch.Tensor): the node embeddings and their sample
        index, sorted by sample (atoms of a sample first, then its bits).
    """
    def __init__(self, encoder: torch.nn.Module, hidden_channels: int,
                 n_bits: int = 2048):
        super().__init__()
        self.encoder = encoder
        self.hidden_channels = hidden_channels
        self.n_bits = n_bits
        self.bit_emb = Embedding(n_bits, hidden_channels)
        self.reset_parameters()

    def reset_parameters(self):
        if hasattr(self.encoder, 'reset_parameters'):
            self.encoder.reset_parameters()
        self.bit_emb.reset_parameters()

    def forward(self, data: Batch) -> Tuple[Tensor, Tensor]:
        bits = getattr(data, 'fp_bits', None)
        counts = getattr(data, 'num_fp_bits', None)
        if bits is None or counts is None:
            raise ValueError("'FingerprintNodes' needs 'data.fp_bits' and "
                             "'data.num_fp_bits' (use the 'AddMorganBits' "
                             "transform)")
        if bits.numel() and (int(bits.min()) < 0
                             or int(bits.max()) >= self.n_bits):
            raise ValueError(f"Fingerprint bit out of range [0, "
                             f"{self.n_bits}) (got {int(bits.min())}.."
                             f"{int(bits.max())}); does 'n_bits' match the "
                             f"transform's?")
        z_atoms = self.encoder(data)
        batch_atoms = _batch_vector(data, z_atoms)
        num_samples = _num_samples(data)
        if counts.numel() != num_samples or int(counts.sum()) != bits.numel():
            raise ValueError(f"'num_fp_bits' ({counts.numel()} entries, sum "
                             f"{int(counts.sum())}) does not match "
                             f"{num_samples} samples with {bits.numel()} "
                             f"bits")
        batch_bits = torch.repeat_interleave(
            torch.arange(num_samples, device=bits.device), counts)
        z = torch.cat([z_atoms, self.bit_emb(bits).to(z_atoms.dtype)])
        batch = torch.cat([batch_atoms, batch_bits])
        order = torch.sort(batch, stable=True).indices
        return z[order], batch[order]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.encoder}, '
                f'n_bits={self.n_bits})')


def encode(encoder: torch.nn.Module, data: Batch) -> Tuple[Tensor, Tensor,
                                                           int]:
    r"""Runs a feature encoder and returns :obj:`(z, batch, num_samples)`.

    The encoder returns either the node embeddings aligned with
    :obj:`data.batch` or a pair :obj:`(z, batch)` when it adds nodes of its
    own (:class:`FingerprintNodes`).
    """
    out = encoder(data)
    num_samples = (1 if getattr(data, 'batch', None) is None else
                   _num_samples(data))
    if isinstance(out, tuple):
        z, batch = out
    else:
        z, batch = out, _batch_vector(data, out)
    return z, batch, num_samples


def _num_samples(data: Batch) -> int:
    num_graphs = getattr(data, 'num_graphs', None)
    return int(num_graphs) if num_graphs is not None else 1


def _batch_vector(data: Batch, x: Tensor) -> Tensor:
    batch: Optional[Tensor] = getattr(data, 'batch', None)
    if batch is None:
        return x.new_zeros(x.size(0), dtype=torch.long)
    return batch


#: Names accepted by :func:`molecule_encoder`.
MOLECULE_ENCODERS = ('emb', 'fmp', 'gin')


def molecule_encoder(name: str, hidden_channels: int, heads: int = 4,
                     dropout: float = 0.,
                     num_layers: int = 2) -> torch.nn.Module:
    r"""Builds a feature encoder for molecules featurised by
    :func:`torch_geometric.utils.from_smiles`.

    Args:
        name (str): :obj:`'emb'` (the paper's "Emb": atom embeddings only),
            :obj:`'fmp'` (the paper's "FMP": atom embeddings then
            :obj:`num_layers` LaMP blocks over the bond graph with self
            loops) or :obj:`'gin'` (a PyG GINE stack over the bond graph).
        hidden_channels (int): Embedding size :math:`d`.
        heads (int, optional): Attention heads of FMP. (default: :obj:`4`)
        dropout (float, optional): Dropout. (default: :obj:`0.`)
        num_layers (int, optional): Layers of FMP or GIN. (default: :obj:`2`)
    """
    if name == 'emb':
        return AtomEmbedding(hidden_channels)
    if name == 'fmp':
        return FMPEncoder(AtomEmbedding(hidden_channels), hidden_channels,
                          num_layers=num_layers, heads=heads, dropout=dropout,
                          graph='edge_index')
    if name == 'gin':
        return GINEncoder(hidden_channels, num_layers=num_layers,
                          dropout=dropout)
    raise ValueError(f"Unknown molecule encoder '{name}' (choose from "
                     f"{MOLECULE_ENCODERS})")
