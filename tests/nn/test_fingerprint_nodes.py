import pytest
import torch

from torch_geometric.data import Batch
from torch_geometric.utils import from_smiles

from lamp_geometric.baselines import EmbMLP, morgan_fingerprints
from lamp_geometric.data import AddMorganBits
from lamp_geometric.nn import AtomEmbedding, FingerprintNodes, LaMP

SMILES = ['CCO', 'c1ccccc1O', 'C']


def _batch(n_bits=64):
    transform = AddMorganBits(radius=1, n_bits=n_bits)
    return Batch.from_data_list([transform(from_smiles(s)) for s in SMILES])


def test_add_morgan_bits():
    transform = AddMorganBits(radius=1, n_bits=64)
    assert str(transform) == 'AddMorganBits(radius=1, n_bits=64)'
    data = transform(from_smiles('CCO'))
    expected = morgan_fingerprints(['CCO'], radius=1, n_bits=64)[0]
    assert data.fp_bits.tolist() == expected.nonzero()[0].tolist()
    assert data.num_fp_bits.tolist() == [int(expected.sum())]
    # Cached: the same SMILES gives the same tensor without recomputing.
    assert transform(from_smiles('CCO')).fp_bits is data.fp_bits
    with pytest.raises(ValueError, match="needs 'data.smiles'"):
        transform(from_smiles('CCO').__class__(x=data.x))
    with pytest.raises(ValueError, match="'n_bits'"):
        AddMorganBits(n_bits=0)


def test_fingerprint_nodes():
    torch.manual_seed(0)
    batch = _batch()
    atoms = AtomEmbedding(8)
    enc = FingerprintNodes(atoms, 8, n_bits=64)
    assert str(enc) == 'FingerprintNodes(AtomEmbedding(8), n_bits=64)'
    z, index = enc(batch)
    counts = batch.num_fp_bits.tolist()
    num_atoms = [3, 7, 1]
    assert z.size() == (sum(num_atoms) + sum(counts), 8)
    # Sorted by sample: the atoms of a molecule, then its bits.
    assert index.tolist() == sum(
        ([i] * (a + c) for i, (a, c) in enumerate(zip(num_atoms, counts))),
        [])
    z_atoms = atoms(batch)
    start_atom, start_bit, row = 0, 0, 0
    for a, c in zip(num_atoms, counts):
        assert torch.equal(z[row:row + a], z_atoms[start_atom:start_atom + a])
        bits = batch.fp_bits[start_bit:start_bit + c]
        assert torch.equal(z[row + a:row + a + c], enc.bit_emb(bits))
        row, start_atom, start_bit = row + a + c, start_atom + a, \
            start_bit + c


def test_fingerprint_nodes_errors():
    enc = FingerprintNodes(AtomEmbedding(8), 8, n_bits=16)
    with pytest.raises(ValueError, match='AddMorganBits'):
        enc(Batch.from_data_list([from_smiles('CCO')]))
    with pytest.raises(ValueError, match='out of range'):
        enc(_batch(n_bits=64))


def test_lamp_and_mlp_with_fingerprint_nodes():
    torch.manual_seed(0)
    batch = _batch()
    model = LaMP(5, 8, encoder=FingerprintNodes(AtomEmbedding(8), 8,
                                                 n_bits=64), heads=2)
    out = model(batch)
    assert out.logits.size() == (3, 5)
    # The same as passing the nodes and their sample index by hand.
    z, index = model.encoder(batch)
    assert torch.allclose(model.forward_features(z, index, 3).logits,
                          out.logits)
    out.logits.sum().backward()
    assert model.encoder.bit_emb.weight.grad.abs().sum() > 0
    mlp = EmbMLP(FingerprintNodes(AtomEmbedding(8), 8, n_bits=64), 8, 5)
    assert mlp(batch).size() == (3, 5)
