r"""Predictions of a trained model on new molecules.

.. code-block:: python

    from lamp_geometric.predict import Predictor

    predictor = Predictor.from_checkpoint('model.pt')
    result = predictor.predict(['CCO', 'c1ccccc1O', 'not a smiles'])
    for item in result:
        if item.error:
            print(item.smiles, 'failed:', item.error)
        else:
            print(item.smiles, item.positive_labels)
    result.to_csv('predictions.csv')

Binary labels use one of the thresholds tuned on validation and stored in
the checkpoint, by default the one tuned for macro F1 (:obj:`metric='maF1'`).
New molecules are featurised by :func:`lamp_geometric.data.featurize_smiles`,
the featuriser the molecule data sets are built with.  An invalid SMILES does
not stop the others: its item carries an :obj:`error` message and no
probabilities.
"""
import csv
import json
import os
import warnings
from dataclasses import dataclass, field
from typing import (
    Any,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np
import torch

from torch_geometric.data import Batch, Data

from lamp_geometric.data.smiles import featurize_smiles
from lamp_geometric.metrics import THRESHOLD_METRICS
from lamp_geometric.train import split_output

__all__ = [
    'DEFAULT_METRIC',
    'Prediction',
    'PredictionResult',
    'Predictor',
    'predict_smiles',
]

#: The metric whose tuned threshold binarises predictions by default.
DEFAULT_METRIC = 'maF1'


@dataclass
class Prediction:
    r"""The prediction for one input.

    Attributes:
        index (int): Position of the input.
        smiles (str): The input SMILES string (or :obj:`None` for graphs
            without one).
        probabilities (list of float, optional): One probability per label;
            :obj:`None` if the input failed.
        predicted (list of int, optional): Binary predictions (:obj:`1` if
            the probability reaches the threshold).
        positive_labels (list of str): Names of the predicted labels.
        error (str, optional): Why the input could not be predicted.
    """
    index: int
    smiles: Optional[str]
    probabilities: Optional[List[float]] = None
    predicted: Optional[List[int]] = None
    positive_labels: List[str] = field(default_factory=list)
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        r""":obj:`True` if the input was predicted."""
        return self.error is None


@dataclass
class PredictionResult:
    r"""Predictions for a list of inputs; iterates over :class:`Prediction`
    items in input order.

    Attributes:
        items (list of Prediction): One item per input.
        label_names (list of str): The label names, in output order.
        threshold (float): The decision threshold used for :obj:`predicted`.
        metric (str, optional): The metric that threshold was tuned for
            (:obj:`None` for a threshold given explicitly).
    """
    items: List[Prediction]
    label_names: List[str]
    threshold: float
    metric: Optional[str] = None

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Prediction]:
        return iter(self.items)

    def __getitem__(self, i: int) -> Prediction:
        return self.items[i]

    @property
    def errors(self) -> List[Prediction]:
        r"""The items that failed."""
        return [item for item in self.items if not item.ok]

    def probabilities(self) -> np.ndarray:
        r"""Probabilities :obj:`[N, L]`; rows of failed inputs are NaN."""
        out = np.full((len(self.items), len(self.label_names)), np.nan)
        for i, item in enumerate(self.items):
            if item.probabilities is not None:
                out[i] = item.probabilities
        return out

    def predicted(self) -> np.ndarray:
        r"""Binary predictions :obj:`[N, L]` as floats; rows of failed
        inputs are NaN."""
        prob = self.probabilities()
        out = (prob >= self.threshold).astype(np.float64)
        out[np.isnan(prob)] = np.nan
        return out

    def to_records(self) -> List[Dict[str, Any]]:
        r"""One dictionary per input: :obj:`index`, :obj:`smiles`,
        :obj:`error`, :obj:`positive_labels` and, per label, its probability
        and binary prediction."""
        records = []
        for item in self.items:
            rec: Dict[str, Any] = dict(index=item.index, smiles=item.smiles,
                                       error=item.error,
                                       positive_labels=item.positive_labels)
            rec['probabilities'] = (None if item.probabilities is None else
                                    dict(zip(self.label_names,
                                             item.probabilities)))
            rec['predicted'] = (None if item.predicted is None else dict(
                zip(self.label_names, item.predicted)))
            records.append(rec)
        return records

    def to_json(self, path: str) -> None:
        r"""Writes the predictions, the label names and the threshold as
        JSON."""
        obj = dict(label_names=self.label_names, threshold=self.threshold,
                   metric=self.metric, predictions=self.to_records())
        _makedirs_for(path)
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(obj, f, indent=2)

    def to_csv(self, path: str) -> None:
        r"""Writes one row per input: :obj:`index`, :obj:`smiles`,
        :obj:`error`, then one probability column per label (named after the
        label) and one binary column per label (:obj:`<label> (predicted)`).
        Failed inputs have empty label cells."""
        _makedirs_for(path)
        with open(path, 'w', newline='', encoding='utf-8') as f:
            writer = csv.writer(f)
            writer.writerow(['index', 'smiles', 'error'] + self.label_names +
                            [f'{n} (predicted)' for n in self.label_names])
            for item in self.items:
                row: List[Any] = [item.index, item.smiles or '',
                                  item.error or '']
                if item.probabilities is None:
                    row += [''] * (2 * len(self.label_names))
                else:
                    row += [f'{p:.6g}' for p in item.probabilities]
                    row += list(item.predicted or [])
                writer.writerow(row)

    def save(self, path: str) -> None:
        r"""Writes :meth:`to_json` for a :obj:`.json` path and
        :meth:`to_csv` otherwise."""
        if path.lower().endswith('.json'):
            self.to_json(path)
        else:
            self.to_csv(path)

    def format_table(self, max_width: int = 14) -> str:
        r"""A per-label text table: one row per label, one column per input
        holding the probability, marked with :obj:`*` where the label is
        predicted.  Failed inputs are listed below the table."""
        ok = [item for item in self.items if item.ok]
        name_w = max([len('label')] + [len(n) for n in self.label_names])
        headers = [_shorten(item.smiles or f'#{item.index}', max_width)
                   for item in ok]
        widths = [max(len(h), 7) for h in headers]
        lines = [' '.join(['label'.ljust(name_w)] +
                          [h.rjust(w) for h, w in zip(headers, widths)])]
        lines.append(' '.join(['-' * name_w] + ['-' * w for w in widths]))
        for j, name in enumerate(self.label_names):
            cells = []
            for item, w in zip(ok, widths):
                assert item.probabilities is not None
                mark = '*' if item.predicted and item.predicted[j] else ' '
                cells.append(f'{item.probabilities[j]:.3f}{mark}'.rjust(w))
            lines.append(' '.join([name.ljust(name_w)] + cells))
        source = (f"tuned for {self.metric}" if self.metric else 'given')
        lines.append(f'* predicted positive (probability >= '
                     f'{self.threshold:g}, threshold {source})')
        for item in self.errors:
            lines.append(f'error: input {item.index} ({item.smiles!r}): '
                         f'{item.error}')
        return '\n'.join(lines)


