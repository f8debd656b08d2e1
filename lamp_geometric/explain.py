r"""Explanations of LaMP predictions (paper Section 3.3, Fig. 2 and 3).

LaMP explains itself in three ways:

1. **Intermediate predictions.**  The tied readout can be applied to the
   label states after every stage -- :obj:`1.1` (feature-to-label message
   passing of step 1), :obj:`1.2` (label-to-label of step 1), :obj:`2.1`,
   ... -- so one sees how each label's prediction changes as messages
   arrive (Fig. 2a).
2. **Label-to-feature attention.**  In every feature-to-label stage each
   label attends over the sample's feature nodes (for molecules: atoms);
   the attention says which features each label looked at (Fig. 2b).
3. **Label-to-label attention.**  In every label-to-label stage each label
   attends over its neighbours in the label graph: which labels it listened
   to (Fig. 2c).

:func:`explain` runs a model once and returns one :class:`Explanation` per
sample holding all three as tensors with label and feature names attached;
the ``plot_*`` functions draw them with matplotlib and
:func:`draw_molecule_attention` shades a molecule's atoms by one label's
attention with RDKit.  :func:`save_explanation` writes every plot of a
sample as PNG files plus the numbers as JSON.

.. code-block:: python

    from lamp_geometric.explain import explain, save_explanation

    expl = explain(model, dataset[0], label_names=dataset.label_names)[0]
    expl.stage_probabilities      # [num_stages, L]
    expl.attention('1.1')         # [L, num_atoms], summed over heads
    save_explanation(expl, 'explanations', prefix='mol0')
"""
import csv
import json
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from torch_geometric.data import Batch, Data

from lamp_geometric.nn.models.lamp import LaMPOutput

__all__ = [
    'Explanation',
    'explain',
    'explain_output',
    'molecule_feature_names',
    'plot_intermediate_predictions',
    'plot_feature_attention',
    'top_features_table',
    'plot_label_attention',
    'draw_molecule_attention',
    'save_explanation',
]

LabelSelection = Optional[Sequence[Union[int, str]]]

#: Columns of :func:`top_features_table`.
_TOP_COLUMNS = ('label', 'probability', 'stage', 'rank', 'feature',
                'position', 'attention')

# Number of categorical atom features produced by `from_smiles`.
_NUM_ATOM_FEATURES = 9


