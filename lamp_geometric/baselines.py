r"""Baselines the LaMP paper (and this library's benchmarks) compare with.

* :func:`label_prior_baselines` -- two trivial predictors from the training
  label frequencies (re-exported from :mod:`lamp_geometric.metrics`).
* :class:`EmbMLP` -- the paper's "Emb + MLP": the mean of the sample's
  feature embeddings fed to a 4-layer MLP that predicts every label
  independently (binary relevance); no label nodes, trained with plain
  binary cross entropy (Eq. 19).  It is a :class:`torch.nn.Module` mapping a
  batch to logits :obj:`[B, L]`, so :func:`lamp_geometric.train.fit` trains
  it like LaMP (a tensor output has no intermediate losses).
* :class:`LogisticOneVsRest` -- the linear floor: one logistic regression
  per label on the inputs the network sees, its regularisation chosen on
  validation.
* :class:`MorganRandomForest` -- for molecules, a scikit-learn random forest
  on RDKit Morgan fingerprints (radius 2, 2048 bits, 500 trees), the
  strongest SIDER ranking baseline measured in this project.
"""
from typing import List, Optional, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.nn import Dropout, Identity, LayerNorm, Linear, ReLU, Sequential

from torch_geometric.data import Batch
from torch_geometric.nn import global_mean_pool

from lamp_geometric.data.fingerprints import morgan_fingerprints
from lamp_geometric.metrics import label_prior_baselines
from lamp_geometric.nn.encoders import encode
from lamp_geometric.nn.models import label_log_odds

__all__ = ['EmbMLP', 'MorganRandomForest', 'LogisticOneVsRest',
           'label_prior_baselines']


class EmbMLP(torch.nn.Module):
    r"""The "Emb + MLP" baseline of the LaMP paper: feature embeddings are
    mean-pooled per sample and an MLP predicts all :math:`L` labels at once,

    .. math::
        \hat{\mathbf{y}} = \sigma\Big(\mathrm{MLP}\big(\tfrac{1}{S}
        \textstyle\sum_{j=1}^{S} \mathbf{z}_j\big)\Big),

    with :obj:`num_layers` linear layers (ReLU and dropout between them).
    A sample without feature nodes pools to the zero vector.

    Args:
        encoder (torch.nn.Module): Maps a batch to feature node embeddings
            :obj:`[N_x, in_channels]` aligned with :obj:`batch.batch` (e.g.
            :class:`~lamp_geometric.nn.TokenEmbedding` or
            :class:`~lamp_geometric.nn.AtomEmbedding`).
        in_channels (int): Size of the embeddings.
        num_labels (int): Number of labels :math:`L`.
        hidden_channels (int, optional): Width of the hidden layers.
            (default: :obj:`in_channels`)
        num_layers (int, optional): Number of linear layers (the paper uses
            4). (default: :obj:`4`)
        dropout (float, optional): Dropout before every linear layer but the
            first. (default: :obj:`0.`)
        input_norm (bool, optional): If set to :obj:`True`, the pooled
            embedding is layer-normalised before the MLP (the mean of
            :math:`S` embeddings from :math:`\mathcal{N}(0, 1)` has a scale
            of :math:`1/\sqrt{S}`, which shrinks with the sample's size;
            normalised, Emb + MLP on BibTeX reaches ebF1 .370 instead of
            .348, see ``docs/differences.rst``). (default: :obj:`True`)
    """
    def __init__(self, encoder: torch.nn.Module, in_channels: int,
                 num_labels: int, hidden_channels: Optional[int] = None,
                 num_layers: int = 4, dropout: float = 0.,
                 input_norm: bool = True):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"'num_layers' must be at least 1 (got "
                             f"{num_layers})")
        if num_labels < 1:
            raise ValueError(f"'num_labels' must be positive (got "
                             f"{num_labels})")
        self.encoder = encoder
        self.in_channels = in_channels
        self.num_labels = num_labels
        self.hidden_channels = hidden_channels or in_channels
        self.num_layers = num_layers
        self.dropout = dropout
        self.input_norm = input_norm
        self.norm = LayerNorm(in_channels) if input_norm else Identity()
        sizes = ([in_channels] + [self.hidden_channels] * (num_layers - 1) +
                 [num_labels])
        layers: List[torch.nn.Module] = []
        for k in range(num_layers):
            if k > 0:
                layers += [ReLU(), Dropout(dropout)]
            layers.append(Linear(sizes[k], sizes[k + 1]))
        self.mlp = Sequential(*layers)
        self.reset_parameters()

    def reset_parameters(self):
        if hasattr(self.encoder, 'reset_parameters'):
            self.encoder.reset_parameters()
        for layer in self.mlp:
            if isinstance(layer, Linear):
                layer.reset_parameters()
        if isinstance(self.norm, LayerNorm):
            self.norm.reset_parameters()

    @torch.no_grad()
    def set_label_prior(self, prevalence: Tensor) -> None:
        r"""Sets the bias of the last layer to the log-odds of each label's
        training prevalence :obj:`[L]` (clipped to
        :math:`[10^{-4}, 1 - 10^{-4}]`), as
        :meth:`lamp_geometric.nn.LaMP.set_label_prior` does."""
        last = self.mlp[-1]
        last.bias.copy_(
            label_log_odds(prevalence, self.num_labels).to(last.bias))

    def forward(self, data: Batch) -> Tensor:
        r"""Returns the logits :obj:`[B, L]`."""
        z, batch, num_samples = encode(self.encoder, data)
        pooled = global_mean_pool(z, batch, size=num_samples)
        return self.mlp(self.norm(pooled))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'num_labels={self.num_labels}, '
                f'num_layers={self.num_layers})')


