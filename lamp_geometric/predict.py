r"""Predictions of a trained model on new inputs of its input type:
molecules (SMILES strings), texts, bag-of-words and numeric rows.

.. code-block:: python

    from lamp_geometric.predict import Predictor

    predictor = Predictor.from_checkpoint('model.pt')
    result = predictor.predict(['CCO', 'c1ccccc1O', 'not a smiles'])
    for item in result:
        if item.error:
            print(item.input, 'failed:', item.error)
        else:
            print(item.input, item.positive_labels)
    result.to_csv('predictions.csv')

    text_model = Predictor.from_checkpoint('reuters.pt')
    text_model.predict_texts(['Oil prices rose as OPEC cut output.'])
    rows = Predictor.from_checkpoint('yeast.pt').predict_file('new.arff')

Binary labels use one of the thresholds tuned on validation and stored in
the checkpoint, by default the one tuned for macro F1 (:obj:`metric='maF1'`).
New inputs are featurised as the training data was
(:class:`lamp_geometric.data.FeatureSpec`, stored in the checkpoint):
molecules by :func:`lamp_geometric.data.featurize_smiles`, texts by the
training tokeniser and vocabulary (unknown words become :obj:`'<unk>'`),
numeric rows standardised with the training mean and standard deviation.
Files (:obj:`.csv`, :obj:`.arff`, :obj:`.txt`) are read by
:func:`lamp_geometric.data.read_inputs`.  An input that cannot be read does
not stop the others: its item carries an :obj:`error` message naming its
line and no probabilities.
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

from lamp_geometric.data.inputs import FeatureSpec, InputRow, read_inputs
from lamp_geometric.data.smiles import featurize_smiles
from lamp_geometric.metrics import THRESHOLD_METRICS
from lamp_geometric.train import split_output

__all__ = [
    'DEFAULT_METRIC',
    'Prediction',
    'PredictionResult',
    'Predictor',
    'featurize_smiles',
    'predict_smiles',
]

#: The metric whose tuned threshold binarises predictions by default.
DEFAULT_METRIC = 'maF1'


@dataclass
class Prediction:
    r"""The prediction for one input.

    Attributes:
        index (int): Position of the input (0-based).
        id (str): Where the input came from: its 1-based line in a file, or
            its 1-based position in a list.
        input (str, optional): The raw input: a SMILES string or a text
            (:obj:`None` for rows of features).
        probabilities (list of float, optional): One probability per label;
            :obj:`None` if the input failed.
        predicted (list of int, optional): Binary predictions (:obj:`1` if
            the probability reaches the threshold).
        positive_labels (list of str): Names of the predicted labels.
        error (str, optional): Why the input could not be predicted.
    """
    index: int
    id: str = ''
    input: Optional[str] = None
    probabilities: Optional[List[float]] = None
    predicted: Optional[List[int]] = None
    positive_labels: List[str] = field(default_factory=list)
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        r""":obj:`True` if the input was predicted."""
        return self.error is None

    @property
    def smiles(self) -> Optional[str]:
        r"""The input of a molecule model (its SMILES string)."""
        return self.input


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
        notes (list of str): What reading the inputs left out (blank lines,
            columns that are neither features nor labels).
    """
    items: List[Prediction]
    label_names: List[str]
    threshold: float
    metric: Optional[str] = None
    notes: List[str] = field(default_factory=list)

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

    def describe_errors(self, shown: int = 10) -> Optional[str]:
        r"""One line counting the inputs that could not be predicted, with
        the ids of the first :obj:`shown`, or :obj:`None` if all were."""
        bad = self.errors
        if not bad:
            return None
        ids = ', '.join(item.id for item in bad[:shown])
        more = f', ... ({len(bad) - shown} more)' if len(bad) > shown else ''
        return (f"{len(bad)} of {len(self.items)} input(s) could not be "
                f"predicted (id {ids}{more})")

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
        r"""One dictionary per input: :obj:`index`, :obj:`id`,
        :obj:`input`, :obj:`error`, :obj:`positive_labels` and, per label,
        its probability and binary prediction."""
        records = []
        for item in self.items:
            rec: Dict[str, Any] = dict(index=item.index, id=item.id,
                                       input=item.input, error=item.error,
                                       positive_labels=item.positive_labels)
            rec['probabilities'] = (None if item.probabilities is None else
                                    dict(zip(self.label_names,
                                             item.probabilities)))
            rec['predicted'] = (None if item.predicted is None else dict(
                zip(self.label_names, item.predicted)))
            records.append(rec)
        return records

    def to_json(self, path: str) -> None:
        r"""Writes the predictions, the label names, the threshold and the
        notes as JSON."""
        obj = dict(label_names=self.label_names, threshold=self.threshold,
                   metric=self.metric, notes=self.notes,
                   predictions=self.to_records())
        _makedirs_for(path)
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(obj, f, indent=2)

    def to_csv(self, path: str) -> None:
        r"""Writes one row per input: :obj:`index` (0-based position),
        :obj:`id` (line in the input file, or 1-based position),
        :obj:`input` (the SMILES string or text; empty for rows of
        features), :obj:`error`, then one probability column per label
        (named after the label), one binary column per label
        (:obj:`<label> (predicted)`) and :obj:`predicted_labels` (the
        predicted labels, separated by :obj:`';'`).  Failed inputs have
        empty label cells."""
        _makedirs_for(path)
        with open(path, 'w', newline='', encoding='utf-8') as f:
            writer = csv.writer(f)
            writer.writerow(['index', 'id', 'input', 'error'] +
                            self.label_names +
                            [f'{n} (predicted)' for n in self.label_names] +
                            ['predicted_labels'])
            for item in self.items:
                row: List[Any] = [item.index, item.id, item.input or '',
                                  item.error or '']
                if item.probabilities is None:
                    row += [''] * (2 * len(self.label_names) + 1)
                else:
                    row += [f'{p:.6g}' for p in item.probabilities]
                    row += list(item.predicted or [])
                    row.append(';'.join(item.positive_labels))
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
        headers = [_shorten(item.input or f'#{item.id}', max_width)
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
            lines.append(f'error: input {item.index} ({item.input!r}): '
                         f'{item.error}')
        return '\n'.join(lines)


class Predictor:
    r"""Predicts labels of new inputs with a trained model.

    Args:
        model (torch.nn.Module): A model mapping a batch of samples to a
            :class:`~lamp_geometric.nn.LaMPOutput` or logits.
        label_names (list of str): The names of the labels.
        thresholds (dict, optional): Tuned thresholds, metric -> threshold
            (as stored in a checkpoint).  Without them the threshold is 0.5.
        device (str or torch.device, optional): Where to run the model.
            (default: :obj:`'cpu'`)
        batch_size (int, optional): Inputs per forward pass.
            (default: :obj:`64`)
        feature_spec (FeatureSpec, optional): How inputs are featurised.
            (default: molecules)

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
        feature_spec: Optional[FeatureSpec] = None,
    ):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.label_names = [str(n) for n in label_names]
        self.thresholds = dict(thresholds) if thresholds else None
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise ValueError(f"'batch_size' must be positive (got "
                             f"{batch_size})")
        self.feature_spec = feature_spec or FeatureSpec('molecule')
        self.info: Optional[Any] = None

    @classmethod
    def from_checkpoint(cls, path: str,
                        device: Union[str, torch.device] = 'cpu',
                        batch_size: int = 64) -> 'Predictor':
        r"""Loads a checkpoint written by
        :func:`~lamp_geometric.checkpoint.save_checkpoint` (any input
        type)."""
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
                        device=device, batch_size=batch_size,
                        feature_spec=info.feature_spec)
        predictor.info = info
        return predictor

    @property
    def input_type(self) -> str:
        r"""What the model reads: :obj:`'molecule'`, :obj:`'bow'`,
        :obj:`'sequence'` or :obj:`'vector'`."""
        return self.feature_spec.input_type

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

    # Featurisation ###########################################################

    def featurize(self, inputs: Sequence[Any]) -> List[InputRow]:
        r"""Featurises inputs of the model's type, one :class:`~lamp_geometric.
        data.InputRow` each (with an :obj:`error` for an input that cannot
        be read): SMILES strings for molecules, texts for text models,
        dictionaries feature name -> value for bag-of-words and vector
        models (a feature left out is 0 in a bag of words and missing --
        the training mean -- in a vector).

        Raises:
            ValueError: If a row names a feature the model does not know.
        """
        spec = self.feature_spec
        if isinstance(inputs, (str, Mapping)):
            inputs = [inputs]
        rows = []
        for i, raw in enumerate(inputs):
            row = InputRow(id=str(i + 1))
            rows.append(row)
            if spec.input_type in ('bow', 'vector'):
                row.data, row.feature_names = spec.encode_values(
                    self._row_values(raw))
                continue
            row.text = raw if isinstance(raw, str) else None
            try:
                if spec.input_type == 'molecule':
                    row.data = spec.encode_smiles(raw)
                else:
                    if not isinstance(raw, str):
                        raise ValueError(f'expected a text (got '
                                         f'{type(raw).__name__})')
                    row.data, row.feature_names = spec.encode_text(raw)
            except ValueError as e:
                row.error = str(e)
        return rows

    def _row_values(self, raw: Any) -> Dict[int, float]:
        if not isinstance(raw, Mapping):
            raise ValueError(f"A '{self.input_type}' model reads rows as "
                             f"dictionaries feature name -> value (got "
                             f"{type(raw).__name__})")
        spec = self.feature_spec
        index = spec.index
        unknown = [k for k in raw if k not in index]
        if unknown:
            raise ValueError(f"Unknown feature(s) {unknown[:10]}; the "
                             f"model's features are named as in its "
                             f"training data (e.g. {list(index)[:5]})")
        values = {index[k]: float(v) for k, v in raw.items()}
        for fid in (spec.scaling or {}).get('ids', []):
            values.setdefault(int(fid), float('nan'))
        return values

    # Prediction ##############################################################

    @torch.no_grad()
    def predict_proba(self, graphs: Sequence[Data],
                      progress: bool = False) -> np.ndarray:
        r"""Probabilities :obj:`[N, L]` for already featurised samples."""
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

    def predict_rows(
        self,
        rows: Sequence[InputRow],
        metric: Optional[str] = DEFAULT_METRIC,
        threshold: Optional[float] = None,
        progress: bool = False,
        notes: Sequence[str] = (),
    ) -> PredictionResult:
        r"""Predicts featurised inputs (see :meth:`featurize` and
        :func:`~lamp_geometric.data.read_inputs`); rows with an
        :obj:`error` keep their place without probabilities."""
        t, used_metric = self.threshold(metric, threshold)
        items = [Prediction(index=i, id=row.id, input=row.text,
                            error=row.error) for i, row in enumerate(rows)]
        ok = [i for i, row in enumerate(rows)
              if row.error is None and row.data is not None]
        probs = self.predict_proba([rows[i].data for i in ok],
                                   progress=progress)
        for p, i in zip(probs, ok):
            self._fill(items[i], p, t)
        return PredictionResult(items, list(self.label_names), t, used_metric,
                                list(notes))

    def predict(
        self,
        inputs: Sequence[Any],
        metric: Optional[str] = DEFAULT_METRIC,
        threshold: Optional[float] = None,
        progress: bool = False,
    ) -> PredictionResult:
        r"""Predicts every input; one that cannot be read gets an
        :obj:`error`.

        Args:
            inputs (list): SMILES strings for molecule models, texts for
                text models, dictionaries feature name -> value for
                bag-of-words and vector models (see :meth:`featurize`).
            metric (str, optional): Use the threshold tuned for this metric.
                (default: :obj:`'maF1'`)
            threshold (float, optional): Use this threshold instead.
            progress (bool, optional): Show a progress bar.
                (default: :obj:`False`)
        """
        return self.predict_rows(self.featurize(inputs), metric, threshold,
                                 progress)

    def predict_texts(self, texts: Sequence[str],
                      metric: Optional[str] = DEFAULT_METRIC,
                      threshold: Optional[float] = None,
                      progress: bool = False) -> PredictionResult:
        r"""Predicts raw texts with a text model, tokenised as in training
        (words unseen in training become :obj:`'<unk>'`; a text without a
        word gets an :obj:`error`).

        Raises:
            ValueError: If the model does not read texts.
        """
        if self.input_type != 'sequence':
            raise ValueError(f"This model reads '{self.input_type}' inputs, "
                             f"not texts")
        return self.predict(texts, metric, threshold, progress)

    def read_file(self, path: str, smiles_column: Optional[str] = None,
                  text_column: str = 'text'
                  ) -> Tuple[List[InputRow], List[str]]:
        r"""Reads and featurises a file of new inputs
        (:func:`~lamp_geometric.data.read_inputs`; columns or attributes
        named as labels are ignored).  Returns the rows and the notes."""
        return read_inputs(path, self.feature_spec, self.label_names,
                           smiles_column=smiles_column,
                           text_column=text_column)

    def predict_file(
        self,
        path: str,
        metric: Optional[str] = DEFAULT_METRIC,
        threshold: Optional[float] = None,
        progress: bool = False,
        smiles_column: Optional[str] = None,
        text_column: str = 'text',
    ) -> PredictionResult:
        r"""Predicts every input of a :obj:`.csv`, :obj:`.arff` or
        :obj:`.txt` file (see :func:`~lamp_geometric.data.read_inputs`):
        one item per input, whose :obj:`id` is its line; what was left out
        (blank lines, ignored columns) is in :obj:`notes`.

        Raises:
            FileNotFoundError: If the file does not exist.
            ValueError: For a file type the model does not read, a
                malformed file (naming the line) or a missing column or
                feature.
        """
        rows, notes = self.read_file(path, smiles_column, text_column)
        return self.predict_rows(rows, metric, threshold, progress, notes)

    def predict_dataset(
        self,
        dataset: Sequence[Data],
        metric: Optional[str] = DEFAULT_METRIC,
        threshold: Optional[float] = None,
        progress: bool = False,
    ) -> PredictionResult:
        r"""Predicts every sample of a data set featurised as the training
        data (e.g. a :class:`~lamp_geometric.data.MoleculeCSV`, or a split
        of the training data set); an item's :obj:`id` is the sample's
        :obj:`idx` (its row in the data set) when it has one."""
        graphs = [dataset[i] for i in range(len(dataset))]
        rows = []
        for i, g in enumerate(graphs):
            idx = getattr(g, 'idx', None)
            smiles = getattr(g, 'smiles', None)
            rows.append(InputRow(
                id=str(int(idx.view(-1)[0]) if idx is not None else i + 1),
                text=smiles if isinstance(smiles, str) else None, data=g))
        return self.predict_rows(rows, metric, threshold, progress)

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
