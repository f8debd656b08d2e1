r"""Saving and loading trained LaMP models with everything needed to use
them: weights, the model configuration, label names, tuned thresholds, the
featuriser's settings and the label graph.

A checkpoint is a plain dictionary of tensors, strings, numbers, lists and
dictionaries, so it loads with :obj:`torch.load(path, weights_only=True)`:

.. code-block:: python

    from lamp_geometric.checkpoint import (build_lamp, load_checkpoint,
                                           save_checkpoint)

    config = dict(num_labels=27, hidden=128, heads=4, steps=2, dropout=0.2,
                  label_graph='fc', encoder='fmp')
    model = build_lamp(config)
    ...  # train
    save_checkpoint('model.pt', model, model_config=config,
                    label_names=dataset.label_names, thresholds=thresholds,
                    featurizer=molecule_featurizer())
    model, info = load_checkpoint('model.pt')
"""
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from lamp_geometric.distributed import unwrap_model
from lamp_geometric.io import atomic_save
from lamp_geometric.nn.encoders import (
    ATOM_FEATURE_SIZES,
    BOND_FEATURE_SIZES,
    MOLECULE_ENCODERS,
    molecule_encoder,
)
from lamp_geometric.nn.models.lamp import LaMP
from lamp_geometric.recipe import TrainingConfig

__all__ = [
    'FORMAT',
    'FORMAT_VERSION',
    'CheckpointInfo',
    'build_lamp',
    'lamp_config',
    'molecule_featurizer',
    'save_checkpoint',
    'load_checkpoint',
]

#: Marker stored in every checkpoint.
FORMAT = 'lamp_geometric.checkpoint'
#: Version of the checkpoint layout; bumped when it changes incompatibly.
FORMAT_VERSION = 2
#: What a configuration written before a key existed meant by its absence:
#: format 1 checkpoints had a tied readout without bias.
_LEGACY_CONFIG: Dict[str, Any] = dict(tie_weights=True, readout_bias=False)

_RECIPE = TrainingConfig()

#: Keys of a model configuration and their defaults (:obj:`None`: required).
#: Width, steps and dropout are the recipe's
#: (:class:`~lamp_geometric.recipe.TrainingConfig`); the other keys say what
#: a configuration that lacks them means.
MODEL_CONFIG_DEFAULTS: Dict[str, Any] = dict(
    num_labels=None,
    hidden=None,
    heads=_RECIPE.heads,
    steps=_RECIPE.steps,
    dropout=_RECIPE.dropout,
    label_graph='fc',
    label_edge_index=None,
    encoder='fmp',
    encoder_layers=2,
    tie_weights=False,
    readout_bias=True,
    path='auto',
    dense_threshold=None,
)


def build_lamp(config: Mapping[str, Any]) -> LaMP:
    r"""Builds a :class:`~lamp_geometric.nn.LaMP` model with a molecule
    encoder from a plain configuration dictionary.

    Args:
        config (dict): The keys of :obj:`MODEL_CONFIG_DEFAULTS`:
            :obj:`num_labels` and :obj:`hidden` (required), :obj:`heads`,
            :obj:`steps`, :obj:`dropout`, :obj:`label_graph`
            (:obj:`'el'`, :obj:`'fc'` or :obj:`'pr'`),
            :obj:`label_edge_index` (a :obj:`[2, E]` tensor or nested list,
            for :obj:`'pr'`), :obj:`encoder` (a name accepted by
            :func:`~lamp_geometric.nn.molecule_encoder`, or :obj:`None` for
            a model used through
            :meth:`~lamp_geometric.nn.LaMP.forward_features`),
            :obj:`encoder_layers`, :obj:`tie_weights`, :obj:`readout_bias`,
            :obj:`path` and
            :obj:`dense_threshold` (:obj:`None`: the library default).

    Returns:
        LaMP: A freshly initialised model.

    Raises:
        ValueError: If a required key is missing or a key is unknown.
    """
    unknown = sorted(set(config) - set(MODEL_CONFIG_DEFAULTS))
    if unknown:
        raise ValueError(f"Unknown model configuration key(s) {unknown} "
                         f"(known: {sorted(MODEL_CONFIG_DEFAULTS)})")
    cfg = dict(MODEL_CONFIG_DEFAULTS)
    cfg.update(config)
    missing = [k for k in ('num_labels', 'hidden') if cfg[k] is None]
    if missing:
        raise ValueError(f"The model configuration lacks {missing}")
    hidden, heads = int(cfg['hidden']), int(cfg['heads'])
    dropout = float(cfg['dropout'])
    encoder = None
    if cfg['encoder'] is not None:
        if cfg['encoder'] not in MOLECULE_ENCODERS:
            raise ValueError(f"Unknown encoder '{cfg['encoder']}' (choose "
                             f"from {MOLECULE_ENCODERS})")
        encoder = molecule_encoder(cfg['encoder'], hidden, heads=heads,
                                   dropout=dropout,
                                   num_layers=int(cfg['encoder_layers']))
    edge_index = cfg['label_edge_index']
    if edge_index is not None:
        edge_index = torch.as_tensor(edge_index, dtype=torch.long)
    kwargs: Dict[str, Any] = {}
    if cfg['dense_threshold'] is not None:
        kwargs['dense_threshold'] = float(cfg['dense_threshold'])
    return LaMP(int(cfg['num_labels']), hidden, encoder=encoder,
                steps=int(cfg['steps']), heads=heads, dropout=dropout,
                label_graph=cfg['label_graph'], label_edge_index=edge_index,
                tie_weights=bool(cfg['tie_weights']),
                readout_bias=bool(cfg['readout_bias']), path=cfg['path'],
                **kwargs)


