r"""Saving and loading trained models with everything needed to use them:
weights, the model configuration, label names, tuned thresholds, the label
graph and how the inputs were featurised (for every input type: molecules,
bag of words, texts, numeric vectors).

A checkpoint is a plain dictionary of tensors, strings, numbers, lists and
dictionaries, so it loads with :obj:`torch.load(path, weights_only=True)`:

.. code-block:: python

    from lamp_geometric.checkpoint import (build_model, load_checkpoint,
                                           molecule_featurizer,
                                           save_checkpoint)

    config = dict(num_labels=27, hidden=128, heads=4, steps=2, dropout=0.2,
                  label_graph='fc', encoder='fmp')
    model = build_model(config)
    ...  # train
    save_checkpoint('model.pt', model, model_config=config,
                    label_names=dataset.label_names, thresholds=thresholds,
                    featurizer=molecule_featurizer())
    model, info = load_checkpoint('model.pt')

For other inputs, :obj:`featurizer` is
:obj:`FeatureSpec.from_dataset(dataset).to_dict()` and the configuration
names :obj:`input_type` and :obj:`num_features`
(:class:`lamp_geometric.data.FeatureSpec`).

Layout (format :obj:`FORMAT_VERSION` = 3):

* :obj:`format`, :obj:`format_version`, :obj:`library_version`;
* :obj:`state_dict`: the weights;
* :obj:`model_config`: the keys of :obj:`MODEL_CONFIG_DEFAULTS` (among
  them :obj:`input_type`, :obj:`num_features`, :obj:`encoder` --
  :obj:`'emb'`, :obj:`'fmp'`, a molecule encoder or :obj:`'mlp'` for
  Emb + MLP -- and the label graph's kind and edges);
* :obj:`label_names`; :obj:`thresholds` (one per metric, tuned on
  validation);
* :obj:`label_graph`: :obj:`{'kind', 'name', 'num_edges', 'density'}`;
* :obj:`featurizer`: how inputs are featurised
  (:meth:`lamp_geometric.data.FeatureSpec.to_dict`: the input type, the
  vocabulary, the tokeniser's settings, the training mean and standard
  deviation of standardised features; for molecules also
  :func:`molecule_featurizer`);
* :obj:`extra`: how the model was trained (data set, split, recipe,
  metrics).

Formats 1 and 2 (molecule models) still load.
"""
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from lamp_geometric.baselines import EmbMLP
from lamp_geometric.data.inputs import FeatureSpec
from lamp_geometric.distributed import unwrap_model
from lamp_geometric.io import atomic_save
from lamp_geometric.nn.encoders import (
    ATOM_FEATURE_SIZES,
    BOND_FEATURE_SIZES,
    MOLECULE_ENCODERS,
    molecule_encoder,
)
from lamp_geometric.nn.feature_encoders import feature_encoder
from lamp_geometric.nn.models.lamp import LaMP
from lamp_geometric.recipe import TrainingConfig

__all__ = [
    'FORMAT',
    'FORMAT_VERSION',
    'MODEL_CONFIG_DEFAULTS',
    'CheckpointInfo',
    'build_model',
    'build_lamp',
    'lamp_config',
    'molecule_featurizer',
    'save_checkpoint',
    'load_checkpoint',
]

#: Marker stored in every checkpoint.
FORMAT = 'lamp_geometric.checkpoint'
#: Version of the checkpoint layout; bumped when it changes incompatibly.
FORMAT_VERSION = 3
#: What a configuration written before a key existed meant by its absence:
#: format 1 checkpoints had a tied readout without bias.
_LEGACY_CONFIG: Dict[str, Any] = dict(tie_weights=True, readout_bias=False)

_RECIPE = TrainingConfig()

#: Keys of a model configuration and their defaults (:obj:`None`: required
#: where it matters: :obj:`num_features` for all but molecules,
#: :obj:`mlp_layers` for Emb + MLP).  Width, steps and dropout are the
#: recipe's
#: (:class:`~lamp_geometric.recipe.TrainingConfig`); the other keys say what
#: a configuration that lacks them means.
MODEL_CONFIG_DEFAULTS: Dict[str, Any] = dict(
    num_labels=None,
    hidden=None,
    heads=_RECIPE.heads,
    steps=_RECIPE.steps,
    dropout=_RECIPE.dropout,
    feature_node_dropout=0.0,
    label_graph='fc',
    label_edge_index=None,
    encoder='fmp',
    encoder_layers=2,
    tie_weights=False,
    readout_bias=True,
    path='auto',
    dense_threshold=None,
    input_type='molecule',
    num_features=None,
    mlp_layers=None,
    mlp_input_norm=True,
)