class LogisticOneVsRest:
    r"""The linear floor of every table: one scikit-learn
    :class:`~sklearn.linear_model.LogisticRegression` per label (one-vs-rest,
    L2-regularised), on the inputs the network sees -- bag-of-words counts,
    standardised vectors, token counts, Morgan bits
    (:meth:`lamp_geometric.data.MultiLabelDataset.feature_matrix`,
    :func:`~lamp_geometric.data.morgan_fingerprints`).

    Each label is fitted on its observed (non-NaN) training rows; a label
    with a single observed class predicts that class's training frequency
    (counted in :obj:`constant_labels`).  With several values in
    :obj:`Cs` and validation data passed to :meth:`fit`, the inverse
    regularisation strength is chosen by the macro ROC-AUC on validation,
    one value for all labels, and the model is refitted with it.  The
    default grid spans five decades, because the data sets of the accuracy
    tables land at both ends of a narrower one (Mulan's emotions and yeast at
    strong regularisation, SIDER and Reuters at weak); :attr:`at_edge` says
    whether the chosen value is the grid's smallest or largest.

    Args:
        Cs (Sequence[float], optional): Candidate inverse regularisation
            strengths. (default: :obj:`(0.001, 0.01, 0.1, 1.0, 10.0,
            100.0)`)
        max_iter (int, optional): Solver iterations. (default: :obj:`1000`)
    """
    def __init__(self, Cs: Sequence[float] = (0.001, 0.01, 0.1, 1.0, 10.0,
                                              100.0),
                 max_iter: int = 1000):
        if not Cs:
            raise ValueError("'Cs' must hold at least one value")
        self.Cs = [float(c) for c in Cs]
        self.max_iter = max_iter
        self.C: Optional[float] = None
        self.scores: dict = {}
        self.constant_labels: List[int] = []
        self._models: list = []

    def _fit_one(self, X, y: np.ndarray, C: float) -> list:
        from sklearn.linear_model import LogisticRegression

        models: list = []
        for j in range(y.shape[1]):
            obs = ~np.isnan(y[:, j])
            yj = y[obs, j]
            if yj.size == 0 or yj.min() == yj.max():
                models.append(float(yj.mean()) if yj.size else 0.5)
                continue
            clf = LogisticRegression(C=C, solver='liblinear',
                                     max_iter=self.max_iter)
            models.append(clf.fit(X[obs], yj))
        return models

    def fit(self, X, y, X_val=None, y_val=None) -> 'LogisticOneVsRest':
        r"""Fits on :obj:`X` :obj:`[N, F]` (dense or sparse) and targets
        :obj:`y` :obj:`[N, L]` (0, 1 or NaN); picks :obj:`C` on
        :obj:`(X_val, y_val)` when given and :obj:`Cs` holds several."""
        from lamp_geometric.metrics import validation_score

        y = np.asarray(y, dtype=np.float64)
        if y.ndim != 2 or y.shape[0] != X.shape[0]:
            raise ValueError(f"'y' must have shape [{X.shape[0]}, L] (got "
                             f"{list(y.shape)})")
        candidates = self.Cs
        if len(candidates) > 1 and X_val is not None and y_val is not None:
            for C in candidates:
                self._models = self._fit_one(X, y, C)
                self.scores[C] = validation_score(
                    y_val, self.predict_proba(X_val), 'roc_auc')
            best = max(candidates, key=lambda c: (
                np.nan_to_num(self.scores[c], nan=-1.0), -c))
            candidates = [best]
        self.C = candidates[0]
        self._models = self._fit_one(X, y, self.C)
        self.constant_labels = [j for j, m in enumerate(self._models)
                                if isinstance(m, float)]
        return self

    @property
    def at_edge(self) -> bool:
        r"""Whether :obj:`C` was chosen among several candidates and is the
        smallest or the largest of them (a wider grid might score better)."""
        return (len(self.scores) > 1 and self.C is not None
                and self.C in (min(self.Cs), max(self.Cs)))

    def predict_proba(self, X) -> np.ndarray:
        r"""Probabilities of the positive class :obj:`[N, L]` (float64)."""
        if not self._models:
            raise RuntimeError("Call 'fit' first")
        out = np.empty((X.shape[0], len(self._models)))
        for j, m in enumerate(self._models):
            out[:, j] = m if isinstance(m, float) else m.predict_proba(X)[:,
                                                                         1]
        return out

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(Cs={self.Cs}, C={self.C})'


