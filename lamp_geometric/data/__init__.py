r"""Data sets and splits."""
from lamp_geometric.data.molecule_csv import (
    MoleculeCSV,
    default_cache_dir,
    default_data_dir,
)
from lamp_geometric.data.sider import SIDER
from lamp_geometric.data.splits import random_split, scaffold_split

__all__ = [
    'MoleculeCSV',
    'SIDER',
    'random_split',
    'scaffold_split',
    'default_cache_dir',
    'default_data_dir',
]
