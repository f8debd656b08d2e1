r"""Multi-label classification metrics (LaMP paper, Section 8.2).

All functions take ``[N, L]`` arrays (``N`` samples, ``L`` labels) given as
NumPy arrays, anything :func:`numpy.asarray` accepts, or :class:`torch.Tensor`
objects (moved to the CPU and detached).  The module only depends on NumPy and
scikit-learn.

Metrics, for binary targets :math:`y` and predictions :math:`\hat{y}`:

* ``ebF1`` -- example-based F1: per sample
  :math:`2\sum_j y_j \hat{y}_j / (\sum_j y_j + \sum_j \hat{y}_j)`,
  averaged over samples.  A sample with no true and no predicted positive
  scores **1.0** (a perfect match; same as scikit-learn's
  ``f1_score(average='samples', zero_division=1.0)``).
* ``miF1`` -- micro F1:
  :math:`\sum_j 2tp_j / \sum_j (2tp_j + fp_j + fn_j)`; 0.0 if the
  denominator is zero.
* ``maF1`` -- macro F1: mean over labels of
  :math:`2tp_j / (2tp_j + fp_j + fn_j)`.  A label with
  :math:`tp_j = fp_j = fn_j = 0` scores **0.0** (scikit-learn's
  ``f1_score(average='macro', zero_division=0.0)``).
* ``acc`` -- subset accuracy: fraction of samples whose label vector is
  predicted exactly.
* ``ha`` -- Hamming accuracy: fraction of labels predicted correctly
  (``1 - hamming_loss``).
* ``roc_auc`` / ``pr_auc`` -- macro ROC-AUC / macro average precision: the
  per-label score averaged over labels.  Labels whose observed targets contain
  a single class cannot be scored; they are skipped and a :class:`UserWarning`
  reports how many.  If no label can be scored the result is ``nan``.

Missing targets are encoded as ``NaN`` and masked out everywhere:

* per-label quantities (``miF1``, ``maF1``, ``roc_auc``, ``pr_auc``) use only
  the observed entries of each label, and a label with no observed entry is
  left out of macro averages (so a fully missing label column gives the same
  result as deleting that column);
* example-based metrics (``ebF1``, ``ha``, ``acc``) use only the observed
  entries of each sample (``acc`` asks for an exact match on those entries,
  ``ha`` is the per-sample fraction of correct observed entries), and a
  sample with no observed entry is left out of the mean.

Without missing targets these definitions coincide with scikit-learn's, which
:func:`binary_metrics` and :func:`evaluate` use for the computation in that
case.  The threshold search of :func:`tune_thresholds` scores every candidate
threshold with the vectorised NumPy form of the same definitions (an order
of magnitude faster with hundreds of labels; the tests check it against
scikit-learn).

Two protocols for empty cases (the :obj:`protocol` argument of
:func:`binary_metrics`, :func:`tune_thresholds`, :func:`validation_score`
and :func:`evaluate`):

* :obj:`'sklearn'` (default) -- as above: a sample with no true and no
  predicted positive scores 1.0 in ``ebF1``; a label with
  :math:`tp = fp = fn = 0` scores 0.0 in ``maF1``.
* :obj:`'paper'` -- the original LaMP code's (QData/LaMP
  ``utils/evals.py``): such samples are left out of the ``ebF1`` mean and
  such labels out of the ``maF1`` mean.  Tables say which protocol
  produced them.

Binary metrics are computed from thresholded probabilities
(``y_prob >= threshold``).  Following the paper, one global threshold per
metric is chosen on the validation set from :data:`THRESHOLDS` with
:func:`tune_thresholds` and then passed to :func:`evaluate`.
"""
import warnings
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    hamming_loss,
    roc_auc_score,
)

__all__ = [
    'THRESHOLDS',
    'THRESHOLD_METRICS',
    'RANKING_METRICS',
    'PROTOCOLS',
    'binary_metrics',
    'ranking_metrics',
    'tune_thresholds',
    'evaluate',
    'validation_score',
    'tuned_report',
    'label_prior_baselines',
    'format_table',
]

THRESHOLDS: Tuple[float, ...] = (
    0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10,
    0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60,
    0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95,
)
"""Candidate decision thresholds searched by :func:`tune_thresholds`."""

THRESHOLD_METRICS: Tuple[str, ...] = ('ebF1', 'miF1', 'maF1', 'acc', 'ha')
"""Metrics computed on binarised predictions (each with its own threshold)."""

