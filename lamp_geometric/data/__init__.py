r"""Data sets and splits."""
from lamp_geometric.data.download import (
    ChecksumError,
    PackagedFile,
    default_cache_dir,
    default_data_dir,
    download_files,
    find_or_download,
    sha256_of,
)
from lamp_geometric.data.smiles import (
    SmilesError,
    block_rdkit_logs,
    featurize_smiles,
)
from lamp_geometric.data.molecule_csv import MoleculeCSV
from lamp_geometric.data.sider import SIDER
from lamp_geometric.data.splits import random_split, scaffold_split
from lamp_geometric.data.arff import read_arff
from lamp_geometric.data.priors import read_interactions, read_taxonomy
from lamp_geometric.data.multilabel import MultiLabelDataset
from lamp_geometric.data.mulan import ArffFiles, BibTeX, Delicious, Mulan
from lamp_geometric.data.reuters import Reuters21578
from lamp_geometric.data.rcv1 import RCV1Subset
from lamp_geometric.data.tf_ppi import TFPPI
from lamp_geometric.data.text import TextDataset, read_labelled_text
from lamp_geometric.data.fingerprints import AddMorganBits, morgan_fingerprints
from lamp_geometric.data.inputs import FeatureSpec, InputRow, read_inputs

__all__ = [
    'AddMorganBits',
    'morgan_fingerprints',
    'MoleculeCSV',
    'SIDER',
    'featurize_smiles',
    'SmilesError',
    'block_rdkit_logs',
    'random_split',
    'scaffold_split',
    'default_cache_dir',
    'default_data_dir',
    'find_or_download',
    'download_files',
    'PackagedFile',
    'ChecksumError',
    'sha256_of',
    'read_arff',
    'read_taxonomy',
    'read_interactions',
    'MultiLabelDataset',
    'Mulan',
    'ArffFiles',
    'BibTeX',
    'Delicious',
    'Reuters21578',
    'RCV1Subset',
    'TFPPI',
    'TextDataset',
    'read_labelled_text',
    'FeatureSpec',
    'InputRow',
    'read_inputs',
]
