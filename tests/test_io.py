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