RANKING_METRICS: Tuple[str, ...] = ('roc_auc', 'pr_auc')
"""Metrics computed directly on the scores."""

PROTOCOLS: Tuple[str, ...] = ('sklearn', 'paper')
"""How empty cases count (see the module documentation)."""


def _check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise ValueError(f"'protocol' must be one of {PROTOCOLS} (got "
                         f"'{protocol}')")
    return protocol

ArrayLike = Any


# --------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------
def _to_numpy(x: ArrayLike) -> np.ndarray:
    """Converts an array-like or a tensor to a float64 NumPy array."""
    if hasattr(x, 'detach') and hasattr(x, 'cpu'):  # torch.Tensor
        x = np.asarray(x.detach().cpu())
    return np.asarray(x, dtype=np.float64)


def _first_bad(bad: np.ndarray) -> Tuple[int, int]:
    """Returns (row, column) of the first True entry of a 2-D mask."""
    row, col = np.argwhere(bad)[0]
    return int(row), int(col)


def _check_2d(x: np.ndarray, name: str) -> None:
    if x.ndim != 2:
        raise ValueError(
            f"'{name}' must be a 2-D array of shape [N, L] "
            f'(got a {x.ndim}-D array of shape {tuple(x.shape)})')
    if x.shape[0] == 0:
        raise ValueError(f"'{name}' is empty (N = 0 samples)")
    if x.shape[1] == 0:
        raise ValueError(f"'{name}' has no labels (L = 0)")


def _check_targets(y_true: ArrayLike, name: str = 'y_true') -> np.ndarray:
    """Validates targets: 2-D, non-empty, values in {0, 1, NaN}."""
    y = _to_numpy(y_true)
    _check_2d(y, name)
    bad = ~(np.isnan(y) | (y == 0) | (y == 1))
    if bad.any():
        i, j = _first_bad(bad)
        raise ValueError(
            f"'{name}' has invalid value {float(y[i, j])!r} at row {i}, "
            f'column {j}; targets must be 0, 1 or NaN (missing)')
    if np.isnan(y).all():
        raise ValueError(f"'{name}' has no observed (non-NaN) entry")
    return y


def _check_scores(y_score: ArrayLike, shape: Tuple[int, ...],
                  name: str) -> np.ndarray:
    """Validates scores: same shape as the targets and finite."""
    s = _to_numpy(y_score)
    _check_2d(s, name)
    if s.shape != shape:
        raise ValueError(f"'{name}' has shape {tuple(s.shape)} but 'y_true' "
                         f'has shape {tuple(shape)}')
    bad = ~np.isfinite(s)
    if bad.any():
        i, j = _first_bad(bad)
        raise ValueError(f"'{name}' has non-finite value "
                         f'{float(s[i, j])!r} at row {i}, column {j}')
    return s


def _check_binary(y_pred: ArrayLike, shape: Tuple[int, ...],
                  name: str = 'y_pred') -> np.ndarray:
    """Validates binary predictions: same shape, finite, values in {0, 1}."""
    p = _check_scores(y_pred, shape, name)
    bad = ~((p == 0) | (p == 1))
    if bad.any():
        i, j = _first_bad(bad)
        raise ValueError(
            f"'{name}' has non-binary value {float(p[i, j])!r} at row {i}, "
            f'column {j}; predictions must be 0 or 1 (threshold '
            'probabilities first)')
    return p


