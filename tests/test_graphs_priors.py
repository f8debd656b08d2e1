import warnings

import networkx as nx
import pytest
import torch

from lamp_geometric import graphs
from lamp_geometric.data import read_taxonomy
from lamp_geometric.graphs import (
    dataset_prior,
    from_networkx,
    ppi,
    to_networkx,
    tree,
)

# A -- A1 -- A11, A -- A2, B -- B1 under Root; X is not a label.
TAXONOMY = 'Root\tA\tB\nA\tA1\tA2\nA1\tA11\tX\nB\tB1\n'
LABELS = ['A', 'A1', 'A11', 'A2', 'B', 'B1']


def edges(edge_index):
    return set(map(tuple, edge_index.t().tolist()))


def undirected(*pairs, names=LABELS):
    idx = {n: i for i, n in enumerate(names)}
    out = set()
    for a, b in pairs:
        out |= {(idx[a], idx[b]), (idx[b], idx[a])}
    return out


@pytest.fixture
def taxonomy(tmp_path):
    path = tmp_path / 'tax.taxonomy'
    path.write_text(TAXONOMY)
    return str(path)


def test_tree_parent_child(taxonomy):
    with pytest.warns(UserWarning, match="1 of the 7 names.*'X'"):
        ei, ignored = tree(taxonomy, LABELS, return_ignored=True)
    assert ignored == ['X']
    assert edges(ei) == undirected(('A', 'A1'), ('A', 'A2'), ('A1', 'A11'),
                                   ('B', 'B1'))
    # Root is the top, not a label: never reported, never connected.
    assert ei.dtype == torch.long and ei.size(0) == 2


def test_tree_ancestors_and_self_loops(taxonomy):
    ei = tree(taxonomy, LABELS, ancestors=True, on_unknown='ignore')
    assert edges(ei) == undirected(('A', 'A1'), ('A', 'A2'), ('A1', 'A11'),
                                   ('A', 'A11'), ('B', 'B1'))
    loops = tree(taxonomy, LABELS, self_loops=True, on_unknown='ignore')
    assert {(i, i) for i in range(6)} <= edges(loops)


def test_tree_bridges_missing_parent_only_with_ancestors(taxonomy):
    names = ['A', 'A11', 'B']  # A1 (between A and A11) is not a label
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert edges(tree(taxonomy, names, on_unknown='ignore')) == set()
        ei = tree(taxonomy, names, ancestors=True, on_unknown='ignore')
    assert edges(ei) == undirected(('A', 'A11'), names=names)


def test_tree_inputs_agree(taxonomy):
    expected = edges(tree(taxonomy, LABELS, on_unknown='ignore'))
    pairs = read_taxonomy(taxonomy)
    assert edges(tree(pairs, LABELS, on_unknown='ignore')) == expected
    mapping = {'A': ['A1', 'A2'], 'A1': ['A11', 'X'], 'B': ['B1'],
               'Root': ['A', 'B']}
    assert edges(tree(mapping, LABELS, on_unknown='ignore')) == expected
    G = nx.DiGraph(pairs)
    assert edges(tree(G, LABELS, on_unknown='ignore')) == expected
    with pytest.raises(ValueError, match='DiGraph'):
        tree(nx.Graph(pairs), LABELS)


def test_tree_errors(taxonomy):
    with pytest.raises(ValueError, match="'X'"):
        tree(taxonomy, LABELS, on_unknown='raise')
    with pytest.raises(ValueError, match='on_unknown'):
        tree(taxonomy, LABELS, on_unknown='maybe')
    with pytest.raises(ValueError, match='cycle'):
        tree([('A', 'B'), ('B', 'A')], ['A', 'B'], ancestors=True)
    with pytest.raises(ValueError, match='twice'):
        tree(taxonomy, ['A', 'A'])


PPI_NAMES = ['TF1', 'TF2', 'TF3', 'TF4']


def test_ppi_string_layout_with_header(tmp_path):
    path = tmp_path / 'links.txt'
    path.write_text('protein1 protein2 combined_score\n'
                    'TF1 TF2 900\n'
                    'TF2 TF1 900\n'       # the reverse row: one edge
                    'TF1 TF3 150\n'       # below the cut-off
                    'TF3    TF4 700\n'    # several spaces
                    'TF4 GENE9 999\n'     # GENE9 is not a label
                    'TF4 TF4 999\n')      # self-interaction
    with pytest.warns(UserWarning, match="'GENE9'"):
        ei, info = ppi(str(path), PPI_NAMES, min_score=400,
                       return_ignored=True)
    assert edges(ei) == {(0, 1), (1, 0), (2, 3), (3, 2)}
    assert info == dict(names=['GENE9'], rows=1, below_min_score=1,
                        self_interactions=1)
    all_edges = ppi(str(path), PPI_NAMES, on_unknown='ignore')
    assert (0, 2) in edges(all_edges)


