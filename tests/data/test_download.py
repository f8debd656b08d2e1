import gzip
import hashlib
import os
import os.path as osp

import pytest

import lamp_geometric.data.download as download_module
from lamp_geometric.data import (
    ChecksumError,
    PackagedFile,
    download_files,
    find_or_download,
    sha256_of,
)

FILES = ['a.txt', 'b.txt']


def write(folder, files=FILES, text='data'):
    os.makedirs(folder, exist_ok=True)
    for f in files:
        with open(osp.join(folder, f), 'w') as out:
            out.write(f'{text} {f}\n')
    return str(folder)


def packaged(tmp_path, files=FILES):
    folder = tmp_path / 'package'
    folder.mkdir()
    out = {}
    for f in files:
        content = f'packaged {f}\n'.encode()
        path = folder / (f + '.gz')
        with gzip.open(path, 'wb') as g:
            g.write(content)
        out[f] = PackagedFile(str(path), hashlib.sha256(content).hexdigest())
    return out


def find(tmp_path, **kwargs):
    kwargs.setdefault('data_dir', str(tmp_path / 'data'))
    kwargs.setdefault('root', str(tmp_path / 'root'))
    return find_or_download('Toy', 'toy', FILES, cache_name='toy', **kwargs)


def test_lookup_order(tmp_path, monkeypatch):
    monkeypatch.setenv('LAMP_CACHE', str(tmp_path / 'cache'))
    calls = []

    def download(raw_dir):
        calls.append(raw_dir)
        write(raw_dir, text='downloaded')

    copies = packaged(tmp_path)
    # 4. Nothing anywhere: downloaded into <root>/raw, then found there (3).
    paths = find(tmp_path, download=download)
    raw = str(tmp_path / 'root' / 'raw')
    assert calls == [raw]
    assert paths == {f: osp.join(raw, f) for f in FILES}
    assert find(tmp_path, download=download) == paths and len(calls) == 1
    # 2. The packaged copies come before the cache ...
    paths = find(tmp_path, download=download, packaged=copies)
    assert paths == {f: copies[f].path for f in FILES}
    # ... unless one of them is missing.
    partial = {'a.txt': copies['a.txt']}
    assert find(tmp_path, packaged=partial)['a.txt'] == osp.join(raw, 'a.txt')
    # 1. The data directory comes first, only when it holds every file.
    write(tmp_path / 'data' / 'toy', files=['a.txt'])
    assert find(tmp_path, packaged=copies) == paths
    write(tmp_path / 'data' / 'toy')
    data = str(tmp_path / 'data' / 'toy')
    assert find(tmp_path, packaged=copies) == {
        f: osp.join(data, f) for f in FILES}
    # $LAMP_DATA is the default data directory; without root, the cache.
    monkeypatch.setenv('LAMP_DATA', str(tmp_path / 'data'))
    assert find_or_download('Toy', 'toy', FILES, None, None, 'toy') == {
        f: osp.join(data, f) for f in FILES}
    monkeypatch.delenv('LAMP_DATA')
    find_or_download('Toy', 'toy', FILES, None, None, 'toy', download)
    assert calls[-1] == str(tmp_path / 'cache' / 'toy' / 'raw')


def test_packaged_checksum(tmp_path):
    copies = packaged(tmp_path)
    assert sha256_of(copies['a.txt'].path) == copies['a.txt'].sha256
    wrong = dict(copies)
    wrong['b.txt'] = PackagedFile(copies['b.txt'].path, '0' * 64)
    with pytest.raises(ChecksumError, match="Toy's b.txt .* has SHA-256"):
        find(tmp_path, packaged=wrong)
    (tmp_path / 'package' / 'a.txt.gz').write_bytes(b'not gzip')
    with pytest.raises(ChecksumError, match='cannot be read'):
        find(tmp_path, packaged=copies)


def test_missing_files_are_explained(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        find(tmp_path)
    message = str(info.value)
    assert "Toy raw files ['a.txt', 'b.txt'] not found" in message
    assert str(tmp_path / 'data' / 'toy') in message
    assert 'toy/a.txt' in message and 'downloading' not in message

    def incomplete(raw_dir):
        write(raw_dir, files=['a.txt'])

    with pytest.raises(FileNotFoundError,
                       match=r"from SRC failed: .*lacks \['b.txt'\]"):
        find(tmp_path, download=incomplete, source='SRC')


def test_download_files(tmp_path, monkeypatch):
    remote = tmp_path / 'remote'
    remote.mkdir()
    with gzip.open(remote / 'x.csv.gz', 'wt') as f:
        f.write('smiles,A\nCCO,1\n')
    (remote / 'y.txt').write_text('plain\n')
    calls = []

    def download_url(url, folder, log=True, filename=None):
        calls.append((url, filename))
        path = osp.join(folder, filename)
        with open(remote / url, 'rb') as src, open(path, 'wb') as dst:
            dst.write(src.read())
        return path

    monkeypatch.setattr(download_module, 'download_url', download_url)
    raw = tmp_path / 'raw'
    raw.mkdir()
    download_files({'x.csv': 'x.csv.gz'}, str(raw), log=False, gunzip=True)
    download_files({'y.txt': 'y.txt', 'x.csv': 'x.csv.gz'}, str(raw),
                   log=False)
    assert sorted(os.listdir(raw)) == ['x.csv', 'y.txt']  # no temp left
    assert (raw / 'x.csv').read_text() == 'smiles,A\nCCO,1\n'
    assert (raw / 'y.txt').read_text() == 'plain\n'
    assert calls == [('x.csv.gz', 'x.csv.gz'), ('y.txt', 'y.txt')]