def lamp_config(model: LaMP, encoder: Optional[str],
                encoder_layers: int = 2) -> Dict[str, Any]:
    r"""Reads the configuration of an existing :class:`LaMP` model, so that
    :func:`build_lamp` rebuilds the same architecture.

    The encoder cannot be inferred from the module; name it.

    Args:
        model (LaMP): The model.
        encoder (str, optional): Name of its molecule encoder (see
            :func:`~lamp_geometric.nn.molecule_encoder`), or :obj:`None`.
        encoder_layers (int, optional): Layers of that encoder.
            (default: :obj:`2`)
    """
    model = unwrap_model(model)
    edge_index = None
    if model.label_graph == 'pr':
        edge_index = model.label_edge_index.detach().cpu().clone()
    return dict(num_labels=model.num_labels, hidden=model.hidden_channels,
                heads=model.heads, steps=model.steps,
                dropout=float(model.dropout), label_graph=model.label_graph,
                label_edge_index=edge_index, encoder=encoder,
                encoder_layers=encoder_layers,
                tie_weights=bool(model.tie_weights),
                readout_bias=model.readout_bias is not None, path=model.path,
                dense_threshold=float(model.dense_threshold))


def molecule_featurizer(smiles_column: str = 'smiles') -> Dict[str, Any]:
    r"""The settings of the molecule featuriser used by
    :class:`~lamp_geometric.data.MoleculeCSV` (the featurisation of
    :func:`torch_geometric.utils.from_smiles`), to store in a checkpoint.

    Args:
        smiles_column (str, optional): Name of the SMILES column of the
            training file. (default: :obj:`'smiles'`)
    """
    from torch_geometric.utils.smiles import e_map, x_map
    return dict(
        name='from_smiles',
        input='smiles',
        smiles_column=smiles_column,
        atom_features=list(x_map.keys()),
        atom_feature_sizes=list(ATOM_FEATURE_SIZES),
        bond_features=list(e_map.keys()),
        bond_feature_sizes=list(BOND_FEATURE_SIZES),
    )


@dataclass
class CheckpointInfo:
    r"""Everything a checkpoint holds besides the weights.

    Attributes:
        model_config (dict): The configuration :func:`build_lamp` rebuilt the
            model from.
        label_names (list of str): The names of the labels, in output order.
        thresholds (dict, optional): Decision thresholds tuned on validation,
            one per metric (see
            :func:`lamp_geometric.metrics.tune_thresholds`).
        featurizer (dict): The featuriser's settings.
        extra (dict): Anything else stored (training history, data set,
            split, test metrics, ...).
        format_version (int): Version of the checkpoint layout.
        library_version (str): Version of :obj:`lamp_geometric` that wrote it.
    """
    model_config: Dict[str, Any]
    label_names: List[str]
    thresholds: Optional[Dict[str, float]]
    featurizer: Dict[str, Any]
    extra: Dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    library_version: str = ''


