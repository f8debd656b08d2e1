r"""The library's training recipe: every default of model width and training
in one dataclass, the command-line options generated from it, and
:func:`train_model`, which trains any model of the library with it.

The defaults are the settings that produced the README's numbers (measured
in ``benchmarks/accuracy``; each departure from the paper's recipe is listed
with its effect in ``docs/differences.rst``):

* AdamW with decoupled weight decay (none on biases and LayerNorms);
* a linear warmup over the first steps, then a cosine decay to zero;
* gradient clipping;
* early stopping on the validation criterion, the best epoch kept;
* the readout bias initialised to each label's training log-odds;
* feature-node dropout: LaMP's feature-to-label attention sees a random
  half of each sample's feature nodes in every training step.

.. code-block:: python

    from lamp_geometric.recipe import TrainingConfig, train_model

    config = TrainingConfig(epochs=50, hidden=128)
    result = train_model(model, train_loader, val_loader, config)
"""
import argparse
import dataclasses
import math
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Dict,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np
import torch

from lamp_geometric.nn.loss import LaMPLoss
from lamp_geometric.train import (
    SCHEDULES,
    SELECT_CHOICES,
    FitResult,
    fit,
    make_optimizer,
    make_scheduler,
    trace_test_split,
)

__all__ = ['TrainingConfig', 'FEATURE_NODE_DROPOUT', 'feature_node_dropout',
           'add_config_arguments', 'config_from', 'train_model',
           'label_prevalence']

#: The feature-node dropout of the recipe for each encoder of a LaMP network
#: (:attr:`TrainingConfig.feature_node_dropout` left at :obj:`None`; other
#: models have no feature-to-label attention).  Chosen on validation
#: ROC-AUC: it lifts Emb + LaMP on yeast, emotions, BibTeX, Reuters-21578
#: and RCV1, and FMP + LaMP on yeast (``docs/differences.rst``).
FEATURE_NODE_DROPOUT: Dict[str, float] = {'emb': 0.5, 'fmp': 0.5}


def _option(default: Any, help: str, **kwargs: Any) -> Any:
    return field(default=default, metadata=dict(help=help, **kwargs))


@dataclass
class TrainingConfig:
    r"""Width of the model and the training recipe, with the library's
    defaults (see the module documentation).  Every experiment entry point
    (``examples/``, the ``lamp-geometric`` command, the benchmarks) reads
    its defaults from here."""
    epochs: int = _option(100, 'maximum number of epochs (training stops '
                          'earlier when the validation criterion has not '
                          'improved for --patience epochs)')
    patience: int = _option(15, 'early stopping: epochs without a better '
                            'validation criterion (0: never stop early)')
    max_minutes: float = _option(0.0, 'time limit: stop before an epoch '
                                 'that, as long as the previous one, would '
                                 'end after this many minutes of training '
                                 '(0: none; the best epoch is kept)')
    ema: float = _option(0.0, 'validate, keep and return an exponential '
                         'moving average of the weights with this decay per '
                         'step (0: the raw weights)')
    batch_size: int = _option(32, 'samples per batch')
    lr: float = _option(1e-3, 'peak learning rate')
    weight_decay: float = _option(0.01, 'AdamW decoupled weight decay on '
                                  'weight matrices and embeddings')
    betas: Tuple[float, float] = _option((0.9, 0.999), 'Adam betas',
                                         nargs=2)
    warmup: float = _option(0.05, 'share of the training steps with a '
                            'linear learning rate warmup')
    schedule: str = _option('cosine', 'learning rate decay after the '
                            'warmup', choices=SCHEDULES)
    clip_norm: float = _option(1.0, 'clip the gradient norm to this value '
                               '(0: no clipping)')
    hidden: int = _option(512, 'width d of every embedding')
    heads: int = _option(4, 'attention heads K')
    steps: int = _option(2, 'LaMP steps T')
    dropout: float = _option(0.2, 'dropout probability')
    feature_node_dropout: Optional[float] = _option(
        None, 'LaMP: during training, leave each feature node (word, atom, '
        'feature) out of the feature-to-label attention with this '
        'probability (each sample keeps one; default: 0.5 with the Emb '
        'and FMP encoders; 0: off)', type=float)
    lambda_int: float = _option(0.2, 'weight of the intermediate losses '
                                '(Eq. 21)')
    label_prior: bool = _option(True, 'start the readout bias at the '
                                "training log-odds of each label "
                                "('--no-label-prior': at zero)")
    select: str = _option('roc_auc', 'validation criterion for the best '
                          'epoch', choices=SELECT_CHOICES)
    trace_test: bool = _option(False, 'after every epoch, also score the '
                               'test split at thresholds tuned on that '
                               "epoch's validation predictions and keep the "
                               'test metrics in the history, with the '
                               'elapsed training time (a trace for learning '
                               'curves: never used to pick the epoch; its '
                               'own time is left out of the clock)')
    seed: int = _option(0, 'seed of the split, the initialisation and the '
                        'data order')
    device: str = _option('cpu', 'torch device')
    amp: bool = _option(False, 'train and predict under bfloat16 autocast '
                        '(weights, optimizer and loss stay float32)')
    threads: Optional[int] = _option(None, 'torch CPU threads (default: '
                                     'torch decides)', type=int)
    keep_memory: bool = _option(True, 'keep freed memory in the process '
                                'for reuse (glibc): no page faults for the '
                                'temporaries every step allocates again')
    out: Optional[str] = _option(None, 'write the results to this JSON '
                                 'file', type=str)
    plot: Optional[str] = _option(None, 'write the learning curves to this '
                                  'PNG file', type=str)
    quiet: bool = _option(False, 'no progress bars (one line per epoch)')

    def to_dict(self) -> Dict[str, Any]:
        r"""The settings as a plain dictionary."""
        return dataclasses.asdict(self)


