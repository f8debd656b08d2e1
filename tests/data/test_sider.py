import csv
import gzip
import hashlib
import os
import os.path as osp
import re
import shutil

import pytest
import torch

import lamp_geometric.data.download as download_module
from lamp_geometric.data import ChecksumError, MoleculeCSV, SIDER, random_split

DATA_DIR = os.environ.get('LAMP_DATA')
SIDER_CSV = osp.join(DATA_DIR, 'sider', 'sider.csv') if DATA_DIR else None

needs_data = pytest.mark.skipif(
    not SIDER_CSV or not osp.isfile(SIDER_CSV),
    reason='needs the real data: set LAMP_DATA to a directory holding '
    'sider/sider.csv')


@pytest.fixture(scope='module')
def sider(tmp_path_factory):
    root = tmp_path_factory.mktemp('sider_cache')
    return SIDER(DATA_DIR, root=str(root), verbose=False)


@needs_data
@pytest.mark.data
def test_sider_real_data(sider):
    with open(SIDER_CSV, newline='') as f:
        header = next(csv.reader(f))

    # RDKit parses and featurises every SIDER molecule: nothing is skipped.
    assert sider.skipped == []
    assert sider.num_rows == 1427
    assert len(sider) == 1427
    assert sider.num_labels == 27
    assert sider.label_names == header[1:]
    assert sider.label_names[0] == 'Hepatobiliary disorders'

    y = sider._data.y
    assert y.shape == (1427, 27)
    assert not torch.isnan(y).any()
    assert set(y.unique().tolist()) == {0.0, 1.0}
    assert abs(y.sum(dim=1).mean().item() - 15.3) < 0.05

    assert sider._data.idx.tolist() == list(range(1427))
    assert sider.num_node_features == 9
    assert sider.num_edge_features == 3

    train, val, test = random_split(len(sider))
    assert (len(train), len(val), len(test)) == (1141, 143, 143)
    assert len(sider[train]) == 1141


