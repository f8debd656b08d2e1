r"""Reproducibility and training state: the same seed gives the same metrics
bit for bit on the CPU; checkpoints round-trip to identical predictions; a
run stopped after epoch k and resumed ends exactly where an uninterrupted run
does; checkpoints are written atomically."""
import math
import os
import random

import numpy as np
import pytest
import torch

import lamp_geometric.train as T
from lamp_geometric.checkpoint import (
    build_lamp,
    load_checkpoint,
    molecule_featurizer,
    save_checkpoint,
)
from lamp_geometric.data import random_split
from lamp_geometric.graphs import co_occurrence
from lamp_geometric.nn import LaMPLoss
from lamp_geometric.train import (
    evaluate_splits,
    fit,
    load_training_state,
    make_loaders,
    predict,
    seed_everything,
)

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning')

EPOCHS = 3
STOP = 2  # the interrupted run stops after this epoch


def setup(dataset, scheduler=True, seed=0):
    r"""Builds everything a run needs, exactly as a fresh process would: a
    tiny LaMP with dropout (so the RNG matters) and a co-occurrence prior,
    Adam, a step scheduler and seeded loaders."""
    seed_everything(seed)
    splits = random_split(len(dataset), seed=seed)
    loaders = make_loaders(dataset, splits, batch_size=8, seed=seed)
    y = dataset.y
    config = dict(num_labels=dataset.num_labels, hidden=16, heads=2,
                  steps=2, dropout=0.2, label_graph='pr',
                  label_edge_index=co_occurrence(y[splits[0]]),
                  encoder='fmp')
    model = build_lamp(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = (torch.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.7)
             if scheduler else None)
    return config, model, optimizer, sched, loaders


def train(dataset, epochs, checkpoint_path=None, resume=False,
          scheduler=True, ema=None):
    config, model, optimizer, sched, loaders = setup(dataset, scheduler)
    train_loader, val_loader, test_loader = loaders
    result = fit(model, train_loader, val_loader, epochs, optimizer,
                 loss_fn=LaMPLoss(), select='roc_auc', progress=False,
                 scheduler=sched, checkpoint_path=checkpoint_path,
                 resume=resume, ema=ema)
    test, val, thresholds = evaluate_splits(model, val_loader, test_loader)
    return model, result, test


def without_time(history):
    return [{k: v for k, v in row.items() if k != 'time'} for row in history]