def feature_node_dropout(encoder: str,
                         value: Optional[float] = None) -> float:
    r"""The feature-node dropout a model with the encoder named
    :obj:`encoder` trains with: for a LaMP encoder (a key of
    :data:`FEATURE_NODE_DROPOUT`), :obj:`value` when given and the
    recipe's otherwise; 0 for any other model (Emb + MLP and the baselines
    have no feature-to-label attention).

    Example:
        >>> feature_node_dropout('emb'), feature_node_dropout('emb', 0.0)
        (0.5, 0.0)
    """
    if encoder not in FEATURE_NODE_DROPOUT:
        return 0.0
    return FEATURE_NODE_DROPOUT[encoder] if value is None else float(value)


def add_config_arguments(parser: Union[argparse.ArgumentParser,
                                       argparse._ArgumentGroup],
                         cls: type = TrainingConfig,
                         overrides: Optional[Mapping[str, Any]] = None,
                         only: Optional[Sequence[str]] = None) -> None:
    r"""Adds one option per field of the dataclass :obj:`cls` (``--name``
    with underscores as dashes, the field's default and help; a boolean
    field gives ``--name`` / ``--no-name``).

    Args:
        parser: The parser or argument group.
        cls (type, optional): The dataclass. (default:
            :class:`TrainingConfig`)
        overrides (dict, optional): Other defaults for some fields, for
            entry points whose task differs (e.g. fewer epochs for a quick
            example); the field's own default otherwise.
        only (Sequence[str], optional): Add only these fields.
            (default: all)
    """
    overrides = dict(overrides or {})
    for f in dataclasses.fields(cls):
        if only is not None and f.name not in only:
            continue
        default = overrides.get(f.name, f.default)
        meta = dict(f.metadata)
        help_ = meta.pop('help', None)
        flag = '--' + f.name.replace('_', '-')
        if f.type in (bool, 'bool'):
            parser.add_argument(flag, default=default, help=help_,
                                action=argparse.BooleanOptionalAction)
            continue
        kind = meta.pop('type', None) or type(default)
        if 'nargs' in meta:
            kind = type(default[0])
        parser.add_argument(flag, default=default, type=kind, help=help_,
                            **meta)


def config_from(values: Union[argparse.Namespace, Mapping[str, Any]],
                cls: type = TrainingConfig) -> Any:
    r"""Builds :obj:`cls` from the matching keys of :obj:`values` (parsed
    options or a dictionary); other keys are ignored, missing ones take the
    defaults."""
    given = vars(values) if isinstance(values, argparse.Namespace) else values
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {k: v for k, v in given.items() if k in names}
    if 'betas' in kwargs:
        kwargs['betas'] = tuple(float(b) for b in kwargs['betas'])
    return cls(**kwargs)


