r"""The label graph :math:`G_{yy}` of LaMP as one object.

A :class:`LabelGraph` holds what LaMP's label-to-label message passing needs
to know about :math:`G_{yy}`: its kind (the paper's LaMP\ :sub:`el`,
LaMP\ :sub:`fc` or LaMP\ :sub:`pr`), the number of labels, its edges and its
density.  The builders of :mod:`lamp_geometric.graphs` make them
(:func:`~lamp_geometric.graphs.label_graph`,
:func:`~lamp_geometric.graphs.dataset_prior` with :obj:`as_graph=True`);
:class:`~lamp_geometric.nn.LaMP` takes one as its :obj:`label_graph`.

.. code-block:: python

    from lamp_geometric.graphs import co_occurrence, label_graph
    from lamp_geometric.nn import LaMP

    graph = label_graph('pr', 27, co_occurrence(y_train))
    model = LaMP(27, 128, encoder=encoder, label_graph=graph)
"""
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor

from torch_geometric.utils import coalesce, remove_self_loops

from lamp_geometric.nn.utils import validate_edge_index

__all__ = ['LabelGraph', 'LABEL_GRAPH_KINDS']

#: The kinds of label graph: edgeless, fully connected, a known prior.
LABEL_GRAPH_KINDS = ('el', 'fc', 'pr')

_NAMES = {'el': 'edgeless', 'fc': 'fully connected', 'pr': 'prior'}


@dataclass(frozen=True, eq=False)
class LabelGraph:
    r"""A label graph :math:`G_{yy}`: kind, edges and density.

    The edges are stored without self loops (LaMP adds one per label, since
    every label also attends to itself), coalesced, as :obj:`[2, E]`
    (source, destination) over labels :obj:`0..L-1`:

    * :obj:`'el'` -- no edge (each label only attends to itself),
    * :obj:`'fc'` -- every ordered pair of distinct labels,
    * :obj:`'pr'` -- the edges of a known prior (co-occurrence, a topic
      tree, protein-protein interactions, ...).

    Args:
        kind (str): One of :obj:`LABEL_GRAPH_KINDS`.
        num_labels (int): Number of labels :math:`L`.
        edge_index (torch.Tensor, optional): The prior's edges (only and
            required for :obj:`'pr'`); self loops and duplicates are
            dropped.
        name (str, optional): What the graph is, for reports (e.g.
            :obj:`'co-occurrence in the training split'`).
            (default: the kind in words)

    Raises:
        ValueError: On an unknown kind, a non-positive :obj:`num_labels`,
            edges given for :obj:`'el'` / :obj:`'fc'` or missing for
            :obj:`'pr'`, or an invalid :obj:`edge_index`.
    """
    kind: str
    num_labels: int
    edge_index: Optional[Tensor] = None
    name: str = ''

    def __post_init__(self) -> None:
        if self.kind not in LABEL_GRAPH_KINDS:
            raise ValueError(f"A label graph's kind must be one of "
                             f"{LABEL_GRAPH_KINDS} (got '{self.kind}')")
        L = self.num_labels
        if not isinstance(L, int) or L < 1:
            raise ValueError(f"'num_labels' must be a positive integer (got "
                             f"{L!r})")
        if self.kind == 'pr':
            if self.edge_index is None:
                raise ValueError("A prior label graph ('pr') needs its "
                                 "'edge_index'")
            ei = validate_edge_index(self.edge_index, L,
                                     allow_self_loops=True,
                                     name='edge_index')
            ei, _ = remove_self_loops(ei)
            ei = coalesce(ei, num_nodes=L)
        elif self.edge_index is not None:
            raise ValueError(f"'edge_index' is only given for a prior label "
                             f"graph ('pr'), not for '{self.kind}'")
        elif self.kind == 'el':
            ei = torch.empty(2, 0, dtype=torch.long)
        else:
            full = torch.ones(L, L, dtype=torch.bool)
            full.fill_diagonal_(False)
            ei = full.nonzero().t().flip(0).contiguous()
            ei = coalesce(ei, num_nodes=L)
        object.__setattr__(self, 'edge_index', ei)
        if not self.name:
            object.__setattr__(self, 'name', _NAMES[self.kind])

    @property
    def num_edges(self) -> int:
        r"""Edges between distinct labels."""
        assert self.edge_index is not None
        return int(self.edge_index.size(1))

    @property
    def density(self) -> float:
        r"""Edges between distinct labels divided by :math:`L(L - 1)`
        (:obj:`0` for edgeless, :obj:`1` for fully connected; :obj:`1` for
        a single label)."""
        L = self.num_labels
        return self.num_edges / (L * (L - 1)) if L > 1 else 1.0

    def with_self_loops(self) -> Tensor:
        r"""The edges LaMP attends over: these plus one self loop per label,
        coalesced."""
        assert self.edge_index is not None
        loops = torch.arange(self.num_labels,
                             device=self.edge_index.device).repeat(2, 1)
        ei = torch.cat([self.edge_index, loops], dim=1)
        return coalesce(ei, num_nodes=self.num_labels)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(kind='{self.kind}', "
                f"num_labels={self.num_labels}, edges={self.num_edges}, "
                f"density={self.density:.3f})")
