r"""The registry of bad inputs: every case says what it feeds the library,
what the library must do with it and a fragment of the message it must give.

:obj:`tests/reliability/test_bad_inputs.py` runs every case, and
:obj:`scripts/bad_input_table.py` runs them again to write the table of
:obj:`docs/bad_inputs.md` from what the library actually said.

A case is a :class:`Case`; its :obj:`run(tmp_dir)` feeds the input and
returns :obj:`(outcome, message)` for inputs the library accepts (it may
assert on the result, e.g. that every other row was kept) or raises the
library's exception.  :func:`run_case` turns both into an :class:`Outcome`.

Outcomes:

* ``error`` -- a clear exception (:obj:`Case.error` names its type);
* ``skip`` -- the input is left out and reported, everything else is kept;
* ``warning`` -- accepted, with a :class:`UserWarning` that says so;
* ``ok`` -- accepted and handled (finite outputs, masked values, ...).

File-format cases are generated per loader in :obj:`FILE_LOADERS`; a new
format (e.g. ARFF) adds a loader there and its malformed files to
:obj:`MALFORMED_FILES`.
"""
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple
from unittest import mock

import numpy as np
import torch
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader
from torch_geometric.utils import from_smiles

from lamp_geometric import metrics as M
from lamp_geometric.data import (
    SIDER,
    ArffFiles,
    FeatureSpec,
    MoleculeCSV,
    read_inputs,
    read_labelled_text,
)
from lamp_geometric.data.arff import read_arff
from lamp_geometric.nn import (
    DenseLaMPConv,
    LaMP,
    LaMPConv,
    LaMPLoss,
    masked_bce_with_logits,
    molecule_encoder,
)
from lamp_geometric.train import fit, load_training_state, predict

OUTCOMES = ('error', 'skip', 'warning', 'ok')
RunResult = Tuple[str, str]


@dataclass
class Case:
    r"""One bad input.

    Attributes:
        id (str): Unique, used as the test id.
        category (str): ``Molecules``, ``Labels``, ``Graphs`` or ``Files``.
        input (str): What is fed to the library (markdown allowed).
        outcome (str): One of :obj:`OUTCOMES`.
        match (str): A regular expression the message must match.
        run (callable): :obj:`run(tmp_dir) -> (outcome, message)`; raises the
            library's exception for ``error`` cases.
        error (type, optional): The exception type of an ``error`` case.
        api (str): The entry point that gets the input.
    """
    id: str
    category: str
    input: str
    outcome: str
    match: str
    run: Callable[[str], RunResult]
    error: Optional[type] = None
    api: str = ''


@dataclass
class Outcome:
    r"""What the library did with a case's input."""
    kind: str
    message: str
    error: Optional[type] = None
    warnings: List[str] = field(default_factory=list)


def run_case(case: Case, tmp_dir: str) -> Outcome:
    r"""Runs :obj:`case` in the empty directory :obj:`tmp_dir`.

    Assertion errors raised by the case itself (a broken expectation, e.g. a
    row that should have been kept) propagate; the library's exceptions are
    returned as an ``error`` outcome.
    """
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        try:
            kind, message = case.run(tmp_dir)
        except AssertionError:
            raise
        except Exception as e:  # the library's answer to a bad input
            return Outcome('error', clean(f'{type(e).__name__}: {e}',
                                          tmp_dir), type(e))
    caught = [clean(str(w.message), tmp_dir) for w in record
              if issubclass(w.category, UserWarning)]
    return Outcome(kind, clean(message, tmp_dir), None, caught)


def clean(message: str, tmp_dir: str) -> str:
    r"""Removes the machine-specific temporary directory from a message and
    puts it on one line."""
    for d in {tmp_dir, os.path.realpath(tmp_dir)}:
        message = message.replace(d, '<dir>')
    return ' '.join(message.split())


# Helpers #####################################################################

