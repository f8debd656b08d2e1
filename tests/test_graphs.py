import numpy as np
import pytest
import torch

from lamp_geometric.graphs import (
    co_occurrence,
    density,
    edgeless,
    fully_connected,
    validate_edge_index,
)


def edges(edge_index):
    return set(map(tuple, edge_index.t().tolist()))


def test_edgeless_and_fully_connected():
    assert edges(edgeless(3)) == {(0, 0), (1, 1), (2, 2)}
    assert edgeless(3, self_loops=False).shape == (2, 0)
    assert edges(fully_connected(2)) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert edges(fully_connected(2, self_loops=False)) == {(0, 1), (1, 0)}
    assert density(fully_connected(4), 4) == 1.0
    with pytest.raises(ValueError, match='positive'):
        edgeless(0)


def test_co_occurrence():
    # Labels 0 and 1 co-occur twice, 0 and 2 once, 1 and 2 never.
    y = torch.tensor([[1, 1, 0], [1, 0, 1], [1, 1, 0], [0, 0, 0]])
    assert edges(co_occurrence(y)) == {(0, 1), (1, 0), (0, 2), (2, 0)}
    assert edges(co_occurrence(y, min_count=2)) == {(0, 1), (1, 0)}
    assert edges(co_occurrence(y, min_count=3)) == set()

    ei, w = co_occurrence(y, self_loops=True, return_weights=True)
    got = dict(zip(map(tuple, ei.t().tolist()), w.tolist()))
    assert got == {(0, 0): 3, (1, 1): 2, (2, 2): 1, (0, 1): 2, (1, 0): 2,
                   (0, 2): 1, (2, 0): 1}

    # Conditional probability P(src | dst): P(1|0) = 2/3, P(2|0) = 1/3,
    # P(0|1) = 1, P(0|2) = 1. Edge src -> dst kept when P(src | dst) >= 0.5.
    assert edges(co_occurrence(y, threshold=0.5)) == {(1, 0), (0, 1), (0, 2)}


def test_co_occurrence_nan_and_errors():
    y = np.array([[1, np.nan], [1, 1]])
    assert edges(co_occurrence(y)) == {(0, 1), (1, 0)}
    y_nan_pair = np.array([[1, np.nan], [1, 0]])
    assert co_occurrence(y_nan_pair).numel() == 0
    with pytest.raises(ValueError, match=r'row 1, column 0'):
        co_occurrence(np.array([[1, 0], [2, 0]]))
    with pytest.raises(ValueError, match='matrix'):
        co_occurrence(np.array([1, 0]))
    with pytest.raises(ValueError, match='min_count'):
        co_occurrence(np.array([[1, 0]]), min_count=0)


def test_co_occurrence_uses_only_given_rows():
    # The prior must come from the training rows alone.
    y = torch.tensor([[1, 0, 0], [0, 1, 0], [1, 1, 1]])
    train = torch.tensor([0, 1])
    assert co_occurrence(y[train]).numel() == 0
    assert co_occurrence(y).size(1) == 6


def test_validate_edge_index_lives_in_nn():
    # Kept importable from here; the nn layer owns it (and checks it).
    from lamp_geometric.nn import utils

    assert validate_edge_index is utils.validate_edge_index


def test_label_graph_builder():
    from lamp_geometric.graphs import co_occurrence, label_graph
    from lamp_geometric.nn import LabelGraph
    y = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 1]])
    graph = label_graph('pr', 3, co_occurrence(y), name='co-occurrence')
    assert isinstance(graph, LabelGraph) and graph.kind == 'pr'
    assert set(map(tuple, graph.edge_index.t().tolist())) == {(0, 1), (1, 0)}
    assert label_graph('fc', 3).num_edges == 6
    # numpy edges are accepted as well
    assert label_graph('pr', 3, graph.edge_index.numpy()).num_edges == 2