# --------------------------------------------------------------------------
# Binary metrics
# --------------------------------------------------------------------------
def _binary_metrics_masked(y: np.ndarray, p: np.ndarray,
                           protocol: str = 'sklearn') -> Dict[str, float]:
    """NaN-aware binary metrics on validated float arrays (vectorised)."""
    mask = ~np.isnan(y)
    m = mask.astype(np.float64)
    t = np.where(mask, y, 0.0)  # 0 where missing
    pm = p * m  # predictions on observed entries only

    tp = t * pm
    fp = (m - t) * pm  # observed negatives predicted positive
    fn = t * (1.0 - p)  # t is already 0 where missing

    # Per-label (micro / macro F1).
    tp_l, fp_l, fn_l = tp.sum(0), fp.sum(0), fn.sum(0)
    label_obs = mask.any(0)
    den_l = 2.0 * tp_l + fp_l + fn_l
    f1_l = np.divide(2.0 * tp_l, den_l, out=np.zeros_like(den_l),
                     where=den_l > 0)
    if protocol == 'paper':  # labels with 0/0 left out
        scored = label_obs & (den_l > 0)
        ma_f1 = float(f1_l[scored].mean()) if scored.any() else 0.0
    else:
        ma_f1 = float(f1_l[label_obs].mean())
    den_mi = den_l.sum()
    mi_f1 = float(2.0 * tp_l.sum() / den_mi) if den_mi > 0 else 0.0

    # Per-sample (example-based F1, Hamming and subset accuracy).
    n_obs = m.sum(1)
    valid = n_obs > 0
    tp_s = tp.sum(1)
    den_s = t.sum(1) + pm.sum(1)
    eb_s = np.divide(2.0 * tp_s, den_s, out=np.ones_like(den_s),
                     where=den_s > 0)
    err_s = fp.sum(1) + fn.sum(1)
    ha_s = 1.0 - np.divide(err_s, n_obs, out=np.zeros_like(err_s),
                           where=valid)
    acc_s = (err_s == 0).astype(np.float64)
    # The paper's protocol leaves out samples with no true and no predicted
    # positive (1.0 here otherwise).
    eb_valid = valid & (den_s > 0) if protocol == 'paper' else valid
    eb_f1 = float(eb_s[eb_valid].mean()) if eb_valid.any() else 1.0

    return {
        'ebF1': eb_f1,
        'miF1': mi_f1,
        'maF1': ma_f1,
        'acc': float(acc_s[valid].mean()),
        'ha': float(ha_s[valid].mean()),
    }


def _binary_metrics_sklearn(y: np.ndarray, p: np.ndarray) -> Dict[str, float]:
    """Binary metrics via scikit-learn (no missing targets, ``L >= 2``)."""
    yi, pi = y.astype(np.int64), p.astype(np.int64)
    return {
        'ebF1': float(f1_score(yi, pi, average='samples', zero_division=1.0)),
        'miF1': float(f1_score(yi, pi, average='micro', zero_division=0.0)),
        'maF1': float(f1_score(yi, pi, average='macro', zero_division=0.0)),
        'acc': float(accuracy_score(yi, pi)),
        'ha': float(1.0 - hamming_loss(yi, pi)),
    }


def _binary_metrics(y: np.ndarray, p: np.ndarray,
                    protocol: str = 'sklearn') -> Dict[str, float]:
    # scikit-learn treats a single column as binary (not multi-label) data,
    # so it is only used for L >= 2 without missing targets.
    if (protocol == 'sklearn' and y.shape[1] >= 2
            and not np.isnan(y).any()):
        return _binary_metrics_sklearn(y, p)
    return _binary_metrics_masked(y, p, protocol)


def binary_metrics(y_true: ArrayLike, y_pred: ArrayLike,
                   protocol: str = 'sklearn') -> Dict[str, float]:
    """Computes the threshold-based metrics of already binarised predictions.

    Args:
        y_true: Targets of shape ``[N, L]`` with values 0, 1 or NaN (missing).
        y_pred: Binary predictions of shape ``[N, L]`` (0/1 or booleans).
        protocol: How empty cases count, one of :data:`PROTOCOLS`
            (default: ``'sklearn'``).

    Returns:
        A dict with keys ``ebF1``, ``miF1``, ``maF1``, ``acc`` and ``ha``
        (see the module docstring for the definitions and the handling of
        missing targets).

    Raises:
        ValueError: If the arrays are not 2-D, are empty, differ in shape, if
            a target is not 0, 1 or NaN, if every target is missing, or if a
            prediction is not 0 or 1.  The message names the first offending
            row and column.
    """
    _check_protocol(protocol)
    y = _check_targets(y_true)
    p = _check_binary(y_pred, y.shape)
    return _binary_metrics(y, p, protocol)


# --------------------------------------------------------------------------
# Ranking metrics
# --------------------------------------------------------------------------
def _macro_per_label(y: np.ndarray, s: np.ndarray, score_fn,
                     name: str) -> float:
    """Averages ``score_fn`` over labels with two observed classes."""
    values = []
    skipped_labels = []
    num_labels = y.shape[1]
    for j in range(num_labels):
        obs = ~np.isnan(y[:, j])
        yj = y[obs, j]
        if yj.size == 0 or yj.min() == yj.max():
            skipped_labels.append(j)
            continue
        values.append(float(score_fn(yj, s[obs, j])))
    skipped = num_labels - len(values)
    if skipped:
        listed = ', '.join(map(str, skipped_labels[:20]))
        if skipped > 20:
            listed += ', ...'
        warnings.warn(
            f'{name}: skipped {skipped} of {num_labels} labels whose '
            'observed targets contain a single class (or no observed entry)'
            f' (label columns {listed})', UserWarning, stacklevel=3)
    return float(np.mean(values)) if values else float('nan')


