r"""The experiment engine behind :obj:`examples/`, the
:obj:`lamp-geometric train` command and the accuracy benchmarks: load a data
set of the registry (:mod:`lamp_geometric.registry`), split it, build its
label graph, train LaMP (or a baseline) with the library's recipe
(:mod:`lamp_geometric.recipe`), tune one threshold per metric on
validation, and report the test metrics beside two label-prior baselines.

Every setting has its default in one of two dataclasses:
:class:`ExperimentConfig` (data, model family, baselines, outputs) and
:class:`~lamp_geometric.recipe.TrainingConfig` (width and training recipe).
:func:`build_parser` generates the command-line options from both.

.. code-block:: python

    from lamp_geometric.experiment import ExperimentConfig, run
    from lamp_geometric.recipe import TrainingConfig

    result = run(ExperimentConfig(dataset='bibtex', encoder='fmp',
                                  label_graph='pr'),
                 TrainingConfig(epochs=30, hidden=128))
    print(result['test']['ebF1'])

``--encoder emb|fmp`` trains LaMP on the paper's "Emb" or "FMP" input
(:func:`lamp_geometric.nn.feature_encoder`); ``mlp`` the "Emb + MLP"
baseline (:class:`lamp_geometric.baselines.EmbMLP`); ``linear`` a
one-vs-rest logistic regression on the same inputs
(:class:`lamp_geometric.baselines.LogisticOneVsRest`); ``rf`` a random
forest on Morgan fingerprints (molecules only).
"""
import argparse
import dataclasses
import json
import os
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np
import torch
from torch import Tensor
from torch_geometric.transforms import Compose

from lamp_geometric import distributed as D
from lamp_geometric import metrics as M
from lamp_geometric.allocator import keep_freed_memory
from lamp_geometric.baselines import (
    EmbMLP,
    LogisticOneVsRest,
    MorganRandomForest,
)
from lamp_geometric.checkpoint import molecule_featurizer, save_checkpoint
from lamp_geometric.data import (
    AddMorganBits,
    FeatureSpec,
    morgan_fingerprints,
    random_split,
    scaffold_split,
)
from lamp_geometric.graphs import label_graph as make_label_graph
from lamp_geometric.history import describe_fit, plot_history
from lamp_geometric.nn import FingerprintNodes, LaMP
from lamp_geometric.nn.feature_encoders import feature_encoder
from lamp_geometric.recipe import (
    FEATURE_NODE_DROPOUT,
    TrainingConfig,
    add_config_arguments,
    config_from,
    feature_node_dropout,
    train_model,
)
from lamp_geometric.registry import DatasetEntry, dataset_names, get_dataset
from lamp_geometric.train import make_loaders, predict, seed_everything

__all__ = [
    'ENCODERS',
    'LABEL_GRAPHS',
    'SPLITS',
    'METRIC_KEYS',
    'ExperimentConfig',
    'ExperimentData',
    'add_experiment_arguments',
    'build_parser',
    'configs_from',
    'load_data',
    'label_matrix',
    'build_label_graph',
    'build_model',
    'variant_name',
    'run',
]

#: The model families of :obj:`--encoder`.
ENCODERS = ('emb', 'fmp', 'mlp', 'linear', 'rf')
#: The label graphs of LaMP: edgeless, fully connected, the data set's prior.
LABEL_GRAPHS = ('el', 'fc', 'pr')
#: :obj:`--split`: the data set's own (:obj:`'default'`), or for molecules
#: random 80/10/10 or Bemis-Murcko scaffolds.
SPLITS = ('default', 'random', 'scaffold')
#: The test metrics written at the top level of a result.
METRIC_KEYS = ('ebF1', 'miF1', 'maF1', 'acc', 'ha', 'roc_auc')
#: Options holding the user's files, and the data set each one implies.
FILE_OPTIONS = dict(csv='csv', arff='arff', text='text')


def _option(default: Any, help: str, **kwargs: Any) -> Any:
    return field(default=default, metadata=dict(help=help, **kwargs))


def _dataset_name(name: str) -> str:
    try:
        get_dataset(name)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)[0].lower() + str(e)[1:])
    return name