def same(a, b):
    r"""Bitwise equality of metric dicts / lists (NaN equals NaN)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b


def states_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_metrics_bit_for_bit(molecules):
    model1, result1, test1 = train(molecules, 2)
    model2, result2, test2 = train(molecules, 2)
    assert same(without_time(result1.history), without_time(result2.history))
    assert same(test1, test2)
    assert states_equal(model1.state_dict(), model2.state_dict())
    # ... and a different seed gives different weights (the check can fail).
    _, model3, opt3, _, (loader3, _, _) = setup(molecules, seed=1)
    assert not states_equal(model1.state_dict(), model3.state_dict())


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    from molecule_sets import tiny_set
    return tiny_set(str(tmp_path_factory.mktemp('tiny')))


@pytest.fixture(scope='module')
def uninterrupted(tiny, tmp_path_factory):
    r"""An uninterrupted run of :obj:`EPOCHS` epochs and its last training
    state."""
    path = str(tmp_path_factory.mktemp('full') / 'full.pt')
    model, result, test = train(tiny, EPOCHS, path)
    return model, result, test, load_training_state(path)


def test_resume_equals_uninterrupted_run(tiny, uninterrupted, tmp_path):
    molecules = tiny
    part_path = str(tmp_path / 'part.pt')
    model_full, result_full, test_full, full = uninterrupted

    train(molecules, STOP, part_path)  # "killed" after epoch STOP
    assert load_training_state(part_path)['epoch'] == STOP
    # A new process: other RNG states than at the end of epoch STOP.
    torch.manual_seed(1234)
    np.random.seed(1234)
    random.seed(1234)
    model_res, result_res, test_res = train(molecules, EPOCHS, part_path,
                                            resume=True)
    assert result_res.resumed_epoch == STOP
    assert len(result_res.history) == EPOCHS

    # The same last-epoch weights, optimizer and scheduler state...
    res = load_training_state(part_path)
    assert full['epoch'] == res['epoch'] == EPOCHS
    assert states_equal(full['model'], res['model'])
    assert states_equal(full['optimizer']['state'][0],
                        res['optimizer']['state'][0])
    assert full['scheduler'] == res['scheduler']
    # ... the same best epoch and weights, history and test metrics.
    assert result_full.best_epoch == result_res.best_epoch
    assert states_equal(model_full.state_dict(), model_res.state_dict())
    assert same(without_time(result_full.history),
                without_time(result_res.history))
    assert same(test_full, test_res)


def test_resume_with_a_weight_average_equals_uninterrupted_run(tiny,
                                                              tmp_path):
    full_path, part_path = str(tmp_path / 'full.pt'), str(tmp_path / 'p.pt')
    model_full, result_full, test_full = train(tiny, EPOCHS, full_path,
                                               ema=0.9)
    train(tiny, STOP, part_path, ema=0.9)
    torch.manual_seed(1234)
    model_res, result_res, test_res = train(tiny, EPOCHS, part_path,
                                            resume=True, ema=0.9)
    full, res = load_training_state(full_path), load_training_state(part_path)
    # The average (and its step count) was saved and restored.
    assert states_equal(full['averaged'], res['averaged'])
    assert int(res['averaged']['n_averaged']) > 0
    assert states_equal(model_full.state_dict(), model_res.state_dict())
    assert same(without_time(result_full.history),
                without_time(result_res.history))
    assert same(test_full, test_res)
    with pytest.raises(ValueError, match="same 'ema'"):
        train(tiny, EPOCHS, part_path, resume=True)


def test_resume_without_restored_rng_differs(tiny, uninterrupted,
                                             tmp_path, monkeypatch):
    # The equality above depends on restoring the RNG and data-order state:
    # without it the resumed run drifts (so the test can fail).
    part_path = str(tmp_path / 'part.pt')
    train(tiny, STOP, part_path)
    monkeypatch.setattr(T, '_set_rng_state', lambda states, loader: None)
    torch.manual_seed(1234)
    train(tiny, EPOCHS, part_path, resume=True)
    assert not states_equal(uninterrupted[3]['model'],
                            load_training_state(part_path)['model'])


def test_resume_after_last_epoch_trains_no_more(tiny, tmp_path):
    path = str(tmp_path / 'state.pt')
    model1, result1, test1 = train(tiny, STOP, path)
    model2, result2, test2 = train(tiny, STOP, path, resume=True)
    assert result2.resumed_epoch == STOP
    assert states_equal(model1.state_dict(), model2.state_dict())
    assert same(test1, test2)


def test_resume_mismatches_are_errors(tiny, tmp_path):
    path = str(tmp_path / 'state.pt')
    _, model, opt, sched, (loader, val, _) = setup(tiny)
    with pytest.raises(ValueError, match='checkpoint_path'):
        fit(model, loader, val, 1, opt, progress=False, resume=True)
    fit(model, loader, val, 1, opt, progress=False, checkpoint_path=path,
        select='loss')
    with pytest.raises(ValueError, match="by 'loss', this run by 'roc_auc'"):
        fit(model, loader, val, 2, opt, progress=False, checkpoint_path=path,
            select='roc_auc', resume=True)
    with pytest.raises(ValueError, match='without a learning rate scheduler'):
        fit(model, loader, val, 2, opt, progress=False, checkpoint_path=path,
            scheduler=sched, resume=True)


def test_resume_without_checkpoint_starts_from_scratch(tiny, tmp_path):
    path = str(tmp_path / 'none_yet.pt')
    lines = []
    _, model, opt, sched, (loader, val, _) = setup(tiny)
    result = fit(model, loader, val, 1, opt, progress=False,
                 checkpoint_path=path, resume=True, log=lines.append)
    assert result.resumed_epoch == 0
    assert any('training from the start' in line for line in lines)
    assert load_training_state(path)['epoch'] == 1


def test_checkpoint_round_trip_identical_predictions(tiny, tmp_path):
    config, model, opt, sched, (loader, val, test) = setup(tiny)
    fit(model, loader, val, 1, opt, progress=False,
        checkpoint_path=str(tmp_path / 'state.pt'))
    y, p, _ = predict(model, test)

    # The model checkpoint (weights + configuration).
    path = str(tmp_path / 'model.pt')
    save_checkpoint(path, model, model_config=config,
                    label_names=tiny.label_names, thresholds=None,
                    featurizer=molecule_featurizer())
    loaded, _ = load_checkpoint(path)
    y2, p2, _ = predict(loaded, test)
    assert np.array_equal(y, y2, equal_nan=True) and np.array_equal(p, p2)

    # The training state holds the last epoch's weights (here: the only one).
    state = load_training_state(str(tmp_path / 'state.pt'))
    fresh = build_lamp(config)
    fresh.load_state_dict(state['model'])
    _, p3, _ = predict(fresh, test)
    assert np.array_equal(p, p3)


class SimulatedCrash(OSError):
    pass


def test_checkpoint_write_is_atomic(tiny, tmp_path, monkeypatch):
    path = tmp_path / 'run' / 'state.pt'
    real_save = torch.save
    calls = []

    def crashing_save(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the checkpoint of epoch 2
            f.write(b'half a checkpoint')
            raise SimulatedCrash('disk full')
        return real_save(obj, f, *args, **kwargs)

    _, model, opt, sched, (loader, val, _) = setup(tiny)
    monkeypatch.setattr(torch, 'save', crashing_save)
    with pytest.raises(SimulatedCrash):
        fit(model, loader, val, 3, opt, progress=False,
            checkpoint_path=str(path))
    monkeypatch.setattr(torch, 'save', real_save)

    # The previous checkpoint is intact and no temporary file is left.
    assert os.listdir(path.parent) == ['state.pt']
    state = load_training_state(str(path))
    assert state['epoch'] == 1 and len(state['history']) == 1

    # ... and training resumes from it.
    _, model, opt, sched, (loader, val, _) = setup(tiny)
    result = fit(model, loader, val, 2, opt, progress=False,
                 checkpoint_path=str(path), resume=True)
    assert result.resumed_epoch == 1
    assert load_training_state(str(path))['epoch'] == 2


def test_training_state_is_plain_data(tiny, tmp_path):
    # Readable with weights_only=True: no pickled code.
    path = str(tmp_path / 'state.pt')
    _, model, opt, sched, (loader, val, _) = setup(tiny)
    fit(model, loader, val, 1, opt, progress=False, scheduler=sched,
        checkpoint_path=path)
    state = torch.load(path, weights_only=True)
    assert state['format'] == T.TRAINING_STATE_FORMAT
    assert len(state['rng']) == 1  # one process
    assert {'torch', 'numpy', 'python', 'loader'} <= set(state['rng'][0])