def _ranking_metrics(y: np.ndarray, s: np.ndarray) -> Dict[str, float]:
    return {
        'roc_auc': _macro_per_label(y, s, roc_auc_score, 'roc_auc'),
        'pr_auc': _macro_per_label(y, s, average_precision_score, 'pr_auc'),
    }


def ranking_metrics(y_true: ArrayLike, y_score: ArrayLike) -> Dict[str, float]:
    """Computes macro ROC-AUC and macro PR-AUC (average precision).

    Each label is scored with :func:`sklearn.metrics.roc_auc_score` /
    :func:`sklearn.metrics.average_precision_score` on its observed
    (non-NaN) targets, and the per-label values are averaged.  Labels whose
    observed targets contain only one class are skipped; a
    :class:`UserWarning` reports how many were skipped for each metric.

    Args:
        y_true: Targets of shape ``[N, L]`` with values 0, 1 or NaN (missing).
        y_score: Finite scores (probabilities or logits) of shape ``[N, L]``.

    Returns:
        A dict with keys ``roc_auc`` and ``pr_auc``; a value is ``nan`` when
        no label can be scored.

    Raises:
        ValueError: On malformed inputs (see :func:`binary_metrics`), or if a
            score is NaN or infinite (the message names its row and column).
    """
    y = _check_targets(y_true)
    s = _check_scores(y_score, y.shape, 'y_score')
    return _ranking_metrics(y, s)


# --------------------------------------------------------------------------
# Thresholds and evaluation
# --------------------------------------------------------------------------
def _check_threshold(t: Any, name: str) -> float:
    try:
        value = float(t)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be a number (got {t!r})') from None
    if not np.isfinite(value):
        raise ValueError(f'{name} must be finite (got {t!r})')
    return value


def tune_thresholds(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    grid: Iterable[float] = THRESHOLDS,
    protocol: str = 'sklearn',
) -> Dict[str, float]:
    """Picks, per metric, the global threshold maximising it on these data.

    For every threshold ``t`` of ``grid`` the predictions ``y_prob >= t``
    are scored with :func:`binary_metrics`; for each metric in
    :data:`THRESHOLD_METRICS` the best threshold is kept.  Ties go to the
    threshold that comes first in ``grid`` order.  Use it on the validation
    set and pass the result to :func:`evaluate` on the test set.

    Args:
        y_true: Validation targets of shape ``[N, L]`` (0, 1 or NaN).
        y_prob: Validation probabilities of shape ``[N, L]``.
        grid: Candidate thresholds (default: :data:`THRESHOLDS`).
        protocol: How empty cases count, one of :data:`PROTOCOLS`
            (default: ``'sklearn'``).

    Returns:
        A dict mapping each metric of :data:`THRESHOLD_METRICS` to its
        selected threshold.

    Raises:
        ValueError: On malformed inputs or an empty / non-finite grid.
    """
    grid = [_check_threshold(t, 'every threshold of grid') for t in grid]
    if not grid:
        raise ValueError('grid must contain at least one threshold')
    y = _check_targets(y_true)
    prob = _check_scores(y_prob, y.shape, 'y_prob')

    scores = _grid_scores(y, prob, grid, _check_protocol(protocol))
    best = scores.argmax(0)  # first maximum, i.e. earliest in grid order
    return {name: grid[int(best[i])]
            for i, name in enumerate(THRESHOLD_METRICS)}


def _grid_scores(y: np.ndarray, prob: np.ndarray, grid: Sequence[float],
                 protocol: str = 'sklearn') -> np.ndarray:
    """``[len(grid), len(THRESHOLD_METRICS)]`` scores of ``prob >= t``."""
    scores = np.empty((len(grid), len(THRESHOLD_METRICS)))
    for k, t in enumerate(grid):
        res = _binary_metrics_masked(y, (prob >= t).astype(np.float64),
                                     protocol)
        scores[k] = [res[name] for name in THRESHOLD_METRICS]
    return scores


