r"""`examples/sider.py` under `torchrun --nproc_per_node 2` (gloo): it runs to
the end, only rank 0 prints and writes, and the metrics it reports from the
gathered predictions are those of its checkpoint evaluated in one process."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from lamp_geometric import metrics as M
from lamp_geometric.checkpoint import load_checkpoint
from lamp_geometric.data import SIDER, random_split
from lamp_geometric.train import make_loaders, predict
from molecule_sets import HAS_SIDER, SIDER_CSV
from test_distributed import free_port

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LIMIT = 40

pytestmark = [
    pytest.mark.skipif(not HAS_SIDER, reason='needs the real data: set '
                       'LAMP_DATA to a directory holding sider/sider.csv'),
    pytest.mark.data,
    pytest.mark.filterwarnings('ignore::UserWarning'),
]


def small_data_dir(directory) -> str:
    r"""A data directory whose :obj:`sider/sider.csv` holds the first
    :obj:`LIMIT` SIDER molecules (processing all 1427 would take seconds)."""
    (directory / 'sider').mkdir(parents=True)
    with open(SIDER_CSV) as f:
        lines = [next(f) for _ in range(LIMIT + 1)]
    (directory / 'sider' / 'sider.csv').write_text(''.join(lines))
    return str(directory)


def test_sider_example_under_torchrun(tmp_path):
    data_dir = small_data_dir(tmp_path / 'data')
    work = tmp_path / 'work'
    work.mkdir()
    cache = work / 'cache'
    out, ckpt = work / 'ddp.json', work / 'model.pt'
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node',
        '2', '--master_addr', '127.0.0.1', '--master_port',
        str(free_port()),
        osp.join(ROOT, 'examples', 'sider.py'), '--data-dir', data_dir,
        '--cache-dir', str(cache), '--epochs', '2',
        '--hidden', '16', '--heads', '2', '--batch-size', '8',
        '--dropout', '0', '--threads', '1', '--quiet', '--out', str(out),
        '--checkpoint', str(ckpt)
    ]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    proc = subprocess.run(cmd, cwd=str(work), env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    # Rank 0 alone printed and wrote.
    assert proc.stdout.count('best validation epoch') == 1, proc.stdout
    assert proc.stdout.count(f'wrote {out}') == 1
    assert sorted(os.listdir(work)) == ['cache', 'ddp.json', 'model.pt']
    result = json.loads(out.read_text())
    assert result['split_sizes'] == [32, 4, 4]
    assert len(result['history']) == 2

    # Its test metrics (gathered from both processes) are those of the
    # checkpoint evaluated in one process on the same split.
    model, info = load_checkpoint(str(ckpt))
    dataset = SIDER(data_dir=data_dir, root=str(cache), verbose=False)
    assert len(dataset) == LIMIT
    splits = random_split(len(dataset), seed=0)
    _, _, test_loader = make_loaders(dataset, splits, batch_size=8)
    torch.set_num_threads(1)
    y, p, _ = predict(model, test_loader)
    test = M.evaluate(y, p, info.thresholds)
    for key, value in test.items():
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        assert result['test'][key] == pytest.approx(value, abs=1e-6), key
