r"""Label graphs :math:`G_{yy}` for LaMP's label-to-label message passing.

Every builder returns an :obj:`edge_index` of shape :obj:`[2, E]` (row 0 the
source label, row 1 the destination label) over label indices
:obj:`0..L-1`.  Undirected relations are returned with both directions.
Self loops are left to the model (:class:`~lamp_geometric.nn.LaMP` adds them,
since every label also attends to itself) unless a builder is asked for them.

* :func:`label_graph` -- a :class:`~lamp_geometric.nn.LabelGraph` (kind,
  edges, density) for :class:`~lamp_geometric.nn.LaMP`, from a kind and,
  for a prior, the edges of any builder below,
* :func:`edgeless`, :func:`fully_connected` -- LaMP\ :sub:`el` and
  LaMP\ :sub:`fc`,
* :func:`co_occurrence` -- the prior of LaMP\ :sub:`pr` for sets without a
  known graph, from the *training* labels only,
* :func:`tree` -- a known hierarchy (the RCV1 topic tree: a taxonomy file,
  :obj:`(parent, child)` pairs or a :class:`networkx.DiGraph`),
* :func:`ppi` -- known protein-protein interactions (a STRING-style table),
* :func:`dataset_prior` -- the prior of a data set of
  :mod:`lamp_geometric.data` (its known graph, or co-occurrence),
* :func:`to_networkx` / :func:`from_networkx` -- conversions by label name,
* :func:`density`.

The readers of the files behind known graphs,
:func:`~lamp_geometric.data.read_taxonomy` and
:func:`~lamp_geometric.data.read_interactions`, live in
:mod:`lamp_geometric.data`, and the check of a label graph,
:func:`~lamp_geometric.nn.utils.validate_edge_index`, in
:mod:`lamp_geometric.nn.utils`; all three are also importable from here.

Builders that map names onto labels (:func:`tree`, :func:`ppi`,
:func:`from_networkx`) drop names that are not labels, warn with their
number (:obj:`on_unknown='warn'`) and return them with
:obj:`return_ignored=True`.
"""
import math
import os
import warnings
from typing import (
    Any,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np
import torch
from torch import Tensor

from torch_geometric.utils import coalesce, remove_self_loops

from lamp_geometric.data.priors import read_interactions, read_taxonomy
from lamp_geometric.data.rcv1 import RCV1Subset
from lamp_geometric.data.tf_ppi import TFPPI
from lamp_geometric.nn.label_graph import LabelGraph
from lamp_geometric.nn.utils import validate_edge_index

ArrayLike = Union[Tensor, np.ndarray]


def label_graph(kind: str, num_labels: int,
                edge_index: Optional[ArrayLike] = None,
                name: str = '') -> LabelGraph:
    r"""The label graph :math:`G_{yy}` of a LaMP model as one object.

    Args:
        kind (str): :obj:`'el'` (edgeless), :obj:`'fc'` (fully connected)
            or :obj:`'pr'` (a known prior).
        num_labels (int): Number of labels :math:`L`.
        edge_index (torch.Tensor or numpy.ndarray, optional): The prior's
            edges :obj:`[2, E]` (source, destination) for :obj:`'pr'`, e.g.
            from :func:`co_occurrence`, :func:`tree`, :func:`ppi`,
            :func:`from_networkx` or :func:`dataset_prior`.
        name (str, optional): What the graph is, for reports.
            (default: the kind in words)

    Returns:
        lamp_geometric.nn.LabelGraph: Kind, edges (without self loops; LaMP
        adds them) and density.
    """
    if edge_index is not None:
        edge_index = torch.as_tensor(edge_index)
    return LabelGraph(kind, int(num_labels), edge_index, name)


def edgeless(num_labels: int, self_loops: bool = True) -> Tensor:
    r"""The edgeless label graph of LaMP\ :sub:`el`: each label is connected
    to itself only (or to nothing with :obj:`self_loops=False`)."""
    _check_num_labels(num_labels)
    if not self_loops:
        return torch.empty(2, 0, dtype=torch.long)
    return torch.arange(num_labels).repeat(2, 1)


def fully_connected(num_labels: int, self_loops: bool = True) -> Tensor:
    r"""The fully connected label graph of LaMP\ :sub:`fc` (all ordered
    pairs, with self loops unless :obj:`self_loops=False`)."""
    _check_num_labels(num_labels)
    adj = torch.ones(num_labels, num_labels, dtype=torch.bool)
    if not self_loops:
        adj.fill_diagonal_(False)
    return adj.nonzero().t().contiguous()


def co_occurrence(
    y_train: ArrayLike,
    min_count: int = 1,
    self_loops: bool = False,
    threshold: Optional[float] = None,
    return_weights: bool = False,
) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    r"""The co-occurrence prior of LaMP\ :sub:`pr`: an edge between labels
    :math:`i \neq j` when they are both positive in at least
    :obj:`min_count` training samples (the paper uses :obj:`min_count=1`).

    Build it from the *training* label matrix only: validation and test
    labels must never shape the model.  Missing targets (NaN) count as
    negative.

    Args:
        y_train (torch.Tensor or numpy.ndarray): Training targets
            :obj:`[N, L]` in :math:`\{0, 1\}` (NaN allowed).
        min_count (int, optional): Minimum number of co-occurrences.
            (default: :obj:`1`)
        self_loops (bool, optional): If set to :obj:`True`, adds every self
            loop. (default: :obj:`False`)
        threshold (float, optional): If given, keeps the directed edge
            :math:`j \to i` only if the conditional probability
            :math:`P(y_j = 1 \mid y_i = 1) = C_{ij} / C_{ii}` is at least
            :obj:`threshold` (the ML-GCN re-weighting scheme).
            (default: :obj:`None`)
        return_weights (bool, optional): If set to :obj:`True`, also returns
            the co-occurrence count of each edge (self loops: the label's
            positive count). (default: :obj:`False`)
    """
    y = torch.as_tensor(np.asarray(y_train, dtype=np.float64))
    if y.dim() != 2:
        raise ValueError(f"'y_train' must be a [num_samples, num_labels] "
                         f"matrix (got shape {list(y.shape)})")
    if min_count < 1:
        raise ValueError(f"'min_count' must be at least 1 (got {min_count})")
    y = torch.nan_to_num(y, nan=0.0)
    bad = ~((y == 0) | (y == 1))
    if bad.any():
        row, col = bad.nonzero()[0].tolist()
        raise ValueError(f"'y_train' must hold 0, 1 or NaN (got "
                         f"{y[row, col].item()} at row {row}, column {col})")
    counts = y.t() @ y  # C[i, j] = #samples with labels i and j
    keep = counts >= min_count
    keep.fill_diagonal_(False)
    if threshold is not None:
        pos = counts.diagonal().clamp(min=1).unsqueeze(1)
        keep &= (counts / pos) >= threshold  # row i: P(j | i)
    if self_loops:
        keep.fill_diagonal_(True)
    dst, src = keep.nonzero(as_tuple=True)  # keep[i, j]: i listens to j
    edge_index = coalesce(torch.stack([src, dst]), num_nodes=y.size(1))
    if return_weights:
        weights = counts[edge_index[1], edge_index[0]]
        return edge_index, weights
    return edge_index


def density(edge_index: Tensor, num_labels: int) -> float:
    r"""Number of edges divided by :math:`L^2`."""
    _check_num_labels(num_labels)
    return edge_index.size(1) / num_labels**2


def _check_num_labels(num_labels: int) -> None:
    if int(num_labels) < 1:
        raise ValueError(f"'num_labels' must be positive (got {num_labels})")


# Known label graphs: trees / hierarchies, protein-protein interactions ######

#: What builders do with names that are not labels.
ON_UNKNOWN = ('warn', 'ignore', 'raise')


def _label_index(label_names: Sequence[str]) -> Dict[str, int]:
    names = [str(n) for n in label_names]
    if not names:
        raise ValueError("'label_names' is empty")
    index: Dict[str, int] = {}
    for i, name in enumerate(names):
        if name in index:
            raise ValueError(f"'label_names' holds {name!r} twice "
                             f"(positions {index[name]} and {i})")
        index[name] = i
    return index


def _report_unknown(unknown: Sequence[str], on_unknown: str, what: str,
                    total: int) -> None:
    if on_unknown not in ON_UNKNOWN:
        raise ValueError(f"'on_unknown' must be one of {ON_UNKNOWN} (got "
                         f"'{on_unknown}')")
    if not unknown or on_unknown == 'ignore':
        return
    shown = ', '.join(repr(n) for n in list(unknown)[:10])
    more = f' and {len(unknown) - 10} more' if len(unknown) > 10 else ''
    message = (f"{len(unknown)} of the {total} names in the {what} are not "
               f"labels and were ignored: {shown}{more}")
    if on_unknown == 'raise':
        raise ValueError(message)
    warnings.warn(message, UserWarning, stacklevel=3)


def _undirected(pairs: Iterable[Tuple[int, int]], num_labels: int,
                self_loops: bool) -> Tensor:
    pairs = list(pairs)
    if not pairs:
        edge_index = torch.empty(2, 0, dtype=torch.long)
    else:
        e = torch.tensor(pairs, dtype=torch.long).t()
        edge_index = torch.cat([e, e.flip(0)], dim=1)
    if self_loops:
        loops = torch.arange(num_labels).repeat(2, 1)
        edge_index = torch.cat([edge_index, loops], dim=1)
    else:
        edge_index, _ = remove_self_loops(edge_index)
    return coalesce(edge_index, num_nodes=num_labels)


def tree(
    taxonomy: Union[str, Sequence[Tuple[str, str]],
                    Mapping[str, Sequence[str]], Any],
    label_names: Sequence[str],
    ancestors: bool = False,
    root: Optional[str] = 'Root',
    self_loops: bool = False,
    on_unknown: str = 'warn',
    return_ignored: bool = False,
) -> Union[Tensor, Tuple[Tensor, List[str]]]:
    r"""The label graph of a known hierarchy (e.g. the RCV1 topic tree):
    an edge in both directions between every parent and child that are both
    labels, and, with :obj:`ancestors=True`, between every label and each of
    its ancestors that is a label.

    Ancestors are found through the whole hierarchy, so with
    :obj:`ancestors=True` a label still reaches its grandparent when the
    parent in between is not a label; with :obj:`ancestors=False` only
    direct parent-child pairs count.

    Args:
        taxonomy: A taxonomy file (see
            :func:`~lamp_geometric.data.read_taxonomy`), a list of
            :obj:`(parent, child)` name pairs, a mapping
            :obj:`parent -> children`, or a :class:`networkx.DiGraph` with
            edges from parent to child.
        label_names (Sequence[str]): The label names; label :obj:`i` is
            node :obj:`i`.
        ancestors (bool, optional): Also connect every label to all of its
            ancestors. (default: :obj:`False`)
        root (str, optional): Name of the top node, which is not a label
            and is never reported as ignored. (default: :obj:`'Root'`)
        self_loops (bool, optional): Add every self loop (the model adds
            them anyway). (default: :obj:`False`)
        on_unknown (str, optional): What to do about names of the hierarchy
            that are not labels: :obj:`'warn'`, :obj:`'ignore'` or
            :obj:`'raise'`; they are dropped in the first two cases.
            (default: :obj:`'warn'`)
        return_ignored (bool, optional): Also return the sorted list of
            ignored names. (default: :obj:`False`)

    Returns:
        torch.Tensor or (torch.Tensor, List[str]): :obj:`edge_index`
        :obj:`[2, E]` (coalesced), and the ignored names if asked for.

    Raises:
        ValueError: On a cycle in the hierarchy or with
            :obj:`on_unknown='raise'` and an unknown name.

    Example:
        >>> tree([('A', 'A1'), ('A', 'A2')], ['A', 'A1', 'A2']).tolist()
        [[0, 0, 1, 2], [1, 2, 0, 0]]
    """
    index = _label_index(label_names)
    pairs = _hierarchy_pairs(taxonomy, root)
    parents: Dict[str, List[str]] = {}
    names = set()
    for parent, child in pairs:
        parents.setdefault(child, []).append(parent)
        names.update((parent, child))
    if root is not None:
        names.discard(root)
    unknown = sorted(n for n in names if n not in index)
    _report_unknown(unknown, on_unknown, 'hierarchy', len(names))

    edges = set()
    for child in names:
        if child not in index:
            continue
        if ancestors:
            related = _ancestors(child, parents)
        else:
            related = set(parents.get(child, []))
        for other in related:
            if other in index and other != child:
                edges.add((index[other], index[child]))
    edge_index = _undirected(sorted(edges), len(index), self_loops)
    if return_ignored:
        return edge_index, unknown
    return edge_index


def _hierarchy_pairs(taxonomy: Any,
                     root: Optional[str]) -> List[Tuple[str, str]]:
    if isinstance(taxonomy, (str, os.PathLike)):
        return read_taxonomy(os.fspath(taxonomy), root=root)
    if hasattr(taxonomy, 'edges') and hasattr(taxonomy, 'is_directed'):
        if not taxonomy.is_directed():
            raise ValueError("A hierarchy given as a networkx graph must be "
                             "a DiGraph with edges from parent to child")
        pairs = [(str(u), str(v)) for u, v in taxonomy.edges()]
    elif isinstance(taxonomy, Mapping):
        pairs = [(str(p), str(c)) for p, cs in taxonomy.items() for c in cs]
    else:
        pairs = [(str(p), str(c)) for p, c in taxonomy]
    if root is not None:
        pairs = [(p, c) for p, c in pairs if p != root]
    return pairs


def _ancestors(node: str, parents: Mapping[str, Sequence[str]]) -> set:
    seen: set = set()
    stack = list(parents.get(node, []))
    while stack:
        p = stack.pop()
        if p == node:
            raise ValueError(f"The hierarchy has a cycle through {node!r}")
        if p in seen:
            continue
        seen.add(p)
        stack.extend(parents.get(p, []))
    return seen


def ppi(
    table: Union[str, Iterable[Sequence[Any]]],
    label_names: Sequence[str],
    min_score: Optional[float] = None,
    score_column: Optional[Union[int, str]] = None,
    aliases: Optional[Mapping[str, str]] = None,
    self_loops: bool = False,
    on_unknown: str = 'warn',
    return_ignored: bool = False,
) -> Union[Tensor, Tuple[Tensor, Dict[str, Any]]]:
    r"""The label graph of known protein-protein interactions (the TFBS
    prior of the LaMP paper): an edge in both directions between two labels
    whose proteins interact.

    Args:
        table: A STRING-style interaction file (see
            :func:`~lamp_geometric.data.read_interactions`) or an iterable of
            :obj:`(protein1, protein2[, score])` rows.
        label_names (Sequence[str]): The label names (proteins).
        min_score (float, optional): Score cut-off. (default: :obj:`None`)
        score_column (int or str, optional): See
            :func:`~lamp_geometric.data.read_interactions`.
        aliases (Mapping[str, str], optional): Maps names of the table to
            label names (e.g. STRING ids ``9606.ENSP...`` to gene symbols);
            names it lacks are used as they are. (default: :obj:`None`)
        self_loops (bool, optional): Add every self loop; self-interactions
            of the table are otherwise dropped (the model adds self loops
            anyway). (default: :obj:`False`)
        on_unknown (str, optional): :obj:`'warn'`, :obj:`'ignore'` or
            :obj:`'raise'` for proteins that are not labels (their rows are
            dropped). (default: :obj:`'warn'`)
        return_ignored (bool, optional): Also return a dict with
            :obj:`'names'` (sorted unknown proteins), :obj:`'rows'` (rows
            dropped because of them), :obj:`'below_min_score'` and
            :obj:`'self_interactions'` (counts). (default: :obj:`False`)

    Returns:
        torch.Tensor or (torch.Tensor, dict): :obj:`edge_index` and, if
        asked for, what was ignored.
    """
    index = _label_index(label_names)
    if isinstance(table, (str, os.PathLike)):
        rows, below = read_interactions(os.fspath(table), min_score,
                                        score_column)
    else:
        rows, below = [], 0
        for row in table:
            row = list(row)
            if len(row) < 2:
                raise ValueError(f"Interaction rows need two names (got "
                                 f"{row})")
            score = float(row[2]) if len(row) > 2 else math.nan
            if (min_score is not None and not math.isnan(score)
                    and score < min_score):
                below += 1
                continue
            rows.append((str(row[0]), str(row[1]), score))
    aliases = aliases or {}
    names, unknown = set(), set()
    dropped, loops = 0, 0
    pairs = set()
    for a, b, _ in rows:
        a, b = aliases.get(a, a), aliases.get(b, b)
        names.update((a, b))
        missing = [n for n in (a, b) if n not in index]
        if missing:
            unknown.update(missing)
            dropped += 1
            continue
        if a == b:
            loops += 1
            continue
        i, j = index[a], index[b]
        pairs.add((min(i, j), max(i, j)))
    unknown_list = sorted(unknown)
    _report_unknown(unknown_list, on_unknown, 'interaction table',
                    len(names))
    edge_index = _undirected(sorted(pairs), len(index), self_loops)
    if return_ignored:
        return edge_index, dict(names=unknown_list, rows=dropped,
                                below_min_score=below,
                                self_interactions=loops)
    return edge_index


# The prior of a data set of the library ######################################

def dataset_prior(
    dataset: Any,
    train_idx: Optional[ArrayLike] = None,
    return_ignored: bool = False,
) -> Union[Tensor, Tuple[Tensor, Any]]:
    r"""The prior label graph of LaMP\ :sub:`pr` for a multi-label data set
    of :mod:`lamp_geometric.data`:

    * :class:`~lamp_geometric.data.RCV1Subset`: the RCV1 topic tree
      (:func:`tree` of its :obj:`taxonomy_path`, with its :obj:`ancestors`
      option; taxonomy topics that are not labels are ignored),
    * :class:`~lamp_geometric.data.TFPPI`: the TF-TF protein-protein
      interactions (:func:`ppi` of its :obj:`ppi_path`, with its
      :obj:`min_score`; proteins that are not labels are dropped with a
      warning),
    * any other :class:`~lamp_geometric.data.MultiLabelDataset`: the
      co-occurrence graph of the *training* split (:func:`co_occurrence`).

    The known graphs use no label data, so :obj:`train_idx` only matters
    for co-occurrence.

    Args:
        dataset (lamp_geometric.data.MultiLabelDataset): The data set.
        train_idx (torch.Tensor, optional): The training indices of the
            co-occurrence graph (e.g. a subset).
            (default: :obj:`dataset.train_idx`)
        return_ignored (bool, optional): Also return what the graph left
            out: the sorted taxonomy topics that are not labels (tree), the
            report of :func:`ppi` with :obj:`return_ignored=True`
            (interactions; no warning is then given), or :obj:`None`
            (co-occurrence). (default: :obj:`False`)

    Returns:
        torch.Tensor or (torch.Tensor, Any): :obj:`edge_index`
        :obj:`[2, E]`, and what was ignored if asked for.

    Raises:
        TypeError: If :obj:`dataset` has no label matrix and training split
            (e.g. a :class:`~lamp_geometric.data.MoleculeCSV`: use
            :func:`co_occurrence` on its training targets).
    """
    if isinstance(dataset, RCV1Subset):
        return tree(dataset.taxonomy_path, dataset.label_names,
                    ancestors=dataset.ancestors, on_unknown='ignore',
                    return_ignored=return_ignored)
    if isinstance(dataset, TFPPI):
        return ppi(dataset.ppi_path, dataset.label_names,
                   min_score=dataset.min_score,
                   on_unknown='ignore' if return_ignored else 'warn',
                   return_ignored=return_ignored)
    if not (hasattr(dataset, 'label_matrix')
            and hasattr(dataset, 'train_idx')):
        raise TypeError(f"'dataset_prior' needs a data set with "
                        f"'label_matrix' and 'train_idx' (got "
                        f"{type(dataset).__name__}); build the graph of its "
                        f"training targets with 'co_occurrence'")
    if train_idx is None:
        train_idx = dataset.train_idx
    y = dataset.label_matrix[torch.as_tensor(train_idx, dtype=torch.long)]
    edge_index = co_occurrence(y)
    return (edge_index, None) if return_ignored else edge_index


# networkx ###################################################################

def to_networkx(edge_index: ArrayLike,
                label_names: Optional[Sequence[str]] = None,
                num_labels: Optional[int] = None,
                directed: bool = False) -> Any:
    r"""Converts a label graph to a :mod:`networkx` graph whose nodes are
    the label names (or the label indices without :obj:`label_names`), each
    with its index as node attribute :obj:`'index'`.

    Args:
        edge_index: The label graph :obj:`[2, E]`.
        label_names (Sequence[str], optional): Node names.
        num_labels (int, optional): Number of labels, when there are no
            names. (default: :obj:`edge_index.max() + 1`)
        directed (bool, optional): Return a :class:`networkx.DiGraph`
            (otherwise a :class:`networkx.Graph`, both directions merged).
            (default: :obj:`False`)
    """
    import networkx as nx

    if label_names is not None:
        _label_index(label_names)
        num_labels = len(label_names)
    elif num_labels is None:
        ei = torch.as_tensor(edge_index)
        num_labels = int(ei.max()) + 1 if ei.numel() else 0
        if num_labels == 0:
            raise ValueError("Pass 'label_names' or 'num_labels' for an "
                             "empty graph")
    edge_index = validate_edge_index(edge_index, num_labels)
    names = (list(label_names) if label_names is not None else
             list(range(num_labels)))
    G = nx.DiGraph() if directed else nx.Graph()
    for i, name in enumerate(names):
        G.add_node(name, index=i)
    G.add_edges_from((names[s], names[d])
                     for s, d in edge_index.t().tolist())
    return G


def from_networkx(G: Any, label_names: Sequence[str],
                  on_unknown: str = 'warn',
                  return_ignored: bool = False
                  ) -> Union[Tensor, Tuple[Tensor, List[str]]]:
    r"""Converts a :mod:`networkx` graph over label names to an
    :obj:`edge_index`.  An undirected graph gives both directions of every
    edge; a directed graph keeps its directions (use :func:`tree` for a
    parent-to-child hierarchy).  Self loops are kept.

    Args:
        G (networkx.Graph or networkx.DiGraph): Nodes named like the labels.
        label_names (Sequence[str]): The label names.
        on_unknown (str, optional): :obj:`'warn'`, :obj:`'ignore'` or
            :obj:`'raise'` for nodes that are not labels (their edges are
            dropped). (default: :obj:`'warn'`)
        return_ignored (bool, optional): Also return the sorted unknown
            node names. (default: :obj:`False`)
    """
    index = _label_index(label_names)
    unknown = sorted(str(n) for n in G.nodes if str(n) not in index)
    _report_unknown(unknown, on_unknown, 'graph', G.number_of_nodes())
    edges = [(index[str(u)], index[str(v)]) for u, v in G.edges()
             if str(u) in index and str(v) in index]
    if edges:
        edge_index = torch.tensor(edges, dtype=torch.long).t()
        if not G.is_directed():
            edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    else:
        edge_index = torch.empty(2, 0, dtype=torch.long)
    edge_index = coalesce(edge_index, num_nodes=len(index))
    if return_ignored:
        return edge_index, unknown
    return edge_index