@dataclass
class ExperimentConfig:
    r"""What to run, with the defaults of every entry point: the data set
    and its split, the model family and label graph, the baselines'
    settings and the outputs.  The width and the training recipe are in
    :class:`~lamp_geometric.recipe.TrainingConfig`."""
    dataset: Optional[str] = _option(
        None, "the data set (default: 'sider', or the kind of file given "
        "with --csv, --arff or --text)", type=_dataset_name)
    data_dir: Optional[str] = _option(
        None, 'directory laid out like the shared data directory '
        '(default: $LAMP_DATA; SIDER ships with the package, the other '
        'sets are downloaded when absent)', type=str, metavar='DIR')
    cache_dir: Optional[str] = _option(
        None, 'where processed files go (default: $LAMP_CACHE or '
        '~/.cache/lamp_geometric)', type=str, metavar='DIR')
    csv: Optional[str] = _option(
        None, "for --dataset csv: a MoleculeNet-style CSV file (one SMILES "
        "column, binary label columns: 0, 1 or empty)", type=str,
        metavar='PATH')
    smiles_column: str = _option('smiles', 'name of the SMILES column of '
                                 '--csv')
    label_columns: Optional[List[str]] = _option(
        None, 'label columns of --csv, in order (default: every other '
        'column)', type=str, nargs='+', metavar='COLUMN')
    arff: Optional[List[str]] = _option(
        None, 'for --dataset arff: one ARFF file (split 80/10/10 at random) '
        'or two (train, test), dense or sparse rows', type=str, nargs='+',
        metavar='FILE')
    xml: Optional[str] = _option(
        None, "the Mulan XML file naming the label attributes of --arff",
        type=str, metavar='LABELS')
    text: Optional[List[str]] = _option(
        None, "for --dataset text: one text file (split 80/10/10 at "
        "random) or two (train, test); one document per line, "
        "'label1,label2<TAB>text'", type=str, nargs='+', metavar='FILE')
    split: str = _option(
        'default', "molecules: 'random' 80/10/10 (the default) or "
        "'scaffold' (Bemis-Murcko, balanced by seed); other sets use their "
        "own split", choices=SPLITS)
    label_graph: str = _option(
        'pr', "'el' edgeless, 'fc' fully connected, 'pr' the data set's "
        "prior (train co-occurrence, RCV1 tree, PPI)", choices=LABEL_GRAPHS)
    encoder: str = _option(
        'fmp', "'emb' / 'fmp': LaMP on the paper's Emb / FMP input; 'mlp': "
        "the Emb + MLP baseline; 'linear': one-vs-rest logistic regression "
        "on the same inputs (Morgan bits for molecules); 'rf': random "
        "forest on Morgan fingerprints (molecules)", choices=ENCODERS)
    fingerprint_nodes: bool = _option(
        False, "molecules: the set bits of each molecule's Morgan "
        "fingerprint (radius 2, 2048 bits) join its atoms as feature nodes")
    fmp_layers: int = _option(2, 'feature message passing layers of FMP')
    mlp_layers: int = _option(4, 'layers of the Emb + MLP baseline')
    mlp_input_norm: bool = _option(True, 'Emb + MLP: layer-normalise the '
                                   "pooled embedding ('--no-mlp-input-norm':"
                                   ' the plain mean)')
    max_length: int = _option(500, 'tokens kept per document (reuters, '
                              'rcv1, text)')
    rf_trees: int = _option(500, 'trees of the random forest')
    rf_jobs: int = _option(1, 'processes of the random forest')
    limit: Optional[int] = _option(
        None, 'use only the first N training samples (quick checks)',
        type=int, metavar='N')
    limit_eval: Optional[int] = _option(
        None, 'use only the first M validation and M test samples (quick '
        'checks)', type=int, metavar='M')
    checkpoint: Optional[str] = _option(
        None, 'write the trained model (weights, configuration, label '
        'names, thresholds) to this file', type=str, metavar='PATH')
    explain: int = _option(0, 'write explanation plots for the first N '
                           'test samples', metavar='N')
    explain_dir: Optional[str] = _option(
        None, 'where --explain writes (default: beside --out, else '
        './explanations)', type=str, metavar='DIR')

    def to_dict(self) -> Dict[str, Any]:
        r"""The settings as a plain dictionary."""
        return dataclasses.asdict(self)


# Options #####################################################################

def _add_list_option(parser: Any, f: dataclasses.Field,
                     default: Any) -> None:
    meta = dict(f.metadata)
    parser.add_argument('--' + f.name.replace('_', '-'), default=default,
                        **meta)