def _config(config: Mapping[str, Any]) -> Dict[str, Any]:
    unknown = sorted(set(config) - set(MODEL_CONFIG_DEFAULTS))
    if unknown:
        raise ValueError(f"Unknown model configuration key(s) {unknown} "
                         f"(known: {sorted(MODEL_CONFIG_DEFAULTS)})")
    cfg = dict(MODEL_CONFIG_DEFAULTS)
    cfg.update(config)
    missing = [k for k in ('num_labels', 'hidden') if cfg[k] is None]
    if cfg['input_type'] != 'molecule' and cfg['num_features'] is None:
        missing.append('num_features')
    if cfg['encoder'] == 'mlp' and cfg['mlp_layers'] is None:
        missing.append('mlp_layers')
    if missing:
        raise ValueError(f"The model configuration lacks {missing}")
    return cfg


def _encoder(cfg: Dict[str, Any], name: str) -> torch.nn.Module:
    hidden, heads = int(cfg['hidden']), int(cfg['heads'])
    dropout, layers = float(cfg['dropout']), int(cfg['encoder_layers'])
    if cfg['input_type'] == 'molecule':
        if name not in MOLECULE_ENCODERS:
            raise ValueError(f"Unknown encoder '{name}' (choose from "
                             f"{MOLECULE_ENCODERS})")
        return molecule_encoder(name, hidden, heads=heads, dropout=dropout,
                                num_layers=layers)
    return feature_encoder(name, cfg['input_type'], hidden,
                           num_features=int(cfg['num_features']),
                           heads=heads, dropout=dropout, num_layers=layers)


def build_model(config: Mapping[str, Any]) -> torch.nn.Module:
    r"""Builds the model a configuration describes:
    :class:`~lamp_geometric.nn.LaMP` (:func:`build_lamp`) or, with
    :obj:`encoder='mlp'`, the Emb + MLP baseline
    (:class:`~lamp_geometric.baselines.EmbMLP` over the "Emb" encoder of
    the input type, :obj:`mlp_layers` layers).

    Args:
        config (dict): The keys of :obj:`MODEL_CONFIG_DEFAULTS` (see
            :func:`build_lamp`).

    Returns:
        torch.nn.Module: A freshly initialised model.

    Raises:
        ValueError: If a required key is missing or a key is unknown.
    """
    cfg = _config(config)
    if cfg['encoder'] != 'mlp':
        return build_lamp(cfg)
    return EmbMLP(_encoder(cfg, 'emb'), int(cfg['hidden']),
                  int(cfg['num_labels']), num_layers=int(cfg['mlp_layers']),
                  dropout=float(cfg['dropout']),
                  input_norm=bool(cfg['mlp_input_norm']))


