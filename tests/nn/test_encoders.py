import pytest
import torch

from torch_geometric.data import Batch
from torch_geometric.utils import from_smiles, to_dense_batch

from lamp_geometric.nn import (
    AtomEmbedding,
    CategoricalEmbedding,
    DenseLaMPConv,
    FMPEncoder,
    GINEncoder,
    LaMPConv,
)
from lamp_geometric.nn.encoders import ATOM_FEATURE_SIZES

SMILES = ['CCO', 'c1ccccc1O', '[Na+].[Cl-]', 'C']
NUM_ATOMS = 3 + 7 + 2 + 1


@pytest.fixture(scope='module')
def data():
    return Batch.from_data_list([from_smiles(s) for s in SMILES])


def test_categorical_embedding():
    torch.manual_seed(12345)
    emb = CategoricalEmbedding(4, [3, 5])
    assert str(emb) == 'CategoricalEmbedding(4, num_categories=[3, 5])'
    x = torch.tensor([[0, 4], [2, 1]])
    out = emb(x)
    w0, w1 = emb.embeddings[0].weight, emb.embeddings[1].weight
    assert torch.allclose(out, torch.stack([w0[0] + w1[4], w0[2] + w1[1]]))
    with pytest.raises(ValueError, match='categorical columns'):
        emb(torch.zeros(2, 3, dtype=torch.long))


def test_atom_embedding(data):
    torch.manual_seed(12345)
    assert data.x.size() == (NUM_ATOMS, len(ATOM_FEATURE_SIZES))
    emb = AtomEmbedding(16)
    assert str(emb) == 'AtomEmbedding(16)'
    out = emb(data)
    assert out.size() == (NUM_ATOMS, 16)
    assert torch.isfinite(out).all()
    # Atom 0 (the first C of CCO) by hand:
    expected = sum(e.weight[int(data.x[0, i])]
                   for i, e in enumerate(emb.atom.embeddings))
    assert torch.allclose(out[0], expected)
    # The two carbons of CCO differ in their number of hydrogens:
    assert not torch.allclose(out[0], out[1])


def test_fmp_encoder_edge_index(data):
    torch.manual_seed(12345)
    enc = FMPEncoder(AtomEmbedding(16), 16, num_layers=2, heads=2).eval()
    assert str(enc) == ('FMPEncoder(16, num_layers=2, heads=2, '
                        'graph=edge_index)')
    assert all(isinstance(conv, LaMPConv) for conv in enc.convs)
    out = enc(data)
    assert out.size() == (NUM_ATOMS, 16)
    assert torch.isfinite(out).all()

    # By hand: bond graph plus one self loop per atom.
    loops = torch.arange(NUM_ATOMS).repeat(2, 1)
    edge_index = torch.cat([data.edge_index, loops], dim=1)
    z = enc.embedding(data)
    for conv in enc.convs:
        z = conv(z, edge_index)
    assert torch.allclose(out, z, atol=1e-5)

    # Atoms only see their own molecule: changing the last molecule ('C')
    # does not change the others.
    data2 = data.clone()
    data2.x = data.x.clone()
    data2.x[-1, 4] = 0  # number of hydrogens of the single carbon
    out2 = enc(data2)
    assert torch.allclose(out2[:-1], out[:-1], atol=1e-6)
    assert not torch.allclose(out2[-1], out[-1], atol=1e-4)


def test_fmp_encoder_complete(data):
    torch.manual_seed(12345)
    enc = FMPEncoder(AtomEmbedding(16), 16, num_layers=2, heads=4,
                     graph='complete').eval()
    assert all(isinstance(conv, DenseLaMPConv) for conv in enc.convs)
    out = enc(data)
    assert out.size() == (NUM_ATOMS, 16)
    assert torch.isfinite(out).all()

    # Running the DenseLaMPConv layers by hand:
    z = enc.embedding(data)
    z_pad, mask = to_dense_batch(z, data.batch)
    for conv in enc.convs:
        z_pad = conv(z_pad, mask=mask)
    assert torch.allclose(out, z_pad[mask], atol=1e-5)

    # ... and as sparse LaMPConv layers over the complete graph of every
    # molecule (self loops included):
    src, dst = [], []
    for i in range(NUM_ATOMS):
        for j in range(NUM_ATOMS):
            if data.batch[i] == data.batch[j]:
                src.append(j)
                dst.append(i)
    edge_index = torch.tensor([src, dst])
    z = enc.embedding(data)
    for dense_conv in enc.convs:
        conv = LaMPConv(16, 16, heads=4).eval()
        conv.load_state_dict(dense_conv.state_dict())
        z = conv(z, edge_index)
    assert torch.allclose(out, z, atol=1e-5)

    # The complete graph differs from the bond graph:
    enc2 = FMPEncoder(AtomEmbedding(16), 16, num_layers=2, heads=4).eval()
    enc2.load_state_dict(enc.state_dict())
    assert not torch.allclose(enc2(data), out, atol=1e-4)


def test_fmp_encoder_bad_graph():
    with pytest.raises(ValueError, match='graph'):
        FMPEncoder(AtomEmbedding(16), 16, graph='knn')


def test_gin_encoder(data):
    torch.manual_seed(12345)
    enc = GINEncoder(16, num_layers=2)
    assert str(enc) == 'GINEncoder(16, num_layers=2)'
    out = enc(data)
    assert out.size() == (NUM_ATOMS, 16)
    assert torch.isfinite(out).all()
    assert torch.all(out >= 0)  # ends with a ReLU
    (out * torch.randn_like(out)).sum().backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None, name

    enc.eval()
    out = enc(data)
    assert torch.isfinite(out).all()

    # A single atom in train mode (no batch statistics) still works:
    enc.train()
    single = Batch.from_data_list([from_smiles('C')])
    out = enc(single)
    assert out.size() == (1, 16) and torch.isfinite(out).all()


def test_encoders_reset_parameters(data):
    torch.manual_seed(12345)
    for enc in [
            AtomEmbedding(8),
            FMPEncoder(AtomEmbedding(8), 8, num_layers=1, heads=2),
            GINEncoder(8, num_layers=1),
    ]:
        before = [p.detach().clone() for p in enc.parameters()]
        enc.reset_parameters()
        after = list(enc.parameters())
        changed = [not torch.equal(a, b) for a, b in zip(before, after)]
        assert any(changed), enc


def test_molecule_encoder(data):
    from lamp_geometric.nn import molecule_encoder

    assert isinstance(molecule_encoder('emb', 8), AtomEmbedding)
    fmp = molecule_encoder('fmp', 8, heads=2, num_layers=3)
    assert isinstance(fmp, FMPEncoder)
    assert fmp.graph == 'edge_index' and len(fmp.convs) == 3
    assert fmp.convs[0].heads == 2
    gin = molecule_encoder('gin', 8, num_layers=1)
    assert isinstance(gin, GINEncoder) and len(gin.convs) == 1
    for enc in [fmp, gin]:
        assert enc(data).size() == (NUM_ATOMS, 8)
    with pytest.raises(ValueError, match='Unknown molecule encoder'):
        molecule_encoder('transformer', 8)