def add_experiment_arguments(
    parser: Union[argparse.ArgumentParser, argparse._ArgumentGroup],
    overrides: Optional[Mapping[str, Any]] = None,
    only: Optional[Sequence[str]] = None,
    training: bool = True,
) -> None:
    r"""Adds one option per field of :class:`ExperimentConfig` and, with
    :obj:`training=True`, of :class:`~lamp_geometric.recipe.TrainingConfig`
    (see :func:`lamp_geometric.recipe.add_config_arguments`).

    Args:
        parser: The parser or argument group.
        overrides (dict, optional): Other defaults for some fields.
        only (Sequence[str], optional): Add only these fields of
            :class:`ExperimentConfig`. (default: all)
        training (bool, optional): Add the recipe's options too.
            (default: :obj:`True`)
    """
    overrides = dict(overrides or {})
    for f in dataclasses.fields(ExperimentConfig):
        if only is not None and f.name not in only:
            continue
        default = overrides.get(f.name, f.default)
        if f.name == 'dataset':
            names = dataset_names()
            parser.add_argument(
                '--dataset', default=default, type=_dataset_name,
                metavar='{' + ','.join(names) + '}',
                help=f.metadata['help'])
        elif 'nargs' in f.metadata:
            _add_list_option(parser, f, default)
        else:
            add_config_arguments(parser, ExperimentConfig, overrides,
                                 only=[f.name])
    if training:
        add_config_arguments(parser, TrainingConfig, overrides)


def build_parser(description: Optional[str] = None,
                 overrides: Optional[Mapping[str, Any]] = None,
                 **kwargs: Any) -> argparse.ArgumentParser:
    r"""An argument parser with every option of :func:`run` (see
    :func:`add_experiment_arguments`); :obj:`kwargs` go to
    :class:`argparse.ArgumentParser`."""
    parser = argparse.ArgumentParser(description=description, **kwargs)
    add_experiment_arguments(parser, overrides)
    return parser


def configs_from(values: Union[argparse.Namespace, Mapping[str, Any]]
                 ) -> Tuple[ExperimentConfig, TrainingConfig]:
    r"""Both configurations from parsed options or a dictionary (other keys
    ignored, missing ones at their defaults)."""
    return (config_from(values, ExperimentConfig),
            config_from(values, TrainingConfig))


def resolve_dataset(config: ExperimentConfig) -> str:
    r"""The data set :obj:`config` names: :obj:`config.dataset`, or without
    one the kind of file given (:obj:`csv`, :obj:`arff`, :obj:`text`), else
    :obj:`'sider'`.

    Raises:
        ValueError: If files of two kinds are given, or a file of a kind
            other than the named data set reads.
    """
    given = [opt for opt in FILE_OPTIONS if getattr(config, opt)]
    if len(given) > 1:
        raise ValueError(f"Give one kind of file, not "
                         f"{' and '.join('--' + g for g in given)}")
    if config.dataset is None:
        return FILE_OPTIONS[given[0]] if given else 'sider'
    get_dataset(config.dataset)
    for opt in given:
        if FILE_OPTIONS[opt] != config.dataset:
            raise ValueError(f"--{opt} reads {opt.upper()} files; it does "
                             f"not combine with --dataset {config.dataset}")
    return config.dataset


def _validate(config: ExperimentConfig, training: TrainingConfig,
              entry: DatasetEntry) -> None:
    for name, value, choices in (('encoder', config.encoder, ENCODERS),
                                 ('label_graph', config.label_graph,
                                  LABEL_GRAPHS),
                                 ('split', config.split, SPLITS)):
        if value not in choices:
            raise ValueError(f"Unknown {name} '{value}' (choose from "
                             f"{', '.join(choices)})")
    molecules = entry.input_type == 'molecule'
    if config.encoder == 'rf' and not molecules:
        raise ValueError(f"--encoder rf needs molecules (got "
                         f"'{config.dataset}')")
    if config.fingerprint_nodes and (not molecules or config.encoder == 'rf'
                                     or config.encoder == 'linear'):
        raise ValueError(f"--fingerprint-nodes needs molecules and a "
                         f"network encoder (got '{config.dataset}', "
                         f"'{config.encoder}')")
    if config.split == 'scaffold' and not molecules:
        raise ValueError(f"--split scaffold needs molecules; "
                         f"'{config.dataset}' has its own split")
    for name in ('limit', 'limit_eval'):
        value = getattr(config, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be positive "
                             f"(got {value})")
    if config.arff and len(config.arff) > 2:
        raise ValueError(f"--arff takes one file or two (train, test); got "
                         f"{len(config.arff)}")
    if config.text and len(config.text) > 2:
        raise ValueError(f"--text takes one file or two (train, test); got "
                         f"{len(config.text)}")
    if training.trace_test and config.encoder not in ('emb', 'fmp', 'mlp'):
        raise ValueError(f"--trace-test traces the epochs of a network "
                         f"(--encoder emb, fmp or mlp; got "
                         f"'{config.encoder}')")
    if training.feature_node_dropout and config.encoder not in (
            FEATURE_NODE_DROPOUT):
        raise ValueError(f"--feature-node-dropout applies to LaMP "
                         f"(--encoder emb or fmp; got '{config.encoder}')")
    if not 0.0 <= feature_node_dropout(config.encoder,
                                       training.feature_node_dropout) < 1.0:
        raise ValueError(f"--feature-node-dropout must be in [0, 1) (got "
                         f"{training.feature_node_dropout})")
    if config.explain and config.encoder not in ('emb', 'fmp'):
        raise ValueError(f"--explain needs a LaMP network (--encoder emb "
                         f"or fmp; got '{config.encoder}')")
    if config.checkpoint:
        problem = checkpoint_problem(config)
        if problem:
            raise ValueError(problem)


