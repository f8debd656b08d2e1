r"""The attention policy: its measured thresholds, its choices, and the
context manager that makes it current."""
import threading

import pytest
import torch

from lamp_geometric.nn.attention import (
    AttentionPolicy,
    attention_policy,
    get_policy,
)


def test_dense_threshold_follows_the_head_dimension():
    policy = AttentionPolicy()
    table = policy.dense_thresholds
    assert table == {16: 0.10, 128: 0.03}  # measured: benchmarks/density/
    dims = sorted(table)
    for dim in dims:
        assert policy.dense_threshold_for(dim) == table[dim]
    # Constant beyond the measured dimensions, monotone between them:
    assert policy.dense_threshold_for(1) == table[dims[0]]
    assert policy.dense_threshold_for(4096) == table[dims[-1]]
    values = [policy.dense_threshold_for(h)
              for h in range(dims[0], dims[-1] + 1)]
    assert all(a >= b for a, b in zip(values, values[1:]))
    # Halfway in log(head dimension): the geometric mean.
    mid = policy.dense_threshold_for(round((dims[0] * dims[-1])**0.5))
    assert mid == pytest.approx((table[dims[0]] * table[dims[-1]])**0.5,
                                rel=0.05)
    # One fixed threshold replaces the table:
    assert AttentionPolicy(dense_threshold=0.5).dense_threshold_for(16) == 0.5


def test_policy_choices():
    auto = AttentionPolicy()
    # Graphs of the model: complete ones dense, others by density.
    assert auto.dense_graph(None, 16)
    assert auto.dense_graph(0.2, 16) and not auto.dense_graph(0.05, 16)
    assert auto.dense_graph(0.05, 128)
    assert not auto.dense_graph(0.0, 128)  # edgeless
    assert not AttentionPolicy(backend='segment').dense_graph(None, 16)
    assert AttentionPolicy(backend='factored').dense_graph(0.0, 16)
    # Sparse layers: the edge backend unless the segment one is forced
    # (a forced dense backend leaves them alone).
    assert auto.edge() and AttentionPolicy(backend='edge').edge()
    assert not AttentionPolicy(backend='segment').edge()
    assert AttentionPolicy(backend='dense').edge()
    # Ragged attention: a prefix source mask, little fill, many weights.
    mask = torch.zeros(4, 100, dtype=torch.bool)
    mask[:, :10] = True
    assert not auto.ragged(None, mask, 4, 8)  # below ragged_min_weights
    small = AttentionPolicy(ragged_min_weights=0)
    assert small.ragged(None, mask, 4, 8)
    assert not small.ragged(torch.ones(8, 100, dtype=torch.bool), mask, 4,
                            8)
    assert not small.ragged(None, mask.roll(1, dims=1), 4, 8)  # no prefix
    assert not AttentionPolicy(ragged_min_weights=0,
                               ragged_max_fill=0.1).ragged(None, mask, 4, 8)
    assert AttentionPolicy(backend='ragged').ragged(None, mask, 4, 8)
    assert not AttentionPolicy(backend='dense', ragged_min_weights=0).ragged(
        None, mask, 4, 8)
    assert AttentionPolicy(backend='segment', ragged_min_weights=0).ragged(
        None, mask, 4, 8)
    # Factored attention: at most factored_max_cost of the plain cost.
    assert auto.factored(lambda: (100.0, 80.0))
    assert not auto.factored(lambda: (100.0, 81.0))
    assert not AttentionPolicy(factored_max_cost=0.0).factored(
        lambda: (100.0, 1.0))
    assert AttentionPolicy(backend='factored').factored(
        lambda: (1.0, 100.0))
    assert not AttentionPolicy(backend='ragged').factored(
        lambda: (100.0, 1.0))
    assert AttentionPolicy(backend='edge').factored(lambda: (100.0, 1.0))
    with pytest.raises(ValueError, match='backend'):
        AttentionPolicy(backend='sparse')


def test_context_manager_restores_the_previous_policy():
    default = get_policy()
    assert default == AttentionPolicy()
    with attention_policy(backend='segment') as outer:
        assert get_policy() is outer and outer.backend == 'segment'
        with AttentionPolicy(factored_max_cost=0.0) as inner:
            assert get_policy() is inner and inner.backend == 'auto'
            with attention_policy(ragged_max_fill=0.25):
                # Starts from the current policy:
                assert get_policy().factored_max_cost == 0.0
                assert get_policy().ragged_max_fill == 0.25
            assert get_policy() is inner
        assert get_policy() is outer
    assert get_policy() is default
    # Restored on an exception too:
    with pytest.raises(RuntimeError):
        with attention_policy(backend='dense'):
            raise RuntimeError
    assert get_policy() is default


def test_policy_is_per_thread():
    seen = []
    with attention_policy(backend='segment'):
        thread = threading.Thread(target=lambda: seen.append(get_policy()))
        thread.start()
        thread.join()
    assert seen == [AttentionPolicy()]
