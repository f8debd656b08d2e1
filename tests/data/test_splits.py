import csv
import os
import os.path as osp

import pytest
import torch
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold

from lamp_geometric.data import random_split, scaffold_split

DATA_DIR = os.environ.get('LAMP_DATA')
SIDER_CSV = osp.join(DATA_DIR, 'sider', 'sider.csv') if DATA_DIR else None


def check_partition(splits, n):
    all_idx = torch.cat(splits)
    assert all_idx.dtype == torch.long
    assert all_idx.numel() == n  # disjoint ...
    assert sorted(all_idx.tolist()) == list(range(n))  # ... and covering


def test_random_split_sizes_paper():
    splits = random_split(1427)
    assert tuple(len(s) for s in splits) == (1141, 143, 143)
    check_partition(splits, 1427)


@pytest.mark.parametrize('n', [0, 1, 7, 10, 101])
def test_random_split_partition(n):
    splits = random_split(n, fractions=(0.6, 0.2, 0.2), seed=3)
    check_partition(splits, n)


def test_random_split_seed():
    a = random_split(1427, seed=0)
    b = random_split(1427, seed=0)
    c = random_split(1427, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[2], c[2])


def test_random_split_invalid_fractions():
    with pytest.raises(ValueError):
        random_split(10, fractions=(0.5, 0.2, 0.2))
    with pytest.raises(ValueError):
        random_split(10, fractions=(0.8, 0.2))


SMILES = (
    ['c1ccccc1' + s for s in ['C', 'O', 'N', 'Cl', 'F', 'CC', 'CO', 'CN']] +
    ['C1CCCCC1' + s for s in ['C', 'O', 'N', 'Cl']] +
    ['c1ccncc1' + s for s in ['C', 'O', 'N']] +
    ['CCO', 'CCCC', 'CC(=O)O'] +  # acyclic: empty scaffold
    ['c1ccc2ccccc2c1', 'C1CC1C', 'C1CCC1O', 'c1ccsc1C']
)


def scaffolds(smiles, idx):
    return {
        MurckoScaffold.MurckoScaffoldSmiles(
            mol=Chem.MolFromSmiles(smiles[i]), includeChirality=False)
        for i in idx.tolist()
    }


@pytest.mark.parametrize('seed', [None, 0, 1])
def test_scaffold_split_disjoint_scaffolds(seed):
    splits = scaffold_split(SMILES, seed=seed)
    check_partition(splits, len(SMILES))
    train, val, test = (scaffolds(SMILES, s) for s in splits)
    assert not train & val and not train & test and not val & test
    assert len(splits[0]) <= 0.8 * len(SMILES)


def test_scaffold_split_deterministic_largest_first():
    train, val, test = scaffold_split(SMILES)
    again = scaffold_split(SMILES)
    assert torch.equal(train, again[0]) and torch.equal(test, again[2])
    # The largest scaffold set (benzene, 8 molecules) goes to train.
    assert set(range(8)) <= set(train.tolist())


def test_scaffold_split_seed():
    a = scaffold_split(SMILES, seed=0)
    b = scaffold_split(SMILES, seed=0)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    seeded = [scaffold_split(SMILES, seed=s) for s in range(10)]
    assert len({tuple(s[2].tolist()) for s in seeded}) > 1


def test_scaffold_split_invalid_smiles():
    with pytest.raises(ValueError, match='index 1'):
        scaffold_split(['CCO', 'C1CC'])


@pytest.mark.data
@pytest.mark.skipif(not SIDER_CSV or not osp.isfile(SIDER_CSV),
                    reason='needs LAMP_DATA with sider/sider.csv')
def test_scaffold_split_sider():
    with open(SIDER_CSV, newline='') as f:
        smiles = [row['smiles'] for row in csv.DictReader(f)]
    splits = scaffold_split(smiles)
    check_partition(splits, 1427)
    assert tuple(len(s) for s in splits) == (1141, 142, 144)
    train, val, test = (scaffolds(smiles, s) for s in splits)
    assert not train & val and not train & test and not val & test