def checkpoint_problem(config: ExperimentConfig) -> Optional[str]:
    r"""Why a model of :obj:`config` cannot be saved with
    :func:`lamp_geometric.checkpoint.save_checkpoint` (one line), or
    :obj:`None` when it can.  Checkpoints hold the networks (LaMP with the
    Emb or FMP encoder, Emb + MLP) of every input type; the logistic
    regression, the random forest and Morgan-bit feature nodes are not
    saved."""
    if config.encoder not in ('emb', 'fmp', 'mlp'):
        return (f"--checkpoint saves networks (--encoder emb, fmp or mlp), "
                f"not --encoder {config.encoder}")
    if config.fingerprint_nodes:
        return "--checkpoint cannot save a model with --fingerprint-nodes"
    return None


# Data ########################################################################

@dataclass
class ExperimentData:
    r"""A loaded data set with its split, as the engine uses it.

    Attributes:
        dataset: The PyG data set.
        entry (DatasetEntry): Its registry entry.
        input_type (str): :obj:`'molecule'`, :obj:`'bow'`,
            :obj:`'sequence'` or :obj:`'vector'`.
        splits (Tuple[Tensor, Tensor, Tensor]): Train, validation and test
            indices (after :obj:`limit` / :obj:`limit_eval`).
        split_name (str): How they were drawn (:obj:`'random'`,
            :obj:`'scaffold'` or :obj:`'default'`: the data set's own).
        display_name (str): The name to print.
    """
    dataset: Any
    entry: DatasetEntry
    input_type: str
    splits: Tuple[Tensor, Tensor, Tensor]
    split_name: str
    display_name: str

    @property
    def label_names(self) -> List[str]:
        return list(self.dataset.label_names)

    @property
    def num_features(self) -> Optional[int]:
        r"""Vocabulary or feature count (:obj:`None` for molecules)."""
        return (None if self.input_type == 'molecule' else
                int(self.dataset.num_features))


def label_matrix(dataset: Any) -> Tensor:
    r"""The targets :obj:`[N, L]` of a whole data set."""
    y = getattr(dataset, 'label_matrix', None)
    return y if isinstance(y, Tensor) else dataset.y


def load_data(config: ExperimentConfig, seed: int = 0,
              verbose: bool = True) -> ExperimentData:
    r"""Loads the data set :obj:`config` names from the registry and
    splits it by :obj:`seed` (its split policy, or :obj:`config.split` for
    molecules), then applies :obj:`config.limit` (first training samples)
    and :obj:`config.limit_eval` (first validation and test samples).

    Raises:
        ValueError: For an unknown data set or bad settings, and whatever
            the loader raises (:class:`FileNotFoundError` for a missing
            file, :class:`ValueError` for a malformed one).
    """
    name = resolve_dataset(config)
    config = dataclasses.replace(config, dataset=name)
    entry = get_dataset(name)
    dataset = entry.loader(config, seed, verbose)
    input_type = entry.input_type or getattr(dataset, 'input_type', 'bow')
    split_name = config.split
    if entry.split == 'random':
        if config.split == 'scaffold':
            splits = scaffold_split(dataset.smiles, seed=seed)
        else:
            split_name = 'random'
            splits = random_split(len(dataset), seed=seed)
    else:
        splits = dataset.splits()
    train_idx, val_idx, test_idx = splits
    if config.limit is not None:
        train_idx = train_idx[:config.limit]
    if config.limit_eval is not None:
        val_idx, test_idx = (val_idx[:config.limit_eval],
                             test_idx[:config.limit_eval])
    return ExperimentData(dataset, entry, input_type,
                          (train_idx, val_idx, test_idx), split_name,
                          entry.display_name(config))


