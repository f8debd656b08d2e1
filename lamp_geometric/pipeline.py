r"""The end-to-end molecule experiment shared by :obj:`examples/sider.py` and
the :obj:`lamp-geometric train` command: load a data set, split it 80/10/10
at random by seed, train LaMP keeping the best validation epoch, tune one
threshold per metric on validation, report test metrics beside two
label-prior baselines, and optionally write a checkpoint and explanations.

Data sets are looked up by name in :obj:`DATASETS`; add one with
:func:`register_dataset`:

.. code-block:: python

    from lamp_geometric.data import MoleculeCSV
    from lamp_geometric.pipeline import register_dataset

    def load_tox21(config):
        return MoleculeCSV(config['csv'], smiles_column='smiles')

    register_dataset('tox21', load_tox21)
"""
import argparse
import json
import os
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

import torch

from lamp_geometric import distributed as D
from lamp_geometric import metrics as M
from lamp_geometric.checkpoint import (
    build_lamp,
    molecule_featurizer,
    save_checkpoint,
)
from lamp_geometric.data import MoleculeCSV, SIDER, random_split
from lamp_geometric.graphs import co_occurrence
from lamp_geometric.history import describe_fit, plot_history
from lamp_geometric.nn.encoders import MOLECULE_ENCODERS
from lamp_geometric.recipe import (
    TrainingConfig,
    add_config_arguments,
    config_from,
    train_model,
)
from lamp_geometric.train import (
    evaluate_splits,
    make_loaders,
    seed_everything,
)

__all__ = [
    'DATASETS',
    'EXPERIMENT_DEFAULTS',
    'register_dataset',
    'load_dataset',
    'add_experiment_arguments',
    'run_molecule_experiment',
]

Config = Union[argparse.Namespace, Mapping[str, Any]]
DatasetLoader = Callable[[Dict[str, Any]], Any]

#: Settings of :func:`run_molecule_experiment` and their defaults (the
#: defaults of :obj:`examples/sider.py`).
EXPERIMENT_DEFAULTS: Dict[str, Any] = dict(
    dataset='sider',
    data_dir=None,
    cache_dir=None,
    csv=None,
    smiles_column='smiles',
    label_columns=None,
    limit=None,
    label_graph='pr',
    encoder='fmp',
    checkpoint=None,
    explain=0,
    explain_dir=None,
    **TrainingConfig().to_dict(),
)


def _load_sider(cfg: Dict[str, Any]) -> SIDER:
    return SIDER(data_dir=cfg['data_dir'], root=cfg['cache_dir'],
                 verbose=not cfg['quiet'])


def _load_csv(cfg: Dict[str, Any]) -> MoleculeCSV:
    path = cfg['csv']
    if not path:
        raise ValueError("The 'csv' data set needs a file: pass --csv PATH")
    root = None
    if cfg['cache_dir']:
        stem = os.path.splitext(os.path.basename(path))[0]
        root = os.path.join(cfg['cache_dir'], f'csv_{stem}')
    labels = cfg['label_columns']
    if isinstance(labels, str):
        labels = [c.strip() for c in labels.split(',') if c.strip()]
    return MoleculeCSV(path, root=root, smiles_column=cfg['smiles_column'],
                       label_columns=labels, verbose=not cfg['quiet'])


#: Data set name -> loader.  A loader takes the experiment configuration
#: (a dict with the keys of :obj:`EXPERIMENT_DEFAULTS`) and returns a PyG
#: data set of molecular graphs with :obj:`y` :obj:`[1, L]` per graph and
#: :obj:`label_names`, :obj:`num_labels` and :obj:`skipped` attributes (like
#: :class:`~lamp_geometric.data.MoleculeCSV`).
DATASETS: Dict[str, DatasetLoader] = {
    'sider': _load_sider,
    'csv': _load_csv,
}


