import math
import os
import os.path as osp
import stat
import warnings

import pytest
import torch
from torch_geometric.loader import DataLoader
from torch_geometric.utils import from_smiles

from lamp_geometric.data import (
    MoleculeCSV,
    default_cache_dir,
    default_data_dir,
)

# Line 1 is the header, so the data rows are lines 2 to 8.
ROWS = [
    ('[Na+].[Cl-]', '1', '0'),  # line 2: a salt (two atoms, no bond)
    ('C', '0', '1'),  # line 3: a single atom
    ('C1CC', '1', '1'),  # line 4: unclosed ring -> unparseable
    ('C[N+](C)(C)C', '1', ''),  # line 5: charged, missing label B
    ('', '0', '0'),  # line 6: empty SMILES
    ('C[C@H](N)C(=O)O', '0', '1'),  # line 7: a stereocentre
    ('F/C=C/F', '1', '0'),  # line 8: a stereo double bond
]
VALID = [0, 1, 3, 5, 6]  # 0-based row indices of the parseable rows


def write_csv(path, rows=ROWS, header=('smiles', 'A', 'B')):
    lines = [','.join(header)] + [','.join(row) for row in rows]
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


@pytest.fixture
def csv_file(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    return write_csv(raw / 'tiny.csv')


def load(csv_path, root, **kwargs):
    kwargs.setdefault('verbose', False)
    return MoleculeCSV(csv_path, root=str(root), **kwargs)


def test_default_dirs(monkeypatch, tmp_path):
    monkeypatch.setenv('LAMP_CACHE', str(tmp_path / 'c'))
    assert default_cache_dir() == str(tmp_path / 'c')
    monkeypatch.delenv('LAMP_CACHE')
    assert default_cache_dir() == osp.expanduser(
        osp.join('~', '.cache', 'lamp_geometric'))

    monkeypatch.setenv('LAMP_DATA', str(tmp_path / 'd'))
    assert default_data_dir() == str(tmp_path / 'd')
    monkeypatch.delenv('LAMP_DATA')
    assert default_data_dir() is None


def test_graphs_labels_and_skipped(csv_file, tmp_path):
    ds = load(csv_file, tmp_path / 'cache')
    assert len(ds) == len(VALID)
    assert ds.label_names == ['A', 'B']
    assert ds.num_labels == 2
    assert ds.num_rows == len(ROWS)
    assert ds.skipped == [(4, 'C1CC', 'unparseable SMILES'),
                          (6, '', 'empty SMILES')]

    for data, row in zip(ds, VALID):
        smiles = ROWS[row][0]
        assert data.smiles == smiles
        assert data.idx.tolist() == [row]
        assert data.x.dtype == torch.long and data.x.size(1) == 9
        assert data.edge_attr.dtype == torch.long
        assert data.edge_attr.size(1) == 3
        assert data.edge_index.size(1) == data.edge_attr.size(0)
        ref = from_smiles(smiles)  # Same featurisation as PyG's.
        assert torch.equal(data.x, ref.x)
        assert torch.equal(data.edge_index, ref.edge_index)
        assert torch.equal(data.edge_attr, ref.edge_attr)
        assert data.y.shape == (1, 2) and data.y.dtype == torch.float

    salt, single, charged = ds[0], ds[1], ds[2]
    assert salt.num_nodes == 2 and salt.edge_index.size(1) == 0
    assert single.num_nodes == 1 and single.edge_index.size(1) == 0
    assert single.edge_index.shape == (2, 0)
    assert single.edge_attr.shape == (0, 3)
    assert charged.x[:, 3].max() > 5  # formal charge +1 (index 0 is -5)

    # NaN kept exactly where the cell is empty (row 3, label B).
    y = ds._data.y
    assert y.shape == (len(VALID), 2)
    assert torch.isnan(y).nonzero().tolist() == [[2, 1]]
    assert y[0].tolist() == [1.0, 0.0]
    assert y[2, 0].item() == 1.0

    batch = next(iter(DataLoader(ds, batch_size=len(ds))))
    assert batch.y.shape == (len(VALID), 2)
    assert batch.idx.tolist() == VALID
    assert batch.smiles == [ROWS[i][0] for i in VALID]


def test_skipped_warning(csv_file, tmp_path):
    with pytest.warns(UserWarning) as record:
        MoleculeCSV(csv_file, root=str(tmp_path / 'cache'))
    messages = [str(w.message) for w in record]
    assert ("skipped 2 of 7 rows: row 4 'C1CC' (unparseable SMILES), "
            "row 6 '' (empty SMILES)") in messages

    with warnings.catch_warnings():
        warnings.simplefilter('error')
        load(csv_file, tmp_path / 'cache')  # verbose=False: silent


def test_reload_from_cache(csv_file, tmp_path, monkeypatch):
    ds1 = load(csv_file, tmp_path / 'cache')

    def fail(self):
        raise AssertionError('process() called although a cache exists')

    monkeypatch.setattr(MoleculeCSV, 'process', fail)
    ds2 = load(csv_file, tmp_path / 'cache')
    assert len(ds2) == len(ds1)
    assert ds2.skipped == ds1.skipped
    assert ds2.num_rows == ds1.num_rows
    assert ds2.label_names == ds1.label_names
    for a, b in zip(ds1, ds2):
        assert a.smiles == b.smiles
        assert torch.equal(a.x, b.x)
        assert torch.equal(a.edge_index, b.edge_index)
        assert torch.equal(a.edge_attr, b.edge_attr)
        assert torch.equal(a.idx, b.idx)
        assert torch.allclose(a.y, b.y, equal_nan=True)


def test_stale_cache_is_rebuilt(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    path = write_csv(raw / 'tiny.csv')
    assert len(load(path, tmp_path / 'cache')) == len(VALID)

    write_csv(raw / 'tiny.csv', rows=ROWS[:2])  # Same root, new content.
    ds = load(path, tmp_path / 'cache')
    assert len(ds) == 2
    assert ds.skipped == []

    # Other label columns with the same root are processed afresh too.
    ds = load(path, tmp_path / 'cache', label_columns=['B'])
    assert ds.label_names == ['B']
    assert ds._data.y.shape == (2, 1)


def test_label_columns_subset_and_order(csv_file, tmp_path):
    ds = load(csv_file, tmp_path / 'cache', label_columns=['B', 'A'])
    assert ds.label_names == ['B', 'A']
    assert ds[0].y.tolist() == [[0.0, 1.0]]


def test_invalid_label_value(tmp_path):
    rows = [('C', '1', '0'), ('CC', '0', '2')]  # '2' on line 3, column B
    path = write_csv(tmp_path / 'bad.csv', rows=rows)
    with pytest.raises(ValueError, match=r"line 3, column 'B'"):
        load(path, tmp_path / 'cache')


def test_missing_columns(csv_file, tmp_path):
    with pytest.raises(ValueError, match=r"'nope'.*smiles.*'A'.*'B'"):
        load(csv_file, tmp_path / 'cache', label_columns=['A', 'nope'])
    with pytest.raises(ValueError, match=r"'SMILES'.*the columns are"):
        load(csv_file, tmp_path / 'cache', smiles_column='SMILES')


def test_missing_file(tmp_path):
    path = tmp_path / 'nowhere' / 'missing.csv'
    with pytest.raises(FileNotFoundError, match='missing.csv'):
        load(str(path), tmp_path / 'cache')
    assert not (tmp_path / 'cache').exists()


def test_no_valid_molecule(tmp_path):
    path = write_csv(tmp_path / 'bad.csv', rows=[('C1CC', '1', '0')])
    with pytest.raises(ValueError, match='No valid molecule'):
        load(path, tmp_path / 'cache')


def test_read_only_raw_dir_and_default_root(tmp_path, monkeypatch):
    raw = tmp_path / 'raw'
    raw.mkdir()
    path = write_csv(raw / 'tiny.csv')
    cache = tmp_path / 'cache'
    monkeypatch.setenv('LAMP_CACHE', str(cache))
    before = sorted(os.listdir(raw))
    os.chmod(raw, stat.S_IRUSR | stat.S_IXUSR)
    try:
        ds = MoleculeCSV(path, verbose=False)  # root=None: under LAMP_CACHE
        assert len(ds) == len(VALID)
        again = MoleculeCSV(path, verbose=False)
        assert again.skipped == ds.skipped
    finally:
        os.chmod(raw, stat.S_IRWXU)
    assert sorted(os.listdir(raw)) == before  # Nothing written beside it.
    assert osp.dirname(ds.root) == str(cache)
    assert osp.basename(ds.root).startswith('tiny_')
    assert osp.isfile(osp.join(ds.root, 'processed', 'data.pt'))

    # Another column selection gets another default root.
    other = MoleculeCSV(path, label_columns=['A'], verbose=False)
    assert other.root != ds.root


def test_rdkit_errors_are_not_printed(csv_file, tmp_path, capfd):
    from rdkit import Chem, RDLogger

    # PyG's `from_smiles` (used above) disables RDKit's log for good.
    RDLogger.EnableLog('rdApp.*')
    capfd.readouterr()
    load(csv_file, tmp_path / 'cache')
    out, err = capfd.readouterr()
    assert 'SMILES Parse Error' not in out + err

    # The log is enabled again afterwards.
    assert Chem.MolFromSmiles('C1CC') is None
    out, err = capfd.readouterr()
    assert 'SMILES Parse Error' in out + err


def test_nan_labels_only_where_empty(csv_file, tmp_path):
    ds = load(csv_file, tmp_path / 'cache')
    for data, row in zip(ds, VALID):
        for value, cell in zip(data.y[0].tolist(), ROWS[row][1:]):
            assert math.isnan(value) == (cell == '')


def test_processed_files_are_written_atomically(csv_file, tmp_path,
                                                processed_writes):
    # As for the Mulan sets: the processed file appears at its final path
    # only when complete, so concurrent builders never read half a file.
    ds = load(csv_file, tmp_path / 'cache')
    assert len(ds) == len(VALID)
    assert len(processed_writes) == 1
    assert 'data.pt' not in processed_writes[0]
    processed = tmp_path / 'cache' / 'processed'
    assert not [f for f in os.listdir(processed) if f.startswith('.tmp-')]