def write(tmp_dir: str, name: str, content, mode: str = 'w') -> str:
    path = os.path.join(tmp_dir, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(content)
    return path


def csv_text(rows: List[Tuple[str, ...]], header=('smiles', 'A', 'B')) -> str:
    return '\n'.join(','.join(r) for r in [tuple(header)] + rows) + '\n'


def load_csv(tmp_dir: str, content, mode: str = 'w',
             name: str = 'data.csv', **kwargs) -> MoleculeCSV:
    path = write(tmp_dir, name, content, mode)
    kwargs.setdefault('verbose', True)
    return MoleculeCSV(path, root=os.path.join(tmp_dir, 'cache'), **kwargs)


GOOD = [('CCO', '1', '0'), ('c1ccccc1O', '0', '1'), ('CCN', '1', '1')]


def skipped_row(bad: str, reason: str) -> Callable[[str], RunResult]:
    r"""A CSV with :obj:`bad` as its second data row (line 3) between good
    rows: the bad row is skipped and reported, the others are kept."""
    def run(tmp_dir: str) -> RunResult:
        rows = [GOOD[0], (bad, '1', '0'), GOOD[1], GOOD[2]]
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter('always')
            ds = load_csv(tmp_dir, csv_text(rows))
        assert [d.smiles for d in ds] == [r[0] for r in GOOD]
        assert ds.idx.tolist() == [0, 2, 3]
        assert ds.num_rows == 4
        assert ds.skipped == [(3, bad.strip(), reason)], ds.skipped
        messages = [str(w.message) for w in record]
        assert any('skipped 1 of 4 rows' in m for m in messages), messages
        return 'skip', messages[-1]
    return run


def tiny_lamp(num_labels: int = 3, path: str = 'auto', **kwargs) -> LaMP:
    r"""A small LaMP (d = 16, two heads) with an FMP molecule encoder unless
    :obj:`encoder` is given, in evaluation mode."""
    torch.manual_seed(0)
    if 'encoder' not in kwargs:
        kwargs['encoder'] = molecule_encoder('fmp', 16, heads=2)
    return LaMP(num_labels, 16, heads=2, path=path, **kwargs).eval()


def through_model(smiles: str) -> Callable[[str], RunResult]:
    r"""Featurises :obj:`smiles`, checks the loader keeps it, and runs it
    through LaMP with feature message passing (both attention paths), alone
    and in a batch."""
    def run(tmp_dir: str) -> RunResult:
        ds = load_csv(tmp_dir, csv_text([(smiles, '1', '0')] + GOOD))
        assert ds.skipped == [] and len(ds) == 4
        data = ds[0]
        assert data.x.size(0) == Chem_num_atoms(smiles)
        outs = []
        for path in ('sparse', 'dense'):
            model = tiny_lamp(2, path=path, label_graph='fc')
            alone = model(Batch.from_data_list([data])).logits
            batch = model(Batch.from_data_list(list(ds))).logits
            assert torch.isfinite(alone).all() and torch.isfinite(batch).all()
            assert torch.allclose(alone[0], batch[0], atol=1e-5)
            outs.append(alone)
        assert torch.allclose(outs[0], outs[1], atol=1e-5)
        n = data.x.size(0)
        return 'ok', (f"kept: {n} atom{'s' if n != 1 else ''}, "
                      f'{data.edge_index.size(1) // 2} bonds; finite '
                      f'outputs through FMP + LaMP (sparse and dense)')
    return run


def Chem_num_atoms(smiles: str) -> int:
    from rdkit import Chem
    return Chem.MolFromSmiles(smiles).GetNumAtoms()


def expect_error(fn: Callable[[str], object]) -> Callable[[str], RunResult]:
    def run(tmp_dir: str) -> RunResult:
        fn(tmp_dir)
        raise AssertionError('expected an error, the call returned')
    return run


# Molecules ###################################################################

def _many_skipped(tmp_dir: str) -> RunResult:
    rows = [(f'C1C{"C" * i}', '1', '0') for i in range(15)] + GOOD
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        ds = load_csv(tmp_dir, csv_text(rows))
    assert len(ds) == 3 and len(ds.skipped) == 15
    assert [s[0] for s in ds.skipped] == list(range(2, 17))
    return 'skip', str(record[-1].message)


def _stereo_and_charge(tmp_dir: str) -> RunResult:
    smiles = ['C[C@H](N)C(=O)O', 'F/C=C/F', 'C[N+](C)(C)C',
              '[O-][N+](=O)c1ccccc1']
    ds = load_csv(tmp_dir, csv_text([(s, '1', '0') for s in smiles]))
    assert ds.skipped == [] and len(ds) == 4
    assert ds[0].x[:, 1].ne(0).any()  # the chirality feature is set
    assert ds[1].edge_attr[:, 1].ne(0).any()  # the bond stereo feature
    assert ds[2].x[:, 3].ne(ds[2].x[0, 3]).any()  # a formal charge differs
    model = tiny_lamp(2)
    out = model(Batch.from_data_list(list(ds))).logits
    assert torch.isfinite(out).all()
    return 'ok', ('kept; chirality, bond stereo and formal charge are atom/'
                  'bond features; finite outputs')


def _all_invalid(tmp_dir: str) -> RunResult:
    load_csv(tmp_dir, csv_text([('xyz', '1', '0'), ('', '0', '1')]))
    raise AssertionError('expected an error')


MOLECULE_CASES = [
    Case('smiles-unparseable', 'Molecules', 'unparseable SMILES (`C1CC`)',
         'skip', r"row 3 'C1CC' \(unparseable SMILES\)",
         skipped_row('C1CC', 'unparseable SMILES'), api='MoleculeCSV'),
    Case('smiles-empty', 'Molecules', 'empty SMILES cell', 'skip',
         r"row 3 '' \(empty SMILES\)", skipped_row('', 'empty SMILES'),
         api='MoleculeCSV'),
    Case('smiles-blank', 'Molecules', 'SMILES of spaces only', 'skip',
         r"row 3 '' \(empty SMILES\)", skipped_row('   ', 'empty SMILES'),
         api='MoleculeCSV'),
    Case('smiles-valence', 'Molecules',
         'chemically invalid SMILES (5-valent carbon)', 'skip',
         r'unparseable SMILES',
         skipped_row('C(C)(C)(C)(C)C', 'unparseable SMILES'),
         api='MoleculeCSV'),
    Case('smiles-nul', 'Molecules', 'a NUL byte inside a SMILES', 'skip',
         r'unparseable SMILES', skipped_row('C\x00C', 'unparseable SMILES'),
         api='MoleculeCSV'),
    Case('smiles-many-bad', 'Molecules', '15 unparseable rows among 18',
         'skip', r'skipped 15 of 18 rows: row 2 .* and 5 more',
         _many_skipped, api='MoleculeCSV'),
    Case('smiles-all-bad', 'Molecules', 'no row gives a molecule', 'error',
         r"No valid molecule .*\(skipped 2 of 2 rows: row 2 'xyz'",
         _all_invalid, ValueError, api='MoleculeCSV'),
    Case('smiles-salt', 'Molecules',
         'salt / several fragments (`[Na+].[Cl-]`: isolated ions)', 'ok',
         r'kept: 2 atoms, 0 bonds; finite', through_model('[Na+].[Cl-]'),
         api='MoleculeCSV, FMPEncoder, LaMP'),
    Case('smiles-single-atom', 'Molecules', 'a single atom (`C`)', 'ok',
         r'kept: 1 atom, 0 bonds; finite', through_model('C'),
         api='MoleculeCSV, FMPEncoder, LaMP'),
    Case('smiles-500-atoms', 'Molecules', 'a 500-atom molecule', 'ok',
         r'kept: 500 atoms, 499 bonds; finite', through_model('C' * 500),
         api='MoleculeCSV, FMPEncoder, LaMP'),
    Case('smiles-stereo-charge', 'Molecules',
         'stereocentres, stereo double bonds, charged species', 'ok',
         r'chirality, bond stereo and formal charge', _stereo_and_charge,
         api='MoleculeCSV, LaMP'),
]


# Labels ######################################################################

def _label_value(value: str) -> Callable[[str], RunResult]:
    def run(tmp_dir: str) -> RunResult:
        load_csv(tmp_dir, csv_text([GOOD[0], ('CC', '1', value), GOOD[1]]))
        raise AssertionError('expected an error')
    return run


def _label_float_ok(tmp_dir: str) -> RunResult:
    ds = load_csv(tmp_dir, csv_text([('CC', '1.0', '0.0'), GOOD[0]]))
    assert ds[0].y.tolist() == [[1.0, 0.0]]
    return 'ok', 'read as 1 and 0'


def _missing_labels(tmp_dir: str) -> RunResult:
    ds = load_csv(tmp_dir, csv_text([('CC', '', '1'), ('CCO', '0', ''),
                                     ('CCN', '1', '0')]))
    y = ds.y
    assert torch.isnan(y).sum() == 2
    # The loss ignores missing targets: it equals the loss over the observed
    # entries, and missing entries get no gradient.
    logits = torch.randn(3, 2, requires_grad=True)
    loss = masked_bce_with_logits(logits, y)
    obs = ~torch.isnan(y)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(
        logits[obs], y[obs])
    assert torch.allclose(loss, ref)
    loss.backward()
    assert (logits.grad[~obs] == 0).all() and torch.isfinite(logits.grad).all()
    # Metrics ignore them too: dropping a missing entry's row changes nothing
    # for that label.
    prob = torch.sigmoid(logits.detach()).numpy()
    res = M.evaluate(y.numpy(), prob)
    assert all(math.isfinite(v) for k, v in res.items()
               if k not in M.RANKING_METRICS)
    return 'ok', ('kept as NaN; masked out of the loss (no gradient) and of '
                  'every metric')


def _train_target_two(tmp_dir: str) -> RunResult:
    datas = [from_smiles(s) for s in ('CCO', 'CCN')]
    for i, d in enumerate(datas):
        d.y = torch.tensor([[0., 1., 0.]]) if i == 0 else torch.tensor(
            [[1., 2., 0.]])
        d.idx = torch.tensor([10 + i])
    loader = DataLoader(datas, batch_size=2)
    predict(tiny_lamp(3), loader, loss_fn=LaMPLoss())
    raise AssertionError('expected an error')


def _metrics_target_two(tmp_dir: str) -> RunResult:
    M.evaluate(np.array([[0, 1], [1, 0.5]]), np.full((2, 2), 0.5))
    raise AssertionError('expected an error')


def _no_positive_in_train(tmp_dir: str) -> RunResult:
    ds = load_csv(tmp_dir, csv_text([(s, '1' if i % 2 else '0', '0')
                                     for i, s in enumerate(
                                         ['CC', 'CCO', 'CCN', 'CCC'])],
                                    header=('smiles', 'toxic', 'rare')))
    loader = DataLoader(ds, batch_size=2)
    model = tiny_lamp(2)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        result = fit(model, loader, loader, 1, opt, progress=False)
    assert math.isfinite(result.history[0]['train_loss'])
    messages = [str(w.message) for w in record
                if 'no positive' in str(w.message)]
    assert messages, [str(w.message) for w in record]
    return 'warning', messages[0]


def _metrics_single_class(tmp_dir: str) -> RunResult:
    y = np.array([[1, 0], [0, 0], [1, 0]], float)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        res = M.evaluate(y, np.array([[.9, .2], [.1, .3], [.8, .1]]))
    assert res['roc_auc'] == 1.0  # label 0 alone is scored
    return 'warning', str(record[0].message)


def _rows_without_positive(tmp_dir: str) -> RunResult:
    ds = load_csv(tmp_dir, csv_text([('CC', '0', '0'), ('CCO', '0', '0'),
                                     ('CCN', '1', '0'), ('CCC', '0', '1')]))
    assert len(ds) == 4
    y = ds.y.numpy()
    logits = torch.zeros(4, 2, requires_grad=True)
    loss = masked_bce_with_logits(logits, ds.y)
    assert torch.isfinite(loss)
    # Predicting nothing for a sample without positives is a perfect match.
    pred = np.zeros_like(y)
    pred[2, 0] = pred[3, 1] = 1
    assert M.binary_metrics(y, pred)['ebF1'] == 1.0
    return 'ok', ('kept; finite loss; example-based F1 scores a sample '
                  'with no true and no predicted positive as 1')


LABEL_CASES = [
    Case('label-missing', 'Labels', 'empty (missing) label cells', 'ok',
         r'masked out of the loss', _missing_labels,
         api='MoleculeCSV, LaMPLoss, metrics'),
    Case('label-two', 'Labels', 'label value `2` in the CSV', 'error',
         r"Invalid label value '2' in '<dir>/data.csv', line 3, column 'B'",
         _label_value('2'), ValueError, api='MoleculeCSV'),
    Case('label-text', 'Labels', 'label value `yes`', 'error',
         r"Invalid label value 'yes' .* line 3, column 'B'",
         _label_value('yes'), ValueError, api='MoleculeCSV'),
    Case('label-nan-text', 'Labels',
         'label value `nan` / `NA` written out (only an empty cell means '
         'missing)', 'error', r"Invalid label value 'NA' .* line 3",
         _label_value('NA'), ValueError, api='MoleculeCSV'),
    Case('label-float', 'Labels', 'label values `1.0` / `0.0`', 'ok',
         r'read as 1 and 0', _label_float_ok, api='MoleculeCSV'),
    Case('label-two-in-batch', 'Labels',
         'target `2` in a batch given to training / prediction', 'error',
         r'Invalid target 2.0 at sample 1 of the batch \(data set row 11\), '
         r'label column 1', _train_target_two, ValueError,
         api='train.predict, train.fit'),
    Case('label-two-metrics', 'Labels', 'target `0.5` given to the metrics',
         'error', r"invalid value 0.5 at row 1, column 1",
         _metrics_target_two, ValueError, api='metrics'),
    Case('label-no-positive-train', 'Labels',
         'a label with no positive in the training set', 'warning',
         r"1 label\(s\) with no positive training target: 'rare'",
         _no_positive_in_train, api='train.fit'),
    Case('label-single-class-metrics', 'Labels',
         'a label with one class only, given to ranking metrics', 'warning',
         r'roc_auc: skipped 1 of 2 labels .* \(label columns 1\)',
         _metrics_single_class, api='metrics'),
    Case('label-row-no-positive', 'Labels', 'rows with no positive label',
         'ok', r'kept; finite loss', _rows_without_positive,
         api='MoleculeCSV, LaMPLoss, metrics'),
]


# Graphs ######################################################################

def _conv(tmp_dir: str, edge_index) -> RunResult:
    torch.manual_seed(0)
    conv = LaMPConv(8, 8, heads=2).eval()
    out = conv(torch.randn(4, 8), edge_index)
    assert torch.isfinite(out).all()
    return 'ok', 'finite'


def _conv_self_loops_duplicates(tmp_dir: str) -> RunResult:
    torch.manual_seed(0)
    conv = LaMPConv(8, 8, heads=2).eval()
    x = torch.randn(3, 8)
    ei = torch.tensor([[0, 0, 1, 1, 2], [0, 1, 1, 1, 2]])
    out, (_, alpha) = conv(x, ei, return_attention_weights=True)
    assert torch.isfinite(out).all()
    # Attention still sums to one per destination; the duplicate 1 -> 1 is
    # two edges, as in every PyG layer.
    sums = torch.zeros(3, 2).index_add_(0, ei[1], alpha)
    assert torch.allclose(sums, torch.ones(3, 2))
    return 'ok', ('accepted: a self loop is an edge like any other; a '
                  'duplicate edge counts twice in the softmax (PyG '
                  'semantics); attention sums to 1')


def _lamp_prior(tmp_dir: str, edge_index, num_labels: int = 4) -> RunResult:
    model = tiny_lamp(num_labels, label_graph='pr',
                      label_edge_index=edge_index)
    return 'ok', f'{model.label_edge_index.size(1)} edges'


def _lamp_prior_dups(tmp_dir: str) -> RunResult:
    ei = torch.tensor([[0, 0, 1, 2, 2], [1, 1, 0, 2, 2]])
    model = tiny_lamp(4, label_graph='pr', label_edge_index=ei)
    edges = set(map(tuple, model.label_edge_index.t().tolist()))
    assert edges == {(0, 1), (1, 0), (0, 0), (1, 1), (2, 2), (3, 3)}
    return 'ok', ('duplicates merged, self loops kept once, a self loop '
                  'added for every label')


def _isolated_label(tmp_dir: str) -> RunResult:
    # Label 3 has no neighbour in the prior (only its own self loop in LaMP);
    # in LaMPConv without self loops it receives no message at all.
    torch.manual_seed(0)
    conv = LaMPConv(8, 8, heads=2).eval()
    x = torch.randn(4, 8)
    ei = torch.tensor([[0, 1, 2], [1, 0, 0]])
    out = conv(x, ei)
    ref = conv._update(torch.zeros(1, 8), x[3:])  # residual path only
    assert torch.allclose(out[3:], ref, atol=1e-6)
    dense = DenseLaMPConv(8, 8, heads=2).eval()
    dense.load_state_dict(conv.state_dict())
    adj = torch.zeros(4, 4, dtype=torch.bool)
    adj[ei[1], ei[0]] = True
    out_d = dense(x.unsqueeze(0), adj=adj)[0]
    assert torch.isfinite(out_d).all()
    assert torch.allclose(out_d, out, atol=1e-5)
    model = tiny_lamp(4, label_graph='pr', label_edge_index=ei)
    logits = model(Batch.from_data_list([from_smiles('CCO')])).logits
    assert torch.isfinite(logits).all()
    return 'ok', ('zero message (the node keeps its residual path), no NaN, '
                  'sparse and dense agree')


def _empty_batch(tmp_dir: str) -> RunResult:
    for path in ('sparse', 'dense'):
        model = tiny_lamp(3, path=path, encoder=None)
        out = model.forward_features(torch.empty(0, 16),
                                     torch.empty(0, dtype=torch.long), 0)
        assert out.logits.shape == (0, 3)
        loss = LaMPLoss()(out.logits, torch.empty(0, 3),
                          out.intermediate_logits)
        assert loss.item() == 0.0
    return 'ok', 'logits of shape [0, L]; the loss is 0'


def _batch_of_one(tmp_dir: str) -> RunResult:
    model = tiny_lamp(3)
    datas = [from_smiles(s) for s in ('CCO', 'c1ccccc1', 'CN')]
    alone = model(Batch.from_data_list(datas[:1])).logits
    together = model(Batch.from_data_list(datas)).logits
    assert alone.shape == (1, 3)
    assert torch.allclose(alone[0], together[0], atol=1e-5)
    return 'ok', 'logits [1, L], equal to the same sample in a larger batch'


def _no_feature_nodes(tmp_dir: str) -> RunResult:
    for path in ('sparse', 'dense'):
        model = tiny_lamp(3, path=path, encoder=None)
        z = torch.randn(3, 16)
        batch = torch.tensor([0, 0, 2])  # sample 1 has no feature node
        out = model.forward_features(z, batch, 3).logits
        assert torch.isfinite(out).all()
    return 'ok', 'finite: its labels get zero feature-to-label messages'


def _empty_loader(tmp_dir: str) -> RunResult:
    predict(tiny_lamp(3), DataLoader([], batch_size=4))
    raise AssertionError('expected an error')


GRAPH_CASES = [
    Case('conv-index-too-large', 'Graphs',
         '`edge_index` with an index ≥ number of nodes (LaMPConv)', 'error',
         r"larger than 3 \(got 5\).*interval \[0, 4\)",
         lambda d: _conv(d, torch.tensor([[0, 5], [1, 2]])), IndexError,
         api='LaMPConv'),
    Case('conv-index-negative', 'Graphs', 'negative index (LaMPConv)',
         'error', r'negative indices', lambda d: _conv(
             d, torch.tensor([[0, -1], [1, 2]])), IndexError,
         api='LaMPConv'),
    Case('conv-index-float', 'Graphs', 'float `edge_index` (LaMPConv)',
         'error', r"integer type \(got 'torch.float32'\)", lambda d: _conv(
             d, torch.tensor([[0., 1.], [1., 2.]])), ValueError,
         api='LaMPConv'),
    Case('conv-index-shape', 'Graphs', '`edge_index` of shape [3, E]',
         'error', r"size '2' in the first dimension \(got '3'\)",
         lambda d: _conv(d, torch.tensor([[0, 1], [1, 2], [2, 3]])),
         ValueError, api='LaMPConv'),
    Case('conv-index-1d', 'Graphs', 'one-dimensional `edge_index`', 'error',
         r'two-dimensional', lambda d: _conv(d, torch.tensor([0, 1])),
         ValueError, api='LaMPConv'),
    Case('conv-self-loops-duplicates', 'Graphs',
         'self loops and duplicate edges (LaMPConv)', 'ok',
         r'duplicate edge counts twice', _conv_self_loops_duplicates,
         api='LaMPConv'),
    Case('lamp-prior-out-of-range', 'Graphs',
         'label graph built for more labels than the model has', 'error',
         r"'label_edge_index' holds label indices in \[0, 7\], but there are "
         r"4 labels \(valid: 0..3\)",
         lambda d: _lamp_prior(d, torch.tensor([[0, 7], [1, 2]])),
         ValueError, api='LaMP'),
    Case('lamp-prior-negative', 'Graphs', 'negative label index', 'error',
         r"indices in \[-1, 2\]",
         lambda d: _lamp_prior(d, torch.tensor([[0, -1], [1, 2]])),
         ValueError, api='LaMP'),
    Case('lamp-prior-float', 'Graphs', 'float label graph', 'error',
         r'integer label indices',
         lambda d: _lamp_prior(d, torch.tensor([[0., 1.], [1., 2.]])),
         ValueError, api='LaMP'),
    Case('lamp-prior-shape', 'Graphs', 'label graph of shape [E, 2]',
         'error', r'shape \[2, num_edges\] \(got \[3, 2\]\)',
         lambda d: _lamp_prior(d, torch.tensor([[0, 1], [1, 2], [2, 3]])),
         ValueError, api='LaMP'),
    Case('lamp-prior-dups', 'Graphs',
         'self loops and duplicates in a label prior', 'ok',
         r'duplicates merged', _lamp_prior_dups, api='LaMP'),
    Case('dense-adj-shape', 'Graphs', 'dense adjacency sized for 5 labels '
         'given 4', 'error', r"'adj' must have shape \[4, 4\]",
         lambda d: DenseLaMPConv(8, 8)(torch.randn(1, 4, 8),
                                       adj=torch.ones(5, 5, dtype=bool)),
         ValueError, api='DenseLaMPConv'),
    Case('dense-adj-dtype', 'Graphs', 'float dense adjacency', 'error',
         r"'adj' must be a boolean tensor",
         lambda d: DenseLaMPConv(8, 8)(torch.randn(1, 4, 8),
                                       adj=torch.ones(4, 4)),
         ValueError, api='DenseLaMPConv'),
    Case('dense-mask-shape', 'Graphs', 'padding mask of the wrong shape',
         'error', r"'mask' must be a boolean tensor of shape \[1, 4\]",
         lambda d: DenseLaMPConv(8, 8)(torch.randn(1, 4, 8),
                                       mask=torch.ones(1, 3, dtype=bool)),
         ValueError, api='DenseLaMPConv'),
    Case('lamp-batch-vector', 'Graphs', '`batch` vector of the wrong length',
         'error', r"'batch' must have shape \[3\]",
         lambda d: tiny_lamp(3, encoder=None).forward_features(
             torch.randn(3, 16), torch.zeros(2, dtype=torch.long)),
         ValueError, api='LaMP.forward_features'),
    Case('lamp-feature-size', 'Graphs', 'feature embeddings of the wrong '
         'size', 'error', r'shape \[N, 16\] \(got \[3, 8\]\)',
         lambda d: tiny_lamp(3, encoder=None).forward_features(
             torch.randn(3, 8), torch.zeros(3, dtype=torch.long)),
         ValueError, api='LaMP.forward_features'),
    Case('label-isolated', 'Graphs',
         'a label with no neighbour in a sparse prior', 'ok',
         r'zero message', _isolated_label,
         api='LaMPConv, DenseLaMPConv, LaMP'),
    Case('sample-no-features', 'Graphs', 'a sample with no feature node',
         'ok', r'finite', _no_feature_nodes, api='LaMP'),
    Case('batch-empty', 'Graphs', 'an empty batch (0 samples)', 'ok',
         r'shape \[0, L\]', _empty_batch, api='LaMP, LaMPLoss'),
    Case('batch-one', 'Graphs', 'a batch of one sample', 'ok',
         r'equal to the same sample', _batch_of_one, api='LaMP'),
    Case('loader-empty', 'Graphs', 'an empty data loader', 'error',
         r'yielded no sample', _empty_loader, ValueError,
         api='train.predict'),
]


# Files #######################################################################

def _csv_loader(tmp_dir: str, content, mode: str = 'w'):
    return load_csv(tmp_dir, content, mode)


def _arff_loader(tmp_dir: str, content, mode: str = 'w'):
    return read_arff(write(tmp_dir, 'data.arff', content, mode))


def _text_loader(tmp_dir: str, content, mode: str = 'w'):
    return read_labelled_text(write(tmp_dir, 'data.txt', content, mode))


#: File format -> loader(tmp_dir, content, mode).  Each malformed file of a
#: format in :obj:`MALFORMED_FILES` is fed to that format's loader.
FILE_LOADERS: Dict[str, Callable] = {
    'csv': _csv_loader,
    'arff': _arff_loader,
    'text': _text_loader,
}
#: The entry point named in the table for each format.
FILE_APIS = {'csv': 'MoleculeCSV', 'arff': 'read_arff (Mulan data sets)',
             'text': 'TextDataset, read_labelled_text'}

_ARFF_HEAD = ('@relation t\n@attribute a numeric\n@attribute b {0,1}\n'
              '@attribute c {0,1}\n@data\n')

#: (format, id, description, content, write mode, message regex, error).
MALFORMED_FILES = [
    ('csv', 'empty', 'empty file', '', 'w', r"CSV file '<dir>/data.csv' is "
     r"empty", ValueError),
    ('csv', 'header-only', 'header without rows', 'smiles,A,B\n', 'w',
     r'the file has no data rows', ValueError),
    ('csv', 'truncated', 'last row truncated mid-way',
     'smiles,A,B\nCCO,1,0\nCCN,1', 'w',
     r"'<dir>/data.csv', line 3: expected 3 fields, found 2", ValueError),
    ('csv', 'extra-field', 'a row with an extra field',
     'smiles,A,B\nCCO,1,0\nCCN,1,0,1\n', 'w',
     r'line 3: expected 3 fields, found 4', ValueError),
    ('csv', 'open-quote', 'a quote left open',
     'smiles,A,B\nCCO,1,0\n"CCN,1,0\nCC,0,1\n', 'w',
     r'lines 3-4: expected 3 fields, found 1 \(is a quote left open\?\)',
     ValueError),
    ('csv', 'not-utf8', 'Latin-1 bytes (not UTF-8)',
     b'smiles,A,B\nCCO,1,0\nC\xe9C,1,0\n', 'wb',
     r"line 3: not UTF-8 text \(byte 0xe9", ValueError),
    ('csv', 'binary', 'a binary file (PNG header)',
     b'\x89PNG\r\n\x1a\n\x00\x00\x00', 'wb',
     r'line 1: not UTF-8 text \(byte 0x89', ValueError),
    ('csv', 'huge-field', 'a field over the CSV field size limit',
     'smiles,A,B\nCCO,1,0\n' + 'C' * 200_000 + ',1,0\n', 'w',
     r'line 3: malformed CSV \(field larger than field limit', ValueError),
    ('csv', 'no-smiles-column', 'no `smiles` column',
     'smi,A,B\nCCO,1,0\n', 'w',
     r"Column\(s\) \['smiles'\] not found .* the columns are: \['smi', 'A', "
     r"'B'\]", ValueError),
    ('arff', 'empty', 'empty file', '', 'w',
     r"'<dir>/data.arff': no @data section", ValueError),
    ('arff', 'no-data', 'header without @data',
     '@relation t\n@attribute a numeric\n', 'w',
     r'no @data section \(the file has 1 @attribute lines; truncated\?\)',
     ValueError),
    ('arff', 'truncated-dense', 'dense row truncated mid-way',
     _ARFF_HEAD + '1.5,0,1\n2.0,1\n', 'w',
     r"'<dir>/data.arff', line 7: expected 3 comma-separated values, "
     r'found 2', ValueError),
    ('arff', 'truncated-sparse', 'sparse row without its closing brace',
     _ARFF_HEAD + '1.5,0,1\n{0 2, 2 1\n', 'w',
     r"line 7: sparse row not terminated by '}'", ValueError),
    ('arff', 'sparse-index', 'sparse index beyond the attributes',
     _ARFF_HEAD + '{0 2, 7 1}\n', 'w',
     r'line 6: sparse index 7 out of range', ValueError),
    ('arff', 'not-a-number', 'text in a numeric attribute',
     _ARFF_HEAD + 'abc,0,1\n', 'w',
     r"line 6: value 'abc' of numeric attribute 'a' is not a number",
     ValueError),
    ('arff', 'bad-category', 'value outside a nominal attribute',
     _ARFF_HEAD + '1.5,0,2\n', 'w',
     r"line 6: value '2' is not a category of nominal attribute 'c'",
     ValueError),
    ('arff', 'bad-type', 'unsupported attribute type',
     '@relation t\n@attribute a blob\n@data\n1\n', 'w',
     r"line 2: unsupported type 'blob' of attribute 'a'", ValueError),
    ('text', 'no-tab', 'a document line without a tab',
     'news\tMarkets fell.\nsports the match\n', 'w',
     r"'<dir>/data.txt', line 2: expected 'label1,label2<TAB>text', found "
     r"no tab", ValueError),
    ('text', 'empty-label', 'an empty label between commas',
     'news,,sports\tThe match.\n', 'w',
     r"line 1: empty label name in 'news,,sports'", ValueError),
]


def _malformed(fmt: str, content, mode: str) -> Callable[[str], RunResult]:
    def run(tmp_dir: str) -> RunResult:
        FILE_LOADERS[fmt](tmp_dir, content, mode)
        raise AssertionError('expected an error')
    return run


def _missing_file(tmp_dir: str) -> RunResult:
    MoleculeCSV(os.path.join(tmp_dir, 'nowhere', 'data.csv'),
                root=os.path.join(tmp_dir, 'cache'))
    raise AssertionError('expected an error')


def _missing_data_dir(tmp_dir: str) -> RunResult:
    def offline(*args, **kwargs):
        raise OSError('no network')

    with mock.patch('lamp_geometric.data.download.download_url', offline), \
            mock.patch.object(SIDER, 'packaged_file', None):
        SIDER(data_dir=os.path.join(tmp_dir, 'no_such_dir'),
              root=os.path.join(tmp_dir, 'cache'), verbose=False)
    raise AssertionError('expected an error')


def _arff_without_labels(tmp_dir: str) -> RunResult:
    path = write(tmp_dir, 'data.arff', _ARFF_HEAD + '1.5,0,1\n')
    ArffFiles([path], xml=None, root=os.path.join(tmp_dir, 'cache'))
    raise AssertionError('expected an error')


def _corrupt_training_state(tmp_dir: str) -> RunResult:
    path = write(tmp_dir, 'state.pt', b'PK\x03\x04 truncated', 'wb')
    load_training_state(path)
    raise AssertionError('expected an error')


FILE_CASES = [
    Case(f'{fmt}-{cid}', 'Files', f'{fmt.upper()}: {desc}', 'error', regex,
         _malformed(fmt, content, mode), error, api=FILE_APIS[fmt])
    for fmt, cid, desc, content, mode, regex, error in MALFORMED_FILES
] + [
    Case('file-missing', 'Files', 'CSV file that does not exist', 'error',
         r"CSV file not found: expected it at '<dir>/nowhere/data.csv'",
         _missing_file, FileNotFoundError, api='MoleculeCSV'),
    Case('data-dir-missing', 'Files',
         'data directory that does not exist (no packaged copy, no network)',
         'error',
         r"SIDER raw file 'sider.csv' not found \(looked in "
         r"'<dir>/no_such_dir/sider' or .* set LAMP_DATA",
         _missing_data_dir, FileNotFoundError, api='SIDER'),
    Case('arff-no-labels', 'Files',
         "the user's ARFF file without the XML file naming its labels",
         'error', r'ARFF files need the XML file naming their label '
         r'attributes .* pass --xml', _arff_without_labels, ValueError,
         api='ArffFiles, lamp-geometric train --arff'),
    Case('training-state-corrupt', 'Files',
         'corrupt training-state checkpoint', 'error',
         r"'<dir>/state.pt' is not a readable training state",
         _corrupt_training_state, ValueError,
         api='train.load_training_state, fit(resume=True)'),
]


# New inputs of a trained model ##############################################

VECTOR_SPEC = FeatureSpec('vector', vocab=['a', 'b'],
                          scaling=dict(ids=[0, 1], mean=[1.0, 2.0],
                                       std=[1.0, 2.0]))
TEXT_SPEC = FeatureSpec('sequence', vocab=['<pad>', '<unk>', 'rain', 'goal'])


def _new_rows(name: str, content: str, spec: FeatureSpec,
              bad_id: str) -> Callable[[str], RunResult]:
    r"""A file of new inputs with one unreadable input among good ones: it
    keeps its place with an error naming its line, the others are
    featurised."""
    def run(tmp_dir: str) -> RunResult:
        rows, _ = read_inputs(write(tmp_dir, name, content), spec)
        bad = [r for r in rows if r.error is not None]
        assert [r.id for r in bad] == [bad_id], rows
        assert all(r.data is not None for r in rows if r.error is None)
        assert len(rows) - len(bad) >= 2, rows
        return 'skip', f'input at line {bad_id} reported: {bad[0].error}'
    return run


def _new_file_error(name: str, content: str,
                    spec: FeatureSpec) -> Callable[[str], RunResult]:
    def run(tmp_dir: str) -> RunResult:
        read_inputs(write(tmp_dir, name, content), spec)
        raise AssertionError('expected an error')
    return run


_NEW = 'read_inputs, lamp-geometric predict/explain --input'
NEW_INPUT_CASES = [
    Case('new-csv-not-a-number', 'Files',
         'new numeric rows (CSV): a cell that is not a number', 'skip',
         r"line 3: value 'abc' of column 'b' is not a number",
         _new_rows('rows.csv', 'a,b\n1,2\n3,abc\n,4\n', VECTOR_SPEC, '3'),
         api=_NEW),
    Case('new-csv-short-row', 'Files',
         'new numeric rows (CSV): a row with too few fields', 'skip',
         r'line 2: expected 2 fields, found 1',
         _new_rows('rows.csv', 'a,b\n1\n3,4\n5,6\n', VECTOR_SPEC, '2'),
         api=_NEW),
    Case('new-csv-missing-feature', 'Files',
         'new numeric rows (CSV) without a column of a training feature',
         'error', r"'<dir>/rows.csv' lacks 1 feature column\(s\) of the "
         r"model's training data: \['b'\]",
         _new_file_error('rows.csv', 'a,c\n1,2\n', VECTOR_SPEC), ValueError,
         api=_NEW),
    Case('new-arff-missing-feature', 'Files',
         'new ARFF rows without an attribute of a training feature', 'error',
         r"'<dir>/rows.arff' lacks 1 feature attribute\(s\)",
         _new_file_error('rows.arff', '@relation r\n@attribute a numeric\n'
                         '@data\n1\n', VECTOR_SPEC), ValueError, api=_NEW),
    Case('new-text-no-word', 'Files',
         'new texts (one per line): a line without a word', 'skip',
         r'line 2 reported: no word in the text',
         _new_rows('docs.txt', 'rain and goal\n!!!\nmore rain\n',
                   TEXT_SPEC, '2'), api=_NEW),
    Case('new-wrong-file-type', 'Files',
         'a plain-text file given to a model of numeric rows', 'error',
         r"a model of numeric rows reads \.csv or \.arff files, not '\.txt'",
         _new_file_error('rows.txt', '1,2\n', VECTOR_SPEC), ValueError,
         api=_NEW),
]


CASES: List[Case] = (MOLECULE_CASES + LABEL_CASES + GRAPH_CASES + FILE_CASES
                     + NEW_INPUT_CASES)


def check(case: Case, outcome: Outcome) -> None:
    r"""Asserts that :obj:`outcome` is what :obj:`case` expects."""
    assert outcome.kind == case.outcome, (case.id, outcome)
    if case.outcome == 'error':
        assert case.error is not None and outcome.error is not None
        assert issubclass(outcome.error, case.error), (case.id, outcome)
    assert re.search(case.match, outcome.message), (case.id, case.match,
                                                    outcome.message)


def markdown_table(outcomes: List[Tuple[Case, Outcome]]) -> str:
    r"""The table of :obj:`docs/bad_inputs.md`."""
    what = dict(error='raises', skip='skips and reports',
                warning='warns', ok='handles')
    lines = [
        '# What lamp_geometric does with bad input',
        '',
        '<!-- Generated by scripts/bad_input_table.py from the cases of '
        'tests/reliability/cases.py; do not edit by hand. -->',
        '',
        'Every row is a test case of `tests/reliability/test_bad_inputs.py`'
        '; the message is the one the library gave when the table was '
        'generated (`<dir>` stands for the directory of the file).',
        '',
    ]
    for category in dict.fromkeys(c.category for c, _ in outcomes):
        lines += [f'## {category}', '',
                  '| input | entry point | what the library does | '
                  'message |', '|---|---|---|---|']
        for case, out in outcomes:
            if case.category != category:
                continue
            action = what[out.kind]
            if out.kind == 'error' and out.error is not None:
                action = f'raises `{out.error.__name__}`'
            message = out.message
            if out.kind == 'error' and out.error is not None:
                message = message[len(out.error.__name__) + 2:]
            if len(message) > 300:
                message = message[:297] + '...'
            message = message.replace('|', '\\|')
            lines.append(f'| {case.input} | {case.api} | {action} | '
                         f'{message} |')
        lines.append('')
    return '\n'.join(lines)
