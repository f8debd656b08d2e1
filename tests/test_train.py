import copy
import json
import math
import os
import subprocess
import sys

import pytest
import torch

from lamp_geometric.data import MoleculeCSV
from lamp_geometric.nn import LaMP, LaMPLoss, molecule_encoder
from lamp_geometric.train import (
    evaluate_splits,
    fit,
    make_loaders,
    make_optimizer,
    make_scheduler,
    predict,
    seed_everything,
    split_output,
    train_epoch,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMILES = ['CCO', 'c1ccccc1O', 'CC(=O)O', 'CCN', 'C1CCCCC1', 'CC(C)O',
          'c1ccncc1', 'OCC(O)CO', 'CCCl', 'C=CC=C', 'CC#N', 'NC(=O)N']


@pytest.fixture
def dataset(tmp_path):
    lines = ['smiles,a,b,c']
    for i, s in enumerate(SMILES):
        # Label a: contains oxygen; b: aromatic; c: missing for every 3rd row.
        a = int('O' in s or 'o' in s)
        b = int('c' in s)
        c = '' if i % 3 == 0 else str(i % 2)
        lines.append(f'{s},{a},{b},{c}')
    path = tmp_path / 'mols.csv'
    path.write_text('\n'.join(lines) + '\n')
    return MoleculeCSV(str(path), root=str(tmp_path / 'cache'), verbose=False)


def make_model(num_labels, **kwargs):
    return LaMP(num_labels, 16, encoder=molecule_encoder('fmp', 16, heads=2),
                heads=2, **kwargs)


def small_fit_setup(dataset):
    r"""Seeded loaders (8 train, 2 validation, 2 test rows), a small
    model and its optimizer."""
    seed_everything(0)
    splits = (torch.arange(8), torch.arange(8, 10), torch.arange(10, 12))
    loaders = make_loaders(dataset, splits, 4)
    model = make_model(3)
    return loaders, model, torch.optim.Adam(model.parameters(), lr=1e-2)


def test_train_epoch_and_predict(dataset):
    seed_everything(0)
    splits = (torch.arange(8), torch.arange(8, 10), torch.arange(10, 12))
    train_loader, val_loader, test_loader = make_loaders(dataset, splits, 4)
    model = make_model(3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = [train_epoch(model, train_loader, opt) for _ in range(15)]
    assert all(math.isfinite(x) for x in losses)
    assert losses[-1] < losses[0]  # it learns the training set

    y, p, loss = predict(model, test_loader, loss_fn=LaMPLoss())
    assert y.shape == p.shape == (2, 3)
    assert ((p > 0) & (p < 1)).all() and math.isfinite(loss)
    # Missing labels stay NaN in the returned targets.
    assert torch.isnan(torch.from_numpy(y)).any() == torch.isnan(
        dataset._data.y[10:12]).any()


def test_fit_keeps_best_epoch(dataset):
    loaders, model, opt = small_fit_setup(dataset)
    result = fit(model, loaders[0], loaders[1], 4, opt, progress=False)
    assert len(result.history) == 4 and len(result.epoch_times) == 4
    best = min(result.history, key=lambda r: r['val_loss'])
    assert result.best_epoch == best['epoch']
    # The model holds the best epoch's weights: its validation loss matches.
    _, _, val_loss = predict(model, loaders[1], loss_fn=LaMPLoss())
    assert val_loss == pytest.approx(best['val_loss'], rel=1e-5)

    test, val, thresholds = evaluate_splits(model, loaders[1], loaders[2])
    assert set(thresholds) == {'ebF1', 'miF1', 'maF1', 'acc', 'ha'}
    assert 0 <= test['ebF1'] <= 1

    with pytest.raises(ValueError, match='select'):
        fit(model, loaders[0], loaders[1], 1, opt, select='nope')
    with pytest.raises(ValueError, match='val_metrics'):
        fit(model, loaders[0], loaders[1], 1, opt, val_metrics='some')


@pytest.mark.parametrize('select', ['loss', 'roc_auc', 'miF1'])
def test_fit_val_metrics_select_and_all_agree(dataset, select):
    splits = (torch.arange(8), torch.arange(8, 10), torch.arange(10, 12))
    results = {}
    for val_metrics in ('select', 'all'):
        seed_everything(0)
        loaders = make_loaders(dataset, splits, 4)
        model = make_model(3)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        results[val_metrics] = fit(model, loaders[0], loaders[1], 3, opt,
                                   select=select, progress=False,
                                   val_metrics=val_metrics)
    one, every = results['select'], results['all']
    assert one.best_epoch == every.best_epoch
    for row_one, row_all in zip(one.history, every.history):
        extra = set(row_all) - set(row_one)
        assert 'val_ebF1' in extra and 'val_pr_auc' in extra
        for key in row_one:
            if key != 'time':
                assert row_one[key] == pytest.approx(row_all[key],
                                                     nan_ok=True)
        if select != 'loss':
            assert f'val_{select}' in row_one


def test_fit_shows_each_validation_warning_once(dataset):
    # Validation rows 8 and 9 are negative for labels a and b: ROC-AUC skips
    # them every epoch, and says so once.
    loaders, model, opt = small_fit_setup(dataset)
    with pytest.warns(UserWarning) as record:
        fit(model, loaders[0], loaders[1], 3, opt, select='roc_auc',
            progress=False)
    skipped = [str(w.message) for w in record if 'skipped' in str(w.message)]
    assert len(skipped) == 1 and skipped[0].startswith('roc_auc: skipped')
    assert 'label columns 0, 1' in skipped[0]


def test_make_optimizer_is_adam_with_the_paper_settings():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(),
                                torch.nn.Linear(4, 3))
    model[0].bias.requires_grad_(False)  # frozen: left out
    plain = copy.deepcopy(model)
    opt = make_optimizer(model, 1e-2)
    ref = torch.optim.Adam([p for p in plain.parameters() if p.requires_grad],
                           lr=1e-2, betas=(0.9, 0.999), eps=1e-8)
    assert isinstance(opt, torch.optim.Adam)
    assert opt.defaults['lr'] == 1e-2
    assert sum(len(g['params']) for g in opt.param_groups) == 3
    x = torch.randn(16, 5)
    for _ in range(5):
        for net, o in ((model, opt), (plain, ref)):
            o.zero_grad()
            net(x).pow(2).sum().backward()
            o.step()
    for a, b in zip(model.parameters(), plain.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_split_output():
    logits = torch.zeros(2, 3)
    assert split_output(logits) == (logits, [])
    with pytest.raises(TypeError, match='LaMPOutput'):
        split_output((logits, ))


@pytest.mark.skipif(not os.path.isfile(
    os.path.join(os.environ.get('LAMP_DATA', ''), 'sider', 'sider.csv')),
                    reason='needs LAMP_DATA with sider/sider.csv')
def test_sider_example_end_to_end(tmp_path):
    out = tmp_path / 'sider.json'
    env = dict(os.environ, LAMP_CACHE=str(tmp_path / 'cache'))
    cmd = [sys.executable, os.path.join(ROOT, 'examples', 'sider.py'),
           '--epochs', '1', '--hidden', '16', '--heads', '2', '--quiet',
           '--threads', '1', '--out', str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'split 1141/143/143' in proc.stdout
    assert 'majority (train prior)' in proc.stdout
    res = json.loads(out.read_text())
    for key in ('ebF1', 'miF1', 'maF1', 'acc', 'ha', 'roc_auc'):
        assert 0.0 <= res[key] <= 1.0
    assert res['config']['label_graph'] == 'pr'
    assert res['median_epoch_time'] > 0
    assert res['split_sizes'] == [1141, 143, 143]


def test_make_optimizer_decays_weight_matrices_only():
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.LayerNorm(4))
    opt = make_optimizer(model, 1e-2, weight_decay=0.1)
    assert isinstance(opt, torch.optim.AdamW)
    decayed = {id(p) for g in opt.param_groups if g['weight_decay'] > 0
               for p in g['params']}
    assert decayed == {id(model[0].weight)}
    # AdamW's decoupled decay: with a zero gradient, a weight shrinks by
    # lr * weight_decay per step, and the bias does not move.
    w0, b0 = model[0].weight.detach().clone(), model[0].bias.detach().clone()
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    assert torch.allclose(model[0].weight, w0 * (1 - 1e-2 * 0.1))
    assert torch.equal(model[0].bias, b0)


@pytest.mark.parametrize('schedule', ['cosine', 'linear', 'constant'])
def test_make_scheduler_warmup_then_decay(schedule):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=1.0)
    sched = make_scheduler(opt, total_steps=10, warmup_steps=4,
                           schedule=schedule)
    rates = []
    for _ in range(10):
        rates.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    assert rates[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    tail = rates[4:]
    if schedule == 'constant':
        assert tail == pytest.approx([1.0] * 6)
    else:
        assert all(a > b for a, b in zip(tail, tail[1:]))
        assert tail[-1] > 0
    assert opt.param_groups[0]['lr'] == pytest.approx(
        1.0 if schedule == 'constant' else 0.0, abs=1e-12)
    with pytest.raises(ValueError, match='schedule'):
        make_scheduler(opt, 10, schedule='step')
    with pytest.raises(ValueError, match='total_steps'):
        make_scheduler(opt, 0)


def test_fit_early_stopping_clipping_and_step_schedule(dataset):
    loaders, model, opt = small_fit_setup(dataset)
    sched = make_scheduler(opt, total_steps=50 * len(loaders[0]))
    # Eight training molecules over-fit within a few epochs: the
    # validation loss stops improving long before epoch 50.
    result = fit(model, loaders[0], loaders[1], 50, opt, select='loss',
                 progress=False, scheduler=sched, scheduler_interval='step',
                 clip_norm=0.5, patience=2)
    epochs = [row['epoch'] for row in result.history]
    assert result.stopped_early
    assert result.last_epoch == epochs[-1] == result.best_epoch + 2
    assert result.converged
    # The schedule moved once per optimizer step, and the history holds
    # the rate each epoch started with.
    assert sched.last_epoch == len(epochs) * len(loaders[0])
    assert result.history[0]['lr'] > result.history[-1]['lr']
    with pytest.raises(ValueError, match='scheduler_interval'):
        fit(model, loaders[0], loaders[1], 1, opt, scheduler_interval='x')
    with pytest.raises(ValueError, match='patience'):
        fit(model, loaders[0], loaders[1], 1, opt, patience=0)


def test_fit_with_a_moving_average_of_the_weights(dataset):
    # ema=0 averages nothing: the same run as the raw weights, bit for bit.
    loaders, model, opt = small_fit_setup(dataset)
    raw = fit(model, loaders[0], loaders[1], 3, opt, progress=False)
    loaders, model0, opt = small_fit_setup(dataset)
    zero = fit(model0, loaders[0], loaders[1], 3, opt, progress=False,
               ema=0.0)
    assert [r['val_loss'] for r in raw.history] == [
        r['val_loss'] for r in zero.history]

    # A slow average: validation, the best epoch and the returned weights
    # are the average's, which trails the raw weights.
    loaders, model, opt = small_fit_setup(dataset)
    start = copy.deepcopy(model.state_dict())
    result = fit(model, loaders[0], loaders[1], 3, opt, progress=False,
                 ema=0.9)
    best = min(result.history, key=lambda r: r['val_loss'])
    assert result.best_epoch == best['epoch']
    _, _, val_loss = predict(model, loaders[1], loss_fn=LaMPLoss())
    assert val_loss == pytest.approx(best['val_loss'], rel=1e-5)
    assert [r['val_loss'] for r in result.history] != [
        r['val_loss'] for r in raw.history]
    # Every step moves the average by (1 - 0.9) of the distance to the
    # weights, so after a few steps it is still close to the start.
    name = 'readout.weight' if 'readout.weight' in start else next(
        k for k, v in start.items() if v.is_floating_point() and v.dim() == 2)
    moved = (model.state_dict()[name] - start[name]).norm()
    raw_moved = (model0.state_dict()[name] - start[name]).norm()
    assert 0 < moved < raw_moved
    with pytest.raises(ValueError, match='ema'):
        fit(model, loaders[0], loaders[1], 1, opt, ema=1.0)


def test_fit_result_says_when_the_best_epoch_is_the_last():
    from lamp_geometric.train import FitResult
    rows = [dict(epoch=e) for e in (1, 2, 3)]
    assert not FitResult(best_epoch=3, best_score=1.0, history=rows).converged
    assert FitResult(best_epoch=2, best_score=1.0, history=rows).converged


def test_fit_epoch_trace_joins_the_history_off_the_clock(dataset, tmp_path):
    import time

    loaders, model, opt = small_fit_setup(dataset)
    plain = fit(model, loaders[0], loaders[1], 3, opt, progress=False)
    assert all('elapsed' not in row for row in plain.history)

    calls = []

    def trace(net, epoch, y_val, p_val):
        calls.append((epoch, y_val.shape, p_val.shape))
        time.sleep(0.3)
        y_test, p_test, _ = predict(net, loaders[2])
        return dict(test_mean=float(p_test.mean()), epoch_twice=2 * epoch)

    loaders, model, opt = small_fit_setup(dataset)
    start = time.perf_counter()
    traced = fit(model, loaders[0], loaders[1], 3, opt, progress=False,
                 epoch_trace=trace)
    wall = time.perf_counter() - start
    # The trace sees every epoch's validation predictions and changes
    # nothing of the training: same losses, same best epoch.
    assert calls == [(e, (2, 3), (2, 3)) for e in (1, 2, 3)]
    assert [r['val_loss'] for r in traced.history] == [
        r['val_loss'] for r in plain.history]
    assert traced.best_epoch == plain.best_epoch
    for row in traced.history:
        assert row['epoch_twice'] == 2 * row['epoch']
        assert 0.0 < row['test_mean'] < 1.0
        assert row['trace_time'] >= 0.3
    # `elapsed` grows and leaves the traces' 0.9 s out.
    elapsed = [row['elapsed'] for row in traced.history]
    assert elapsed == sorted(elapsed) and elapsed[0] > 0
    assert elapsed[-1] < wall - 0.9
    assert elapsed[-1] + sum(r['trace_time'] for r in traced.history) <= wall

    # A trace may not overwrite the row's own numbers.
    loaders, model, opt = small_fit_setup(dataset)
    with pytest.raises(ValueError, match='val_loss'):
        fit(model, loaders[0], loaders[1], 1, opt, progress=False,
            epoch_trace=lambda *a: dict(val_loss=0.0))

    # The trace's numbers are history: saved in the training state, and
    # `elapsed` goes on from the checkpoint after a resume.
    path = str(tmp_path / 'state.pt')
    loaders, model, opt = small_fit_setup(dataset)
    quick = lambda net, epoch, y, p: dict(seen=float(epoch))  # noqa: E731
    first = fit(model, loaders[0], loaders[1], 2, opt, progress=False,
                epoch_trace=quick, checkpoint_path=path)
    loaders, model, opt = small_fit_setup(dataset)
    resumed = fit(model, loaders[0], loaders[1], 3, opt, progress=False,
                  epoch_trace=quick, checkpoint_path=path, resume=True)
    assert resumed.resumed_epoch == 2
    assert [r['seen'] for r in resumed.history] == [1.0, 2.0, 3.0]
    assert resumed.history[1]['elapsed'] == pytest.approx(
        first.history[1]['elapsed'])
    assert resumed.history[2]['elapsed'] > resumed.history[1]['elapsed']


def test_fit_stops_at_the_time_limit(dataset):
    loaders, model, opt = small_fit_setup(dataset)
    # One epoch always runs; the next would end past a 1 ms budget.
    result = fit(model, loaders[0], loaders[1], 5, opt, progress=False,
                 max_time=1e-3)
    assert result.timed_out and not result.stopped_early
    assert result.last_epoch == 1 and result.best_epoch == 1
    loaders, model, opt = small_fit_setup(dataset)
    result = fit(model, loaders[0], loaders[1], 2, opt, progress=False,
                 max_time=3600.0)
    assert not result.timed_out and result.last_epoch == 2
    with pytest.raises(ValueError, match='max_time'):
        fit(model, loaders[0], loaders[1], 1, opt, max_time=0.0)
