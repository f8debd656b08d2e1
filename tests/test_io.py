import json
import os

import pytest
import torch

from lamp_geometric.io import atomic_open, atomic_save, atomic_save_json


def test_atomic_save_and_json(tmp_path):
    path = str(tmp_path / 'sub' / 'x.pt')  # the folder is created
    atomic_save({'a': torch.arange(3)}, path)
    assert torch.equal(torch.load(path)['a'], torch.arange(3))
    atomic_save_json({'k': [1, 2]}, str(tmp_path / 'm.json'), indent=1)
    with open(tmp_path / 'm.json', encoding='utf-8') as f:
        assert json.load(f) == {'k': [1, 2]}
    assert sorted(os.listdir(tmp_path / 'sub')) == ['x.pt']


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = str(tmp_path / 'x.txt')
    with atomic_open(path, 'w') as f:
        f.write('old')
    with pytest.raises(RuntimeError, match='disk full'):
        with atomic_open(path, 'w') as f:
            f.write('half of the new')
            # Nothing reaches the final path before the write completes.
            with open(path) as g:
                assert g.read() == 'old'
            raise RuntimeError('disk full')
    with open(path) as g:
        assert g.read() == 'old'
    assert os.listdir(tmp_path) == ['x.txt']  # no temporary file left


def test_permissions_follow_the_umask(tmp_path):
    plain = tmp_path / 'plain.txt'
    plain.write_text('x')
    atomic_save_json([1], str(tmp_path / 'a.json'))
    # As any file the process creates (a temporary file would be 0600).
    assert (os.stat(tmp_path / 'a.json').st_mode & 0o777 ==
            os.stat(plain).st_mode & 0o777)
    with pytest.raises(ValueError, match="'mode'"):
        with atomic_open(str(tmp_path / 'b'), 'a'):
            pass
