r"""Train LaMP (or a baseline) on any multi-label data set of the paper.

One script for every input type and label graph of the LaMP paper:

============ =========== ============================== =====================
--dataset    input       split                          --label-graph pr
============ =========== ============================== =====================
sider, csv   molecules   random 80/10/10 (or scaffold)  train co-occurrence
bibtex       bag of      given train/test, 10% of       train co-occurrence
delicious    words       train for validation
reuters      text        ModApte, 10% of train for      train co-occurrence
                         validation
rcv1         text        random 80/10/10                RCV1 topic tree
tf_ppi       vector      random 80/10/10                TF-TF PPI graph
mulan:NAME   bag of      given train/test (10% of       train co-occurrence
             words or    train for validation), or
             vector      random 80/10/10
============ =========== ============================== =====================

``mulan:NAME`` reads any Mulan folder ``<data-dir>/mulan/NAME/``; sets with
dense numeric features (e.g. ``mulan:emotions``, ``mulan:yeast``) are
vectors, standardised with training statistics.

``--encoder emb|fmp`` trains LaMP on the paper's "Emb" or "FMP" input
(:func:`lamp_geometric.nn.feature_encoder`); ``--encoder mlp`` the
"Emb + MLP" baseline (:class:`lamp_geometric.baselines.EmbMLP`, no label
nodes, plain BCE); ``--encoder linear`` a one-vs-rest logistic regression
on the same inputs (:class:`lamp_geometric.baselines.LogisticOneVsRest`);
``--encoder rf`` a random forest on Morgan fingerprints (molecules only).
Networks train with the library's recipe
(:class:`lamp_geometric.recipe.TrainingConfig`, whose fields are the
training options); ``--plot curves.png`` draws the learning curves.
Training keeps the best validation epoch, tunes one threshold per metric on
validation and prints the test metrics beside two label-prior baselines on
the same test split, as ``examples/sider.py`` does, and the same metrics
under the original code's protocol (:data:`lamp_geometric.metrics.
PROTOCOLS`); ``--out`` writes the same JSON (``ebF1 miF1 maF1 acc ha
roc_auc``, ``test``, ``test_paper``, ``history``, ``config``, ...).

Data come from ``--data-dir`` (default ``$LAMP_DATA``) laid out like the
project's shared data directory, or are downloaded from their public source.

Examples::

    python examples/mlc.py --dataset bibtex --label-graph fc --encoder fmp \
        --epochs 30 --out runs/bibtex_fc_fmp.json
    python examples/mlc.py --dataset sider --split scaffold --encoder rf
    python examples/mlc.py --dataset reuters --encoder emb --limit 200 \
        --limit-eval 100 --epochs 1 --hidden 32      # a quick check
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from torch_geometric.transforms import Compose

from lamp_geometric import metrics as M
from lamp_geometric.baselines import (
    EmbMLP,
    LogisticOneVsRest,
    MorganRandomForest,
)
from lamp_geometric.data import (
    morgan_fingerprints,
    AddMorganBits,
    TFPPI,
    BibTeX,
    Delicious,
    Mulan,
    RCV1Subset,
    Reuters21578,
    random_split,
    scaffold_split,
)
from lamp_geometric.graphs import co_occurrence, dataset_prior
from lamp_geometric.nn import FingerprintNodes, LaMP
from lamp_geometric.nn.feature_encoders import feature_encoder
from lamp_geometric.pipeline import (
    add_data_arguments,
    add_training_arguments,
    load_dataset,
)
from lamp_geometric.history import describe_fit, plot_history
from lamp_geometric.recipe import config_from, train_model
from lamp_geometric.train import (
    make_loaders,
    predict,
    seed_everything,
)

#: Data set name -> input type (see
#: :data:`lamp_geometric.nn.feature_encoders.INPUT_TYPES`).
INPUT_TYPES: Dict[str, str] = dict(
    sider='molecule', csv='molecule', bibtex='bow', delicious='bow',
    reuters='sequence', rcv1='sequence', tf_ppi='vector')
DATASETS = tuple(INPUT_TYPES)
ENCODERS = ('emb', 'fmp', 'mlp', 'linear', 'rf')
METRIC_KEYS = ('ebF1', 'miF1', 'maF1', 'acc', 'ha', 'roc_auc')
DISPLAY = dict(sider='SIDER', bibtex='BibTeX', delicious='Delicious',
               reuters='Reuters-21578', rcv1='RCV1 subset', tf_ppi='TF/PPI')


def _input_type(name: str) -> str:
    r"""The input type of a data set name (Mulan sets: found when loaded;
    never molecules)."""
    return INPUT_TYPES.get(name, 'bow')


def _dataset_name(name: str) -> str:
    if name in DATASETS or (name.startswith('mulan:') and len(name) > 6):
        return name
    raise argparse.ArgumentTypeError(
        f"unknown data set '{name}' (choose from {', '.join(DATASETS)}, "
        f"or mulan:NAME)")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--dataset', type=_dataset_name, default='sider',
                   help=f"one of {', '.join(DATASETS)}, or mulan:NAME for "
                   f"any Mulan folder <data-dir>/mulan/NAME/")
    p.add_argument('--csv', default=None, metavar='PATH',
                   help="for --dataset csv: a MoleculeNet-style CSV file")
    p.add_argument('--smiles-column', default='smiles')
    p.add_argument('--label-columns', nargs='+', default=None)
    add_data_arguments(p, 'directory laid out like the shared data '
                       'directory (default: $LAMP_DATA; downloaded when '
                       'absent)')
    p.add_argument('--label-graph', choices=['el', 'fc', 'pr'], default='pr',
                   help="'el' edgeless, 'fc' fully connected, 'pr' the "
                   "data set's prior (train co-occurrence, RCV1 tree, PPI)")
    p.add_argument('--encoder', choices=ENCODERS, default='fmp',
                   help="'emb' / 'fmp': LaMP on the paper's Emb / FMP "
                   "input; 'mlp': the Emb + MLP baseline; 'linear': "
                   "one-vs-rest logistic regression on the same inputs "
                   "(Morgan bits for molecules); 'rf': random forest on "
                   "Morgan fingerprints (molecules)")
    p.add_argument('--fingerprint-nodes', action='store_true',
                   help="molecules: the set bits of each molecule's Morgan "
                   "fingerprint (radius 2, 2048 bits) join its atoms as "
                   "feature nodes")
    p.add_argument('--split', choices=['default', 'random', 'scaffold'],
                   default='default',
                   help="molecules: 'random' 80/10/10 (default) or "
                   "'scaffold' (Bemis-Murcko, balanced by seed); other "
                   "sets use their own split")
    add_training_arguments(p)
    p.add_argument('--fmp-layers', type=int, default=2)
    p.add_argument('--mlp-layers', type=int, default=4)
    p.add_argument('--max-length', type=int, default=500,
                   help='tokens kept per document (reuters, rcv1)')
    p.add_argument('--rf-trees', type=int, default=500)
    p.add_argument('--rf-jobs', type=int, default=1)
    p.add_argument('--limit', type=int, default=None, metavar='N',
                   help='use only the first N training samples (quick '
                   'checks)')
    p.add_argument('--limit-eval', type=int, default=None, metavar='M',
                   help='use only the first M validation and M test '
                   'samples (quick checks)')
    return p.parse_args(argv)


# Data ########################################################################

def _root(args: argparse.Namespace, name: str) -> Optional[str]:
    return osp.join(args.cache_dir, name) if args.cache_dir else None


def load_data(args: argparse.Namespace) -> Tuple[Any, str, Tuple[Tensor, ...]]:
    r"""Loads the data set of :obj:`args` and its splits.

    Returns:
        (dataset, input_type, (train_idx, val_idx, test_idx)) with
        :obj:`--limit` / :obj:`--limit-eval` applied to the indices.
    """
    name = args.dataset
    input_type = _input_type(name)
    verbose = not args.quiet
    if input_type == 'molecule':
        cfg = dict(dataset=name, data_dir=args.data_dir,
                   cache_dir=args.cache_dir, csv=args.csv,
                   smiles_column=args.smiles_column,
                   label_columns=args.label_columns, quiet=args.quiet)
        dataset = load_dataset(cfg)
        if args.split == 'scaffold':
            splits = scaffold_split(dataset.smiles, seed=args.seed)
        else:
            splits = random_split(len(dataset), seed=args.seed)
    else:
        if args.split == 'scaffold':
            raise ValueError(f"--split scaffold needs molecules; "
                             f"'{name}' has its own split")
        common = dict(data_dir=args.data_dir, seed=args.seed,
                      verbose=verbose)
        if name.startswith('mulan:'):
            mulan = name.split(':', 1)[1]
            dataset = Mulan(mulan, root=_root(args, f'mulan_{mulan}'),
                            **common)
        elif name == 'bibtex':
            dataset = BibTeX(root=_root(args, 'bibtex'), **common)
        elif name == 'delicious':
            dataset = Delicious(root=_root(args, 'delicious'), **common)
        elif name == 'reuters':
            dataset = Reuters21578(root=_root(args, 'reuters'),
                                   max_length=args.max_length, **common)
        elif name == 'rcv1':
            dataset = RCV1Subset(root=_root(args, 'rcv1'),
                                 max_length=args.max_length, **common)
        else:
            dataset = TFPPI(root=_root(args, 'tf_ppi'), **common)
        splits = dataset.splits()
        input_type = dataset.input_type
    train_idx, val_idx, test_idx = splits
    if args.limit is not None:
        if args.limit < 1:
            raise ValueError(f'--limit must be positive (got {args.limit})')
        train_idx = train_idx[:args.limit]
    if args.limit_eval is not None:
        if args.limit_eval < 1:
            raise ValueError(f'--limit-eval must be positive (got '
                             f'{args.limit_eval})')
        val_idx, test_idx = (val_idx[:args.limit_eval],
                             test_idx[:args.limit_eval])
    return dataset, input_type, (train_idx, val_idx, test_idx)


def label_matrix(dataset) -> Tensor:
    r"""The targets :obj:`[N, L]` of a whole data set."""
    y = getattr(dataset, 'label_matrix', None)
    return y if isinstance(y, Tensor) else dataset._data.y


def build_label_graph(dataset, input_type: str, label_graph: str,
                      train_idx: Tensor) -> Tuple[Optional[Tensor], str]:
    r"""The :obj:`label_edge_index` of LaMP\ :sub:`pr` (:obj:`None` for
    :obj:`'el'` / :obj:`'fc'`) and a description.  Co-occurrence priors are
    built from the rows of :obj:`train_idx` only."""
    if label_graph != 'pr':
        return None, {'el': 'edgeless', 'fc': 'fully connected'}[label_graph]
    if input_type == 'molecule':
        return (co_occurrence(label_matrix(dataset)[train_idx]),
                'co-occurrence in the training split')
    return dataset_prior(dataset, train_idx), dataset.prior_name


def build_model(args: argparse.Namespace, input_type: str, num_labels: int,
                num_features: Optional[int],
                label_edge_index: Optional[Tensor]) -> torch.nn.Module:
    r"""LaMP with the Emb / FMP encoder of the input type, or Emb + MLP."""
    name = 'emb' if args.encoder == 'mlp' else args.encoder
    encoder = feature_encoder(name, input_type, args.hidden,
                              num_features=num_features, heads=args.heads,
                              dropout=args.dropout,
                              num_layers=args.fmp_layers)
    if getattr(args, 'fingerprint_nodes', False):
        encoder = FingerprintNodes(encoder, args.hidden)
    if args.encoder == 'mlp':
        return EmbMLP(encoder, args.hidden, num_labels,
                      num_layers=args.mlp_layers, dropout=args.dropout)
    return LaMP(num_labels, args.hidden, encoder=encoder, steps=args.steps,
                heads=args.heads, dropout=args.dropout,
                label_graph=args.label_graph,
                label_edge_index=label_edge_index)


# Runs ########################################################################

def _run_forest(args, dataset, splits) -> Dict[str, Any]:
    train_idx, val_idx, test_idx = splits
    smiles = list(dataset.smiles)
    y = label_matrix(dataset).numpy()
    pick = lambda idx: [smiles[i] for i in idx.tolist()]  # noqa: E731
    rf = MorganRandomForest(n_estimators=args.rf_trees,
                            random_state=args.seed, n_jobs=args.rf_jobs)
    start = time.perf_counter()
    rf.fit(pick(train_idx), y[train_idx.numpy()])
    fit_time = time.perf_counter() - start
    p_val = rf.predict_proba(pick(val_idx))
    p_test = rf.predict_proba(pick(test_idx))
    y_val, y_test = y[val_idx.numpy()], y[test_idx.numpy()]
    return dict(**M.tuned_report(y_val, p_val, y_test, p_test),
                best_epoch=None,
                median_epoch_time=fit_time, train_time=fit_time, history=[],
                constant_labels=rf.constant_labels)


def _run_linear(args, dataset, input_type, splits) -> Dict[str, Any]:
    train_idx, val_idx, test_idx = splits
    if input_type == 'molecule':
        smiles = list(dataset.smiles)
        X = morgan_fingerprints(smiles).astype(np.float64)
        X_tr, X_val, X_te = (X[idx.numpy()] for idx in splits)
    else:
        X_tr, X_val, X_te = (dataset.feature_matrix(idx) for idx in splits)
    y = label_matrix(dataset).numpy()
    y_tr, y_val, y_te = (y[idx.numpy()] for idx in splits)
    start = time.perf_counter()
    model = LogisticOneVsRest().fit(X_tr, y_tr, X_val, y_val)
    fit_time = time.perf_counter() - start
    print(f"logistic regression: C={model.C} chosen on validation "
          f"(ROC-AUC {model.scores}); {fit_time:.1f}s")
    p_val, p_te = model.predict_proba(X_val), model.predict_proba(X_te)
    return dict(**M.tuned_report(y_val, p_val, y_te, p_te),
                best_epoch=None,
                C=model.C,
                median_epoch_time=fit_time, train_time=fit_time, history=[],
                constant_labels=model.constant_labels)


def _run_network(args, dataset, input_type, splits,
                 label_edge_index) -> Dict[str, Any]:
    device = torch.device(args.device)
    num_features = (None if input_type == 'molecule' else
                    dataset.num_features)
    model = build_model(args, input_type, len(dataset.label_names),
                        num_features, label_edge_index).to(device)
    train_loader, val_loader, test_loader = make_loaders(
        dataset, splits, args.batch_size, seed=args.seed)
    start = time.perf_counter()
    # Without progress bars (--quiet), one line per epoch, so that a long
    # run's log shows how far it is.
    result = train_model(
        model, train_loader, val_loader, config_from(args),
        y_train=label_matrix(dataset)[splits[0]], device=device,
        log=(lambda line: print(line, flush=True)) if args.quiet else None)
    train_time = time.perf_counter() - start
    print(describe_fit(result, args.select))
    if args.plot:
        plot_history(result.history, args.plot, select=args.select,
                     title=variant_name(args.encoder, args.label_graph))
        print(f"wrote {args.plot}")
    y_val, p_val, _ = predict(model, val_loader, device, amp=args.amp)
    y_test, p_test, _ = predict(model, test_loader, device, amp=args.amp)
    return dict(**M.tuned_report(y_val, p_val, y_test, p_test),
                best_epoch=result.best_epoch,
                last_epoch=result.last_epoch, converged=result.converged,
                stopped_early=result.stopped_early,
                median_epoch_time=result.median_epoch_time,
                train_time=train_time, history=result.history,
                num_parameters=sum(p.numel() for p in model.parameters()))


def variant_name(encoder: str, label_graph: str,
                 fingerprint_nodes: bool = False, amp: bool = False) -> str:
    r"""The paper's name of a variant, e.g. ``FMP + LaMP_pr``
    (``FMP+FP + LaMP_pr`` with fingerprint bits as feature nodes, a
    ``(bf16)`` suffix when trained under bfloat16 autocast)."""
    if encoder == 'rf':
        return 'RF (Morgan)'
    if encoder == 'linear':
        return 'logistic regression'
    fp = '+FP' if fingerprint_nodes else ''
    bf16 = ' (bf16)' if amp else ''
    if encoder == 'mlp':
        return f'Emb{fp} + MLP{bf16}'
    return f"{encoder.upper() if encoder == 'fmp' else 'Emb'}{fp} + " \
           f"LaMP_{label_graph}{bf16}"


def main(argv=None) -> Dict[str, Any]:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    if args.encoder == 'rf' and _input_type(args.dataset) != 'molecule':
        raise ValueError(f"--encoder rf needs molecules (got "
                         f"'{args.dataset}')")
    if args.fingerprint_nodes and (_input_type(args.dataset) != 'molecule'
                                   or args.encoder == 'rf'):
        raise ValueError(f"--fingerprint-nodes needs molecules and a "
                         f"network encoder (got '{args.dataset}', "
                         f"'{args.encoder}')")
    dataset, input_type, splits = load_data(args)
    if args.fingerprint_nodes:
        dataset.transform = (AddMorganBits() if dataset.transform is None
                             else Compose([dataset.transform,
                                           AddMorganBits()]))
    train_idx, val_idx, test_idx = splits
    label_names = list(dataset.label_names)
    title = DISPLAY.get(args.dataset, args.dataset)
    if args.dataset == 'csv' and args.csv:
        title = osp.basename(args.csv)
    print(f"{title}: {len(dataset)} samples ({input_type}), "
          f"{len(label_names)} labels; split {len(train_idx)}/"
          f"{len(val_idx)}/{len(test_idx)} ({args.split}, seed {args.seed})")

    if args.encoder == 'rf':
        label_edge_index, prior = None, 'n/a'
        run = _run_forest(args, dataset, splits)
    elif args.encoder == 'linear':
        label_edge_index, prior = None, 'n/a'
        run = _run_linear(args, dataset, input_type, splits)
    else:
        label_edge_index, prior = (None, 'n/a')
        if args.encoder not in ('mlp', 'linear'):
            label_edge_index, prior = build_label_graph(
                dataset, input_type, args.label_graph, train_idx)
            edges = ('all pairs' if label_edge_index is None
                     and args.label_graph == 'fc' else
                     'self loops only' if label_edge_index is None else
                     f'{label_edge_index.size(1)} edges')
            print(f"label graph: {prior} ({edges})")
        run = _run_network(args, dataset, input_type, splits,
                           label_edge_index)

    y = label_matrix(dataset)
    baselines = M.label_prior_baselines(y[train_idx].numpy(),
                                        y[test_idx].numpy())
    name = variant_name(args.encoder, args.label_graph,
                        args.fingerprint_nodes, args.amp)
    rows = {name: run['test'], 'majority (train prior)': baselines['majority'],
            'all positive': baselines['all_positive']}
    print('\nTest metrics (thresholds tuned on validation per metric; '
          'empty cases as scikit-learn counts them):')
    print(M.format_table(rows))
    print(f"{name}, the original code's protocol (empty samples and "
          f"labels left out of ebF1 / maF1): " + ', '.join(
              f"{k} {run['test_paper'][k]:.3f}" for k in ('ebF1', 'miF1',
                                                           'maF1')))

    out: Dict[str, Any] = dict(
        dataset=args.dataset,
        variant=name,
        input_type=input_type,
        config=vars(args),
        split_sizes=[len(train_idx), len(val_idx), len(test_idx)],
        label_graph=prior,
        label_graph_edges=(None if label_edge_index is None else
                           int(label_edge_index.size(1))),
        skipped_rows=len(getattr(dataset, 'skipped', []) or []),
        stats=getattr(dataset, 'stats', {}),
        baselines=baselines,
    )
    out.update(run)
    out.update({k: run['test'][k] for k in METRIC_KEYS})
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(out, f, indent=2, default=str)
        print(f"wrote {args.out}")
    return out


if __name__ == '__main__':
    main(sys.argv[1:])