def build_label_graph(data: ExperimentData, label_graph: str
                      ) -> Tuple[Optional[Tensor], str]:
    r"""The :obj:`label_edge_index` of LaMP\ :sub:`pr` (:obj:`None` for
    :obj:`'el'` / :obj:`'fc'`) and a description.  Co-occurrence priors
    are built from the training rows only (the registry entry's prior
    builder)."""
    if label_graph != 'pr':
        return None, {'el': 'edgeless', 'fc': 'fully connected'}[label_graph]
    return data.entry.prior(data.dataset, data.splits[0])


# Models ######################################################################

def build_model(config: ExperimentConfig, training: TrainingConfig,
                input_type: str, num_labels: int,
                num_features: Optional[int],
                label_edge_index: Optional[Tensor]
                ) -> Tuple[torch.nn.Module, Dict[str, Any]]:
    r"""LaMP with the Emb / FMP encoder of the input type, or Emb + MLP.

    Returns:
        (model, model_config): the model and its description (the keys of
        :func:`lamp_geometric.checkpoint.build_model`).
    """
    name = 'emb' if config.encoder == 'mlp' else config.encoder
    node_dropout = feature_node_dropout(config.encoder,
                                        training.feature_node_dropout)
    encoder = feature_encoder(name, input_type, training.hidden,
                              num_features=num_features,
                              heads=training.heads, dropout=training.dropout,
                              num_layers=config.fmp_layers)
    if config.fingerprint_nodes:
        encoder = FingerprintNodes(encoder, training.hidden)
    model_config = dict(num_labels=num_labels, hidden=training.hidden,
                        heads=training.heads, steps=training.steps,
                        dropout=training.dropout,
                        feature_node_dropout=node_dropout,
                        label_graph=config.label_graph,
                        label_edge_index=label_edge_index,
                        encoder=config.encoder,
                        encoder_layers=config.fmp_layers,
                        input_type=input_type, num_features=num_features)
    if config.encoder == 'mlp':
        mlp = EmbMLP(encoder, training.hidden, num_labels,
                     num_layers=config.mlp_layers, dropout=training.dropout,
                     input_norm=config.mlp_input_norm)
        model_config.update(mlp_layers=config.mlp_layers,
                            mlp_input_norm=mlp.input_norm)
        return mlp, model_config
    graph = make_label_graph(config.label_graph, num_labels,
                             label_edge_index)
    model = LaMP(num_labels, training.hidden, encoder=encoder,
                 steps=training.steps, heads=training.heads,
                 dropout=training.dropout, label_graph=graph,
                 feature_node_dropout=node_dropout)
    return model, model_config


def variant_name(encoder: str, label_graph: str,
                 fingerprint_nodes: bool = False, amp: bool = False,
                 mlp_input_norm: bool = True) -> str:
    r"""The paper's name of a variant, e.g. ``FMP + LaMP_pr``
    (``FMP+FP + LaMP_pr`` with fingerprint bits as feature nodes, a
    ``(bf16)`` suffix when trained under bfloat16 autocast, ``Emb + MLP
    (plain mean)`` without the input LayerNorm)."""
    if encoder == 'rf':
        return 'RF (Morgan)'
    if encoder == 'linear':
        return 'logistic regression'
    fp = '+FP' if fingerprint_nodes else ''
    bf16 = ' (bf16)' if amp else ''
    if encoder == 'mlp':
        plain = '' if mlp_input_norm else ' (plain mean)'
        return f'Emb{fp} + MLP{plain}{bf16}'
    return f"{encoder.upper() if encoder == 'fmp' else 'Emb'}{fp} + " \
           f"LaMP_{label_graph}{bf16}"


# Runs ########################################################################

def _run_forest(config: ExperimentConfig, seed: int,
                data: ExperimentData) -> Dict[str, Any]:
    smiles = list(data.dataset.smiles)
    y = label_matrix(data.dataset).numpy()
    pick = lambda idx: [smiles[i] for i in idx.tolist()]  # noqa: E731
    train_idx, val_idx, test_idx = data.splits
    rf = MorganRandomForest(n_estimators=config.rf_trees,
                            random_state=seed, n_jobs=config.rf_jobs)
    start = time.perf_counter()
    rf.fit(pick(train_idx), y[train_idx.numpy()])
    fit_time = time.perf_counter() - start
    p_val = rf.predict_proba(pick(val_idx))
    p_test = rf.predict_proba(pick(test_idx))
    return dict(**M.tuned_report(y[val_idx.numpy()], p_val,
                                 y[test_idx.numpy()], p_test),
                best_epoch=None, median_epoch_time=fit_time,
                train_time=fit_time, history=[],
                constant_labels=rf.constant_labels)