@dataclass
class Explanation:
    r"""The explanation of one sample's prediction.

    Attention tensors keep the heads: row :obj:`i` of a head is the
    attention distribution of label :obj:`i` (the receiving node) and sums to
    one over the nodes it may attend to; entries outside the graph (label
    pairs that are not neighbours in a sparse label graph) are zero.

    Attributes:
        index (int): Position of the sample in the explained batch.
        label_names (list of str): The names of the :math:`L` labels.
        feature_names (list of str): The names of the sample's :math:`S`
            feature nodes (for molecules: atom symbol and 0-based atom index,
            e.g. :obj:`'C0'`, :obj:`'O1'`, matching RDKit's atom indices).
        stage_names (list of str): :obj:`['1.1', '1.2', '2.1', ...]`.
        stage_logits (torch.Tensor): The readout after every stage
            :obj:`[num_stages, L]`; the last row is the final output.
        feature_attention (dict): Feature-to-label stage name (e.g.
            :obj:`'1.1'`) -> attention :obj:`[heads, L, S]` of each label
            over the feature nodes.
        label_attention (dict): Label-to-label stage name (e.g.
            :obj:`'1.2'`) -> attention :obj:`[heads, L, L]`; entry
            :obj:`[h, i, j]` is how much label :obj:`i` listened to label
            :obj:`j`.
        y_true (torch.Tensor, optional): The targets :obj:`[L]` (NaN for
            missing ones) if the sample has them.
        smiles (str, optional): The SMILES string of a molecule.
        threshold (float): The probability at which a label counts as
            predicted positive when the targets are unknown.
            (default: :obj:`0.5`)
    """
    index: int
    label_names: List[str]
    feature_names: List[str]
    stage_names: List[str]
    stage_logits: Tensor
    feature_attention: Dict[str, Tensor]
    label_attention: Dict[str, Tensor]
    y_true: Optional[Tensor] = None
    smiles: Optional[str] = None
    threshold: float = 0.5

    @property
    def num_labels(self) -> int:
        r"""The number of labels :math:`L`."""
        return len(self.label_names)

    @property
    def stage_probabilities(self) -> Tensor:
        r"""The intermediate predictions :obj:`[num_stages, L]` (sigmoid of
        :obj:`stage_logits`)."""
        return torch.sigmoid(self.stage_logits)

    @property
    def probabilities(self) -> Tensor:
        r"""The final predictions :obj:`[L]`."""
        return self.stage_probabilities[-1]

    def attention(self, stage: str, reduce: str = 'sum') -> Tensor:
        r"""The attention of one stage with the heads reduced.

        Args:
            stage (str): A stage name, e.g. :obj:`'1.1'` (label-to-feature,
                :obj:`[L, S]`) or :obj:`'1.2'` (label-to-label,
                :obj:`[L, L]`).
            reduce (str, optional): :obj:`'sum'` over heads (as the paper's
                plots), :obj:`'mean'` (rows sum to one) or :obj:`'none'`
                (keep the heads). (default: :obj:`'sum'`)
        """
        if stage in self.feature_attention:
            att = self.feature_attention[stage]
        elif stage in self.label_attention:
            att = self.label_attention[stage]
        else:
            raise KeyError(f"No attention for stage '{stage}' (stages: "
                           f"{self.stage_names})")
        if reduce == 'sum':
            return att.sum(0)
        if reduce == 'mean':
            return att.mean(0)
        if reduce == 'none':
            return att
        raise ValueError(f"'reduce' must be 'sum', 'mean' or 'none' (got "
                         f"'{reduce}')")

    def label_index(self, label: Union[int, str]) -> int:
        r"""The index of a label given by index or name."""
        if isinstance(label, str):
            try:
                return self.label_names.index(label)
            except ValueError:
                raise KeyError(f"Unknown label '{label}'") from None
        label = int(label)
        if not 0 <= label < self.num_labels:
            raise IndexError(f"Label index {label} out of range "
                             f"[0, {self.num_labels})")
        return label

    def positive_labels(self, threshold: Optional[float] = None) -> List[int]:
        r"""The true positive labels if the targets are known (and any is
        positive), otherwise the labels predicted with probability at least
        :obj:`threshold` (default: :obj:`self.threshold`)."""
        if threshold is None:
            threshold = self.threshold
        if self.y_true is not None:
            pos = (self.y_true == 1).nonzero().view(-1).tolist()
            if pos:
                return pos
        return (self.probabilities >= threshold).nonzero().view(-1).tolist()

    def top_features(self, label: Union[int, str], stage: str = '1.1',
                     k: int = 5) -> List[Tuple[str, float]]:
        r"""The :obj:`k` feature nodes :obj:`label` attended to most in a
        feature-to-label stage, as :obj:`(name, attention summed over
        heads)` pairs."""
        if stage not in self.feature_attention:
            raise KeyError(f"'{stage}' is not a feature-to-label stage "
                           f"(those are {sorted(self.feature_attention)})")
        row = self.attention(stage)[self.label_index(label)]
        k = min(k, row.numel())
        values, idx = row.topk(k)
        return [(self.feature_names[i], float(v))
                for v, i in zip(values.tolist(), idx.tolist())]

    def to_dict(self) -> Dict:
        r"""The explanation as JSON-serialisable lists (attention per
        head)."""
        def lst(t: Tensor) -> List:
            return t.detach().cpu().tolist()

        return dict(
            index=self.index,
            smiles=self.smiles,
            label_names=self.label_names,
            feature_names=self.feature_names,
            stage_names=self.stage_names,
            y_true=None if self.y_true is None else [
                None if v != v else v for v in lst(self.y_true)
            ],
            stage_probabilities=lst(self.stage_probabilities),
            feature_attention={k: lst(v)
                               for k, v in self.feature_attention.items()},
            label_attention={k: lst(v)
                             for k, v in self.label_attention.items()},
        )


