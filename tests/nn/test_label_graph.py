import pytest
import torch

from lamp_geometric.nn import LabelGraph


def edges(graph):
    return set(map(tuple, graph.edge_index.t().tolist()))


def test_label_graph_kinds():
    el = LabelGraph('el', 3)
    assert el.num_edges == 0 and el.density == 0.0 and el.name == 'edgeless'
    fc = LabelGraph('fc', 3)
    assert edges(fc) == {(i, j) for i in range(3) for j in range(3) if i != j}
    assert fc.density == 1.0
    # A prior: self loops and duplicates dropped, indices kept.
    pr = LabelGraph('pr', 4, torch.tensor([[0, 1, 0, 2, 3], [1, 0, 1, 2, 1]]),
                    name='co-occurrence')
    assert edges(pr) == {(0, 1), (1, 0), (3, 1)}
    assert pr.density == pytest.approx(3 / 12) and pr.name == 'co-occurrence'
    assert repr(pr) == ("LabelGraph(kind='pr', num_labels=4, edges=3, "
                        "density=0.250)")
    # What LaMP attends over: the edges plus one self loop per label.
    assert edges_of(pr.with_self_loops()) == edges(pr) | {(i, i)
                                                          for i in range(4)}
    assert LabelGraph('fc', 1).density == 1.0


def edges_of(edge_index):
    return set(map(tuple, edge_index.t().tolist()))


def test_label_graph_errors():
    with pytest.raises(ValueError, match="kind must be one of"):
        LabelGraph('tree', 3)
    with pytest.raises(ValueError, match="'num_labels'"):
        LabelGraph('fc', 0)
    with pytest.raises(ValueError, match="needs its 'edge_index'"):
        LabelGraph('pr', 3)
    with pytest.raises(ValueError, match="only given for a prior"):
        LabelGraph('fc', 3, torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match=r'indices in \[0, 5\]'):
        LabelGraph('pr', 3, torch.tensor([[0], [5]]))