def register_dataset(name: str, loader: DatasetLoader) -> None:
    r"""Makes a data set available to :func:`run_molecule_experiment` and
    the command line under :obj:`name`.

    Args:
        name (str): The name (e.g. :obj:`'tox21'`).
        loader (callable): Maps the experiment configuration (a dict) to the
            data set.
    """
    DATASETS[name] = loader


def _as_config(config: Config) -> Dict[str, Any]:
    given = dict(vars(config) if isinstance(config, argparse.Namespace) else
                 config)
    cfg = dict(EXPERIMENT_DEFAULTS)
    cfg.update(given)
    if cfg.get('csv') and given.get('dataset') is None:
        cfg['dataset'] = 'csv'
    return cfg


def load_dataset(config: Config):
    r"""Loads the data set named by :obj:`config['dataset']` (see
    :obj:`DATASETS`).

    Raises:
        ValueError: For an unknown name, and whatever the loader raises
            (:class:`FileNotFoundError` for a missing file, :class:`ValueError`
            for a missing column).
    """
    cfg = _as_config(config)
    name = cfg['dataset']
    if name not in DATASETS:
        raise ValueError(f"Unknown data set '{name}' (choose from "
                         f"{sorted(DATASETS)})")
    return DATASETS[name](cfg)


def add_data_arguments(p, data_help: str) -> None:
    r"""Adds :obj:`--data-dir` (default :obj:`$LAMP_DATA`, described by
    :obj:`data_help`) and :obj:`--cache-dir` to a parser or argument
    group."""
    p.add_argument('--data-dir', default=os.environ.get('LAMP_DATA'),
                   help=data_help)
    p.add_argument('--cache-dir', default=None,
                   help='where processed files go (default: $LAMP_CACHE or '
                   '~/.cache/lamp_geometric)')


def add_training_arguments(p: argparse.ArgumentParser) -> None:
    r"""Adds the model and training options shared by every experiment
    script (:obj:`examples/sider.py`, :obj:`examples/mlc.py`, the
    :obj:`lamp-geometric train` command): one per field of
    :class:`~lamp_geometric.recipe.TrainingConfig`, with its default."""
    add_config_arguments(p, TrainingConfig)


def add_experiment_arguments(parser: argparse.ArgumentParser) -> None:
    r"""Adds the options of :func:`run_molecule_experiment` (those of
    :obj:`examples/sider.py`) to an argument parser."""
    p = parser
    add_data_arguments(p, 'directory holding sider/sider.csv (default: '
                       '$LAMP_DATA; downloaded from MoleculeNet when absent)')
    p.add_argument('--label-graph', choices=['el', 'fc', 'pr'], default='pr',
                   help="'el' edgeless, 'fc' fully connected, 'pr' train "
                   "co-occurrence prior")
    p.add_argument('--encoder', choices=MOLECULE_ENCODERS, default='fmp')
    add_training_arguments(p)
    p.add_argument('--checkpoint', default=None, metavar='PATH',
                   help='write the trained model (weights, configuration, '
                   'label names, thresholds) to this file')
    p.add_argument('--explain', type=int, default=0, metavar='N',
                   help='write explanation plots for the first N test '
                   'molecules')
    p.add_argument('--explain-dir', default=None, metavar='DIR',
                   help='where --explain writes (default: beside --out, '
                   'else ./explanations)')
    p.add_argument('--limit', type=int, default=None, metavar='N',
                   help='use only the first N molecules (quick checks)')


def _default_explain_dir(cfg: Dict[str, Any]) -> str:
    if cfg['explain_dir']:
        return cfg['explain_dir']
    if cfg['out']:
        stem = os.path.splitext(os.path.abspath(cfg['out']))[0]
        return f'{stem}_explain'
    return 'explanations'


def _display_name(cfg: Dict[str, Any]) -> str:
    if cfg['dataset'] == 'sider':
        return 'SIDER'
    if cfg['dataset'] == 'csv' and cfg['csv']:
        return os.path.basename(cfg['csv'])
    return str(cfg['dataset'])


