import pytest
import torch

from lamp_geometric.nn import Dropout, drop_feature_nodes
from lamp_geometric.nn.dropout import (
    KEEP_MASK_BLOCK,
    KEEP_MASK_PARALLEL,
    _keep_bits,
    _keep_threshold,
    as_factor,
    dropout,
    keep_mask,
)


def test_dropout_helper():
    x = torch.ones(200, 300)
    assert dropout(x, 0.3, False) is x
    assert dropout(x, 0.0, True) is x
    torch.manual_seed(0)
    y = dropout(x, 0.3, True)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.01
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.7))
    assert (y.mean() - 1).abs() < 0.02


@pytest.mark.parametrize('threads', [1, 2])
def test_keep_mask_rate_and_reproducibility(threads):
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        n = 3 * KEEP_MASK_PARALLEL + 7  # several blocks, odd tail
        for p in (0.003, 0.1, 0.5, 0.93):  # 32 bits, then 16 bits
            torch.manual_seed(1)
            keep = keep_mask((n, ), p)
            sd = (p * (1 - p) / n)**0.5
            assert abs(keep.float().mean().item() - (1 - p)) < 6 * sd
            torch.manual_seed(1)
            assert torch.equal(keep_mask((n, ), p), keep)
        # Every whole block keeps its share (no block left unfilled or
        # filled from a repeated stream).
        blocks = keep[:-7].view(-1, KEEP_MASK_BLOCK).float().mean(1)
        assert (blocks - 0.07).abs().max() < 0.02
        # Writes into a strided view; p = 0 keeps all, p ~ 1 drops all.
        out = torch.zeros(64, 6, dtype=torch.bool)
        keep_mask(None, 0.0, out=out[:, ::2])
        assert out[:, ::2].all() and not out[:, 1::2].any()
        assert not keep_mask((1000, ), 1 - 2**-40).any()
    finally:
        torch.set_num_threads(old)


def test_keep_threshold_is_p_in_32_bits():
    assert _keep_threshold(0.0) == -2**31  # every int32 is kept
    assert _keep_threshold(0.5) == 0
    # Dropped: the integers below the threshold, round(p * 2^32) of them.
    assert _keep_threshold(0.1) + 2**31 == round(0.1 * 2**32)
    assert _keep_threshold(1.0) == 2**31
    assert _keep_threshold(0.5, 16) == 0
    assert _keep_threshold(0.2, 16) + 2**15 == round(0.2 * 2**16)


def test_keep_bits_keep_p_within_a_thousandth():
    # 16-bit integers where rounding p to 2^-16 changes p and 1 - p by at
    # most 0.1% of themselves, else 32-bit ones.
    assert _keep_bits(0.2) == _keep_bits(0.5) == _keep_bits(0.9) == 16
    assert _keep_bits(0.0) == _keep_bits(1.0) == 16
    assert _keep_bits(0.001) == _keep_bits(0.9995) == 32
    for p in (0.05, 0.1, 0.2, 0.3, 0.5):
        bits = _keep_bits(p)
        dropped = (_keep_threshold(p, bits) + 2**(bits - 1)) / 2**bits
        assert abs(dropped - p) <= 1e-3 * p


def test_as_factor_is_the_mask_as_bytes():
    keep = torch.tensor([True, False, True])
    factor = as_factor(keep)
    assert factor.dtype == torch.uint8
    assert factor.data_ptr() == keep.data_ptr()
    x = torch.tensor([1.5, 2.0, -3.0], dtype=torch.bfloat16)
    assert (x * factor).dtype == torch.bfloat16
    assert torch.equal(x * factor, x * keep)
    mask = torch.tensor([1.0, 0.0])
    assert as_factor(mask) is mask


def test_dropout_module():
    layer = Dropout(0.25)
    assert str(layer) == 'Dropout(p=0.25)'
    x = torch.randn(64, 512, requires_grad=True)
    torch.manual_seed(0)
    y = layer(x)
    kept = y != 0
    # The semantics of torch.nn.Dropout: zero or scaled by 1 / (1 - p) ...
    assert torch.allclose(y[kept], x[kept] / 0.75)
    assert abs(kept.float().mean().item() - 0.75) < 0.01
    # ... and the gradient is the same mask and scale.
    y.backward(torch.ones_like(y))
    assert torch.allclose(x.grad, kept.float() / 0.75)
    # The same seed gives the same mask.
    torch.manual_seed(0)
    assert torch.equal(layer(x), y)
    # The dtype stays (bfloat16 under autocast); eval is the identity.
    xb = x.detach().bfloat16()
    assert layer(xb).dtype == torch.bfloat16
    layer.eval()
    assert layer(x) is x
    layer.train()
    assert (Dropout(1.0)(x) == 0).all()
    assert Dropout(0.0)(x) is x


@pytest.mark.parametrize('p', [-0.1, 1.5])
def test_dropout_module_rejects_p(p):
    with pytest.raises(ValueError, match='between 0 and 1'):
        Dropout(p)


def test_gin_encoder_uses_the_fast_dropout(monkeypatch):
    from lamp_geometric.nn import GINEncoder
    from lamp_geometric.nn import encoders
    calls = []

    def spy(x, p, training):
        calls.append((p, training))
        return dropout(x, p, training)

    monkeypatch.setattr(encoders, 'dropout', spy)
    from torch_geometric.utils import from_smiles
    from torch_geometric.data import Batch
    batch = Batch.from_data_list([from_smiles('CCO'), from_smiles('c1ccccc1')])
    enc = GINEncoder(16, num_layers=2, dropout=0.3)
    out = enc(batch)
    assert out.shape == (batch.num_nodes, 16)
    assert calls == [(0.3, True), (0.3, True)]


def test_drop_feature_nodes():
    z = torch.arange(12.).view(6, 2)
    batch = torch.tensor([0, 0, 0, 1, 3, 3])  # sample 2 has no node
    # Evaluation and p = 0 keep everything:
    for p, training in ((0.5, False), (0.0, True)):
        z_out, b_out = drop_feature_nodes(z, batch, p, training)
        assert z_out is z and b_out is batch
    torch.manual_seed(0)
    seen = torch.zeros(6)
    for _ in range(200):
        z_out, b_out = drop_feature_nodes(z, batch, 0.9)
        # Kept nodes in order, rows intact, and every sample with nodes
        # keeps at least one:
        rows = (z_out[:, 0] / 2).long()
        assert torch.equal(rows, rows.sort().values)
        assert torch.equal(b_out, batch[rows])
        assert set(b_out.tolist()) == {0, 1, 3}
        seen[rows] += 1
    assert seen[3] == 200  # a single node is always kept
    assert (seen[[0, 1, 2, 4, 5]] < 200).all()  # the others are dropped

    # The rate: a sample of 1000 nodes keeps about 1 - p of them.
    big = torch.zeros(1000, dtype=torch.long)
    kept = drop_feature_nodes(torch.ones(1000, 1), big, 0.3)[1].numel()
    assert 650 < kept < 750
    empty = torch.zeros(0, dtype=torch.long)
    assert drop_feature_nodes(torch.ones(0, 2), empty, 0.3)[1].numel() == 0
    for p in (-0.1, 1.0):
        with pytest.raises(ValueError, match="'p' must be in"):
            drop_feature_nodes(z, batch, p)