def test_ppi_tab_separated_without_header(tmp_path):
    path = tmp_path / 'toy.txt'
    path.write_text('TF1\tTF2\t1\nTF3\tTF4\t1\n# a comment\n\nTF2\tTF3\n')
    assert edges(ppi(str(path), PPI_NAMES)) == {
        (0, 1), (1, 0), (2, 3), (3, 2), (1, 2), (2, 1)}


def test_ppi_rows_aliases_and_errors(tmp_path):
    rows = [('9606.P1', '9606.P2', 800), ('9606.P2', '9606.P3', 100)]
    aliases = {'9606.P1': 'TF1', '9606.P2': 'TF2', '9606.P3': 'TF3'}
    ei = ppi(rows, PPI_NAMES, aliases=aliases, min_score=500)
    assert edges(ei) == {(0, 1), (1, 0)}
    with pytest.raises(ValueError, match='Unknown|not labels'):
        ppi(rows, PPI_NAMES, on_unknown='raise')
    bad = tmp_path / 'bad.txt'
    bad.write_text('TF1 TF2 1\nTF3 TF4 high\n')
    with pytest.raises(ValueError, match="line 2: score 'high'"):
        ppi(str(bad), PPI_NAMES)  # the file's errors come from its reader
    named = tmp_path / 'named.txt'
    named.write_text('a b weight other\nTF1 TF2 5 0\nTF2 TF3 1 9\n')
    ei = ppi(str(named), PPI_NAMES, min_score=2, score_column='weight')
    assert edges(ei) == {(0, 1), (1, 0)}


def test_networkx_round_trip():
    names = ['a', 'b', 'c', 'd']
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    G = to_networkx(ei, names)
    assert isinstance(G, nx.Graph) and not G.is_directed()
    assert set(G.nodes) == set(names) and G.nodes['c']['index'] == 2
    assert {frozenset(e) for e in G.edges} == {frozenset('ab'),
                                               frozenset('bc')}
    assert edges(from_networkx(G, names)) == edges(ei)

    D = to_networkx(torch.tensor([[0], [1]]), names, directed=True)
    assert list(D.edges) == [('a', 'b')]
    assert edges(from_networkx(D, names)) == {(0, 1)}  # direction kept

    plain = to_networkx(torch.tensor([[0], [2]]))
    assert set(plain.nodes) == {0, 1, 2}

    G.add_edge('c', 'zzz')
    with pytest.warns(UserWarning, match="'zzz'"):
        ei2, unknown = from_networkx(G, names, return_ignored=True)
    assert unknown == ['zzz'] and edges(ei2) == edges(ei)
    with pytest.raises(ValueError, match='label indices'):
        to_networkx(torch.tensor([[0], [9]]), names)


def test_readers_live_in_data():
    # Kept importable from graphs; the data layer reads the files.
    from lamp_geometric import data

    assert graphs.read_taxonomy is data.read_taxonomy
    assert graphs.read_interactions is data.read_interactions


class _Labels:
    r"""A data set as :func:`dataset_prior` sees one without a known graph:
    a label matrix and a training split."""
    def __init__(self, y, train_idx):
        self.label_matrix = torch.tensor(y, dtype=torch.float)
        self.train_idx = torch.tensor(train_idx)


def test_dataset_prior_co_occurrence():
    # Labels 0 and 1 co-occur in training (row 0) only; 1 and 2 only in the
    # validation row 2, which must not shape the graph.
    ds = _Labels([[1, 1, 0], [0, 0, 1], [0, 1, 1]], [0, 1])
    assert edges(dataset_prior(ds)) == {(0, 1), (1, 0)}
    ei, ignored = dataset_prior(ds, torch.tensor([1, 2]),
                                return_ignored=True)
    assert edges(ei) == {(1, 2), (2, 1)} and ignored is None
    with pytest.raises(TypeError, match='co_occurrence'):
        dataset_prior(object())
