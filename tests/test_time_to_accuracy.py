r"""The per-epoch test trace of the experiment engine (``--trace-test``) and
``benchmarks/accuracy/time_to_accuracy.py`` on top of it."""
import json
import math

import pytest

from lamp_geometric.experiment import ExperimentConfig, run
from lamp_geometric.recipe import TrainingConfig

import tiny_molecules as tm
from bench_scripts import load_script


tta = load_script('accuracy', 'time_to_accuracy.py')


def row(epoch, elapsed, val, ebF1, miF1=0.5, paper_ebF1=None):
    return dict(epoch=epoch, elapsed=elapsed, val_roc_auc=val,
                val_loss=1.0 / epoch, trace_time=5.0, test_ebF1=ebF1,
                test_miF1=miF1, test_maF1=0.3, test_roc_auc=val,
                test_paper_ebF1=ebF1 if paper_ebF1 is None else paper_ebF1,
                test_paper_miF1=miF1, test_paper_maF1=0.3)


# Epoch 3 has the best test ebF1 of all, but it is never the chosen epoch
# (its validation score is below epoch 2's); after epoch 4, a better
# validation epoch, the chosen epoch's test ebF1 goes down.
HISTORY = [row(1, 10.0, 0.60, 0.40),
           row(2, 20.0, 0.70, 0.46),
           row(3, 30.0, 0.65, 0.70),
           row(4, 40.0, 0.80, 0.43),
           row(5, 50.0, float('nan'), 0.90)]


def test_best_so_far_curve_replays_the_validation_choice():
    curve = tta.best_so_far_curve(HISTORY, 'roc_auc')
    assert [p['best_epoch'] for p in curve] == [1, 2, 2, 4, 4]
    assert [p['test']['ebF1'] for p in curve] == [
        0.40, 0.46, 0.46, 0.43, 0.43]
    assert [p['epoch_test']['ebF1'] for p in curve] == [
        0.40, 0.46, 0.70, 0.43, 0.90]
    assert [p['elapsed'] for p in curve] == [10.0, 20.0, 30.0, 40.0, 50.0]
    assert curve[1]['val'] == 0.70
    # The two protocols stay apart.
    assert 'paper_ebF1' not in curve[0]['test']
    assert set(curve[0]['test_paper']) == {'ebF1', 'miF1', 'maF1'}
    # By validation loss (lower is better) the last epoch is chosen.
    by_loss = tta.best_so_far_curve(HISTORY, 'loss')
    assert [p['best_epoch'] for p in by_loss] == [1, 2, 3, 4, 5]
    # Ties keep the earlier epoch, as fit does.
    tied = tta.best_so_far_curve([row(1, 1.0, 0.5, 0.1),
                                  row(2, 2.0, 0.5, 0.9)], 'roc_auc')
    assert [p['best_epoch'] for p in tied] == [1, 1]


def test_time_to_targets():
    curve = tta.best_so_far_curve(HISTORY, 'roc_auc')
    reached = tta.time_to_targets(curve, dict(ebF1=0.45, miF1=0.6))
    # The first time the chosen epoch's metric reaches the target counts,
    # even if a later choice scores lower.
    assert reached['ebF1'] == dict(target=0.45, time=20.0, epoch=2,
                                   best_epoch=2, value=0.46, best=0.46,
                                   final=0.43)
    # Never reached: no time, and the best value the chosen epoch had.
    assert reached['miF1']['time'] is None
    assert reached['miF1']['epoch'] is None
    assert reached['miF1']['best'] == 0.5
    # Epoch 3's own 0.70 was never chosen: 0.5 is not reached.
    assert tta.time_to_targets(curve, dict(ebF1=0.5))['ebF1']['time'] is None
    # Both protocols, from the history.
    out = tta.time_to_accuracy(HISTORY, 'roc_auc', dict(ebF1=0.41))
    assert out['reached']['sklearn']['ebF1']['time'] == 20.0
    assert out['reached']['paper']['ebF1']['time'] == 20.0
    assert len(out['curve']) == 5
    assert tta.time_to_accuracy(HISTORY, 'roc_auc', None)['reached'] == {
        'sklearn': {}, 'paper': {}}
    # The table's cells.
    assert tta.reached_cell(reached['ebF1']) == '20.0 s (epoch 2)'
    assert tta.reached_cell(reached['miF1']) == 'not reached (best .500)'
    assert tta.format_time(150.0) == '2.5 min'