def molecule_feature_names(data: Data) -> List[str]:
    r"""Names of the atoms of a molecule featurised by
    :func:`torch_geometric.utils.from_smiles`: element symbol followed by
    the 0-based atom index (:obj:`['C0', 'C1', 'O2']` for ethanol), the
    index RDKit gives the atom when the SMILES is parsed again."""
    from rdkit import Chem
    table = Chem.GetPeriodicTable()
    atomic_numbers = data.x[:, 0].tolist()
    return [f'{table.GetElementSymbol(int(z)) if z > 0 else "*"}{i}'
            for i, z in enumerate(atomic_numbers)]


def _default_feature_names(data: Data, num_nodes: int) -> List[str]:
    x = getattr(data, 'x', None)
    if (isinstance(x, Tensor) and x.dim() == 2 and x.size(0) == num_nodes
            and x.size(1) == _NUM_ATOM_FEATURES and not x.is_floating_point()):
        try:
            return molecule_feature_names(data)
        except Exception:  # not atoms after all
            pass
    return [f'x{i}' for i in range(num_nodes)]


@torch.no_grad()
def explain(
    model: torch.nn.Module,
    data: Union[Data, Batch, Sequence[Data]],
    label_names: Optional[Sequence[str]] = None,
    feature_names: Optional[Sequence[Sequence[str]]] = None,
    threshold: float = 0.5,
) -> List[Explanation]:
    r"""Explains the predictions of a :class:`~lamp_geometric.nn.LaMP`
    model for one sample or a batch.

    The model runs once in evaluation mode (its training mode is restored
    afterwards) with :obj:`return_attention=True`.

    Args:
        model (torch.nn.Module): A :class:`~lamp_geometric.nn.LaMP` model
            with an encoder.
        data (Data, Batch or list of Data): The sample(s).  Feature nodes are
            the nodes of each graph (the encoder must keep them aligned with
            :obj:`data.batch`, as every encoder of
            :mod:`lamp_geometric.nn.encoders` does).
        label_names (list of str, optional): Names of the labels.
            (default: :obj:`'label 0'`, ...)
        feature_names (list of list of str, optional): Names of the feature
            nodes of every sample. (default: atom names for molecules, see
            :func:`molecule_feature_names`, else :obj:`'x0'`, ...)
        threshold (float, optional): The probability at which a label
            counts as predicted positive (used to choose the labels plotted
            when a sample has no targets). (default: :obj:`0.5`)

    Returns:
        list of Explanation: One explanation per sample.
    """
    if isinstance(data, Batch):
        batch = data
    elif isinstance(data, Data):
        batch = Batch.from_data_list([data])
    else:
        batch = Batch.from_data_list(list(data))
    device = next(iter(model.parameters())).device
    batch = batch.to(device)
    was_training = model.training
    model.eval()
    try:
        out = model(batch, return_attention=True)
    finally:
        model.train(was_training)
    return explain_output(out, batch.batch, batch.num_graphs,
                          label_names=label_names,
                          feature_names=feature_names, data=batch,
                          threshold=threshold)


