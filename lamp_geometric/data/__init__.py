r"""Data sets and splits."""
from lamp_geometric.data.molecule_csv import (
    MoleculeCSV,
    default_cache_dir,
    default_data_dir,
)
from lamp_geometric.data.sider import SIDER
from lamp_geometric.data.splits import random_split, scaffold_split
from lamp_geometric.data.arff import read_arff
from lamp_geometric.data.multilabel import MultiLabelDataset
from lamp_geometric.data.mulan import BibTeX, Delicious, Mulan
from lamp_geometric.data.reuters import Reuters21578
from lamp_geometric.data.rcv1 import RCV1Subset
from lamp_geometric.data.tf_ppi import TFPPI
from lamp_geometric.data.fingerprints import AddMorganBits

__all__ = [
    'AddMorganBits',
    'MoleculeCSV',
    'SIDER',
    'random_split',
    'scaffold_split',
    'default_cache_dir',
    'default_data_dir',
    'read_arff',
    'MultiLabelDataset',
    'Mulan',
    'BibTeX',
    'Delicious',
    'Reuters21578',
    'RCV1Subset',
    'TFPPI',
]