class Predictor:
    r"""Predicts labels of molecules with a trained model.

    Args:
        model (torch.nn.Module): A model mapping a batch of molecular graphs
            to a :class:`~lamp_geometric.nn.LaMPOutput` or logits.
        label_names (list of str): The names of the labels.
        thresholds (dict, optional): Tuned thresholds, metric -> threshold
            (as stored in a checkpoint).  Without them the threshold is 0.5.
        device (str or torch.device, optional): Where to run the model.
            (default: :obj:`'cpu'`)
        batch_size (int, optional): Molecules per forward pass.
            (default: :obj:`64`)

    Attributes:
        info (CheckpointInfo, optional): What the checkpoint held besides the
            weights, when loaded with :meth:`from_checkpoint`.
    """
    def __init__(
        self,
        model: torch.nn.Module,
        label_names: Sequence[str],
        thresholds: Optional[Mapping[str, float]] = None,
        device: Union[str, torch.device] = 'cpu',
        batch_size: int = 64,
    ):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.label_names = [str(n) for n in label_names]
        self.thresholds = dict(thresholds) if thresholds else None
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise ValueError(f"'batch_size' must be positive (got "
                             f"{batch_size})")
        self.info: Optional[Any] = None

    @classmethod
    def from_checkpoint(cls, path: str,
                        device: Union[str, torch.device] = 'cpu',
                        batch_size: int = 64) -> 'Predictor':
        r"""Loads a checkpoint written by
        :func:`~lamp_geometric.checkpoint.save_checkpoint`."""
        from lamp_geometric.checkpoint import load_checkpoint
        from lamp_geometric.nn.encoders import ATOM_FEATURE_SIZES
        model, info = load_checkpoint(path, map_location=device)
        saved = info.featurizer.get('atom_feature_sizes')
        if saved is not None and list(saved) != list(ATOM_FEATURE_SIZES):
            warnings.warn(f"'{path}' was trained with atom feature sizes "
                          f"{list(saved)}, but this installation of "
                          f"torch_geometric featurises atoms with "
                          f"{ATOM_FEATURE_SIZES}; predictions may be wrong",
                          stacklevel=2)
        predictor = cls(model, info.label_names, info.thresholds,
                        device=device, batch_size=batch_size)
        predictor.info = info
        return predictor

    def threshold(self, metric: Optional[str] = DEFAULT_METRIC,
                  threshold: Optional[float] = None) -> Tuple[float,
                                                              Optional[str]]:
        r"""Returns :obj:`(threshold, metric)`: :obj:`threshold` itself if
        given, else the one tuned for :obj:`metric`, else 0.5.

        Raises:
            ValueError: If :obj:`metric` is not one of
                :obj:`lamp_geometric.metrics.THRESHOLD_METRICS` or no
                threshold was tuned for it.
        """
        if threshold is not None:
            t = float(threshold)
            if not 0.0 <= t <= 1.0:
                raise ValueError(f"'threshold' must lie in [0, 1] (got {t})")
            return t, None
        if metric is None or self.thresholds is None:
            return 0.5, None
        if metric not in THRESHOLD_METRICS:
            raise ValueError(f"Unknown metric '{metric}' (choose from "
                             f"{list(THRESHOLD_METRICS)})")
        if metric not in self.thresholds:
            raise ValueError(f"No threshold was tuned for '{metric}' (tuned: "
                             f"{sorted(self.thresholds)})")
        return float(self.thresholds[metric]), metric

    @torch.no_grad()
    def predict_proba(self, graphs: Sequence[Data],
                      progress: bool = False) -> np.ndarray:
        r"""Probabilities :obj:`[N, L]` for already featurised graphs."""
        from tqdm.auto import tqdm

        self.model.eval()
        out = []
        starts = range(0, len(graphs), self.batch_size)
        for start in tqdm(starts, desc='predict', leave=False,
                          disable=not progress):
            batch = Batch.from_data_list(
                list(graphs[start:start + self.batch_size])).to(self.device)
            logits, _ = split_output(self.model(batch))
            out.append(torch.sigmoid(logits.float()).cpu())
        if not out:
            return np.zeros((0, len(self.label_names)))
        return torch.cat(out).numpy().astype(np.float64)

    def predict(
        self,
        smiles: Sequence[str],
        metric: Optional[str] = DEFAULT_METRIC,
        threshold: Optional[float] = None,
        progress: bool = False,
    ) -> PredictionResult:
        r"""Predicts every SMILES string; invalid ones get an :obj:`error`.

        Args:
            smiles (list of str): The molecules.
            metric (str, optional): Use the threshold tuned for this metric.
                (default: :obj:`'maF1'`)
            threshold (float, optional): Use this threshold instead.
            progress (bool, optional): Show a progress bar.
                (default: :obj:`False`)
        """
        if isinstance(smiles, str):
            smiles = [smiles]
        t, used_metric = self.threshold(metric, threshold)
        items: List[Prediction] = []
        graphs: List[Data] = []
        positions: List[int] = []
        for i, s in enumerate(smiles):
            try:
                graphs.append(featurize_smiles(s))
                positions.append(i)
                items.append(Prediction(index=i, smiles=s))
            except ValueError as e:
                items.append(Prediction(index=i, smiles=s, error=str(e)))
        probs = self.predict_proba(graphs, progress=progress)
        for row, i in zip(probs, positions):
            self._fill(items[i], row, t)
        return PredictionResult(items, list(self.label_names), t, used_metric)

    def predict_dataset(
        self,
        dataset: Sequence[Data],
        metric: Optional[str] = DEFAULT_METRIC,
        threshold: Optional[float] = None,
        progress: bool = False,
    ) -> PredictionResult:
        r"""Predicts every graph of a data set (e.g. a
        :class:`~lamp_geometric.data.MoleculeCSV`)."""
        t, used_metric = self.threshold(metric, threshold)
        graphs = [dataset[i] for i in range(len(dataset))]
        probs = self.predict_proba(graphs, progress=progress)
        items = []
        for i, (g, row) in enumerate(zip(graphs, probs)):
            item = Prediction(index=i, smiles=getattr(g, 'smiles', None))
            self._fill(item, row, t)
            items.append(item)
        return PredictionResult(items, list(self.label_names), t, used_metric)

    def _fill(self, item: Prediction, row: np.ndarray, t: float) -> None:
        item.probabilities = [float(p) for p in row]
        item.predicted = [int(p >= t) for p in row]
        item.positive_labels = [n for n, k in zip(self.label_names,
                                                  item.predicted) if k]


def predict_smiles(
    checkpoint: Union[str, Predictor],
    smiles: Sequence[str],
    metric: Optional[str] = DEFAULT_METRIC,
    threshold: Optional[float] = None,
    device: Union[str, torch.device] = 'cpu',
) -> PredictionResult:
    r"""Predicts SMILES strings with a checkpoint file (or a
    :class:`Predictor`); see :meth:`Predictor.predict`."""
    predictor = (checkpoint if isinstance(checkpoint, Predictor) else
                 Predictor.from_checkpoint(checkpoint, device=device))
    return predictor.predict(smiles, metric=metric, threshold=threshold)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + '~'


def _makedirs_for(path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
