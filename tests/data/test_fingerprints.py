import numpy as np
import pytest

from lamp_geometric.data import AddMorganBits, morgan_fingerprints

SMILES = ['CCO', 'CCCO', 'c1ccccc1']


def test_morgan_fingerprints():
    fp = morgan_fingerprints(SMILES, radius=2, n_bits=512)
    assert fp.shape == (3, 512) and fp.dtype == np.uint8
    assert set(np.unique(fp)) <= {0, 1} and fp.sum(1).min() > 0
    assert not (fp[0] == fp[2]).all()
    # Radius 0: one bit per distinct atom (CH3, CH2, OH in ethanol).
    assert morgan_fingerprints(['CCO'], radius=0, n_bits=2048).sum() == 3
    with pytest.raises(ValueError, match="'C1CC' at index 1"):
        morgan_fingerprints(['CCO', 'C1CC'])
    with pytest.raises(ValueError, match="'' at index 0"):
        morgan_fingerprints([''])


def test_add_morgan_bits_uses_morgan_fingerprints():
    from torch_geometric.utils import from_smiles

    data = AddMorganBits(radius=1, n_bits=128)(from_smiles('c1ccccc1O'))
    expected = morgan_fingerprints(['c1ccccc1O'], radius=1, n_bits=128)[0]
    assert data.fp_bits.tolist() == np.flatnonzero(expected).tolist()
