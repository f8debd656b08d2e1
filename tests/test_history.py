import os

import pytest

from lamp_geometric.history import describe_fit, plot_history
from lamp_geometric.train import FitResult

HISTORY = [dict(epoch=e, train_loss=1.0 / e, val_loss=0.5 + abs(e - 3) / 10,
                val_roc_auc=0.9 - abs(e - 3) / 20, lr=1e-3, time=0.1)
           for e in range(1, 6)]


def test_describe_fit_flags_a_run_that_did_not_converge():
    done = FitResult(best_epoch=3, best_score=0.9, history=HISTORY,
                     epoch_times=[1.0] * 5)
    assert 'best validation epoch 3 of 5' in describe_fit(done, 'roc_auc')
    assert 'not converged' not in describe_fit(done, 'roc_auc')
    still = FitResult(best_epoch=5, best_score=0.9, history=HISTORY)
    assert 'not converged' in describe_fit(still, 'roc_auc')
    early = FitResult(best_epoch=3, best_score=0.9, history=HISTORY,
                      stopped_early=True)
    assert 'stopped early' in describe_fit(early, 'roc_auc')


def test_plot_history_writes_a_png(tmp_path):
    path = str(tmp_path / 'curves' / 'run.png')
    assert plot_history(HISTORY, path, select='roc_auc', title='t') == path
    with open(path, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert os.path.getsize(path) > 1000
    loss_only = str(tmp_path / 'loss.png')
    plot_history([{k: v for k, v in r.items() if k != 'val_roc_auc'}
                  for r in HISTORY], loss_only)
    assert os.path.isfile(loss_only)
    with pytest.raises(ValueError, match='empty'):
        plot_history([], path)