def explain_output(
    output: LaMPOutput,
    batch: Tensor,
    num_samples: Optional[int] = None,
    label_names: Optional[Sequence[str]] = None,
    feature_names: Optional[Sequence[Sequence[str]]] = None,
    data: Optional[Batch] = None,
    threshold: float = 0.5,
) -> List[Explanation]:
    r"""Turns a :class:`~lamp_geometric.nn.LaMPOutput` computed with
    :obj:`return_attention=True` into one :class:`Explanation` per sample.

    Use it directly when LaMP runs on embeddings of your own encoder
    (:meth:`~lamp_geometric.nn.LaMP.forward_features`).

    Args:
        output (LaMPOutput): The model output, with attention.
        batch (torch.Tensor): Sample index of every feature node
            :obj:`[num_feature_nodes]`.
        num_samples (int, optional): Number of samples.
            (default: :obj:`batch.max() + 1`)
        label_names (list of str, optional): Names of the labels.
        feature_names (list of list of str, optional): Names of the feature
            nodes of every sample.
        data (Batch, optional): The batch, for targets :obj:`y`,
            :obj:`smiles` and default feature names.
        threshold (float, optional): See :func:`explain`.
            (default: :obj:`0.5`)
    """
    if output.attention is None:
        raise ValueError("The output holds no attention; run the model with "
                         "'return_attention=True'")
    logits = torch.stack(output.stage_logits, dim=1).detach().float().cpu()
    B, _, L = logits.shape
    if num_samples is not None and num_samples != B:
        raise ValueError(f"'num_samples' is {num_samples} but the output has "
                         f"{B} samples")
    if label_names is None:
        label_names = [f'label {j}' for j in range(L)]
    label_names = [str(n) for n in label_names]
    if len(label_names) != L:
        raise ValueError(f"Got {len(label_names)} label names for {L} labels")
    batch = batch.detach().cpu()
    counts = torch.bincount(batch, minlength=B)
    ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])

    y = None
    if data is not None and getattr(data, 'y', None) is not None:
        y = data.y.detach().float().cpu().view(B, -1)
        if y.size(1) != L:
            y = None
    smiles = getattr(data, 'smiles', None) if data is not None else None
    if isinstance(smiles, str):
        smiles = [smiles]

    att = {k: (ei.detach().cpu(), a.detach().float().cpu())
           for k, (ei, a) in output.attention.items()}
    explanations = []
    for b in range(B):
        S = int(counts[b])
        if feature_names is not None:
            names = [str(n) for n in feature_names[b]]
            if len(names) != S:
                raise ValueError(f"Sample {b} has {S} feature nodes but "
                                 f"{len(names)} feature names")
        elif data is not None:
            names = _default_feature_names(data.get_example(b), S)
        else:
            names = [f'x{i}' for i in range(S)]
        feature_att, label_att = {}, {}
        for stage in output.stage_names:
            if stage not in att:
                continue
            edge_index, alpha = att[stage]
            src, dst = edge_index
            mask = (dst // L) == b
            i = dst[mask] - b * L
            if stage.endswith('.1'):
                j = src[mask] - ptr[b]
                dense = alpha.new_zeros(alpha.size(1), L, S)
                feature_att[stage] = dense
            else:
                j = src[mask] - b * L
                dense = alpha.new_zeros(alpha.size(1), L, L)
                label_att[stage] = dense
            dense[:, i, j] = alpha[mask].t()
        explanations.append(Explanation(
            index=b, label_names=list(label_names), feature_names=names,
            stage_names=list(output.stage_names), stage_logits=logits[b],
            feature_attention=feature_att, label_attention=label_att,
            y_true=None if y is None else y[b],
            smiles=None if smiles is None else str(smiles[b]),
            threshold=float(threshold)))
    return explanations


# Plots ######################################################################

def _select_labels(expl: Explanation, labels: LabelSelection,
                   max_labels: int = 30) -> List[int]:
    if labels is not None:
        return [expl.label_index(label) for label in labels]
    pos = expl.positive_labels()
    if len(pos) >= 2:
        return pos[:max_labels]
    # Too few positives to show a relation: the most probable labels.
    k = min(max_labels, expl.num_labels, 10)
    return sorted(expl.probabilities.topk(k).indices.tolist())


def _shorten(name: str, width: int = 28) -> str:
    return name if len(name) <= width else name[:width - 1] + '\u2026'


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure
    width = min(max(width, 4.0), 30.0)
    height = min(max(height, 2.5), 30.0)
    return Figure(figsize=(width, height), dpi=100, layout='constrained')


def _font_size(n: int) -> float:
    return 9.0 if n <= 30 else max(4.0, 9.0 * 30 / n)


def _mark_true_positives(expl: Explanation, ticklabels, label_idx) -> None:
    if expl.y_true is None:
        return
    for tick, j in zip(ticklabels, label_idx):
        if expl.y_true[j] == 1:
            tick.set_color('red')
            tick.set_fontweight('bold')


def _finish(fig, path: Optional[str]):
    if path is not None:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        fig.savefig(path, format='png')
    return fig


def plot_intermediate_predictions(
    expl: Explanation,
    labels: LabelSelection = None,
    path: Optional[str] = None,
    title: Optional[str] = None,
):
    r"""The intermediate-prediction grid of Fig. 2a: one row per stage
    (:obj:`1.1` at the bottom, the final output at the top), one column per
    label, coloured by the predicted probability.  True positive labels are
    written in bold red and their cells carry a dot.

    Args:
        expl (Explanation): The explanation.
        labels (list of int or str, optional): The labels to show.
            (default: all)
        path (str, optional): If given, the figure is saved there as PNG.
        title (str, optional): The figure title.

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    idx = (list(range(expl.num_labels)) if labels is None else
           [expl.label_index(label) for label in labels])
    probs = expl.stage_probabilities[:, idx].numpy()
    n = len(idx)
    fig = _new_figure(0.32 * n + 2.5, 0.45 * len(expl.stage_names) + 2.6)
    ax = fig.add_subplot()
    im = ax.imshow(probs, origin='lower', aspect='auto', cmap='viridis',
                   vmin=0.0, vmax=1.0, interpolation='nearest')
    ax.set_yticks(range(len(expl.stage_names)), expl.stage_names)
    ax.set_xticks(range(n), [_shorten(expl.label_names[j]) for j in idx],
                  rotation=90, fontsize=_font_size(n))
    _mark_true_positives(expl, ax.get_xticklabels(), idx)
    if expl.y_true is not None:
        cols = [c for c, j in enumerate(idx) if expl.y_true[j] == 1]
        top = len(expl.stage_names) - 1
        ax.scatter(cols, [top] * len(cols), marker='o', s=12, c='red',
                   label='true positive')
    ax.set_ylabel('stage')
    ax.set_title(title or 'Intermediate predictions')
    fig.colorbar(im, ax=ax, label='probability')
    return _finish(fig, path)


def _heatmap(expl, matrix, row_idx, col_names, path, title, xlabel,
             col_idx=None):
    n_rows, n_cols = matrix.shape
    fig = _new_figure(0.3 * n_cols + 3.5, 0.3 * n_rows + 2.8)
    ax = fig.add_subplot()
    im = ax.imshow(matrix, aspect='auto', cmap='Blues', vmin=0.0,
                   interpolation='nearest')
    ax.set_yticks(range(n_rows),
                  [_shorten(expl.label_names[j]) for j in row_idx],
                  fontsize=_font_size(n_rows))
    ax.set_xticks(range(n_cols), col_names, rotation=90,
                  fontsize=_font_size(n_cols))
    _mark_true_positives(expl, ax.get_yticklabels(), row_idx)
    if col_idx is not None:
        _mark_true_positives(expl, ax.get_xticklabels(), col_idx)
    ax.set_xlabel(xlabel)
    ax.set_ylabel('label (attending)')
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label='attention')
    return _finish(fig, path)


def plot_feature_attention(
    expl: Explanation,
    stage: str = '1.1',
    labels: LabelSelection = None,
    reduce: str = 'sum',
    path: Optional[str] = None,
    title: Optional[str] = None,
    max_features: Optional[int] = 60,
):
    r"""The label-to-feature attention heatmap of Fig. 2b: one row per label
    (default: the true positive labels, else the predicted ones), one column
    per feature node named by :obj:`expl.feature_names` (atoms, words,
    feature names), coloured by the attention of a feature-to-label stage
    (summed over heads by default, as in the paper).  A sample with more
    than :obj:`max_features` feature nodes (a long text) shows the
    :obj:`max_features` its labels attended to most, in input order.

    Args:
        expl (Explanation): The explanation.
        stage (str, optional): A feature-to-label stage. (default:
            :obj:`'1.1'`)
        labels (list of int or str, optional): The labels (rows) to show.
        reduce (str, optional): :obj:`'sum'` or :obj:`'mean'` over heads.
            (default: :obj:`'sum'`)
        path (str, optional): If given, the figure is saved there as PNG.
        title (str, optional): The figure title.
        max_features (int, optional): The most feature nodes shown
            (:obj:`None`: all). (default: :obj:`60`)

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    if stage not in expl.feature_attention:
        raise KeyError(f"'{stage}' is not a feature-to-label stage (those "
                       f"are {sorted(expl.feature_attention)})")
    rows = _select_labels(expl, labels)
    att = expl.attention(stage, reduce)[rows]
    cols = list(range(att.size(1)))
    note = ''
    if max_features is not None and att.size(1) > max_features:
        top = att.sum(0).topk(max_features).indices
        cols = sorted(top.tolist())
        note = f', {max_features} of {att.size(1)} features'
    matrix = att[:, cols].numpy()
    return _heatmap(expl, matrix, rows,
                    [_shorten(expl.feature_names[c]) for c in cols], path,
                    title or f'Label-to-feature attention ({stage}{note})',
                    'feature')


def top_features_table(expl: Explanation, labels: LabelSelection = None,
                       k: int = 10) -> List[Dict[str, object]]:
    r"""The :obj:`k` feature nodes each label attended to most in every
    feature-to-label stage, named (atoms, words, feature names): one
    dictionary per entry with :obj:`label`, :obj:`probability`,
    :obj:`stage`, :obj:`rank`, :obj:`feature`, :obj:`position` (the node's
    index in the sample) and :obj:`attention` (summed over heads).

    Args:
        expl (Explanation): The explanation.
        labels (list of int or str, optional): The labels. (default: the
            true positive labels, else the predicted ones)
        k (int, optional): Features per label and stage.
            (default: :obj:`10`)
    """
    out: List[Dict[str, object]] = []
    for j in _select_labels(expl, labels):
        for stage in sorted(expl.feature_attention):
            row = expl.attention(stage)[j]
            values, idx = row.topk(min(k, row.numel()))
            for rank, (v, i) in enumerate(zip(values.tolist(),
                                              idx.tolist()), start=1):
                out.append(dict(label=expl.label_names[j],
                                probability=float(expl.probabilities[j]),
                                stage=stage, rank=rank,
                                feature=expl.feature_names[i], position=i,
                                attention=float(v)))
    return out


def plot_label_attention(
    expl: Explanation,
    stage: str = '1.2',
    labels: LabelSelection = None,
    reduce: str = 'sum',
    path: Optional[str] = None,
    title: Optional[str] = None,
):
    r"""The label-to-label attention heatmap of Fig. 2c: entry :obj:`(i, j)`
    is how much label :obj:`i` (row) attended to label :obj:`j` (column) in
    a label-to-label stage.  Rows and columns are the same labels (default:
    the true positive labels, else the predicted ones).

    Args:
        expl (Explanation): The explanation.
        stage (str, optional): A label-to-label stage.
            (default: :obj:`'1.2'`)
        labels (list of int or str, optional): The labels to show.
        reduce (str, optional): :obj:`'sum'` or :obj:`'mean'` over heads.
            (default: :obj:`'sum'`)
        path (str, optional): If given, the figure is saved there as PNG.
        title (str, optional): The figure title.

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    if stage not in expl.label_attention:
        raise KeyError(f"'{stage}' is not a label-to-label stage (those "
                       f"are {sorted(expl.label_attention)})")
    idx = _select_labels(expl, labels)
    matrix = expl.attention(stage, reduce)[idx][:, idx].numpy()
    return _heatmap(expl, matrix, idx,
                    [_shorten(expl.label_names[j]) for j in idx], path,
                    title or f'Label-to-label attention ({stage})',
                    'label (attended to)', col_idx=idx)


def draw_molecule_attention(
    expl: Explanation,
    label: Union[int, str],
    stage: str = '1.1',
    path: Optional[str] = None,
    size: Tuple[int, int] = (500, 400),
    reduce: str = 'sum',
    cmap: str = 'Reds',
) -> bytes:
    r"""Draws the molecule with every atom shaded by how much one label
    attended to it in a feature-to-label stage (RDKit
    :class:`~rdkit.Chem.Draw.rdMolDraw2D.MolDraw2DCairo` with highlighted
    atoms).  Colours run from the label's smallest to its largest attention
    on this molecule; each atom is annotated with its attention.

    Args:
        expl (Explanation): The explanation of a molecule (with
            :obj:`smiles`).
        label (int or str): The label.
        stage (str, optional): A feature-to-label stage.
            (default: :obj:`'1.1'`)
        path (str, optional): If given, the PNG is written there.
        size (tuple of int, optional): Width and height in pixels.
            (default: :obj:`(500, 400)`)
        reduce (str, optional): :obj:`'sum'` or :obj:`'mean'` over heads.
            (default: :obj:`'sum'`)
        cmap (str, optional): A matplotlib colour map.
            (default: :obj:`'Reds'`)

    Returns:
        bytes: The PNG image.
    """
    import matplotlib
    from rdkit import Chem
    from rdkit.Chem.Draw import rdMolDraw2D

    from lamp_geometric.data.smiles import block_rdkit_logs

    if expl.smiles is None:
        raise ValueError('This explanation has no SMILES to draw')
    if stage not in expl.feature_attention:
        raise KeyError(f"'{stage}' is not a feature-to-label stage (those "
                       f"are {sorted(expl.feature_attention)})")
    with block_rdkit_logs():
        mol = Chem.MolFromSmiles(expl.smiles)
    if mol is None:
        raise ValueError(f'RDKit cannot parse {expl.smiles!r}')
    j = expl.label_index(label)
    weights = expl.attention(stage, reduce)[j]
    if mol.GetNumAtoms() != weights.numel():
        raise ValueError(f'The molecule has {mol.GetNumAtoms()} atoms but '
                         f'the explanation {weights.numel()} feature nodes')
    low, top = float(weights.min()), float(weights.max())
    span = top - low
    scaled = (((weights - low) / span).tolist() if span > 1e-12 else
              [1.0] * weights.numel())
    colormap = matplotlib.colormaps[cmap]
    # The least attended atom gets a faint shade, the most a strong one.
    colors = {i: tuple(float(c) for c in colormap(0.1 + 0.75 * s)[:3])
              for i, s in enumerate(scaled)}
    radii = {i: 0.25 + 0.2 * s for i, s in enumerate(scaled)}
    for atom, w in zip(mol.GetAtoms(), weights.tolist()):
        atom.SetProp('atomNote', f'{w:.2f}')
    drawer = rdMolDraw2D.MolDraw2DCairo(int(size[0]), int(size[1]))
    options = drawer.drawOptions()
    options.annotationFontScale = 0.6
    legend = (f'{_shorten(expl.label_names[j], 40)}: attention in stage '
              f'{stage} ({low:.2f} to {top:.2f})')
    rdMolDraw2D.PrepareAndDrawMolecule(
        drawer, mol, legend=legend, highlightAtoms=list(range(len(scaled))),
        highlightAtomColors=colors, highlightAtomRadii=radii,
        highlightBonds=[])
    drawer.FinishDrawing()
    png = drawer.GetDrawingText()
    if path is not None:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        with open(path, 'wb') as f:
            f.write(png)
    return png


def _slug(text: str) -> str:
    slug = re.sub(r'[^A-Za-z0-9]+', '_', text).strip('_').lower()
    return slug[:40] or 'label'


def save_explanation(
    expl: Explanation,
    out_dir: str,
    prefix: Optional[str] = None,
    labels: LabelSelection = None,
    molecule_labels: LabelSelection = None,
    max_molecule_labels: int = 3,
) -> List[str]:
    r"""Writes every plot of one explanation plus its numbers.

    Files (``<prefix>`` defaults to :obj:`sample<index>`):

    * ``<prefix>_predictions.png`` -- :func:`plot_intermediate_predictions`,
    * ``<prefix>_attention_<stage>.png`` for every stage --
      :func:`plot_feature_attention` (``x.1``) or
      :func:`plot_label_attention` (``x.2``),
    * ``<prefix>_molecule_<label>.png`` for molecules --
      :func:`draw_molecule_attention` of stage :obj:`1.1` for
      :obj:`molecule_labels` (default: the :obj:`max_molecule_labels`
      selected labels with the highest final probability),
    * ``<prefix>_top_features.csv`` -- :func:`top_features_table` of the
      same labels as the heatmaps (the named features each label attended
      to most),
    * ``<prefix>.json`` -- :meth:`Explanation.to_dict`.

    Args:
        expl (Explanation): The explanation.
        out_dir (str): The output directory (created if needed).
        prefix (str, optional): File name prefix.
        labels (list of int or str, optional): Labels of the attention
            heatmaps. (default: the true positive labels, else the predicted
            ones)
        molecule_labels (list of int or str, optional): Labels to draw the
            molecule for.
        max_molecule_labels (int, optional): How many molecule drawings by
            default. (default: :obj:`3`)

    Returns:
        list of str: The paths written.
    """
    os.makedirs(out_dir, exist_ok=True)
    prefix = prefix or f'sample{expl.index}'
    paths = []

    def target(name: str) -> str:
        path = os.path.join(out_dir, f'{prefix}_{name}')
        paths.append(path)
        return path

    plot_intermediate_predictions(
        expl, path=target('predictions.png'),
        title=f'Intermediate predictions ({prefix})')
    for stage in expl.stage_names:
        name = f"attention_{stage.replace('.', '_')}.png"
        if stage in expl.feature_attention:
            plot_feature_attention(expl, stage, labels, path=target(name))
        elif stage in expl.label_attention:
            plot_label_attention(expl, stage, labels, path=target(name))
    if expl.smiles is not None and expl.feature_attention:
        stage = sorted(expl.feature_attention)[0]
        if molecule_labels is None:
            selected = _select_labels(expl, labels)
            order = expl.probabilities[selected].argsort(descending=True)
            molecule_labels = [selected[i]
                               for i in order[:max_molecule_labels].tolist()]
        for label in molecule_labels:
            j = expl.label_index(label)
            draw_molecule_attention(
                expl, j, stage,
                path=target(f'molecule_{j}_{_slug(expl.label_names[j])}'
                            f'.png'))
    if expl.feature_attention:
        table = top_features_table(expl, labels)
        with open(target('top_features.csv'), 'w', newline='',
                  encoding='utf-8') as f:
            writer = csv.DictWriter(f, fieldnames=list(_TOP_COLUMNS))
            writer.writeheader()
            writer.writerows(table)
    json_path = os.path.join(out_dir, f'{prefix}.json')
    with open(json_path, 'w', encoding='utf-8') as f:
        json.dump(expl.to_dict(), f)
    paths.append(json_path)
    return paths
