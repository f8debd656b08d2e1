import numpy as np
import pytest
import torch

from lamp_geometric.nn.utils import validate_edge_index


def edges(edge_index):
    return set(map(tuple, edge_index.t().tolist()))


def test_validate_edge_index():
    ei = torch.tensor([[0, 0, 1, 1], [1, 1, 0, 1]])
    out = validate_edge_index(ei, 2)
    assert edges(out) == {(0, 1), (1, 0), (1, 1)} and out.size(1) == 3
    assert edges(validate_edge_index(ei, 2, allow_self_loops=False)) == {
        (0, 1), (1, 0)}
    with pytest.raises(ValueError, match='duplicate'):
        validate_edge_index(ei, 2, remove_duplicates=False)
    with pytest.raises(ValueError, match=r'\[0, 1\].*3 labels|valid: 0..0'):
        validate_edge_index(ei, 1)
    with pytest.raises(ValueError, match='integer'):
        validate_edge_index(ei.float(), 2)
    with pytest.raises(ValueError, match=r'\[2, num_edges\]'):
        validate_edge_index(ei.t(), 2)
    out = validate_edge_index(np.array([[1, 0], [0, 1]]), 2)
    assert out.dtype == torch.long and out.tolist() == [[0, 1], [1, 0]]
    with pytest.raises(ValueError, match="'num_labels' must be positive"):
        validate_edge_index(ei, 0)
