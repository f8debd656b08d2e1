r"""Data-parallel training: two gloo processes on this machine take the same
step as one process on the same global batch, and evaluate to the same
metrics; only rank 0 writes checkpoints."""
import os
import socket
import time

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

import ddp_worker as W
from lamp_geometric import distributed as D
from molecule_sets import tiny_set

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning')

WORLD = 2
TIMEOUT_S = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    r"""The experiments of :mod:`ddp_worker` in one process and in two."""
    directory = tmp_path_factory.mktemp('ddp')
    dataset = tiny_set(str(directory))  # processed once, loaded by workers
    single_dir = directory / 'single'
    ddp_dir = directory / 'ddp'
    single_dir.mkdir()
    ddp_dir.mkdir()
    single = W.run(dataset, str(single_dir))

    ctx = mp.start_processes(
        W.worker, args=(WORLD, free_port(), dataset.csv_path,
                        str(directory / 'cache'), str(ddp_dir)),
        nprocs=WORLD, join=False, start_method='spawn')
    deadline = time.monotonic() + TIMEOUT_S
    while not ctx.join(timeout=2):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                if p.is_alive():
                    p.kill()
            pytest.fail(f'the {WORLD} DDP processes did not finish in '
                        f'{TIMEOUT_S} s')
    ranks = [torch.load(ddp_dir / f'rank{r}.pt', weights_only=False)
             for r in range(WORLD)]
    return single, ranks, single_dir, ddp_dir


def max_param_diff(a, b):
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def test_one_ddp_step_equals_one_global_batch_step(runs):
    single, ranks, _, _ = runs
    assert single['one_step']['unused'] == []  # every parameter gets a grad
    for r in ranks:
        assert r['world'] == WORLD and r['one_step']['unused'] == []
        diff = max_param_diff(r['one_step']['params'],
                              single['one_step']['params'])
        assert diff <= 1e-6, diff
    # The step moved the parameters (the comparison is not vacuous).
    before = W.make_model(tiny_for_init(runs)).state_dict()
    assert max_param_diff(before, single['one_step']['params']) > 1e-3


def tiny_for_init(runs):
    _, _, single_dir, _ = runs
    return tiny_set(str(single_dir.parent))


def test_ddp_fit_equals_single_process_fit(runs):
    single, ranks, _, _ = runs
    s = single['fit']
    for r in ranks:
        d = r['fit']
        assert d['train_sampler'] == 'DistributedSampler'
        assert d['val_sampler'] == 'DistributedEvalSampler'
        assert max_param_diff(d['params'], s['params']) <= 1e-6
        # Predictions are gathered in data set order without duplicates.
        assert d['y_val'].shape == s['y_val'].shape == (11, 5)
        assert np.array_equal(d['y_val'], s['y_val'])
        assert np.abs(d['p_val'] - s['p_val']).max() <= 1e-6
        assert abs(d['val_loss'] - s['val_loss']) <= 1e-6
        assert d['best_epoch'] == s['best_epoch']
        for key in s['test']:
            assert d['test'][key] == pytest.approx(s['test'][key], abs=1e-6,
                                                   nan_ok=True), key
        assert d['thresholds'] == s['thresholds']
        for row_d, row_s in zip(d['history'], s['history']):
            for key in row_s:
                if key != 'time':
                    assert row_d[key] == pytest.approx(
                        row_s[key], abs=1e-6, nan_ok=True), key


def test_only_rank_zero_writes_checkpoints(runs):
    _, ranks, single_dir, ddp_dir = runs
    files = sorted(f for f in os.listdir(ddp_dir) if f.startswith('state'))
    assert files == ['state_rank0.pt']
    state = torch.load(ddp_dir / 'state_rank0.pt', weights_only=True)
    assert state['world_size'] == WORLD and len(state['rng']) == WORLD
    assert [r['main'] for r in ranks] == [True, False]


def test_gathering_drops_sampler_padding(runs):
    _, ranks, _, _ = runs
    assert ranks[0]['gather']['padded_local'] == [0, 2, 4]
    assert ranks[1]['gather']['padded_local'] == [1, 3, 0]  # 0 is padding
    assert ranks[1]['gather']['unpadded_local'] == [1, 3]
    for r in ranks:
        assert r['gather']['padded'] == [0, 1, 2, 3, 4]
        assert r['gather']['unpadded'] == [0, 1, 2, 3, 4]
        assert r['gather']['sums'] == [2.0, 1.0]
        assert r['gather']['one'] == [[7.0, 8.0]]


def test_single_process_helpers():
    # Without torchrun's variables nothing is initialised.
    env = {k: os.environ.pop(k) for k in ('WORLD_SIZE', 'RANK')
           if k in os.environ}
    try:
        assert D.init_distributed('gloo') == (0, 1, torch.device('cpu'))
        assert not D.is_distributed() and D.is_main_process()
        assert D.get_rank() == 0 and D.get_world_size() == 1
        assert D.all_reduce_sum([1.5, 2]) == [1.5, 2.0]
        assert D.all_gather_arrays(np.arange(6).reshape(3, 2),
                                   num_samples=2).tolist() == [[0, 1],
                                                               [2, 3]]
        with pytest.raises(ValueError, match='backend'):
            D.init_distributed('mpi')
    finally:
        os.environ.update(env)


def test_init_distributed_names_missing_variables(monkeypatch):
    monkeypatch.setenv('WORLD_SIZE', '2')
    monkeypatch.setenv('RANK', '3')
    with pytest.raises(ValueError, match=r'RANK must be in \[0, 1\]'):
        D.init_distributed('gloo')
    monkeypatch.setenv('RANK', '0')
    monkeypatch.delenv('MASTER_ADDR', raising=False)
    monkeypatch.delenv('MASTER_PORT', raising=False)
    with pytest.raises(ValueError, match='MASTER_ADDR and MASTER_PORT'):
        D.init_distributed('gloo')


def test_unwrap_model():
    # The one helper that train and checkpoint use to reach the module.
    net = torch.nn.Linear(3, 2)
    assert D.unwrap_model(net) is net
    assert D.unwrap_model(torch.nn.DataParallel(net)) is net
    compiled = torch.compile(net)  # lazy: nothing is compiled here
    assert D.unwrap_model(compiled) is net
    assert D.unwrap_model(torch.nn.DataParallel(compiled)) is net
    assert D.unwrap_model(torch.compile(torch.nn.DataParallel(net))) is net