def save_checkpoint(
    path: str,
    model: torch.nn.Module,
    *,
    model_config: Mapping[str, Any],
    label_names: Sequence[str],
    thresholds: Optional[Mapping[str, float]],
    featurizer: Mapping[str, Any],
    extra: Optional[Mapping[str, Any]] = None,
) -> None:
    r"""Writes a trained model and what is needed to use it to :obj:`path`
    (atomically, see :func:`lamp_geometric.io.atomic_save`).

    Args:
        path (str): Destination file.
        model (torch.nn.Module): The trained :class:`LaMP` model (a
            :class:`~torch.nn.parallel.DistributedDataParallel` or compiled
            wrapper is unwrapped).
        model_config (dict): Its configuration (see :func:`build_lamp`; a
            :obj:`'pr'` label graph is taken from the model if the
            configuration does not hold it).
        label_names (list of str): One name per label.
        thresholds (dict, optional): Tuned thresholds, metric -> threshold.
        featurizer (dict): The featuriser's settings (e.g.
            :func:`molecule_featurizer`).
        extra (dict, optional): Anything else to store; converted to plain
            Python types (NumPy scalars and arrays become numbers and lists).

    Raises:
        ValueError: If :obj:`model_config` does not rebuild a model with the
            same parameters and buffers, or the number of label names is
            not the number of labels.
    """
    model = unwrap_model(model)
    config = dict(model_config)
    if isinstance(model, LaMP):
        # Pin the dense/sparse dispatch, so that a later change of the
        # library default cannot change how the loaded model computes.
        config.setdefault('path', model.path)
        config.setdefault('dense_threshold', float(model.dense_threshold))
    if (config.get('label_graph') == 'pr'
            and config.get('label_edge_index') is None
            and isinstance(model, LaMP)):
        config['label_edge_index'] = model.label_edge_index
    if config.get('label_edge_index') is not None:
        config['label_edge_index'] = torch.as_tensor(
            config['label_edge_index'], dtype=torch.long).detach().cpu()
    label_names = [str(n) for n in label_names]
    if len(label_names) != int(config.get('num_labels', -1)):
        raise ValueError(f"Got {len(label_names)} label names for "
                         f"{config.get('num_labels')} labels")

    state_dict = {k: v.detach().cpu()
                  for k, v in model.state_dict().items()}
    with torch.random.fork_rng(devices=[]):  # leave the caller's RNG alone
        expected = build_lamp(config).state_dict()
    if set(expected) != set(state_dict):
        diff = sorted(set(expected) ^ set(state_dict))
        raise ValueError(f"'model_config' does not describe this model: the "
                         f"rebuilt model differs in {diff[:5]}")
    bad = [k for k in expected if expected[k].shape != state_dict[k].shape]
    if bad:
        raise ValueError(f"'model_config' does not describe this model: "
                         f"shapes differ for {bad[:5]}")

    from lamp_geometric import __version__
    obj = dict(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        library_version=__version__,
        state_dict=state_dict,
        model_config=_plain(config),
        label_names=label_names,
        thresholds=(None if thresholds is None else
                    {str(k): float(v) for k, v in thresholds.items()}),
        featurizer=_plain(dict(featurizer)),
        extra=_plain(dict(extra or {})),
    )
    atomic_save(obj, path)


def load_checkpoint(
    path: str,
    map_location: Union[str, torch.device] = 'cpu',
) -> Tuple[LaMP, CheckpointInfo]:
    r"""Loads a checkpoint written by :func:`save_checkpoint`.

    The file is read with :obj:`torch.load(weights_only=True)`, so loading
    runs no code from the file.

    Args:
        path (str): The checkpoint file.
        map_location (str or torch.device, optional): Where to put the
            weights. (default: :obj:`'cpu'`)

    Returns:
        (LaMP, CheckpointInfo): The model in evaluation mode on
        :obj:`map_location`, and the rest of the checkpoint.

    Raises:
        FileNotFoundError: If :obj:`path` does not exist.
        ValueError: If the file is not a readable checkpoint of a supported
            version.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Checkpoint not found: '{path}'")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # unpickling errors come in many types
        raise ValueError(f"'{path}' is not a readable lamp_geometric "
                         f"checkpoint: {e}") from e
    if not isinstance(obj, dict) or obj.get('format') != FORMAT:
        raise ValueError(f"'{path}' is not a lamp_geometric checkpoint")
    version = int(obj.get('format_version', -1))
    if version > FORMAT_VERSION:
        raise ValueError(f"'{path}' has checkpoint format {version}; this "
                         f"version of lamp_geometric reads up to "
                         f"{FORMAT_VERSION} (upgrade the library)")
    config = dict(obj['model_config'])
    if version < 2:
        for key, value in _LEGACY_CONFIG.items():
            config.setdefault(key, value)
    with torch.random.fork_rng(devices=[]):
        model = build_lamp(config)
    model.load_state_dict(obj['state_dict'])
    model = model.to(map_location).eval()
    info = CheckpointInfo(
        model_config=config,
        label_names=list(obj['label_names']),
        thresholds=obj.get('thresholds'),
        featurizer=dict(obj.get('featurizer') or {}),
        extra=dict(obj.get('extra') or {}),
        format_version=version,
        library_version=str(obj.get('library_version', '')),
    )
    return model, info


def _plain(obj: Any) -> Any:
    r"""Converts :obj:`obj` to types :obj:`torch.load(weights_only=True)`
    reads: dicts, lists, strings, numbers, booleans, :obj:`None` and
    tensors."""
    if isinstance(obj, np.generic):  # before float: np.float64 is a float
        return obj.item()
    if obj is None or isinstance(obj, (bool, str, int, float)):
        return obj
    if isinstance(obj, Tensor):
        return obj.detach().cpu()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"Cannot store a value of type {type(obj).__name__} in "
                    f"a checkpoint")
