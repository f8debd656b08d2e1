import csv
import gzip
import os
import os.path as osp
import shutil

import pytest
import torch

import lamp_geometric.data.sider as sider_module
from lamp_geometric.data import SIDER, random_split

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

    monkeypatch.setattr(sider_module, 'download_url', fail)
    again = SIDER(DATA_DIR, root=sider.root, verbose=False)
    assert len(again) == 1427
    assert again.csv_path == osp.abspath(SIDER_CSV)


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

    monkeypatch.setattr(sider_module, 'download_url', download_url)
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
    def offline(url, folder, log=True, filename=None):
        raise OSError('network is unreachable')

    monkeypatch.setattr(sider_module, 'download_url', offline)
    data_dir = tmp_path / 'data'
    root = tmp_path / 'root'
    with pytest.raises(FileNotFoundError) as info:
        SIDER(str(data_dir), root=str(root), verbose=False)
    message = str(info.value)
    assert str(data_dir / 'sider' / 'sider.csv') in message
    assert str(root / 'raw' / 'sider.csv') in message
    assert SIDER.url in message
    assert 'network is unreachable' in message
    assert os.listdir(root / 'raw') == []  # No partial file left behind.
