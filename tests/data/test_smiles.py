import re

import pytest
import torch
from torch_geometric.utils import from_smiles

from lamp_geometric.data import SmilesError, block_rdkit_logs, featurize_smiles


@pytest.mark.parametrize('smiles', ['CCO', '[Na+].[Cl-]', 'C[C@H](N)C(=O)O',
                                    'F/C=C/F', 'c1ccccc1O'])
def test_featurize_smiles_is_pyg_featurisation(smiles):
    data = featurize_smiles(f'  {smiles}\n')
    ref = from_smiles(smiles)
    assert torch.equal(data.x, ref.x)
    assert torch.equal(data.edge_index, ref.edge_index)
    assert torch.equal(data.edge_attr, ref.edge_attr)
    assert data.smiles == smiles  # surrounding white space removed


@pytest.mark.parametrize('smiles,reason,message', [
    ('', 'empty SMILES', 'empty SMILES'),
    ('   ', 'empty SMILES', 'empty SMILES'),
    ('C1CC', 'unparseable SMILES', "RDKit cannot parse the SMILES 'C1CC'"),
    ('C(C)(C)(C)(C)C', 'unparseable SMILES', 'cannot parse'),
    (None, 'not a string', 'expected a SMILES string (got NoneType)'),
])
def test_featurize_smiles_errors(smiles, reason, message):
    with pytest.raises(SmilesError, match=re.escape(message)) as info:
        featurize_smiles(smiles)
    assert info.value.reason == reason
    assert isinstance(info.value, ValueError)


def test_block_rdkit_logs_silences_and_restores(capfd):
    from rdkit import Chem, RDLogger

    RDLogger.EnableLog('rdApp.*')  # PyG's `from_smiles` disables it
    capfd.readouterr()
    with block_rdkit_logs():
        assert Chem.MolFromSmiles('C1CC') is None
    out, err = capfd.readouterr()
    assert 'SMILES Parse Error' not in out + err
    assert Chem.MolFromSmiles('C1CC') is None
    out, err = capfd.readouterr()
    assert 'SMILES Parse Error' in out + err