def build_lamp(config: Mapping[str, Any]) -> LaMP:
    r"""Builds a :class:`~lamp_geometric.nn.LaMP` model from a plain
    configuration dictionary.

    Args:
        config (dict): The keys of :obj:`MODEL_CONFIG_DEFAULTS`:
            :obj:`num_labels` and :obj:`hidden` (required), :obj:`heads`,
            :obj:`steps`, :obj:`dropout`, :obj:`feature_node_dropout`,
            :obj:`label_graph`
            (:obj:`'el'`, :obj:`'fc'` or :obj:`'pr'`),
            :obj:`label_edge_index` (a :obj:`[2, E]` tensor or nested list,
            for :obj:`'pr'`), :obj:`input_type` (:obj:`'molecule'`,
            :obj:`'bow'`, :obj:`'sequence'` or :obj:`'vector'`),
            :obj:`num_features` (vocabulary or feature count; all but
            molecules), :obj:`encoder` (:obj:`'emb'` or :obj:`'fmp'`, for
            molecules any name accepted by
            :func:`~lamp_geometric.nn.molecule_encoder`, or :obj:`None` for
            a model used through
            :meth:`~lamp_geometric.nn.LaMP.forward_features`),
            :obj:`encoder_layers`, :obj:`tie_weights`, :obj:`readout_bias`,
            :obj:`path` and :obj:`dense_threshold` (:obj:`None`: the
            library default).

    Returns:
        LaMP: A freshly initialised model.

    Raises:
        ValueError: If a required key is missing or a key is unknown.
    """
    cfg = _config(config)
    if cfg['encoder'] == 'mlp':
        raise ValueError("encoder='mlp' is the Emb + MLP baseline, not LaMP: "
                         "build it with build_model")
    hidden, heads = int(cfg['hidden']), int(cfg['heads'])
    dropout = float(cfg['dropout'])
    encoder = None
    if cfg['encoder'] is not None:
        encoder = _encoder(cfg, cfg['encoder'])
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
                feature_node_dropout=float(cfg['feature_node_dropout']),
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
                dropout=float(model.dropout),
                feature_node_dropout=float(model.feature_node_dropout),
                label_graph=model.label_graph,
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
        input_type='molecule',
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
        featurizer (dict): How inputs are featurised (see
            :attr:`feature_spec`).
        extra (dict): Anything else stored (training history, data set,
            split, test metrics, ...).
        format_version (int): Version of the checkpoint layout.
        library_version (str): Version of :obj:`lamp_geometric` that wrote it.
        label_graph (dict, optional): The label graph's :obj:`kind`,
            :obj:`name`, :obj:`num_edges` and :obj:`density` (LaMP models
            of format 3; its edges are :obj:`model_config['label_edge_index']`
            for a prior).
    """
    model_config: Dict[str, Any]
    label_names: List[str]
    thresholds: Optional[Dict[str, float]]
    featurizer: Dict[str, Any]
    extra: Dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    library_version: str = ''
    label_graph: Optional[Dict[str, Any]] = None

    @property
    def input_type(self) -> str:
        r"""The input type of the model (:obj:`'molecule'`, :obj:`'bow'`,
        :obj:`'sequence'` or :obj:`'vector'`)."""
        return str(self.model_config.get('input_type') or 'molecule')

    @property
    def feature_spec(self) -> FeatureSpec:
        r"""How new inputs are featurised, as in training."""
        return FeatureSpec.from_dict(dict(self.featurizer,
                                          input_type=self.input_type))


def save_checkpoint(
    path: str,
    model: torch.nn.Module,
    *,
    model_config: Mapping[str, Any],
    label_names: Sequence[str],
    thresholds: Optional[Mapping[str, float]],
    featurizer: Mapping[str, Any],
    extra: Optional[Mapping[str, Any]] = None,
    label_graph_name: Optional[str] = None,
) -> None:
    r"""Writes a trained model and what is needed to use it to :obj:`path`
    (atomically, see :func:`lamp_geometric.io.atomic_save`).

    Args:
        path (str): Destination file.
        model (torch.nn.Module): The trained :class:`LaMP` (or Emb + MLP)
            model (a :class:`~torch.nn.parallel.DistributedDataParallel` or
            compiled wrapper is unwrapped).
        model_config (dict): Its configuration (see :func:`build_model`; a
            :obj:`'pr'` label graph is taken from the model if the
            configuration does not hold it).
        label_names (list of str): One name per label.
        thresholds (dict, optional): Tuned thresholds, metric -> threshold.
        featurizer (dict): How inputs are featurised:
            :meth:`lamp_geometric.data.FeatureSpec.to_dict` (e.g. of
            :meth:`~lamp_geometric.data.FeatureSpec.from_dataset`) or, for
            molecules, :func:`molecule_featurizer`.
        extra (dict, optional): Anything else to store; converted to plain
            Python types (NumPy scalars and arrays become numbers and lists).
        label_graph_name (str, optional): What the label graph is (e.g.
            :obj:`'co-occurrence in the training split'`).

    Raises:
        ValueError: If :obj:`model_config` does not rebuild a model with the
            same parameters and buffers, the number of label names is
            not the number of labels, or the featuriser's input type or
            vocabulary does not match the configuration.
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
    featurizer = dict(featurizer)
    input_type = config.setdefault('input_type', 'molecule')
    if featurizer.get('input_type', input_type) != input_type:
        raise ValueError(f"The featuriser reads '{featurizer['input_type']}'"
                         f" inputs but the model '{input_type}' ones")
    vocab = featurizer.get('vocab')
    if vocab is not None and len(vocab) != config.get('num_features'):
        raise ValueError(f"The featuriser's vocabulary has {len(vocab)} "
                         f"entries but the model {config.get('num_features')}"
                         f" features")

    state_dict = {k: v.detach().cpu()
                  for k, v in model.state_dict().items()}
    with torch.random.fork_rng(devices=[]):  # leave the caller's RNG alone
        expected = build_model(config).state_dict()
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
        label_graph=_describe_graph(model, label_graph_name),
        featurizer=_plain(featurizer),
        extra=_plain(dict(extra or {})),
    )
    atomic_save(obj, path)


def _describe_graph(model: torch.nn.Module,
                    name: Optional[str]) -> Optional[Dict[str, Any]]:
    if not isinstance(model, LaMP):
        return None
    graph = model.graph
    return dict(kind=graph.kind, name=name or graph.name,
                num_edges=graph.num_edges, density=float(graph.density))


def load_checkpoint(
    path: str,
    map_location: Union[str, torch.device] = 'cpu',
) -> Tuple[torch.nn.Module, CheckpointInfo]:
    r"""Loads a checkpoint written by :func:`save_checkpoint` (any format up
    to :obj:`FORMAT_VERSION`).

    The file is read with :obj:`torch.load(weights_only=True)`, so loading
    runs no code from the file.

    Args:
        path (str): The checkpoint file.
        map_location (str or torch.device, optional): Where to put the
            weights. (default: :obj:`'cpu'`)

    Returns:
        (torch.nn.Module, CheckpointInfo): The model (:class:`LaMP`, or
        :class:`~lamp_geometric.baselines.EmbMLP`) in evaluation mode on
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
        model = build_model(config)
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
        label_graph=(dict(obj['label_graph']) if obj.get('label_graph')
                     else None),
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