def _run_linear(data: ExperimentData,
                say: Callable[[str], None]) -> Dict[str, Any]:
    dataset, splits = data.dataset, data.splits
    if data.input_type == 'molecule':
        X = morgan_fingerprints(list(dataset.smiles)).astype(np.float64)
        X_tr, X_val, X_te = (X[idx.numpy()] for idx in splits)
    else:
        X_tr, X_val, X_te = (dataset.feature_matrix(idx) for idx in splits)
    y = label_matrix(dataset).numpy()
    y_tr, y_val, y_te = (y[idx.numpy()] for idx in splits)
    start = time.perf_counter()
    model = LogisticOneVsRest().fit(X_tr, y_tr, X_val, y_val)
    fit_time = time.perf_counter() - start
    edge = ', at the edge of the grid' if model.at_edge else ''
    say(f"logistic regression: C={model.C} chosen on validation "
        f"(ROC-AUC {model.scores}{edge}); {fit_time:.1f}s")
    p_val, p_te = model.predict_proba(X_val), model.predict_proba(X_te)
    return dict(**M.tuned_report(y_val, p_val, y_te, p_te),
                best_epoch=None, C=model.C, median_epoch_time=fit_time,
                train_time=fit_time, history=[],
                constant_labels=model.constant_labels)


def _run_network(config: ExperimentConfig, training: TrainingConfig,
                 data: ExperimentData, model: torch.nn.Module,
                 device: torch.device, say: Callable[[str], None],
                 epoch_log: Optional[Callable[[str], None]],
                 main: bool) -> Tuple[Dict[str, Any], torch.nn.Module]:
    train_loader, val_loader, test_loader = make_loaders(
        data.dataset, data.splits, training.batch_size, seed=training.seed)
    start = time.perf_counter()
    result = train_model(model, train_loader, val_loader, training,
                         y_train=label_matrix(data.dataset)[data.splits[0]],
                         device=device, log=epoch_log,
                         test_loader=test_loader)
    train_time = time.perf_counter() - start
    say(describe_fit(result, training.select))
    if training.plot and main:
        plot_history(result.history, training.plot, select=training.select,
                     title=variant_name(config.encoder, config.label_graph))
        say(f"wrote {training.plot}")
    y_val, p_val, _ = predict(model, val_loader, device, amp=training.amp)
    y_test, p_test, _ = predict(model, test_loader, device, amp=training.amp)
    return dict(**M.tuned_report(y_val, p_val, y_test, p_test),
                best_epoch=result.best_epoch,
                last_epoch=result.last_epoch, converged=result.converged,
                stopped_early=result.stopped_early,
                timed_out=result.timed_out,
                median_epoch_time=result.median_epoch_time,
                train_time=train_time, history=result.history,
                num_parameters=sum(p.numel() for p in model.parameters())
                ), model


def _as_configs(config: Any, training: Optional[TrainingConfig]
                ) -> Tuple[ExperimentConfig, TrainingConfig]:
    if isinstance(config, ExperimentConfig):
        return config, training if training is not None else TrainingConfig()
    exp, train = configs_from(config)
    return exp, training if training is not None else train


_QUIET_DEFAULT = object()