def test_paper_targets_are_the_best_of_the_papers_variants():
    assert tta.paper_targets('bibtex') == dict(ebF1=.447, miF1=.473,
                                               maF1=.376)
    assert tta.paper_targets('reuters') == dict(ebF1=.906, miF1=.889,
                                                maF1=.560)
    assert tta.paper_targets('delicious') == dict(ebF1=.372, miF1=.386,
                                                  maF1=.196)
    assert tta.paper_targets('sider') == dict(ebF1=.767, miF1=.798,
                                              maF1=.668)
    assert tta.paper_targets('mulan:emotions') is None


@pytest.fixture
def tiny_csv(tmp_path):
    return tm.write_csv(str(tmp_path / 'mols.csv'))


@pytest.mark.filterwarnings('ignore::UserWarning')  # 2 rows: 1-class labels
def test_trace_test_adds_the_test_metrics_to_every_epoch(tiny_csv,
                                                         tmp_path):
    exp = ExperimentConfig(csv=tiny_csv, cache_dir=str(tmp_path / 'c'),
                           encoder='emb', label_graph='fc')
    training = TrainingConfig(epochs=2, hidden=8, heads=2, batch_size=8,
                              quiet=True, threads=1, trace_test=True)
    res = run(exp, training, log=None, epoch_log=None)
    assert [r['epoch'] for r in res['history']] == [1, 2]
    for r in res['history']:
        assert {'test_ebF1', 'test_miF1', 'test_maF1', 'test_roc_auc',
                'test_paper_ebF1', 'test_paper_miF1', 'test_paper_maF1',
                'elapsed', 'trace_time'} <= set(r)
    # The trace of the chosen epoch is the run's final test score.
    best = res['history'][res['best_epoch'] - 1]
    for k in ('ebF1', 'miF1', 'maF1', 'acc', 'ha'):
        assert best[f'test_{k}'] == pytest.approx(res['test'][k])
        if k in ('ebF1', 'miF1', 'maF1'):
            assert best[f'test_paper_{k}'] == pytest.approx(
                res['test_paper'][k])
    # Without it, no test number enters the history.
    plain = run(exp, TrainingConfig(epochs=1, hidden=8, heads=2,
                                    batch_size=8, quiet=True, threads=1),
                log=None, epoch_log=None)
    assert not any(k.startswith('test_') or k == 'elapsed'
                   for k in plain['history'][0])
    # The trace needs epochs.
    with pytest.raises(ValueError, match='--trace-test'):
        run(ExperimentConfig(csv=tiny_csv, encoder='linear'), training,
            log=None)


@pytest.mark.slow
@pytest.mark.filterwarnings('ignore::UserWarning')  # 64 rows: 1-class labels
def test_time_to_accuracy_quick(tmp_path):
    out_dir = tmp_path / 'results'
    argv = ['--quick', '--threads', '1', '--cache-dir',
            str(tmp_path / 'cache'), '--out-dir', str(out_dir)]
    res = tta.main(argv)
    (run_,) = res['runs']
    assert run_['dataset'] == 'sider' and run_['variant'] == 'emb-fc'
    assert run_['command'].startswith('python examples/mlc.py --dataset ')
    assert '--trace-test' in run_['command']
    assert run_['targets'] == tta.paper_targets('sider')
    assert run_['machine']['cpu'] and run_['machine']['threads'] == 1
    assert [p['epoch'] for p in run_['curve']] == [1, 2]
    assert set(run_['reached']['sklearn']) == set(tta.TARGET_KEYS)
    for entry in run_['reached']['sklearn'].values():
        assert (entry['time'] is None) == (entry['best'] < entry['target'])
    md = (out_dir / 'time_to_accuracy_quick.md').read_text()
    assert 'NOT a measurement' in md and run_['command'] in md
    assert '.767/.798/.668' in md
    saved = json.loads((out_dir / 'time_to_accuracy_quick.json').read_text())
    assert saved['runs'][0]['curve'] == run_['curve']
    assert str(tmp_path) not in md + json.dumps(saved)
    # One line per finished run; a second call trains nothing, and
    # --render rebuilds the same table.
    lines = (out_dir / 'time_to_accuracy_quick_runs.jsonl').read_text()
    assert len(lines.splitlines()) == 1
    again = tta.main(argv)
    assert again['tables'] == res['tables']
    rendered = tta.main(['--quick', '--render', '--out-dir', str(out_dir)])
    assert rendered['tables'] == res['tables']
    assert (out_dir / 'time_to_accuracy_quick_runs.jsonl').read_text() == \
        lines
    assert all(math.isfinite(p['elapsed']) for p in run_['curve'])
