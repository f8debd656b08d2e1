import math

import pytest
import torch
from torch_geometric.data import Batch, Data

from lamp_geometric.nn import (
    FeatureValueEmbedding,
    FMPEncoder,
    LaMP,
    TokenEmbedding,
    feature_encoder,
)
from lamp_geometric.nn.encoders import AtomEmbedding
from lamp_geometric.nn.feature_encoders import (
    positions_in_sample,
    sinusoidal_positional_encoding,
)


def sample(ids, values=None, num_labels=3):
    d = Data(x=torch.tensor(ids, dtype=torch.long),
             y=torch.zeros(1, num_labels))
    if values is not None:
        d.value = torch.tensor(values, dtype=torch.float)
    return d


def test_sinusoidal_positional_encoding():
    pe = sinusoidal_positional_encoding(torch.tensor([0, 1, 7]), 6)
    assert pe.shape == (3, 6)
    assert torch.allclose(pe[0], torch.tensor([0., 1., 0., 1., 0., 1.]))
    p, d = 7, 6
    for i in range(3):
        freq = 10000 ** (-2 * i / d)
        assert math.isclose(pe[2, 2 * i].item(), math.sin(p * freq),
                            abs_tol=1e-5)
        assert math.isclose(pe[2, 2 * i + 1].item(), math.cos(p * freq),
                            abs_tol=1e-5)
    assert sinusoidal_positional_encoding(torch.arange(4), 5).shape == (4, 5)


def test_positions_restart_in_every_sample():
    batch = Batch.from_data_list([sample([5, 6, 7]), sample([]),
                                  sample([1, 2])])
    assert positions_in_sample(batch, 5).tolist() == [0, 1, 2, 0, 1]
    del batch.ptr
    assert positions_in_sample(batch, 5).tolist() == [0, 1, 2, 0, 1]
    assert positions_in_sample(sample([1, 2, 3]), 3).tolist() == [0, 1, 2]


def test_token_embedding_bag_of_words():
    torch.manual_seed(0)
    emb = TokenEmbedding(10, 8)
    assert str(emb) == 'TokenEmbedding(10, 8, positional=False)'
    batch = Batch.from_data_list([sample([1, 4]), sample([4])])
    z = emb(batch)
    assert z.shape == (3, 8)
    assert torch.equal(z[1], z[2])  # same word, same node embedding
    assert torch.equal(z[0], emb.embedding.weight[1])
    # [S, 1] ids are accepted too.
    two_d = Batch.from_data_list([Data(x=torch.tensor([[1], [4]]))])
    assert torch.equal(emb(two_d), z[:2])
    with pytest.raises(ValueError, match=r'\[0, 9\]'):
        emb(Batch.from_data_list([sample([10])]))
    with pytest.raises(ValueError, match='integers'):
        emb(Data(x=torch.tensor([1.0])))


def test_token_embedding_positional_and_value():
    torch.manual_seed(0)
    emb = TokenEmbedding(10, 8, positional=True)
    batch = Batch.from_data_list([sample([3, 3]), sample([3])])
    z = emb(batch)
    # Same token at position 0 of two samples: equal; at position 1: not.
    assert torch.allclose(z[0], z[2])
    assert not torch.allclose(z[0], z[1])
    pe = sinusoidal_positional_encoding(torch.tensor([1]), 8)[0]
    assert torch.allclose(z[1] - z[0], pe - sinusoidal_positional_encoding(
        torch.tensor([0]), 8)[0], atol=1e-6)

    scaled = TokenEmbedding(10, 8, use_value=True)
    b = Batch.from_data_list([sample([2, 2], values=[1.0, 3.0])])
    z = scaled(b)
    assert torch.allclose(z[1], 3 * z[0])
    with pytest.raises(ValueError, match='data.value'):
        scaled(Batch.from_data_list([sample([2])]))


def test_feature_value_embedding():
    torch.manual_seed(0)
    emb = FeatureValueEmbedding(4, 6)
    b = Batch.from_data_list([sample([0, 1, 2], values=[0.0, 2.0, -1.0])])
    z = emb(b)
    e, a = emb.identity.weight, emb.direction
    assert torch.allclose(z[0], e[0])  # value 0 keeps the identity
    assert torch.allclose(z[1], e[1] + 2 * a[1])
    assert torch.allclose(z[2], e[2] - a[2])
    z.sum().backward()
    assert emb.direction.grad is not None
    with pytest.raises(ValueError, match="'data.value'"):
        emb(Batch.from_data_list([sample([0])]))
    with pytest.raises(ValueError, match='must have shape'):
        emb(Data(x=torch.tensor([0, 1]), value=torch.tensor([1.0])))


@pytest.mark.parametrize('input_type,make', [
    ('bow', lambda: sample([1, 4, 7])),
    ('sequence', lambda: sample([1, 4, 4, 2])),
    ('vector', lambda: sample([0, 1, 2], values=[0.5, -1.0, 2.0])),
])
@pytest.mark.parametrize('name', ['emb', 'fmp'])
def test_feature_encoder_with_lamp(input_type, make, name):
    torch.manual_seed(0)
    enc = feature_encoder(name, input_type, 16, num_features=10, heads=2)
    if name == 'fmp':
        assert isinstance(enc, FMPEncoder) and enc.graph == 'complete'
        assert enc.num_layers == 2
    empty = (sample([], values=[]) if input_type == 'vector' else sample([]))
    batch = Batch.from_data_list([make(), empty, make()])
    model = LaMP(3, 16, encoder=enc, heads=2, label_graph='fc')
    out = model(batch)
    assert out.logits.shape == (3, 3)
    assert torch.isfinite(out.logits).all()
    # Identical samples, different positions in the batch: equal outputs.
    model.eval()
    out = model(batch)
    assert torch.allclose(out.logits[0], out.logits[2], atol=1e-5)
    out.logits.sum().backward()
    grads = [p.grad for p in enc.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_fmp_sequence_sees_order():
    torch.manual_seed(0)
    enc = feature_encoder('fmp', 'sequence', 16, num_features=10, heads=2)
    enc.eval()
    a = enc(Batch.from_data_list([sample([1, 2, 3])]))
    b = enc(Batch.from_data_list([sample([3, 2, 1])]))
    # Positional encodings make the token at a position depend on order.
    assert not torch.allclose(a[1], b[1])
    bow = feature_encoder('fmp', 'bow', 16, num_features=10, heads=2)
    bow.eval()
    a = bow(Batch.from_data_list([sample([1, 2, 3])]))
    b = bow(Batch.from_data_list([sample([3, 2, 1])]))
    assert torch.allclose(a[0], b[2], atol=1e-5)  # a set: order-free


def test_feature_encoder_molecule_and_errors():
    assert isinstance(feature_encoder('emb', 'molecule', 8), AtomEmbedding)
    fmp = feature_encoder('fmp', 'molecule', 8, heads=2)
    assert isinstance(fmp, FMPEncoder) and fmp.graph == 'edge_index'
    with pytest.raises(ValueError, match='num_features'):
        feature_encoder('emb', 'bow', 8)
    with pytest.raises(ValueError, match='input type'):
        feature_encoder('emb', 'image', 8, num_features=3)
    with pytest.raises(ValueError, match='feature encoder'):
        feature_encoder('gin', 'bow', 8, num_features=3)
    with pytest.raises(ValueError, match='positive'):
        TokenEmbedding(0, 8)