@needs_data
@pytest.mark.data
def test_sider_real_data_is_not_downloaded(sider, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError('download_url called although the file exists')

    monkeypatch.setattr(download_module, 'download_url', fail)
    again = SIDER(DATA_DIR, root=sider.root, verbose=False)
    assert len(again) == 1427
    assert again.csv_path == osp.abspath(SIDER_CSV)


# The copy shipped with the package ###########################################

def offline(*args, **kwargs):
    raise OSError('network is unreachable')


def test_packaged_copy_loads_offline(tmp_path, monkeypatch, processed_writes):
    monkeypatch.delenv('LAMP_DATA', raising=False)
    monkeypatch.setenv('LAMP_CACHE', str(tmp_path / 'cache'))
    monkeypatch.setattr(download_module, 'download_url', offline)
    # A cached download with other content: the packaged copy comes first.
    root = tmp_path / 'root'
    (root / 'raw').mkdir(parents=True)
    (root / 'raw' / 'sider.csv').write_text('smiles,A\nCCO,1\n')

    ds = SIDER(root=str(root), verbose=False)
    assert ds.csv_path == SIDER.packaged_file
    assert ds.csv_path.endswith(osp.join('lamp_geometric', 'data', 'raw',
                                         'sider.csv.gz'))
    assert (len(ds), ds.num_labels, ds.num_rows) == (1427, 27, 1427)
    assert ds.skipped == []
    assert ds._data.y.shape == (1427, 27)
    assert ds.label_names[0] == 'Hepatobiliary disorders'
    assert ds[0].smiles == 'C(CNCCNCCNCCN)N'
    assert len(processed_writes) == 1

    # The processed cache is reused: the packaged copy is not rewritten.
    again = SIDER(root=str(root), verbose=False)
    assert len(again) == 1427
    assert len(processed_writes) == 1
    assert (root / 'raw' / 'sider.csv').read_text() == 'smiles,A\nCCO,1\n'


def test_packaged_copy_matches_its_notice():
    with gzip.open(SIDER.packaged_file, 'rb') as f:
        raw = f.read()
    assert hashlib.sha256(raw).hexdigest() == SIDER.sha256
    rows = list(csv.reader(raw.decode('utf-8').splitlines()))
    assert (len(rows) - 1, len(rows[0]) - 1) == (1427, 27)
    notice = osp.join(osp.dirname(SIDER.packaged_file), 'README.md')
    with open(notice, encoding='utf-8') as f:
        text = f.read()
    assert re.findall(r'\b[0-9a-f]{64}\b', text) == [SIDER.sha256]
    assert 'CC BY-NC-SA' in text and '1427 rows, 27 labels' in text


def test_packaged_copy_checksum_is_checked(tmp_path, monkeypatch):
    monkeypatch.delenv('LAMP_DATA', raising=False)
    monkeypatch.setattr(download_module, 'download_url', offline)
    monkeypatch.setattr(SIDER, 'sha256', '0' * 64)
    with pytest.raises(ChecksumError, match='has SHA-256 71efc6'):
        SIDER(root=str(tmp_path / 'root'), verbose=False)
    assert not (tmp_path / 'root').exists()


def test_damaged_packaged_copy_is_refused(tmp_path, monkeypatch):
    with gzip.open(SIDER.packaged_file, 'rb') as f:
        raw = bytearray(f.read())
    raw[-2] = ord('0') if raw[-2] == ord('1') else ord('1')  # One label.
    damaged = tmp_path / 'sider.csv.gz'
    with gzip.open(damaged, 'wb') as f:
        f.write(bytes(raw))
    monkeypatch.delenv('LAMP_DATA', raising=False)
    monkeypatch.setattr(download_module, 'download_url', offline)
    monkeypatch.setattr(SIDER, 'packaged_file', str(damaged))
    with pytest.raises(ChecksumError, match='damaged') as info:
        SIDER(root=str(tmp_path / 'root'), verbose=False)
    assert str(damaged) in str(info.value)
    assert 'LAMP_DATA' in str(info.value)


def test_data_dir_overrides_packaged_copy(tmp_path, monkeypatch):
    data_dir = tmp_path / 'data'
    (data_dir / 'sider').mkdir(parents=True)
    (data_dir / 'sider' / 'sider.csv').write_text('smiles,A\nCCO,1\nCC,0\n')
    # Not even read: a wrong checksum does not matter.
    monkeypatch.setattr(SIDER, 'sha256', '0' * 64)
    ds = SIDER(str(data_dir), root=str(tmp_path / 'root'), verbose=False)
    assert ds.csv_path == str(data_dir / 'sider' / 'sider.csv')
    assert len(ds) == 2


def test_molecule_csv_reads_gzip(tmp_path):
    path = tmp_path / 'mols.csv.gz'
    with gzip.open(path, 'wt', encoding='utf-8') as f:
        f.write('smiles,A\nCCO,1\nC1CC,0\nc1ccccc1,0\n')
    ds = MoleculeCSV(str(path), root=str(tmp_path / 'root'), verbose=False)
    assert len(ds) == 2
    assert ds.skipped == [(3, 'C1CC', 'unparseable SMILES')]
    default = MoleculeCSV(str(path), verbose=False)  # cache dir named 'mols'
    assert osp.basename(default.root).startswith('mols_')

    (tmp_path / 'bad.csv.gz').write_bytes(b'not gzip at all')
    with pytest.raises(ValueError, match='not a valid gzip file'):
        MoleculeCSV(str(tmp_path / 'bad.csv.gz'),
                    root=str(tmp_path / 'root2'), verbose=False)


# Download path, without network ##############################################

LABELS = ['Hepatobiliary disorders', 'Metabolism and nutrition disorders']
TINY = [('CCO', '1', '0'), ('c1ccccc1', '0', '1'), ('CC(=O)O', '1', '1')]


@pytest.fixture
def fake_download(tmp_path, monkeypatch):
    """Replaces `download_url` by a copy of a local `sider.csv.gz`."""
    src = tmp_path / 'remote'
    src.mkdir()
    gz_path = src / 'sider.csv.gz'
    text = '\n'.join([','.join(['smiles'] + LABELS)] +
                     [','.join(row) for row in TINY]) + '\n'
    with gzip.open(gz_path, 'wt') as f:
        f.write(text)

    calls = []

    def download_url(url, folder, log=True, filename=None):
        calls.append(url)
        assert url == SIDER.url
        path = osp.join(folder, filename or url.rpartition('/')[2])
        shutil.copyfile(gz_path, path)
        return path

    monkeypatch.setattr(download_module, 'download_url', download_url)
    monkeypatch.setattr(SIDER, 'packaged_file', None)  # as without the copy
    monkeypatch.delenv('LAMP_DATA', raising=False)
    monkeypatch.setenv('LAMP_CACHE', str(tmp_path / 'cache'))
    return calls


def test_url_matches_pyg_moleculenet():
    from torch_geometric.datasets import MoleculeNet

    name = MoleculeNet.names['sider'][1]
    assert SIDER.url == MoleculeNet.url.format(name)


def test_download_when_raw_file_absent(fake_download, tmp_path):
    root = tmp_path / 'root'
    ds = SIDER(str(tmp_path / 'empty_data_dir'), root=str(root),
               verbose=False)
    assert fake_download == [SIDER.url]
    assert ds.csv_path == str(root / 'raw' / 'sider.csv')
    assert os.listdir(root / 'raw') == ['sider.csv']  # gz and temp removed
    assert len(ds) == 3
    assert ds.label_names == LABELS
    assert ds[1].smiles == 'c1ccccc1'

    # The raw file now exists: no second download.
    again = SIDER(str(tmp_path / 'empty_data_dir'), root=str(root),
                  verbose=False)
    assert fake_download == [SIDER.url]
    assert len(again) == 3


def test_download_into_default_cache(fake_download, tmp_path):
    ds = SIDER(verbose=False)  # No data_dir, no LAMP_DATA, no root.
    assert fake_download == [SIDER.url]
    raw = tmp_path / 'cache' / 'sider' / 'raw' / 'sider.csv'
    assert ds.csv_path == str(raw)
    assert osp.dirname(ds.root) == str(tmp_path / 'cache')

    SIDER(verbose=False)
    assert fake_download == [SIDER.url]


def test_no_download_when_data_dir_has_file(fake_download, tmp_path,
                                            monkeypatch):
    data_dir = tmp_path / 'data'
    (data_dir / 'sider').mkdir(parents=True)
    (data_dir / 'sider' / 'sider.csv').write_text(
        'smiles,A\nCCO,1\nCC,0\n')
    monkeypatch.setenv('LAMP_DATA', str(data_dir))
    ds = SIDER(root=str(tmp_path / 'root'), verbose=False)  # via LAMP_DATA
    assert fake_download == []
    assert len(ds) == 2
    assert ds.label_names == ['A']
    assert not (tmp_path / 'root' / 'raw').exists()


def test_download_failure_is_explained(tmp_path, monkeypatch):
    monkeypatch.setattr(download_module, 'download_url', offline)
    monkeypatch.setattr(SIDER, 'packaged_file', None)
    data_dir = tmp_path / 'data'
    root = tmp_path / 'root'
    with pytest.raises(FileNotFoundError) as info:
        SIDER(str(data_dir), root=str(root), verbose=False)
    message = str(info.value)
    assert "raw file 'sider.csv' not found" in message
    assert str(data_dir / 'sider') in message
    assert str(root / 'raw') in message
    assert 'set LAMP_DATA' in message
    assert SIDER.url in message
    assert 'network is unreachable' in message
    assert os.listdir(root / 'raw') == []  # No partial file left behind.