class MorganRandomForest:
    r"""A random forest on Morgan fingerprints for multi-label molecule
    data (scikit-learn :class:`~sklearn.ensemble.RandomForestClassifier`).

    Labels observed for every training molecule and holding both classes
    share one multi-output forest (scikit-learn's native multi-output trees);
    a label with missing (``NaN``) targets gets its own forest trained on
    the molecules where it is observed (the scheme of chemprop's
    scikit-learn baselines).  A label with a single class in training (or
    none observed) is predicted as that constant (probability 1 or 0; 0 when
    nothing is observed) and listed in :attr:`constant_labels`.

    Args:
        n_estimators (int, optional): Trees per forest. (default: :obj:`500`)
        radius (int, optional): Morgan radius. (default: :obj:`2`)
        n_bits (int, optional): Fingerprint length. (default: :obj:`2048`)
        random_state (int, optional): Seed. (default: :obj:`0`)
        n_jobs (int, optional): Parallel jobs of scikit-learn.
            (default: :obj:`1`)
        **kwargs: Other :class:`RandomForestClassifier` arguments (e.g.
            :obj:`class_weight='balanced'`, :obj:`min_samples_leaf`).

    Example:
        >>> rf = MorganRandomForest(n_estimators=100).fit(train_smiles, y)
        >>> prob = rf.predict_proba(test_smiles)  # [N, L]
    """
    def __init__(self, n_estimators: int = 500, radius: int = 2,
                 n_bits: int = 2048, random_state: int = 0,
                 n_jobs: Optional[int] = 1, **kwargs):
        self.n_estimators = n_estimators
        self.radius = radius
        self.n_bits = n_bits
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.kwargs = kwargs
        self.num_labels: Optional[int] = None
        self.constant_labels: List[int] = []
        self._shared = None
        self._shared_labels: List[int] = []
        self._single = {}
        self._constant = {}

    def _forest(self):
        from sklearn.ensemble import RandomForestClassifier
        return RandomForestClassifier(n_estimators=self.n_estimators,
                                      random_state=self.random_state,
                                      n_jobs=self.n_jobs, **self.kwargs)

    def featurize(self, smiles: Sequence[str]) -> np.ndarray:
        r"""The fingerprints of :obj:`smiles` (see
        :func:`~lamp_geometric.data.morgan_fingerprints`)."""
        return morgan_fingerprints(smiles, self.radius, self.n_bits)

    def fit(self, smiles: Sequence[str], y) -> 'MorganRandomForest':
        r"""Trains on SMILES strings and targets :obj:`[N, L]` (0, 1 or
        ``NaN``).

        Raises:
            ValueError: On a shape mismatch, a target other than 0, 1 or
                ``NaN``, or an unparseable SMILES.
        """
        if isinstance(y, Tensor):
            y = y.detach().cpu().numpy()
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 1:
            y = y[:, None]
        if y.ndim != 2 or y.shape[0] != len(smiles):
            raise ValueError(f"'y' must have shape [{len(smiles)}, L] (got "
                             f"{list(y.shape)})")
        bad = ~(np.isnan(y) | (y == 0) | (y == 1))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(f"Targets must be 0, 1 or NaN (got {y[i, j]} at "
                             f"row {i}, label {j})")
        X = self.featurize(smiles)
        L = y.shape[1]
        self.num_labels = L
        self._shared, self._shared_labels = None, []
        self._single, self._constant = {}, {}
        for j in range(L):
            observed = ~np.isnan(y[:, j])
            classes = np.unique(y[observed, j])
            if classes.size < 2:
                self._constant[j] = float(classes[0]) if classes.size else 0.
            elif observed.all():
                self._shared_labels.append(j)
            else:
                forest = self._forest()
                forest.fit(X[observed], y[observed, j].astype(np.int64))
                self._single[j] = forest
        if self._shared_labels:
            forest = self._forest()
            target = y[:, self._shared_labels].astype(np.int64)
            forest.fit(X, target if target.shape[1] > 1 else target[:, 0])
            self._shared = forest
        self.constant_labels = sorted(self._constant)
        return self

    def predict_proba(self, smiles: Sequence[str]) -> np.ndarray:
        r"""Probabilities of the positive class :obj:`[N, L]` (float64)."""
        if self.num_labels is None:
            raise RuntimeError("Call 'fit' before 'predict_proba'")
        X = self.featurize(smiles)
        out = np.zeros((len(smiles), self.num_labels))
        if self._shared is not None:
            probs = self._shared.predict_proba(X)
            if not isinstance(probs, list):
                probs = [probs]
            for j, p in zip(self._shared_labels, probs):
                out[:, j] = _positive_column(self._shared, p, len(probs), j,
                                             self._shared_labels)
        for j, forest in self._single.items():
            p = forest.predict_proba(X)
            out[:, j] = p[:, list(forest.classes_).index(1)]
        for j, c in self._constant.items():
            out[:, j] = c
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(n_estimators='
                f'{self.n_estimators}, radius={self.radius}, '
                f'n_bits={self.n_bits})')


def _positive_column(forest, p: np.ndarray, num_outputs: int, label: int,
                     labels: Sequence[int]) -> np.ndarray:
    classes = forest.classes_
    if num_outputs > 1:
        classes = classes[labels.index(label)]
    return p[:, list(classes).index(1)]