def label_prevalence(y: Any) -> torch.Tensor:
    r"""The share of positives of every label among its observed (non-NaN)
    targets :obj:`[N, L]` -> :obj:`[L]` (NaN for a label never observed)."""
    y = torch.as_tensor(np.asarray(y, dtype=np.float64))
    observed = ~y.isnan()
    pos = torch.where(observed, y, torch.zeros_like(y)).sum(0)
    count = observed.sum(0)
    return torch.where(count > 0, pos / count.clamp(min=1),
                       torch.full_like(pos, math.nan)).float()


def train_model(
    model: torch.nn.Module,
    train_loader: Any,
    val_loader: Any,
    config: TrainingConfig,
    y_train: Optional[Any] = None,
    device: Optional[torch.device] = None,
    log: Optional[Callable[[str], None]] = None,
    test_loader: Optional[Any] = None,
    **fit_kwargs: Any,
) -> FitResult:
    r"""Trains :obj:`model` with the recipe of :obj:`config` and leaves it
    holding the weights of its best validation epoch.

    Builds the optimizer (:func:`~lamp_geometric.train.make_optimizer`), the
    per-step schedule (:func:`~lamp_geometric.train.make_scheduler`, warmup
    over :obj:`config.warmup` of the steps) and the loss
    (:class:`~lamp_geometric.nn.LaMPLoss`), sets the readout bias to the
    label log-odds of :obj:`y_train` when the model has
    :meth:`set_label_prior` and :obj:`config.label_prior` is set, and calls
    :func:`~lamp_geometric.train.fit` with gradient clipping and early
    stopping.

    Args:
        model (torch.nn.Module): A :class:`~lamp_geometric.nn.LaMP` or any
            model :func:`~lamp_geometric.train.fit` trains.
        train_loader, val_loader: The loaders.
        config (TrainingConfig): The recipe.
        y_train (array-like, optional): Training targets :obj:`[N, L]` for
            the label prior. (default: :obj:`None`: no prior)
        device (torch.device, optional): (default: :obj:`config.device`)
        log (callable, optional): Receives one line per epoch.
        test_loader (optional): The test split, for
            :obj:`config.trace_test`: every epoch's test metrics (at
            thresholds tuned on that epoch's validation predictions) and
            the elapsed training time join the history
            (:func:`~lamp_geometric.train.trace_test_split`); never used to
            pick the epoch. (default: :obj:`None`)
        **fit_kwargs: Passed on to :func:`~lamp_geometric.train.fit`
            (e.g. :obj:`checkpoint_path`, :obj:`progress`,
            :obj:`epoch_trace`).

    Raises:
        ValueError: If :obj:`config.trace_test` is set without a
            :obj:`test_loader`.
    """
    device = torch.device(config.device if device is None else device)
    if (config.label_prior and y_train is not None
            and hasattr(model, 'set_label_prior')
            and getattr(model, 'readout_bias', True) is not None):
        model.set_label_prior(label_prevalence(y_train).to(device))
    optimizer = make_optimizer(model, config.lr, betas=tuple(config.betas),
                               weight_decay=config.weight_decay)
    total = max(1, config.epochs * len(train_loader))
    scheduler = make_scheduler(optimizer, total,
                               warmup_steps=int(config.warmup * total),
                               schedule=config.schedule)
    if config.trace_test:
        if test_loader is None:
            raise ValueError("trace_test=True needs the 'test_loader'")
        fit_kwargs.setdefault('epoch_trace', trace_test_split(
            test_loader, device, amp=config.amp))
    fit_kwargs.setdefault('progress', not config.quiet)
    return fit(model, train_loader, val_loader, config.epochs, optimizer,
               loss_fn=LaMPLoss(lambda_int=config.lambda_int),
               select=config.select, device=device, log=log,
               scheduler=scheduler, scheduler_interval='step',
               clip_norm=config.clip_norm or None,
               patience=config.patience or None, ema=config.ema or None,
               max_time=config.max_minutes * 60 or None,
               amp=config.amp,
               **fit_kwargs)