def run_molecule_experiment(
    config: Config,
    dataset=None,
    log: Optional[Callable[[str], None]] = print,
    epoch_log: Optional[Callable[[str], None]] = None,
) -> Dict[str, Any]:
    r"""Trains and evaluates LaMP on a molecule data set.

    Args:
        config (argparse.Namespace or dict): The settings (keys of
            :obj:`EXPERIMENT_DEFAULTS`; missing ones take their defaults).
        dataset (optional): An already loaded data set; by default
            :func:`load_dataset` loads the one :obj:`config` names.
        log (callable, optional): Receives progress messages and the result
            table; :obj:`None` silences them. (default: :func:`print`)
        epoch_log (callable, optional): Receives one line per epoch.

    Returns:
        dict: :obj:`dataset`, :obj:`config` (the settings as given),
        :obj:`split_sizes`, :obj:`skipped_rows`, :obj:`best_epoch`,
        :obj:`median_epoch_time`, :obj:`train_time`, :obj:`thresholds`,
        :obj:`test`, :obj:`val`, :obj:`baselines`, :obj:`history`, the test
        metrics :obj:`ebF1 miF1 maF1 acc ha roc_auc` at the top level, and
        :obj:`checkpoint` / :obj:`explanations` when those were written.
    """
    given = dict(vars(config) if isinstance(config, argparse.Namespace) else
                 config)
    cfg = _as_config(config)
    if cfg['threads']:
        torch.set_num_threads(cfg['threads'])
    device = torch.device(cfg['device'])
    # Under torchrun: one process per device (gloo on CPU, NCCL on GPU);
    # only rank 0 prints and writes files.
    owns_group = (int(os.environ.get('WORLD_SIZE') or 1) > 1
                  and not D.is_distributed())
    if owns_group:
        _, _, device = D.init_distributed(
            'nccl' if device.type == 'cuda' else 'gloo')
    main = D.is_main_process()
    say: Callable[[str], None] = (log if log is not None and main else
                                  (lambda _: None))
    seed_everything(cfg['seed'])

    if dataset is None:
        if not main:
            D.barrier()  # rank 0 builds the processed cache first
        dataset = load_dataset(cfg)
        if main:
            D.barrier()
    skipped = len(getattr(dataset, 'skipped', []))
    label_names = list(dataset.label_names)
    if cfg['limit'] is not None:
        if cfg['limit'] < 3:
            raise ValueError(f"'limit' must be at least 3 (got "
                             f"{cfg['limit']})")
        dataset = dataset[:cfg['limit']]
    splits = random_split(len(dataset), seed=cfg['seed'])
    train_idx, val_idx, test_idx = splits
    say(f"{_display_name(cfg)}: {len(dataset)} molecules, "
        f"{len(label_names)} labels; split {len(train_idx)}/{len(val_idx)}/"
        f"{len(test_idx)} (seed {cfg['seed']})")
    train_loader, val_loader, test_loader = make_loaders(
        dataset, splits, cfg['batch_size'], seed=cfg['seed'])

    y_all = dataset.y
    label_edge_index = None
    if cfg['label_graph'] == 'pr':
        label_edge_index = co_occurrence(y_all[train_idx], min_count=1)
        say(f"co-occurrence prior from the training split: "
            f"{label_edge_index.size(1)} edges")

    model_config = dict(num_labels=len(label_names), hidden=cfg['hidden'],
                        heads=cfg['heads'], steps=cfg['steps'],
                        dropout=cfg['dropout'],
                        label_graph=cfg['label_graph'],
                        label_edge_index=label_edge_index,
                        encoder=cfg['encoder'])
    model = build_lamp(model_config).to(device)

    start = time.perf_counter()
    result = train_model(model, train_loader, val_loader, config_from(cfg),
                         y_train=y_all[train_idx], device=device,
                         log=epoch_log)
    train_time = time.perf_counter() - start
    say(describe_fit(result, cfg['select']))
    if cfg['plot'] and main:
        plot_history(result.history, cfg['plot'], select=cfg['select'])
        say(f"wrote {cfg['plot']}")

    test, val, thresholds = evaluate_splits(model, val_loader, test_loader,
                                            device, amp=cfg['amp'])
    baselines = M.label_prior_baselines(y_all[train_idx].numpy(),
                                        y_all[test_idx].numpy())
    name = f"LaMP_{cfg['label_graph']} ({cfg['encoder']})"
    rows = {name: test, 'majority (train prior)': baselines['majority'],
            'all positive': baselines['all_positive']}
    say('\nTest metrics (thresholds tuned on validation per metric):')
    say(M.format_table(rows))

    out: Dict[str, Any] = dict(
        dataset=cfg['dataset'],
        config=given,
        split_sizes=[len(train_idx), len(val_idx), len(test_idx)],
        skipped_rows=skipped,
        best_epoch=result.best_epoch,
        last_epoch=result.last_epoch,
        converged=result.converged,
        stopped_early=result.stopped_early,
        median_epoch_time=result.median_epoch_time,
        train_time=train_time,
        thresholds=thresholds,
        test=test,
        val=val,
        baselines=baselines,
        history=result.history,
    )
    out.update({k: test[k] for k in ('ebF1', 'miF1', 'maF1', 'acc', 'ha',
                                     'roc_auc')})

    if cfg['checkpoint'] and main:
        extra = dict(
            dataset=dict(name=cfg['dataset'], csv=cfg['csv'],
                         smiles_column=cfg['smiles_column'],
                         label_columns=cfg['label_columns'],
                         limit=cfg['limit']),
            split=dict(kind='random', seed=cfg['seed'],
                       fractions=[0.8, 0.1, 0.1],
                       sizes=out['split_sizes']),
            training=dict(config_from(cfg).to_dict(),
                          best_epoch=result.best_epoch),
            test=test,
            val=val,
        )
        smiles_column = (cfg['smiles_column'] if cfg['dataset'] == 'csv'
                         else getattr(dataset, 'smiles_column', 'smiles'))
        save_checkpoint(cfg['checkpoint'], model, model_config=model_config,
                        label_names=label_names, thresholds=thresholds,
                        featurizer=molecule_featurizer(smiles_column),
                        extra=extra)
        out['checkpoint'] = cfg['checkpoint']
        say(f"wrote checkpoint {cfg['checkpoint']}")

    if cfg['explain'] and main:
        out['explanations'] = _explain_test(model, dataset[test_idx],
                                            label_names, cfg, say)

    if cfg['out'] and main:
        os.makedirs(os.path.dirname(os.path.abspath(cfg['out'])),
                    exist_ok=True)
        with open(cfg['out'], 'w') as f:
            json.dump(out, f, indent=2)
        say(f"wrote {cfg['out']}")
    if owns_group:
        D.cleanup()
    return out


def _explain_test(model, test_set, label_names: List[str],
                  cfg: Dict[str, Any],
                  say: Callable[[str], None]) -> List[str]:
    from tqdm.auto import tqdm

    from lamp_geometric.explain import explain, save_explanation

    out_dir = _default_explain_dir(cfg)
    n = min(int(cfg['explain']), len(test_set))
    paths: List[str] = []
    for k in tqdm(range(n), desc='explain', leave=False,
                  disable=cfg['quiet']):
        data = test_set[k]
        expl = explain(model, data, label_names=label_names)[0]
        row = int(data.idx) if getattr(data, 'idx', None) is not None else k
        paths += save_explanation(expl, out_dir, prefix=f'test{k}_row{row}')
    say(f"wrote explanations of {n} test molecules to {out_dir}")
    return paths
