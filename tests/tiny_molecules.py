r"""A tiny molecule data set for fast tests: 48 small molecules whose five
labels are substructure facts (so a model can learn them), written as a
MoleculeNet-style CSV."""
import csv
import os
from typing import List

from rdkit import Chem

SMILES: List[str] = [
    'CCO', 'CCN', 'CC(=O)O', 'c1ccccc1', 'c1ccccc1O', 'c1ccccc1N',
    'CCCl', 'ClCCl', 'c1ccc(Cl)cc1', 'C1CCCCC1', 'C1CCNCC1', 'C1CCOC1',
    'CC(C)O', 'CC(C)N', 'OCCO', 'NCCN', 'CCBr', 'c1ccncc1', 'c1ccoc1',
    'CC(=O)N', 'CCOCC', 'CCCCCC', 'CC#N', 'c1ccc2ccccc2c1', 'Cc1ccccc1',
    'Oc1ccc(O)cc1', 'Nc1ccc(N)cc1', 'FC(F)F', 'CC(F)(F)F', 'OC1CCCCC1',
    'NC1CCCCC1', 'C1CC1', 'CCC(=O)OC', 'c1ccc(F)cc1', 'CN(C)C', 'CSC',
    'c1ccsc1', 'O=C1CCCC1', 'CC(=O)Nc1ccccc1', 'ICC', 'C=CC=C', 'CCCCO',
    'CCCCN', 'c1ccc(Br)cc1', 'OC(=O)c1ccccc1', 'C1COCCN1', 'CC(C)(C)C',
    'NC(=O)N',
]

LABELS = ['nitrogen', 'oxygen', 'aromatic', 'halogen', 'ring']


def labels_of(smiles: str) -> List[int]:
    mol = Chem.MolFromSmiles(smiles)
    symbols = {a.GetSymbol() for a in mol.GetAtoms()}
    return [
        int('N' in symbols),
        int('O' in symbols),
        int(any(a.GetIsAromatic() for a in mol.GetAtoms())),
        int(bool(symbols & {'F', 'Cl', 'Br', 'I'})),
        int(mol.GetRingInfo().NumRings() > 0),
    ]


def write_csv(path: str, invalid: bool = False) -> str:
    r"""Writes the data set to :obj:`path` (with one unparseable row if
    :obj:`invalid`) and returns the path."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['smiles'] + LABELS)
        for s in SMILES:
            writer.writerow([s] + labels_of(s))
        if invalid:
            writer.writerow(['C1CC(', 0, 0, 0, 0, 0])
    return path


def train_tiny(tmp_dir: str, label_graph: str = 'fc', encoder: str = 'fmp',
               epochs: int = 2, **kwargs) -> dict:
    r"""Trains a d=16 LaMP on the tiny CSV for a couple of epochs with
    :func:`lamp_geometric.experiment.run`, writing a checkpoint; returns
    the experiment's results."""
    from lamp_geometric.experiment import run

    csv_path = write_csv(os.path.join(tmp_dir, 'tiny.csv'))
    config = dict(dataset='csv', csv=csv_path,
                  cache_dir=os.path.join(tmp_dir, 'cache'), epochs=epochs,
                  batch_size=16, lr=3e-3, hidden=16, heads=2, steps=2,
                  dropout=0.1, label_graph=label_graph, encoder=encoder,
                  select='loss', quiet=True,
                  checkpoint=os.path.join(tmp_dir, 'model.pt'))
    config.update(kwargs)
    return run(config, log=None, epoch_log=None)
