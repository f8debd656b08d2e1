r"""Small molecule data sets for the reliability tests: the in-repository
tiny molecules (always) and the first 40 SIDER molecules (only when
:obj:`LAMP_DATA` points at a directory holding :obj:`sider/sider.csv`)."""
import csv
import os
import os.path as osp

import tiny_molecules as tm
from lamp_geometric.data import MoleculeCSV

DATA_DIR = os.environ.get('LAMP_DATA')
SIDER_CSV = osp.join(DATA_DIR, 'sider', 'sider.csv') if DATA_DIR else None
HAS_SIDER = bool(SIDER_CSV) and osp.isfile(SIDER_CSV)


def sider_subset(directory: str, n: int = 40) -> MoleculeCSV:
    r"""The first :obj:`n` molecules of SIDER (all 27 labels), loaded from
    a copy of those rows (processing the full file would take seconds)."""
    path = osp.join(directory, f'sider{n}.csv')
    with open(SIDER_CSV, newline='') as f, open(path, 'w', newline='') as g:
        reader, writer = csv.reader(f), csv.writer(g)
        for k, row in enumerate(reader):
            if k > n:
                break
            writer.writerow(row)
    return MoleculeCSV(path, root=osp.join(directory, 'cache'),
                       verbose=False)


def tiny_set(directory: str) -> MoleculeCSV:
    r"""The 48 tiny molecules with 5 substructure labels."""
    path = tm.write_csv(osp.join(directory, 'tiny.csv'))
    return MoleculeCSV(path, root=osp.join(directory, 'cache'),
                       verbose=False)