def validation_score(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    metric: str,
    grid: Iterable[float] = THRESHOLDS,
    protocol: str = 'sklearn',
) -> float:
    """Computes one metric the way model selection needs it: a ranking
    metric on the scores, a threshold metric at its best threshold of
    ``grid`` on these data.

    Equal to ``evaluate(y_true, y_prob, tune_thresholds(y_true, y_prob,
    grid))[metric]``, but computes only :obj:`metric` (per epoch of
    :func:`~lamp_geometric.train.fit` with many labels, the full
    :func:`evaluate` costs more than the training step).

    Raises:
        ValueError: On an unknown :obj:`metric` or malformed inputs.
    """
    if metric not in THRESHOLD_METRICS + RANKING_METRICS:
        raise ValueError(f"'metric' must be one of "
                         f"{THRESHOLD_METRICS + RANKING_METRICS} (got "
                         f"'{metric}')")
    grid = [_check_threshold(t, 'every threshold of grid') for t in grid]
    if not grid:
        raise ValueError('grid must contain at least one threshold')
    y = _check_targets(y_true)
    prob = _check_scores(y_prob, y.shape, 'y_prob')
    if metric == 'roc_auc':
        return _macro_per_label(y, prob, roc_auc_score, 'roc_auc')
    if metric == 'pr_auc':
        return _macro_per_label(y, prob, average_precision_score, 'pr_auc')
    return float(_grid_scores(y, prob, grid, _check_protocol(protocol))[
        :, THRESHOLD_METRICS.index(metric)].max())


def evaluate(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    thresholds: Union[Mapping[str, float], float, None] = None,
    protocol: str = 'sklearn',
) -> Dict[str, float]:
    """Computes every metric from predicted probabilities.

    Args:
        y_true: Targets of shape ``[N, L]`` (0, 1 or NaN).
        y_prob: Probabilities of shape ``[N, L]``.
        thresholds: Decision thresholds: a dict from :func:`tune_thresholds`
            (one per metric of :data:`THRESHOLD_METRICS`), a single float
            used for all of them, or :obj:`None` for 0.5.
        protocol: How empty cases count, one of :data:`PROTOCOLS`
            (default: ``'sklearn'``).

    Returns:
        A dict with keys ``ebF1``, ``miF1``, ``maF1``, ``acc``, ``ha`` (each
        computed on ``y_prob >= thresholds[metric]``), ``roc_auc`` and
        ``pr_auc`` (computed on ``y_prob``), in that order.

    Raises:
        ValueError: On malformed inputs, or if a threshold dict lacks one of
            the metrics of :data:`THRESHOLD_METRICS`.
    """
    if thresholds is None:
        thresholds = 0.5
    if isinstance(thresholds, Mapping):
        missing = [m for m in THRESHOLD_METRICS if m not in thresholds]
        if missing:
            raise ValueError(f'thresholds is missing metric(s) {missing}')
        per_metric = {m: _check_threshold(thresholds[m], f"thresholds['{m}']")
                      for m in THRESHOLD_METRICS}
    else:
        t = _check_threshold(thresholds, 'thresholds')
        per_metric = {m: t for m in THRESHOLD_METRICS}

    y = _check_targets(y_true)
    prob = _check_scores(y_prob, y.shape, 'y_prob')

    out: Dict[str, float] = {}
    cache: Dict[float, Dict[str, float]] = {}
    for m in THRESHOLD_METRICS:
        t = per_metric[m]
        if t not in cache:
            cache[t] = _binary_metrics(y, (prob >= t).astype(np.float64),
                                       _check_protocol(protocol))
        out[m] = cache[t][m]
    out.update(_ranking_metrics(y, prob))
    return out


def tuned_report(y_val: ArrayLike, p_val: ArrayLike, y_test: ArrayLike,
                 p_test: ArrayLike) -> Dict[str, Any]:
    """Validation and test metrics at thresholds tuned on validation (one
    per metric), under both protocols.

    Returns:
        A dict with ``test``, ``val`` and ``thresholds`` under the
        ``'sklearn'`` protocol and ``test_paper`` and ``thresholds_paper``
        under the ``'paper'`` protocol (thresholds tuned under it).
    """
    out: Dict[str, Any] = {}
    for protocol, suffix in (('sklearn', ''), ('paper', '_paper')):
        thresholds = tune_thresholds(y_val, p_val, protocol=protocol)
        out[f'thresholds{suffix}'] = thresholds
        out[f'test{suffix}'] = evaluate(y_test, p_test, thresholds,
                                        protocol=protocol)
        if not suffix:
            out['val'] = evaluate(y_val, p_val, thresholds)
    return out