def run(
    config: Union[ExperimentConfig, argparse.Namespace, Mapping[str, Any]],
    training: Optional[TrainingConfig] = None,
    *,
    log: Optional[Callable[[str], None]] = print,
    epoch_log: Any = _QUIET_DEFAULT,
) -> Dict[str, Any]:
    r"""Runs one experiment: load and split the data set, train the model
    (LaMP, Emb + MLP, the logistic regression or the random forest), tune
    one threshold per metric on validation, evaluate the test split and
    the label-prior baselines, and write what was asked for
    (:obj:`training.out`, :obj:`config.checkpoint`, :obj:`training.plot`,
    :obj:`config.explain`).

    Under :obj:`torchrun` the network trains in every process (gloo on the
    CPU, NCCL on GPUs); only rank 0 prints and writes files.

    Args:
        config (ExperimentConfig, argparse.Namespace or dict): What to run;
            a namespace or dict holds the fields of both configurations
            (e.g. the options of :func:`build_parser`).
        training (TrainingConfig, optional): The recipe (default: from a
            namespace or dict :obj:`config`, else the library's).
        log (callable, optional): Receives progress messages and the result
            table; :obj:`None` silences them. (default: :func:`print`)
        epoch_log (callable, optional): Receives one line per epoch.
            (default: :func:`print` when :obj:`training.quiet`, which also
            hides the progress bars; else none)

    Returns:
        dict: :obj:`dataset`, :obj:`variant`, :obj:`input_type`,
        :obj:`config` (every setting), :obj:`split_sizes`,
        :obj:`label_graph` (its description), :obj:`label_graph_edges`,
        :obj:`skipped_rows`, :obj:`stats`, :obj:`baselines`, :obj:`test`,
        :obj:`val`, :obj:`test_paper` (the original code's protocol),
        :obj:`thresholds`, :obj:`best_epoch`, :obj:`history`, timings, the
        test metrics :obj:`ebF1 miF1 maF1 acc ha roc_auc` at the top level,
        and :obj:`checkpoint` / :obj:`explanations` when written.

    Raises:
        ValueError: For bad settings (one line naming the problem), and
            what the data set's loader raises (:class:`FileNotFoundError`,
            :class:`ValueError`).
    """
    exp, training = _as_configs(config, training)
    exp = dataclasses.replace(exp, dataset=resolve_dataset(exp))
    entry = get_dataset(exp.dataset)
    _validate(exp, training, entry)
    # The results and the checkpoint record the value the model trains with.
    training = dataclasses.replace(
        training, feature_node_dropout=feature_node_dropout(
            exp.encoder, training.feature_node_dropout))
    if epoch_log is _QUIET_DEFAULT:
        epoch_log = ((lambda line: print(line, flush=True))
                     if training.quiet else None)
    if training.threads:
        torch.set_num_threads(training.threads)
    if training.keep_memory:
        keep_freed_memory()
    device = torch.device(training.device)
    network = exp.encoder in ('emb', 'fmp', 'mlp')
    # Under torchrun: one process per device (gloo on CPU, NCCL on GPU);
    # only rank 0 prints and writes files.
    owns_group = (network and int(os.environ.get('WORLD_SIZE') or 1) > 1
                  and not D.is_distributed())
    if owns_group:
        _, _, device = D.init_distributed(
            'nccl' if device.type == 'cuda' else 'gloo')
    try:
        return _run(exp, training, entry, device, log, epoch_log)
    finally:
        if owns_group:
            D.cleanup()


def _run(exp: ExperimentConfig, training: TrainingConfig,
         entry: DatasetEntry, device: torch.device,
         log: Optional[Callable[[str], None]],
         epoch_log: Optional[Callable[[str], None]]) -> Dict[str, Any]:
    main = D.is_main_process()
    say: Callable[[str], None] = (log if log is not None and main else
                                  (lambda _: None))
    seed_everything(training.seed)
    if not main:
        D.barrier()  # rank 0 builds the processed cache first
    data = load_data(exp, training.seed, verbose=not training.quiet)
    if main and D.is_distributed():
        D.barrier()
    dataset = data.dataset
    if exp.fingerprint_nodes:
        dataset.transform = (AddMorganBits() if dataset.transform is None
                             else Compose([dataset.transform,
                                           AddMorganBits()]))
    train_idx, val_idx, test_idx = data.splits
    label_names = data.label_names
    say(f"{data.display_name}: {len(dataset)} samples ({data.input_type}), "
        f"{len(label_names)} labels; split {len(train_idx)}/"
        f"{len(val_idx)}/{len(test_idx)} ({data.split_name}, seed "
        f"{training.seed})")

    label_edge_index, prior = None, 'n/a'
    model = model_config = None
    if exp.encoder == 'rf':
        result = _run_forest(exp, training.seed, data)
    elif exp.encoder == 'linear':
        result = _run_linear(data, say)
    else:
        if exp.encoder != 'mlp':
            label_edge_index, prior = build_label_graph(data,
                                                        exp.label_graph)
            edges = ('all pairs' if label_edge_index is None
                     and exp.label_graph == 'fc' else
                     'self loops only' if label_edge_index is None else
                     f'{label_edge_index.size(1)} edges')
            say(f"label graph: {prior} ({edges})")
        model, model_config = build_model(
            exp, training, data.input_type, len(label_names),
            data.num_features, label_edge_index)
        result, model = _run_network(exp, training, data, model.to(device),
                                     device, say, epoch_log, main)

    y = label_matrix(dataset)
    baselines = M.label_prior_baselines(y[train_idx].numpy(),
                                        y[test_idx].numpy())
    name = variant_name(exp.encoder, exp.label_graph, exp.fingerprint_nodes,
                        training.amp, exp.mlp_input_norm)
    rows = {name: result['test'],
            'majority (train prior)': baselines['majority'],
            'all positive': baselines['all_positive']}
    say('\nTest metrics (thresholds tuned on validation per metric; '
        'empty cases as scikit-learn counts them):')
    say(M.format_table(rows))
    say(f"{name}, the original code's protocol (empty samples and labels "
        f"left out of ebF1 / maF1): " + ', '.join(
            f"{k} {result['test_paper'][k]:.3f}" for k in ('ebF1', 'miF1',
                                                          'maF1')))

    out: Dict[str, Any] = dict(
        dataset=exp.dataset,
        variant=name,
        input_type=data.input_type,
        config={**exp.to_dict(), **training.to_dict()},
        split_sizes=[len(train_idx), len(val_idx), len(test_idx)],
        label_graph=prior,
        label_graph_edges=(None if label_edge_index is None else
                           int(label_edge_index.size(1))),
        skipped_rows=len(getattr(dataset, 'skipped', []) or []),
        stats=getattr(dataset, 'stats', {}),
        baselines=baselines,
    )
    out.update(result)
    out.update({k: result['test'][k] for k in METRIC_KEYS})

    if exp.checkpoint and main:
        _write_checkpoint(exp, training, data, model, model_config, out)
        say(f"wrote checkpoint {exp.checkpoint}")
    if exp.explain and main:
        out['explanations'] = _explain_test(
            exp, training, model, dataset[test_idx], label_names,
            FeatureSpec.from_dataset(dataset, data.input_type), say)
    if training.out and main:
        os.makedirs(osp.dirname(osp.abspath(training.out)), exist_ok=True)
        with open(training.out, 'w') as f:
            json.dump(out, f, indent=2, default=str)
        say(f"wrote {training.out}")
    return out


