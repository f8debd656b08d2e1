import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    hamming_loss,
    roc_auc_score,
)

from lamp_geometric.metrics import (
    THRESHOLD_METRICS,
    THRESHOLDS,
    _binary_metrics_masked,
    binary_metrics,
    evaluate,
    format_table,
    label_prior_baselines,
    ranking_metrics,
    tune_thresholds,
    validation_score,
)

nan = float('nan')
BINARY_KEYS = ['ebF1', 'miF1', 'maF1', 'acc', 'ha']


def _masked(y, p):
    """The NumPy (NaN-aware) implementation, called on float arrays."""
    return _binary_metrics_masked(
        np.asarray(y, dtype=float), np.asarray(p, dtype=float))


def _assert_dict_close(a, b, keys=None):
    keys = keys or list(b)
    for k in keys:
        assert a[k] == pytest.approx(b[k], abs=1e-12, nan_ok=True), k


def _reference(y, p):
    """Brute-force, loop-based version of the masked definitions."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    eb, ha, acc = [], [], []
    for i in range(y.shape[0]):
        obs = [j for j in range(y.shape[1]) if not np.isnan(y[i, j])]
        if not obs:
            continue
        yt = [int(y[i, j]) for j in obs]
        yp = [int(p[i, j]) for j in obs]
        tp = sum(a * b for a, b in zip(yt, yp))
        den = sum(yt) + sum(yp)
        eb.append(1.0 if den == 0 else 2 * tp / den)
        correct = sum(a == b for a, b in zip(yt, yp))
        ha.append(correct / len(obs))
        acc.append(float(correct == len(obs)))
    f1s, TP, DEN = [], 0, 0
    for j in range(y.shape[1]):
        obs = [i for i in range(y.shape[0]) if not np.isnan(y[i, j])]
        if not obs:
            continue
        tp = sum(y[i, j] == 1 and p[i, j] == 1 for i in obs)
        fp = sum(y[i, j] == 0 and p[i, j] == 1 for i in obs)
        fn = sum(y[i, j] == 1 and p[i, j] == 0 for i in obs)
        den = 2 * tp + fp + fn
        f1s.append(0.0 if den == 0 else 2 * tp / den)
        TP += tp
        DEN += den
    return {
        'ebF1': np.mean(eb), 'miF1': 2 * TP / DEN if DEN else 0.0,
        'maF1': np.mean(f1s), 'acc': np.mean(acc), 'ha': np.mean(ha)
    }


def _random_case(seed, n=40, num_labels=6, nan_frac=0.0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, num_labels)) < 0.3).astype(float)
    y[0] = 0.0  # guarantee an all-negative sample
    prob = np.clip(0.35 * y + 0.65 * rng.random((n, num_labels)), 0, 1)
    if nan_frac:
        y[rng.random(y.shape) < nan_frac] = nan
    return y, prob


# ---------------------------------------------------------------------------
# Hand-computed cases
# ---------------------------------------------------------------------------
HAND_Y = [[1, 0, 1],
          [0, 1, 0],
          [0, 0, 0]]
HAND_P = [[1, 1, 0],
          [0, 1, 0],
          [0, 0, 0]]
# Per sample:
#   row 0: tp=1, |y|=2, |p|=2 -> F1 = 2/4 = .5; 1 of 3 correct; not exact
#   row 1: tp=1, |y|=1, |p|=1 -> F1 = 1;        3 of 3 correct; exact
#   row 2: no true, no predicted positive -> F1 = 1 (convention); exact
#   ebF1 = (.5 + 1 + 1) / 3 = 5/6,  ha = 7/9,  acc = 2/3
# Per label:
#   col 0: tp=1 fp=0 fn=0 -> 1;  col 1: tp=1 fp=1 fn=0 -> 2/3;
#   col 2: tp=0 fp=0 fn=1 -> 0
#   maF1 = (1 + 2/3 + 0) / 3 = 5/9;  miF1 = 2*2 / (2*2 + 1 + 1) = 2/3
HAND_EXPECTED = {'ebF1': 5 / 6, 'miF1': 2 / 3, 'maF1': 5 / 9,
                 'acc': 2 / 3, 'ha': 7 / 9}


@pytest.mark.parametrize('fn', [binary_metrics, _masked])
def test_hand_computed(fn):
    res = fn(HAND_Y, HAND_P)
    _assert_dict_close(res, HAND_EXPECTED)
    if fn is binary_metrics:
        assert list(res) == BINARY_KEYS
        assert all(type(v) is float for v in res.values())


@pytest.mark.parametrize('fn', [binary_metrics, _masked])
def test_zero_division_conventions(fn):
    # col 1 has tp = fp = fn = 0 -> counts 0.0 in maF1 (so maF1 = (1+0)/2);
    # both samples match exactly, so ebF1 = miF1 = acc = ha = 1.
    res = fn([[1, 0], [1, 0]], [[1, 0], [1, 0]])
    _assert_dict_close(res, {'ebF1': 1.0, 'miF1': 1.0, 'maF1': 0.5,
                             'acc': 1.0, 'ha': 1.0})
    # Empty / empty sample counts as 1.0 in ebF1, all-wrong sample as 0.
    res = fn([[0, 0], [1, 0]], [[0, 0], [0, 1]])
    assert res['ebF1'] == pytest.approx(0.5)
    # No positive anywhere: micro F1 falls back to 0.
    res = fn([[0, 0], [0, 0]], [[0, 0], [0, 0]])
    assert res['miF1'] == 0.0 and res['maF1'] == 0.0
    assert res['ebF1'] == 1.0 and res['acc'] == 1.0


def test_hand_computed_with_nan():
    y = [[1, nan, 0],
         [nan, nan, nan],
         [0, 1, 1]]
    p = [[1, 1, 1],
         [0, 0, 0],
         [0, 1, 1]]
    # row 0, observed cols 0, 2: y=(1,0) p=(1,1): F1 = 2/3, ha = 1/2, not exact
    # row 1: nothing observed -> excluded from example-based means
    # row 2: y=(0,1,1) p=(0,1,1): F1 = 1, ha = 1, exact
    #   ebF1 = (2/3 + 1)/2 = 5/6, ha = 3/4, acc = 1/2
    # col 0 (rows 0, 2): y=(1,0) p=(1,0) -> 1
    # col 1 (row 2):     y=1 p=1        -> 1
    # col 2 (rows 0, 2): y=(0,1) p=(1,1) -> tp=1 fp=1 -> 2/3
    #   maF1 = 8/9, miF1 = 2*3 / (2*3 + 1) = 6/7
    res = binary_metrics(y, p)
    _assert_dict_close(res, {'ebF1': 5 / 6, 'miF1': 6 / 7, 'maF1': 8 / 9,
                             'acc': 1 / 2, 'ha': 3 / 4})


# ---------------------------------------------------------------------------
# Agreement with scikit-learn (no missing targets)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('fn', [binary_metrics, _masked])
def test_binary_metrics_match_sklearn(seed, fn):
    y, prob = _random_case(seed)
    pred = (prob >= 0.4).astype(int)
    yi = y.astype(int)
    res = fn(y, pred)
    expected = {
        'ebF1': f1_score(yi, pred, average='samples', zero_division=1.0),
        'miF1': f1_score(yi, pred, average='micro', zero_division=0.0),
        'maF1': f1_score(yi, pred, average='macro', zero_division=0.0),
        'acc': accuracy_score(yi, pred),
        'ha': 1.0 - hamming_loss(yi, pred),
    }
    _assert_dict_close(res, expected)
    # Sanity: the case is not degenerate.
    assert 0.0 < res['acc'] < 1.0 and 0.0 < res['maF1'] < 1.0


@pytest.mark.parametrize('seed', [0, 1])
def test_ranking_metrics_match_sklearn(seed):
    y, prob = _random_case(seed)
    res = ranking_metrics(y, prob)
    assert list(res) == ['roc_auc', 'pr_auc']
    assert res['roc_auc'] == pytest.approx(
        roc_auc_score(y, prob, average='macro'), abs=1e-12)
    assert res['pr_auc'] == pytest.approx(
        average_precision_score(y, prob, average='macro'), abs=1e-12)
    assert 0.5 < res['roc_auc'] < 1.0


def test_torch_tensors_accepted():
    y, prob = _random_case(3)
    a = evaluate(y, prob, 0.4)
    b = evaluate(torch.tensor(y), torch.tensor(prob, requires_grad=True),
                 0.4)
    _assert_dict_close(b, a)
    c = binary_metrics(torch.tensor(y).bool(), torch.tensor(prob) >= 0.4)
    _assert_dict_close(c, a, BINARY_KEYS)


def test_single_label():
    # L = 1: scikit-learn treats a single column as binary data; the masked
    # implementation is used.  y=(1,0,1,0), p=(1,1,0,0): tp=1 fp=1 fn=1.
    res = binary_metrics([[1], [0], [1], [0]], [[1], [1], [0], [0]])
    # ebF1 per sample: 1, 0, 0, 1 (empty/empty) -> .5
    _assert_dict_close(res, {'ebF1': 0.5, 'miF1': 0.5, 'maF1': 0.5,
                             'acc': 0.5, 'ha': 0.5})


# ---------------------------------------------------------------------------
# Missing targets
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_nan_matches_bruteforce_reference(seed):
    y, prob = _random_case(seed, n=30, num_labels=5, nan_frac=0.25)
    y[1] = nan  # a fully missing sample
    pred = (prob >= 0.4).astype(float)
    _assert_dict_close(binary_metrics(y, pred), _reference(y, pred))


def test_nan_column_equals_dropping_column():
    y, prob = _random_case(4)
    pred = (prob >= 0.4).astype(float)
    y_nan = y.copy()
    y_nan[:, 2] = nan
    keep = [0, 1, 3, 4, 5]
    full = binary_metrics(y_nan, pred)
    dropped = binary_metrics(y[:, keep], pred[:, keep])
    _assert_dict_close(full, dropped, ['miF1', 'maF1'])
    # The column matters when observed, so the test can fail.
    assert binary_metrics(y, pred)['maF1'] != pytest.approx(dropped['maF1'])

    with pytest.warns(UserWarning, match='skipped 1 of 6'):
        rank = ranking_metrics(y_nan, prob)
    _assert_dict_close(rank, ranking_metrics(y[:, keep], prob[:, keep]))


def test_nan_row_equals_dropping_row():
    y, prob = _random_case(5)
    pred = (prob >= 0.4).astype(float)
    y_nan = y.copy()
    y_nan[7] = nan
    keep = [i for i in range(len(y)) if i != 7]
    _assert_dict_close(binary_metrics(y_nan, pred),
                       binary_metrics(y[keep], pred[keep]))
    _assert_dict_close(ranking_metrics(y_nan, prob),
                       ranking_metrics(y[keep], prob[keep]))


def test_nan_entry_equals_dropping_entry_per_label():
    y, prob = _random_case(6)
    y_nan = y.copy()
    y_nan[3, 1] = nan
    y_nan[10, 4] = nan
    expected = []
    for j in range(y.shape[1]):
        obs = ~np.isnan(y_nan[:, j])
        expected.append(roc_auc_score(y[obs, j], prob[obs, j]))
    assert ranking_metrics(y_nan, prob)['roc_auc'] == pytest.approx(
        np.mean(expected), abs=1e-12)
    # The prediction at a missing entry is ignored.
    pred = (prob >= 0.4).astype(float)
    flipped = pred.copy()
    flipped[3, 1] = 1 - flipped[3, 1]
    flipped[10, 4] = 1 - flipped[10, 4]
    _assert_dict_close(binary_metrics(y_nan, pred),
                       binary_metrics(y_nan, flipped))


# ---------------------------------------------------------------------------
# Ranking metrics: unscorable labels
# ---------------------------------------------------------------------------
def test_roc_auc_skips_single_class_label_with_warning():
    y = np.array([[1, 0, 0], [0, 0, 1], [1, 0, 1], [0, 0, 0]], float)
    s = np.array([[.9, .1, .2], [.2, .3, .6], [.8, .7, .4], [.4, .2, .5]])
    # col 0: positives .9, .8 vs negatives .2, .4 -> AUC 1
    # col 1: all negative -> skipped
    # col 2: positives .6, .4 vs negatives .2, .5 -> pairs won: 3 of 4 = .75
    with pytest.warns(UserWarning) as record:
        res = ranking_metrics(y, s)
    messages = [str(w.message) for w in record]
    assert any('roc_auc' in m and 'skipped 1 of 3' in m for m in messages)
    assert any('pr_auc' in m and 'skipped 1 of 3' in m for m in messages)
    assert res['roc_auc'] == pytest.approx((1.0 + 0.75) / 2)
    # col 0: AP 1; col 2: ranking .6(+) .5(-) .4(+) .2(-) -> (1 + 2/3) / 2
    assert res['pr_auc'] == pytest.approx((1.0 + (1 + 2 / 3) / 2) / 2)


def test_ranking_nan_when_no_label_scorable():
    with pytest.warns(UserWarning, match='skipped 2 of 2'):
        res = ranking_metrics([[1, 0], [1, 0]], [[.2, .3], [.4, .5]])
    assert np.isnan(res['roc_auc']) and np.isnan(res['pr_auc'])


def test_no_warning_when_all_labels_scorable():
    y, prob = _random_case(0)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        ranking_metrics(y, prob)
        evaluate(y, prob)


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------
def test_one_dimensional_input_rejected():
    with pytest.raises(ValueError, match='2-D'):
        binary_metrics([1, 0, 1], [1, 0, 1])
    with pytest.raises(ValueError, match='2-D'):
        ranking_metrics([[1, 0]], [0.3, 0.4])


def test_shape_mismatch_rejected():
    with pytest.raises(ValueError, match='shape'):
        binary_metrics([[1, 0], [0, 1]], [[1, 0, 1], [0, 1, 0]])
    with pytest.raises(ValueError, match='shape'):
        evaluate([[1, 0], [0, 1]], [[0.1, 0.2]])


def test_empty_input_rejected():
    with pytest.raises(ValueError, match='empty'):
        binary_metrics(np.zeros((0, 3)), np.zeros((0, 3)))
    with pytest.raises(ValueError, match='empty'):
        evaluate(np.zeros((0, 3)), np.zeros((0, 3)))


def test_invalid_target_names_row_and_column():
    y = [[1, 0, 1], [0, 1, 2], [0, -1, 0]]
    p = [[1, 0, 1], [0, 1, 1], [0, 0, 0]]
    with pytest.raises(ValueError, match='row 1, column 2'):
        binary_metrics(y, p)
    with pytest.raises(ValueError, match='row 0, column 1'):
        ranking_metrics([[1, np.inf], [0, 1]], [[.1, .2], [.3, .4]])


def test_all_missing_targets_rejected():
    with pytest.raises(ValueError, match='observed'):
        binary_metrics([[nan, nan]], [[0, 1]])


def test_non_finite_scores_name_row_and_column():
    y = [[1, 0], [0, 1]]
    with pytest.raises(ValueError, match='row 0, column 1'):
        ranking_metrics(y, [[.1, nan], [.3, .4]])
    with pytest.raises(ValueError, match='row 1, column 0'):
        evaluate(y, [[.1, .2], [np.inf, .4]])
    with pytest.raises(ValueError, match='row 1, column 1'):
        tune_thresholds(y, [[.1, .2], [.3, -np.inf]])
    with pytest.raises(ValueError, match='row 0, column 0'):
        binary_metrics(y, [[nan, 0], [0, 1]])


def test_non_binary_prediction_rejected():
    with pytest.raises(ValueError, match='row 1, column 0'):
        binary_metrics([[1, 0], [0, 1]], [[1, 0], [0.7, 1]])


# ---------------------------------------------------------------------------
# Thresholds and evaluate
# ---------------------------------------------------------------------------
# One label, 8 samples (3 positives).  At t <= .30 the three .3-scored
# negatives are predicted positive; at .30 < t <= .90 only the .9 positive is.
#   t in (.10, .30]: tp=3 fp=3 fn=0 -> F1 = 6/9;  correct 5 of 8
#   t in (.30, .90]: tp=1 fp=0 fn=2 -> F1 = 2/4;  correct 6 of 8
#   t <= .10:        tp=3 fp=5      -> F1 = 6/11; correct 3 of 8
# so F1 (micro = macro) prefers the low band, accuracy-type metrics the high
# band; per sample ebF1 is 1 exactly when the sample is right (L = 1), i.e.
# 5/8 vs 6/8, so it follows accuracy.
TUNE_Y = np.array([[1], [1], [1], [0], [0], [0], [0], [0]], float)
TUNE_P = np.array([[.9], [.3], [.3], [.3], [.3], [.3], [.1], [.1]])


def test_tune_thresholds_default_grid():
    assert len(THRESHOLDS) == 27
    th = tune_thresholds(TUNE_Y, TUNE_P)
    assert list(th) == list(THRESHOLD_METRICS)
    # First grid value of each best band (ties -> first in grid order).
    assert th == {'ebF1': 0.35, 'miF1': 0.15, 'maF1': 0.15, 'acc': 0.35,
                  'ha': 0.35}


def test_tune_thresholds_tie_goes_to_first_in_grid_order():
    th = tune_thresholds(TUNE_Y, TUNE_P, grid=(0.9, 0.5, 0.2, 0.25))
    assert th == {'ebF1': 0.9, 'miF1': 0.2, 'maF1': 0.2, 'acc': 0.9,
                  'ha': 0.9}
    # Predictions are prob >= t: t = .3 includes the .3-scored samples.
    th = tune_thresholds(TUNE_Y, TUNE_P, grid=(0.3, 0.31))
    assert th['miF1'] == 0.3 and th['ha'] == 0.31


def test_tune_thresholds_rejects_bad_grid():
    with pytest.raises(ValueError):
        tune_thresholds(TUNE_Y, TUNE_P, grid=())
    with pytest.raises(ValueError):
        tune_thresholds(TUNE_Y, TUNE_P, grid=(0.5, nan))


def test_evaluate_uses_per_metric_thresholds():
    res = evaluate(TUNE_Y, TUNE_P, tune_thresholds(TUNE_Y, TUNE_P))
    assert list(res) == BINARY_KEYS + ['roc_auc', 'pr_auc']
    _assert_dict_close(res, {'ebF1': 6 / 8, 'miF1': 6 / 9, 'maF1': 6 / 9,
                             'acc': 6 / 8, 'ha': 6 / 8})
    # AUC: positive .9 beats all 5 negatives, each .3 positive beats the two
    # .1 negatives and ties the three .3 negatives: (5 + 2*(2 + 1.5)) / 15
    assert res['roc_auc'] == pytest.approx(12 / 15)
    assert res['pr_auc'] == pytest.approx(
        average_precision_score(TUNE_Y[:, 0], TUNE_P[:, 0]))


@pytest.mark.parametrize('nan_frac', [0.0, 0.2])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_validation_score_equals_evaluate_at_tuned_thresholds(seed, nan_frac):
    y, prob = _random_case(seed, n=60, nan_frac=nan_frac)
    # Scikit-learn's threshold search, written out: the reference the
    # vectorised search of tune_thresholds must reproduce.
    full = evaluate(y, prob, tune_thresholds(y, prob))
    for metric in THRESHOLD_METRICS + ('roc_auc', 'pr_auc'):
        assert validation_score(y, prob, metric) == pytest.approx(
            full[metric], abs=1e-12)
    if nan_frac == 0.0:
        for metric in THRESHOLD_METRICS:
            best = max(binary_metrics(y, prob >= t)[metric]
                       for t in THRESHOLDS)
            assert validation_score(y, prob, metric) == pytest.approx(best)
    with pytest.raises(ValueError, match="'metric' must be one of"):
        validation_score(y, prob, 'loss')
    with pytest.raises(ValueError, match='grid'):
        validation_score(y, prob, 'ebF1', grid=())


def test_evaluate_float_and_default_thresholds():
    y, prob = _random_case(7)
    at_half = binary_metrics(y, prob >= 0.5)
    _assert_dict_close(evaluate(y, prob), at_half, BINARY_KEYS)
    _assert_dict_close(evaluate(y, prob, 0.5), at_half, BINARY_KEYS)
    _assert_dict_close(evaluate(y, prob, {m: 0.5 for m in THRESHOLD_METRICS}),
                       at_half, BINARY_KEYS)
    _assert_dict_close(evaluate(y, prob, 0.2), binary_metrics(y, prob >= 0.2),
                       BINARY_KEYS)
    with pytest.raises(ValueError, match='ha'):
        evaluate(y, prob, {'ebF1': .5, 'miF1': .5, 'maF1': .5, 'acc': .5})


# ---------------------------------------------------------------------------
# Baselines and table
# ---------------------------------------------------------------------------
def test_label_prior_baselines():
    y_train = [[1, 0, 1],
               [1, 1, 0],
               [1, 0, nan],
               [0, 0, nan]]
    # Train prevalence: col 0 3/4 -> +; col 1 1/4 -> -; col 2 1/2 -> - (a
    # prevalence of exactly .5 is not a majority).  Prediction: (1, 0, 0).
    y_test = [[1, 0, 0],
              [0, 1, 1]]
    res = label_prior_baselines(y_train, y_test)
    assert list(res) == ['majority', 'all_positive']
    # majority: row 0 exact (F1 1, ha 1); row 1 y=(0,1,1) p=(1,0,0): F1 0,
    # ha 0.  col 0: tp=1 fp=1 -> 2/3; cols 1, 2: fn=1 -> 0.
    #   maF1 = 2/9, miF1 = 2 / (2 + 1 + 2) = 2/5
    _assert_dict_close(res['majority'], {'ebF1': .5, 'miF1': 2 / 5,
                                         'maF1': 2 / 9, 'acc': .5, 'ha': .5})
    # all_positive: row 0 y=(1,0,0): F1 = 2/(1+3) = .5, ha 1/3;
    # row 1 y=(0,1,1): F1 = 4/(2+3) = .8, ha 2/3.  Every column has one
    # positive and one negative: F1 = 2/3 each; miF1 = 6 / (6 + 3) = 2/3.
    _assert_dict_close(res['all_positive'], {'ebF1': .65, 'miF1': 2 / 3,
                                             'maF1': 2 / 3, 'acc': 0.0,
                                             'ha': .5})


def test_label_prior_baselines_label_mismatch():
    with pytest.raises(ValueError, match='labels'):
        label_prior_baselines([[1, 0]], [[1, 0, 1]])


def test_format_table():
    rows = {'LaMP': {'ebF1': 0.7671, 'maF1': (0.4, 0.0042)},
            'Majority': {'ebF1': 1.0}}
    assert format_table(rows) == (
        '|          | ebF1  | maF1        |\n'
        '|----------|-------|-------------|\n'
        '| LaMP     | .767  | .400 ± .004 |\n'
        '| Majority | 1.000 | -           |')
    assert format_table(rows, keys=['maF1']).splitlines()[0] == \
        '|          | maF1        |'


def test_paper_protocol_leaves_empty_cases_out():
    from lamp_geometric import metrics

    # Sample 2 has no true and no predicted label; label 2 has
    # tp = fp = fn = 0.
    y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float)
    p = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 0]], dtype=float)
    ours = metrics.binary_metrics(y, p)
    paper = metrics.binary_metrics(y, p, protocol='paper')
    # ebF1: samples score 2/3, 1 and 1 (empty) -> ours averages all three,
    # the paper's leaves the empty one out.
    assert ours['ebF1'] == pytest.approx((2 / 3 + 1 + 1) / 3)
    assert paper['ebF1'] == pytest.approx((2 / 3 + 1) / 2)
    # maF1: labels score 1, 2/3 and 0/0.
    assert ours['maF1'] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert paper['maF1'] == pytest.approx((1 + 2 / 3) / 2)
    assert ours['miF1'] == paper['miF1']
    # The same through threshold tuning and evaluate.
    prob = p * 0.9 + 0.05
    t = metrics.tune_thresholds(y, prob, protocol='paper')
    assert metrics.evaluate(y, prob, t, protocol='paper')['maF1'] == \
        pytest.approx(paper['maF1'])
    assert metrics.validation_score(y, prob, 'ebF1', protocol='paper') == \
        pytest.approx(paper['ebF1'])
    with pytest.raises(ValueError, match='protocol'):
        metrics.binary_metrics(y, p, protocol='other')


def test_tuned_report_gives_both_protocols():
    from lamp_geometric import metrics
    rng = np.random.default_rng(0)
    y = (rng.random((40, 4)) < 0.3).astype(float)
    p = np.clip(y * 0.6 + rng.random((40, 4)) * 0.4, 0, 1)
    report = metrics.tuned_report(y[:20], p[:20], y[20:], p[20:])
    assert set(report) == {'test', 'val', 'thresholds', 'test_paper',
                           'thresholds_paper'}
    t = metrics.tune_thresholds(y[:20], p[:20], protocol='paper')
    assert report['thresholds_paper'] == t
    assert report['test_paper'] == metrics.evaluate(y[20:], p[20:], t,
                                                    protocol='paper')
    assert report['test'] == metrics.evaluate(y[20:], p[20:],
                                              report['thresholds'])