# --------------------------------------------------------------------------
# Baselines and reporting
# --------------------------------------------------------------------------
def label_prior_baselines(
    y_train: ArrayLike,
    y_test: ArrayLike,
) -> Dict[str, Dict[str, float]]:
    """Scores two trivial predictors on the test targets.

    * ``'majority'``: every test sample gets the same label vector, label
      ``j`` positive iff its training prevalence (over observed entries)
      exceeds 0.5.  A label never observed in training is predicted negative.
    * ``'all_positive'``: every label of every sample is predicted positive.

    Only :func:`binary_metrics` are reported: the scores are constant, so
    ranking metrics are uninformative.

    Args:
        y_train: Training targets of shape ``[N_train, L]`` (0, 1 or NaN).
        y_test: Test targets of shape ``[N_test, L]`` (0, 1 or NaN).

    Returns:
        ``{'majority': {...}, 'all_positive': {...}}``, each inner dict with
        the keys of :func:`binary_metrics`.

    Raises:
        ValueError: On malformed inputs or a different number of labels.
    """
    train = _check_targets(y_train, 'y_train')
    test = _check_targets(y_test, 'y_test')
    if train.shape[1] != test.shape[1]:
        raise ValueError(f"'y_train' has {train.shape[1]} labels but "
                         f"'y_test' has {test.shape[1]}")
    observed = (~np.isnan(train)).sum(0)
    positives = np.nansum(train, axis=0)
    majority = positives > 0.5 * observed  # False for unobserved labels
    pred_majority = np.broadcast_to(majority.astype(np.float64), test.shape)
    return {
        'majority': _binary_metrics(test, pred_majority),
        'all_positive': _binary_metrics(test, np.ones_like(test)),
    }


def _format_number(x: float) -> str:
    """Formats with 3 decimals and no leading zero (``0.767`` -> ``.767``)."""
    x = float(x)
    if np.isnan(x):
        return 'nan'
    s = f'{x:.3f}'
    if s.startswith('0.'):
        return s[1:]
    if s.startswith('-0.'):
        return '-' + s[2:]
    return s


def _format_value(v: Any) -> str:
    if v is None:
        return '-'
    if isinstance(v, (tuple, list)) and len(v) == 2:
        return f'{_format_number(v[0])} ± {_format_number(v[1])}'
    return _format_number(v)


def format_table(
    rows: Mapping[str, Mapping[str, Any]],
    keys: Optional[Sequence[str]] = None,
) -> str:
    """Formats results as an aligned Markdown table.

    Numbers are printed with 3 decimals and no leading zero (``.767``);
    ``(mean, std)`` pairs are printed as ``.767 ± .004``; a metric a row
    lacks is printed as ``-``.

    Args:
        rows: Maps a row name (e.g. a method) to its ``{metric: value}`` dict.
            Values are floats or ``(mean, std)`` tuples.
        keys: Metric columns, in order.  Defaults to every metric of every
            row, in order of first appearance.

    Returns:
        The table as a string (header, separator and one line per row).

    Example:
        >>> print(format_table({'LaMP': {'ebF1': 0.5, 'maF1': (0.4, 0.01)}}))
        |      | ebF1 | maF1        |
        |------|------|-------------|
        | LaMP | .500 | .400 ± .010 |
    """
    if keys is None:
        keys = []
        for metrics in rows.values():
            keys.extend(k for k in metrics if k not in keys)
    keys = list(keys)
    header = [''] + keys
    body = [[str(name)] + [_format_value(metrics.get(k)) for k in keys]
            for name, metrics in rows.items()]
    widths = [max(len(r[c]) for r in [header] + body)
              for c in range(len(header))]
    widths = [max(w, 1) for w in widths]

    def line(cells: Sequence[str]) -> str:
        return '| ' + ' | '.join(c.ljust(w)
                                 for c, w in zip(cells, widths)) + ' |'

    sep = '|' + '|'.join('-' * (w + 2) for w in widths) + '|'
    return '\n'.join([line(header), sep] + [line(r) for r in body])