#: Settings of :class:`ExperimentConfig` that locate files on this machine
#: and are not recorded in a checkpoint.
_LOCAL = ('data_dir', 'cache_dir', 'checkpoint', 'explain', 'explain_dir')


def _write_checkpoint(exp: ExperimentConfig, training: TrainingConfig,
                      data: ExperimentData, model: torch.nn.Module,
                      model_config: Dict[str, Any],
                      out: Dict[str, Any]) -> None:
    r"""Saves the trained model with what using it needs (the model
    configuration, label names, label graph, tuned thresholds, how inputs
    are featurised: vocabulary, tokeniser, feature scaling) and how it was
    trained: the experiment's data settings (so that
    :obj:`lamp-geometric evaluate` reloads the same split), the recipe and
    the metrics."""
    spec = FeatureSpec.from_dataset(data.dataset, data.input_type)
    featurizer = spec.to_dict()
    if data.input_type == 'molecule':
        smiles_column = (exp.smiles_column if exp.dataset == 'csv' else
                         spec.smiles_column)
        featurizer = molecule_featurizer(smiles_column)
    extra = dict(
        experiment={k: v for k, v in exp.to_dict().items()
                    if k not in _LOCAL},
        dataset=dict(name=exp.dataset, csv=exp.csv,
                     smiles_column=exp.smiles_column,
                     label_columns=exp.label_columns, limit=exp.limit,
                     limit_eval=exp.limit_eval),
        split=dict(kind=data.split_name, seed=training.seed,
                   fractions=[0.8, 0.1, 0.1], sizes=out['split_sizes']),
        training=dict(training.to_dict(), best_epoch=out['best_epoch']),
        input_type=data.input_type,
        test=out['test'],
        val=out['val'],
    )
    save_checkpoint(exp.checkpoint, model, model_config=model_config,
                    label_names=data.label_names,
                    thresholds=out['thresholds'], featurizer=featurizer,
                    extra=extra, label_graph_name=out['label_graph'])
    out['checkpoint'] = exp.checkpoint


def _explain_test(exp: ExperimentConfig, training: TrainingConfig, model,
                  test_set, label_names: List[str], spec: FeatureSpec,
                  say: Callable[[str], None]) -> List[str]:
    from tqdm.auto import tqdm

    from lamp_geometric.explain import explain, save_explanation

    if exp.explain_dir:
        out_dir = exp.explain_dir
    elif training.out:
        out_dir = f'{osp.splitext(osp.abspath(training.out))[0]}_explain'
    else:
        out_dir = 'explanations'
    n = min(int(exp.explain), len(test_set))
    paths: List[str] = []
    for k in tqdm(range(n), desc='explain', leave=False,
                  disable=training.quiet):
        data = test_set[k]
        names = spec.feature_names(data)
        expl = explain(model, data, label_names=label_names,
                       feature_names=None if names is None else [names])[0]
        row = int(data.idx) if getattr(data, 'idx', None) is not None else k
        paths += save_explanation(expl, out_dir, prefix=f'test{k}_row{row}')
    say(f"wrote explanations of {n} test samples to {out_dir}")
    return paths
