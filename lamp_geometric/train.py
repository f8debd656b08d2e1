r"""Training and prediction loops for multi-label models on PyG batches.

The loops are model-agnostic: a model maps a batch to either a
:class:`~lamp_geometric.nn.LaMPOutput` (its intermediate readouts then enter
the LaMP loss) or a plain logits tensor :obj:`[B, L]`.  Targets are
:obj:`batch.y` of shape :obj:`[B, L]` with NaN for missing labels.

:func:`fit` can write a training-state checkpoint after every epoch and
resume from it with the same final weights and metrics as an uninterrupted
run.  Under :obj:`torchrun` (see :mod:`lamp_geometric.distributed`) the loops
run data-parallel: :func:`make_loaders` shards the data, :func:`fit` wraps the
model in :class:`~torch.nn.parallel.DistributedDataParallel`, :func:`predict`
gathers the predictions of all processes, and only rank 0 prints and writes.
"""
import contextlib
import copy
import math
import os
import random
import time
import warnings
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

import numpy as np
import torch
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data.distributed import DistributedSampler
from tqdm.auto import tqdm

from torch_geometric.data import InMemoryDataset
from torch_geometric.loader import DataLoader

from lamp_geometric import distributed as D
from lamp_geometric import metrics as M
from lamp_geometric.io import atomic_save
from lamp_geometric.nn.loss import LaMPLoss
from lamp_geometric.nn.models.lamp import LaMPOutput

#: Validation criteria :func:`fit` can select the best epoch by.
SELECT_CHOICES = ('loss', 'roc_auc', 'pr_auc', 'ebF1', 'miF1', 'maF1')


def seed_everything(seed: int) -> None:
    r"""Seeds Python, NumPy and PyTorch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_optimizer(model: torch.nn.Module, lr: float,
                   betas: Tuple[float, float] = (0.9, 0.999),
                   eps: float = 1e-8,
                   weight_decay: float = 0.) -> torch.optim.Optimizer:
    r""":class:`torch.optim.AdamW` over :obj:`model`'s parameters, with
    decoupled weight decay :obj:`weight_decay` on the weight matrices and
    embeddings (parameters with two or more dimensions) and none on biases
    and LayerNorm parameters.  With :obj:`weight_decay=0` the updates are
    Adam's (the paper's optimizer).  PyTorch's fused implementation
    (:obj:`fused=True`, one kernel for all parameters; on the CPU about
    2.5x faster than the default, ``benchmarks/train_step/``) is used where
    this PyTorch and device support it, the default one otherwise (equal
    up to float32 rounding)."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    groups = [dict(params=decay, weight_decay=weight_decay),
              dict(params=rest, weight_decay=0.)]
    groups = [g for g in groups if g['params']] or [dict(params=params)]
    try:
        return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps,
                                 fused=True)
    except (RuntimeError, TypeError, ValueError):
        # PyTorch < 2.4 on the CPU, or a device/dtype without a fused
        # kernel.
        return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps)


#: Learning rate schedules :func:`make_scheduler` knows.
SCHEDULES = ('cosine', 'linear', 'constant')


def make_scheduler(optimizer: torch.optim.Optimizer, total_steps: int,
                   warmup_steps: int = 0, schedule: str = 'cosine'
                   ) -> torch.optim.lr_scheduler.LambdaLR:
    r"""A per-step learning rate schedule: a linear warmup from 0 over
    :obj:`warmup_steps` optimizer steps, then a :obj:`'cosine'` or
    :obj:`'linear'` decay to 0 at :obj:`total_steps` (or a
    :obj:`'constant'` rate).  Step it after every optimizer step (as
    :func:`fit` does with :obj:`scheduler_interval='step'`).

    Raises:
        ValueError: On an unknown :obj:`schedule` or non-positive
            :obj:`total_steps`.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"'schedule' must be one of {SCHEDULES} (got "
                         f"'{schedule}')")
    if total_steps < 1:
        raise ValueError(f"'total_steps' must be positive (got "
                         f"{total_steps})")
    warmup = max(0, min(int(warmup_steps), total_steps - 1))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if schedule == 'constant':
            return 1.0
        done = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        if schedule == 'linear':
            return 1.0 - done
        return 0.5 * (1.0 + math.cos(math.pi * done))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def split_output(out) -> Tuple[Tensor, List[Tensor]]:
    r"""Returns :obj:`(logits, intermediate_logits)` of a model output."""
    if isinstance(out, LaMPOutput):
        return out.logits, out.intermediate_logits
    if isinstance(out, Tensor):
        return out, []
    raise TypeError(f"A model must return a LaMPOutput or a logits tensor "
                    f"(got {type(out).__name__})")


def amp_outputs(model: torch.nn.Module, batch, device: torch.device,
                amp: bool) -> Tuple[Tensor, List[Tensor]]:
    r"""Runs :obj:`model(batch)` and returns :obj:`(logits,
    intermediate_logits)`.  With :obj:`amp`, the forward pass runs under
    :func:`torch.autocast` with bfloat16 (matrix products and attention in
    bfloat16, on CPUs with AVX-512 BF16 or AMX about 2-3x the float32 rate)
    and the logits come back as float32, so the loss (including the masked
    BCE) is computed in float32 outside autocast."""
    if not amp:
        return split_output(model(batch))
    device_type = torch.device(device).type
    with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
        out = model(batch)
    logits, inter = split_output(out)
    return logits.float(), [x.float() for x in inter]


def batch_targets(batch) -> Tensor:
    r"""The targets :obj:`[B, L]` of a batch as floats, checked.

    Raises:
        ValueError: For a target other than 0, 1 or NaN (missing), naming
            the sample (and its data set row) and the label column.
    """
    y = batch.y
    if y.dim() == 1:
        y = y.view(batch.num_graphs, -1)
    y = y.float()
    bad = ~(y.isnan() | (y == 0) | (y == 1))
    if bool(bad.any()):
        i, j = bad.nonzero()[0].tolist()
        where = f"sample {i} of the batch"
        idx = getattr(batch, 'idx', None)
        if isinstance(idx, Tensor) and idx.numel() == y.size(0):
            where += f" (data set row {int(idx[i])})"
        raise ValueError(f"Invalid target {y[i, j].item()!r} at {where}, "
                         f"label column {j}: targets must be 0, 1 or NaN "
                         f"(missing)")
    return y


def train_epoch(
    model: torch.nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable = LaMPLoss(),
    device: torch.device = torch.device('cpu'),
    progress: bool = False,
    amp: bool = False,
    clip_norm: Optional[float] = None,
    scheduler: Optional[Any] = None,
    averaged: Optional[AveragedModel] = None,
) -> float:
    r"""Runs one training epoch and returns the mean training loss (weighted
    by batch size; in a distributed run, over all processes).  With
    :obj:`amp=True` the forward pass runs under bfloat16 autocast (see
    :func:`amp_outputs`); parameters, gradients and the optimizer stay
    float32.  With :obj:`clip_norm`, the gradient norm over all parameters
    is clipped to it before every step; a :obj:`scheduler` given here is
    stepped after every optimizer step, and an :obj:`averaged` model
    (:class:`~torch.optim.swa_utils.AveragedModel`, e.g. an exponential
    moving average) is updated from the weights after every step."""
    model.train()
    distributed = D.is_distributed()
    total, count = 0.0, 0
    for batch in tqdm(loader, desc='train', leave=False,
                      disable=not progress or not D.is_main_process()):
        batch = batch.to(device)
        optimizer.zero_grad()
        logits, inter = amp_outputs(model, batch, device, amp)
        loss = loss_fn(logits, batch_targets(batch), inter)
        value = loss.item()
        finite = math.isfinite(value)
        if distributed:
            # All processes stop together: one that raised alone would leave
            # the others waiting in the gradient all-reduce.
            finite = D.all_reduce_sum([0.0 if finite else 1.0])[0] == 0.0
        if not finite:
            raise FloatingPointError(f"The training loss became {value} (on "
                                     f"rank {D.get_rank()} or another); "
                                     f"lower the learning rate")
        loss.backward()
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if averaged is not None:
            averaged.update_parameters(D.unwrap_model(model))
        total += value * batch.num_graphs
        count += batch.num_graphs
    if distributed:
        total, count = D.all_reduce_sum([total, count])
    return total / max(count, 1)


@torch.no_grad()
def predict(
    model: torch.nn.Module,
    loader: DataLoader,
    device: torch.device = torch.device('cpu'),
    loss_fn: Optional[Callable] = None,
    amp: bool = False,
) -> Tuple[np.ndarray, np.ndarray, float]:
    r"""Returns :obj:`(y_true, y_prob, loss)` over a loader: targets
    :obj:`[N, L]` (NaN kept), sigmoid probabilities :obj:`[N, L]`, and the
    mean loss (:obj:`nan` without :obj:`loss_fn`).  With :obj:`amp=True` the
    forward pass runs under bfloat16 autocast (see :func:`amp_outputs`).

    In a distributed run with a loader sharded by a
    :class:`~torch.utils.data.distributed.DistributedSampler` (e.g. from
    :func:`make_loaders`), every process returns the predictions of all
    processes, gathered in data set order without duplicates (see
    :func:`lamp_geometric.distributed.all_gather_arrays`).  A
    :class:`~torch.nn.parallel.DistributedDataParallel` model is unwrapped
    first: evaluation needs no collective per batch.

    Raises:
        ValueError: If the loader yields no sample.
    """
    model = D.unwrap_model(model)
    model.eval()
    ys, probs = [], []
    total, count = 0.0, 0
    for batch in loader:
        batch = batch.to(device)
        logits, inter = amp_outputs(model, batch, device, amp)
        y = batch_targets(batch)
        if loss_fn is not None:
            total += float(loss_fn(logits, y, inter)) * batch.num_graphs
            count += batch.num_graphs
        ys.append(y.cpu())
        probs.append(torch.sigmoid(logits.float()).cpu())
    y_true = torch.cat(ys).numpy() if ys else np.zeros((0, 0), np.float32)
    y_prob = torch.cat(probs).numpy() if probs else y_true.copy()
    sampler = getattr(loader, 'sampler', None)
    if D.is_distributed() and isinstance(sampler, DistributedSampler):
        n = len(loader.dataset)
        y_true = D.all_gather_arrays(y_true, num_samples=n)
        y_prob = D.all_gather_arrays(y_prob, num_samples=n)
        total, count = D.all_reduce_sum([total, count])
    if y_true.shape[0] == 0:
        raise ValueError("The loader yielded no sample: nothing to predict "
                         "(is the data set or the split empty?)")
    loss = total / count if count > 0 else math.nan
    return y_true, y_prob, loss


@dataclass
class FitResult:
    r"""What :func:`fit` returns.

    Attributes:
        best_epoch (int): The epoch (1-based) with the best validation score.
        best_score (float): Its validation score.
        history (list of dict): Per epoch: train loss, validation loss and
            validation metrics, learning rate, training time of the epoch
            in seconds (:obj:`time`); with an :obj:`epoch_trace` also the
            trace's numbers, its cost :obj:`trace_time` and
            :obj:`elapsed` (see :func:`fit`).
        epoch_times (list of float): Seconds per training epoch.
        resumed_epoch (int): The last epoch of the checkpoint training
            resumed from (:obj:`0`: trained from the start).
        stopped_early (bool): Whether training stopped before
            :obj:`epochs` because the validation score had not improved for
            :obj:`patience` epochs.
        timed_out (bool): Whether training stopped before :obj:`epochs`
            because the next epoch would have ended past :obj:`max_time`.
    """
    best_epoch: int
    best_score: float
    history: List[Dict[str, float]] = field(default_factory=list)
    epoch_times: List[float] = field(default_factory=list)
    resumed_epoch: int = 0
    stopped_early: bool = False
    timed_out: bool = False

    @property
    def last_epoch(self) -> int:
        r"""The last epoch trained."""
        return int(self.history[-1]['epoch']) if self.history else 0

    @property
    def converged(self) -> bool:
        r"""Whether the best validation epoch came before the last one: a
        run whose best epoch is its last was still improving when it
        stopped, and more epochs may help."""
        return 0 < self.best_epoch < self.last_epoch

    @property
    def median_epoch_time(self) -> float:
        return float(np.median(self.epoch_times)) if self.epoch_times else 0.


#: What :func:`fit` calls after every epoch with :obj:`epoch_trace`:
#: :obj:`(model, epoch, y_val, p_val) -> {name: value}`.
EpochTrace = Callable[[torch.nn.Module, int, np.ndarray, np.ndarray],
                      Mapping[str, float]]


@contextlib.contextmanager
def _warn_once(seen: set) -> Iterator[None]:
    r"""Re-issues the warnings raised in the block whose text and category
    are not in :obj:`seen` (and adds them), under the caller's filters."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        yield
    for w in caught:
        key = (str(w.message), w.category)
        if key not in seen:
            seen.add(key)
            warnings.warn_explicit(w.message, w.category, w.filename,
                                   w.lineno)


def fit(
    model: torch.nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable = LaMPLoss(),
    select: str = 'loss',
    device: torch.device = torch.device('cpu'),
    progress: bool = True,
    log: Optional[Callable[[str], None]] = None,
    scheduler: Optional[Any] = None,
    checkpoint_path: Optional[str] = None,
    resume: bool = False,
    label_names: Optional[Sequence[str]] = None,
    amp: bool = False,
    val_metrics: str = 'select',
    scheduler_interval: str = 'epoch',
    clip_norm: Optional[float] = None,
    patience: Optional[int] = None,
    ema: Optional[float] = None,
    epoch_trace: Optional[EpochTrace] = None,
    max_time: Optional[float] = None,
) -> FitResult:
    r"""Trains for :obj:`epochs` epochs and leaves :obj:`model` holding the
    weights of the epoch with the best validation score.

    With :obj:`checkpoint_path`, the full training state is written there
    (atomically, by rank 0 only) after every epoch: model, optimizer and
    scheduler states, the epoch, the best state and score, the history, the
    Python/NumPy/PyTorch RNG states of every process and the state of the
    train loader's generator.  :obj:`resume=True` continues from that file,
    so a run stopped after epoch :math:`k` and resumed ends with the same
    weights and metrics as an uninterrupted one (bit for bit on the CPU).
    Build the model, optimizer, scheduler and loaders exactly as for the
    first run before resuming.

    In a distributed run (see :mod:`lamp_geometric.distributed`) the model
    is wrapped in :class:`~torch.nn.parallel.DistributedDataParallel`, the
    train sampler's epoch is set every epoch, validation metrics are
    computed on the predictions of all processes, and only rank 0 logs.

    Before training, a :class:`UserWarning` names every label without a
    positive (or without a negative) training target (see
    :func:`check_label_coverage`).

    Args:
        select (str, optional): Validation criterion, one of
            :obj:`SELECT_CHOICES`: :obj:`'loss'` (lower is better) or a metric
            of :mod:`lamp_geometric.metrics` (F1 scores at their validation-
            tuned thresholds; higher is better). (default: :obj:`'loss'`)
        log (callable, optional): Receives one line per epoch.
        scheduler (optional): A learning rate scheduler stepped once after
            every epoch (or after every optimizer step, see
            :obj:`scheduler_interval`); a
            :class:`~torch.optim.lr_scheduler.ReduceLROnPlateau` receives the
            validation score of :obj:`select`. (default: :obj:`None`)
        scheduler_interval (str, optional): :obj:`'epoch'` or
            :obj:`'step'` (e.g. for :func:`make_scheduler`).
            (default: :obj:`'epoch'`)
        clip_norm (float, optional): Clip the gradient norm to this value
            before every step. (default: :obj:`None`)
        patience (int, optional): Stop when the validation score has not
            improved for this many epochs (early stopping); the best epoch's
            weights are kept either way. (default: :obj:`None`: run all
            epochs)
        ema (float, optional): Keep an exponential moving average of the
            weights, :math:`\bar{\theta} \leftarrow \beta \bar{\theta} +
            (1 - \beta) \theta` after every optimizer step with
            :math:`\beta` = :obj:`ema`
            (:class:`~torch.optim.swa_utils.AveragedModel`); validation,
            the best epoch and the returned weights are then those of the
            average. (default: :obj:`None`: the raw weights)
        checkpoint_path (str, optional): Where to write the training state
            after every epoch. (default: :obj:`None`)
        resume (bool, optional): If set to :obj:`True`, continues from
            :obj:`checkpoint_path` when that file exists (and starts from
            scratch, saying so, when it does not). (default: :obj:`False`)
        label_names (list of str, optional): Label names for warnings.
            (default: the train data set's :obj:`label_names`, if any)
        amp (bool, optional): If set to :obj:`True`, training and validation
            forward passes run under :func:`torch.autocast` with bfloat16;
            the weights, the optimizer and the loss stay float32 (see
            :func:`amp_outputs`). (default: :obj:`False`)
        val_metrics (str, optional): What every epoch computes on the
            validation set besides its loss: :obj:`'select'` only the
            selection metric (:func:`lamp_geometric.metrics.validation_score`,
            stored as :obj:`val_<select>`), :obj:`'all'` every metric of
            :func:`lamp_geometric.metrics.evaluate` at thresholds tuned on
            the validation set.  The best epoch is the same either way; with
            hundreds of labels, :obj:`'all'` can cost more than the training
            epoch. (default: :obj:`'select'`)
        epoch_trace (callable, optional): Called after every epoch as
            :obj:`epoch_trace(model, epoch, y_val, p_val)` with the weights
            that were just validated (the moving average with :obj:`ema`),
            the epoch and that epoch's validation targets and probabilities
            (as :func:`predict` returns them); the numbers it returns (a
            mapping from new keys to floats) join the epoch's history row.
            It is a trace, never used to select the best epoch or to stop:
            e.g. the test metrics of every epoch
            (:obj:`TrainingConfig.trace_test`).  With it, every row also
            holds :obj:`trace_time`, the seconds the trace took, and
            :obj:`elapsed`, the wall-clock seconds from the start of
            training to the end of the epoch's validation (training,
            validation, checkpoints) without the traces' time: the clock of
            the same run without the trace.  After a resume,
            :obj:`elapsed` continues from the checkpoint's last row.  In a
            distributed run it is called in every process (it may use
            collectives such as :func:`predict`). (default: :obj:`None`)
        max_time (float, optional): A wall-clock budget in seconds for the
            epochs (training, validation, traces, checkpoints; continued
            after a resume): training stops before an epoch that, taking as
            long as the previous one, would end past it (at least one epoch
            runs); the best epoch's weights are kept either way.
            (default: :obj:`None`: no limit)

    Raises:
        ValueError: On an unknown :obj:`select` or :obj:`val_metrics`,
            :obj:`resume` without
            :obj:`checkpoint_path`, or a checkpoint that does not match this
            run (another :obj:`select`, a scheduler present in one but not
            the other), or an :obj:`epoch_trace` that returns a key the
            history row already has.
    """
    if select not in SELECT_CHOICES:
        raise ValueError(f"'select' must be one of {SELECT_CHOICES} (got "
                         f"'{select}')")
    if val_metrics not in ('select', 'all'):
        raise ValueError(f"'val_metrics' must be 'select' or 'all' (got "
                         f"'{val_metrics}')")
    if resume and checkpoint_path is None:
        raise ValueError("resume=True needs a 'checkpoint_path'")
    if scheduler_interval not in ('epoch', 'step'):
        raise ValueError(f"'scheduler_interval' must be 'epoch' or 'step' "
                         f"(got '{scheduler_interval}')")
    if patience is not None and patience < 1:
        raise ValueError(f"'patience' must be positive (got {patience})")
    if max_time is not None and not max_time > 0:
        raise ValueError(f"'max_time' must be positive (got {max_time})")
    if ema is not None and not 0.0 <= ema < 1.0:
        raise ValueError(f"'ema' must lie in [0, 1) (got {ema})")
    main = D.is_main_process()

    def say(line: str) -> None:
        if log is not None and main:
            log(line)

    sign = -1.0 if select == 'loss' else 1.0
    net = D.unwrap_model(model)
    best_score, best_epoch = -math.inf, 0
    best_state: Optional[Dict[str, Tensor]] = None
    result = FitResult(best_epoch=0, best_score=math.nan)
    start_epoch = 1
    averaged: Optional[AveragedModel] = None
    if ema is not None:
        averaged = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(ema),
                                 use_buffers=True)
    # The weights that are validated, kept as the best and returned.
    held = net if averaged is None else averaged.module

    if resume and checkpoint_path is not None:
        if os.path.isfile(checkpoint_path):
            state = load_training_state(checkpoint_path, map_location=device)
            if state['select'] != select:
                raise ValueError(f"'{checkpoint_path}' selects the best epoch "
                                 f"by '{state['select']}', this run by "
                                 f"'{select}'")
            if (state.get('averaged') is None) != (averaged is None):
                raise ValueError(f"'{checkpoint_path}' was written "
                                 f"{'without' if averaged else 'with'} a "
                                 f"moving average of the weights; pass the "
                                 f"same 'ema' to resume")
            if (state['scheduler'] is None) != (scheduler is None):
                raise ValueError(f"'{checkpoint_path}' was written "
                                 f"{'without' if scheduler else 'with'} a "
                                 f"learning rate scheduler; pass the same "
                                 f"one to resume")
            net.load_state_dict(state['model'])
            optimizer.load_state_dict(state['optimizer'])
            if scheduler is not None:
                scheduler.load_state_dict(state['scheduler'])
            if averaged is not None:
                averaged.load_state_dict(state['averaged'])
            best_score = float(state['best_score'])
            best_epoch = int(state['best_epoch'])
            best_state = state['best_state']
            result.history = list(state['history'])
            result.epoch_times = list(state['epoch_times'])
            result.resumed_epoch = int(state['epoch'])
            _set_rng_state(state['rng'], train_loader)
            start_epoch = result.resumed_epoch + 1
            say(f"resumed from '{checkpoint_path}' after epoch "
                f"{result.resumed_epoch}")
        else:
            say(f"no checkpoint at '{checkpoint_path}': training from the "
                f"start")

    if main and start_epoch == 1:
        y_train = _loader_targets(train_loader)
        if y_train is not None:
            names = label_names
            if names is None:
                names = getattr(train_loader.dataset, 'label_names', None)
            check_label_coverage(y_train, names, split='training')

    train_model = model
    if D.is_distributed() and not isinstance(model, DistributedDataParallel):
        train_model = DistributedDataParallel(
            model, device_ids=[device] if device.type == 'cuda' else None)
    sampler = getattr(train_loader, 'sampler', None)

    # Two clocks, continued after a resume: `elapsed` leaves the traces'
    # time out, the time limit counts it.
    elapsed_before = spent_before = 0.0
    if result.history:
        last = result.history[-1]
        elapsed_before = float(last.get('elapsed', sum(result.epoch_times)))
        spent_before = elapsed_before + sum(
            float(row.get('trace_time', 0.0)) for row in result.history)
    traced = 0.0
    previous = 0.0  # seconds of the last epoch of this call
    clock = time.perf_counter()
    bar = tqdm(range(start_epoch, epochs + 1), desc='epochs',
               disable=not progress or not main, initial=start_epoch - 1,
               total=epochs)
    # The validation set is the same every epoch, and so are its warnings
    # (e.g. labels that ranking metrics skip): each is shown once per fit.
    seen_warnings: set = set()
    for epoch in bar:
        if hasattr(sampler, 'set_epoch'):
            sampler.set_epoch(epoch)
        start = time.perf_counter()
        if patience is not None and best_epoch and (epoch - 1 - best_epoch
                                                    >= patience):
            result.stopped_early = True
            say(f"stopped after epoch {epoch - 1}: no better validation "
                f"{select} for {patience} epochs")
            break
        out_of_time = (max_time is not None and
                       spent_before + start - clock + previous > max_time)
        if max_time is not None and D.is_distributed():
            # All processes stop together (their clocks differ a little).
            out_of_time = D.all_reduce_sum([float(out_of_time)])[0] > 0
        if out_of_time:
            result.timed_out = True
            say(f"stopped after epoch {epoch - 1}: the next epoch would end "
                f"past the time limit ({max_time / 60:.1f} min)")
            break
        lr = optimizer.param_groups[0]['lr']
        train_loss = train_epoch(
            train_model, train_loader, optimizer, loss_fn, device, amp=amp,
            clip_norm=clip_norm,
            scheduler=scheduler if scheduler_interval == 'step' else None,
            averaged=averaged)
        result.epoch_times.append(time.perf_counter() - start)
        y_val, p_val, val_loss = predict(
            model if averaged is None else held, val_loader, device,
            loss_fn, amp=amp)
        row: Dict[str, float] = dict(epoch=epoch, train_loss=train_loss,
                                     val_loss=val_loss, lr=lr,
                                     time=result.epoch_times[-1])
        with _warn_once(seen_warnings):
            if val_metrics == 'all':
                thresholds = M.tune_thresholds(y_val, p_val)
                row.update({f'val_{k}': v for k, v in
                            M.evaluate(y_val, p_val, thresholds).items()})
            elif select != 'loss':
                row[f'val_{select}'] = M.validation_score(y_val, p_val,
                                                          select)
        score = val_loss if select == 'loss' else row[f'val_{select}']
        result.history.append(row)
        if scheduler is not None and scheduler_interval == 'epoch':
            if isinstance(scheduler,
                          torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(score)
            else:
                scheduler.step()
        if math.isfinite(score) and sign * score > best_score:
            best_score, best_epoch = sign * score, epoch
            best_state = copy.deepcopy(held.state_dict())
        if epoch_trace is not None:
            # Measured before the trace: the clock leaves its time out.
            row['elapsed'] = (elapsed_before + time.perf_counter() - clock
                              - traced)
            trace_start = time.perf_counter()
            with _warn_once(seen_warnings):
                extra = dict(epoch_trace(held, epoch, y_val, p_val))
            row['trace_time'] = time.perf_counter() - trace_start
            traced += row['trace_time']
            clash = sorted(set(extra) & set(row))
            if clash:
                raise ValueError(f"'epoch_trace' returned {clash}, which the "
                                 f"history row already has")
            row.update({k: float(v) for k, v in extra.items()})
        if checkpoint_path is not None:
            save_training_state(
                checkpoint_path, model=net, optimizer=optimizer,
                scheduler=scheduler, epoch=epoch, select=select,
                best_epoch=best_epoch, best_score=best_score,
                best_state=best_state, history=result.history,
                epoch_times=result.epoch_times, train_loader=train_loader,
                averaged=averaged)
        bar.set_postfix(train=f'{train_loss:.4f}', val=f'{val_loss:.4f}',
                        best=best_epoch)
        say(f"epoch {epoch:3d}  train loss {train_loss:.4f}  val loss "
            f"{val_loss:.4f}  val {select} {score:.4f}  "
            f"{result.epoch_times[-1]:.1f}s")
        previous = time.perf_counter() - start
    if best_state is not None:
        net.load_state_dict(best_state)
    result.best_epoch = best_epoch
    result.best_score = sign * best_score if best_epoch else math.nan
    return result


def evaluate_splits(
    model: torch.nn.Module,
    val_loader: DataLoader,
    test_loader: DataLoader,
    device: torch.device = torch.device('cpu'),
    amp: bool = False,
) -> Tuple[Dict[str, float], Dict[str, float], Dict[str, float]]:
    r"""Tunes one threshold per metric on validation and evaluates test
    (the forward passes under bfloat16 autocast with :obj:`amp=True`).

    Returns :obj:`(test_metrics, val_metrics, thresholds)`.
    """
    y_val, p_val, _ = predict(model, val_loader, device, amp=amp)
    y_test, p_test, _ = predict(model, test_loader, device, amp=amp)
    thresholds = M.tune_thresholds(y_val, p_val)
    return (M.evaluate(y_test, p_test, thresholds),
            M.evaluate(y_val, p_val, thresholds), thresholds)


#: The metrics :func:`trace_test_split` also records under the original
#: code's protocol (:obj:`test_paper_<metric>`).
TRACE_PAPER_KEYS = ('ebF1', 'miF1', 'maF1')


def trace_test_split(
    test_loader: DataLoader,
    device: torch.device = torch.device('cpu'),
    amp: bool = False,
) -> EpochTrace:
    r"""An :obj:`epoch_trace` for :func:`fit` that scores the test split
    after every epoch the way the final model is scored: it predicts
    :obj:`test_loader`, tunes one threshold per metric on that epoch's
    validation predictions (:func:`lamp_geometric.metrics.tune_thresholds`)
    and evaluates the test predictions at them
    (:func:`lamp_geometric.metrics.evaluate`).

    The returned numbers are every metric of
    :func:`~lamp_geometric.metrics.evaluate` as :obj:`test_<metric>`
    (:obj:`test_ebF1`, :obj:`test_miF1`, :obj:`test_maF1`,
    :obj:`test_roc_auc`, ...) and :obj:`test_paper_ebF1`,
    :obj:`test_paper_miF1`, :obj:`test_paper_maF1` under the original
    code's protocol (thresholds tuned under it; see
    :mod:`lamp_geometric.metrics`).  They trace a learning curve: selecting
    an epoch by them would leak the test set into model selection.

    Args:
        test_loader (DataLoader): The test split.
        device (torch.device, optional): (default: CPU)
        amp (bool, optional): Predict under bfloat16 autocast (see
            :func:`amp_outputs`). (default: :obj:`False`)
    """
    def trace(model: torch.nn.Module, epoch: int, y_val: np.ndarray,
              p_val: np.ndarray) -> Dict[str, float]:
        y_test, p_test, _ = predict(model, test_loader, device, amp=amp)
        row = {f'test_{k}': v for k, v in M.evaluate(
            y_test, p_test, M.tune_thresholds(y_val, p_val)).items()}
        paper = M.evaluate(y_test, p_test, M.tune_thresholds(
            y_val, p_val, protocol='paper'), protocol='paper')
        row.update({f'test_paper_{k}': paper[k] for k in TRACE_PAPER_KEYS})
        return row

    return trace


def make_loaders(
    dataset,
    splits: Sequence[Tensor],
    batch_size: int,
    seed: int = 0,
) -> Tuple[DataLoader, DataLoader, DataLoader]:
    r"""Train (shuffled with a seeded generator), validation and test
    loaders for index splits of a PyG dataset.

    In a distributed run (see :mod:`lamp_geometric.distributed`) the train
    loader samples with
    :obj:`DistributedSampler(shuffle=True, seed=seed)` (:func:`fit` calls
    its :meth:`set_epoch`) and the validation and test loaders with
    :class:`~lamp_geometric.distributed.DistributedEvalSampler`;
    :obj:`batch_size` is then per process (the global batch is
    :obj:`batch_size` times the world size).
    """
    train_idx, val_idx, test_idx = splits
    gen = torch.Generator().manual_seed(seed)
    train_ds, val_ds, test_ds = (dataset[train_idx], dataset[val_idx],
                                 dataset[test_idx])
    if D.is_distributed():
        return (
            DataLoader(train_ds, batch_size=batch_size,
                       sampler=DistributedSampler(train_ds, shuffle=True,
                                                  seed=seed),
                       generator=gen),
            DataLoader(val_ds, batch_size=batch_size,
                       sampler=D.DistributedEvalSampler(val_ds)),
            DataLoader(test_ds, batch_size=batch_size,
                       sampler=D.DistributedEvalSampler(test_ds)),
        )
    return (
        DataLoader(train_ds, batch_size=batch_size, shuffle=True,
                   generator=gen),
        DataLoader(val_ds, batch_size=batch_size),
        DataLoader(test_ds, batch_size=batch_size),
    )


def check_label_coverage(
    y: Any,
    label_names: Optional[Sequence[str]] = None,
    split: str = 'training',
) -> Dict[str, List[int]]:
    r"""Warns about labels a model cannot learn (or a metric cannot score)
    from these targets: labels without any positive, without any negative,
    or without any observed (non-NaN) target.

    Such labels do not break training -- the loss masks missing targets and
    ranking metrics skip single-class labels -- but the user should know.

    Args:
        y (array-like): Targets :obj:`[N, L]` (0, 1 or NaN).
        label_names (list of str, optional): Names used in the warning
            instead of the column indices. (default: :obj:`None`)
        split (str, optional): Name of the split, for the message.
            (default: :obj:`'training'`)

    Returns:
        dict: :obj:`'no_positive'`, :obj:`'no_negative'` and
        :obj:`'unobserved'`, each a list of label indices.
    """
    if isinstance(y, Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(f"'y' must have shape [N, L] (got {y.shape})")
    observed = ~np.isnan(y)
    unobserved = np.flatnonzero(~observed.any(0)).tolist()
    no_pos = np.flatnonzero(observed.any(0) & ~(y == 1).any(0)).tolist()
    no_neg = np.flatnonzero(observed.any(0) & ~(y == 0).any(0)).tolist()

    def name(j: int) -> str:
        if label_names is not None and j < len(label_names):
            return repr(str(label_names[j]))
        return str(j)

    parts = []
    for what, cols in (('no positive', no_pos), ('no negative', no_neg),
                       ('no observed', unobserved)):
        if cols:
            parts.append(f"{len(cols)} label(s) with {what} {split} target: "
                         f"{', '.join(name(j) for j in cols)}")
    if parts:
        warnings.warn('; '.join(parts) + ". They are trained on what there "
                      "is (the model learns a constant for them) and ranking "
                      "metrics skip labels whose targets hold one class.",
                      UserWarning, stacklevel=2)
    return dict(no_positive=no_pos, no_negative=no_neg,
                unobserved=unobserved)


# Training state ##############################################################

#: Marker stored in every training-state checkpoint.
TRAINING_STATE_FORMAT = 'lamp_geometric.training_state'
#: Version of the training-state layout.
TRAINING_STATE_VERSION = 1


def save_training_state(
    path: str,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Optional[Any],
    epoch: int,
    select: str,
    best_epoch: int,
    best_score: float,
    best_state: Optional[Dict[str, Tensor]],
    history: List[Dict[str, float]],
    epoch_times: List[float],
    train_loader: Optional[DataLoader] = None,
    averaged: Optional[AveragedModel] = None,
) -> None:
    r"""Writes what :func:`fit` needs to resume after :obj:`epoch` to
    :obj:`path` with :func:`lamp_geometric.io.atomic_save` (a crash while
    writing leaves the previous file intact).

    In a distributed run every process must call it (the RNG states of all
    processes are gathered) and only rank 0 writes.  The file holds only
    tensors, numbers, strings, lists and dictionaries, so
    :func:`load_training_state` reads it with :obj:`weights_only=True`.
    """
    rng = D.all_gather_objects(_rng_state(train_loader))
    if not D.is_main_process():
        return
    obj = dict(
        format=TRAINING_STATE_FORMAT,
        format_version=TRAINING_STATE_VERSION,
        epoch=int(epoch),
        select=select,
        model=_cpu_state(D.unwrap_model(model).state_dict()),
        optimizer=optimizer.state_dict(),
        scheduler=None if scheduler is None else scheduler.state_dict(),
        best_epoch=int(best_epoch),
        best_score=float(best_score),
        best_state=None if best_state is None else _cpu_state(best_state),
        averaged=None if averaged is None else _cpu_state(
            averaged.state_dict()),
        history=[{k: (v if isinstance(v, (int, str)) else float(v))
                  for k, v in row.items()} for row in history],
        epoch_times=[float(t) for t in epoch_times],
        world_size=D.get_world_size(),
        rng=rng,
    )
    atomic_save(obj, path)


def load_training_state(path: str,
                        map_location: Any = 'cpu') -> Dict[str, Any]:
    r"""Reads a file written by :func:`save_training_state`.

    Raises:
        FileNotFoundError: If :obj:`path` does not exist.
        ValueError: If the file is not a readable training state of a
            supported version.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Training state not found: '{path}'")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # unpickling errors come in many types
        raise ValueError(f"'{path}' is not a readable training state: {e}"
                         ) from e
    if not isinstance(obj, dict) or obj.get('format') != TRAINING_STATE_FORMAT:
        raise ValueError(f"'{path}' is not a lamp_geometric training state")
    version = int(obj.get('format_version', -1))
    if version > TRAINING_STATE_VERSION:
        raise ValueError(f"'{path}' has training-state format {version}; "
                         f"this version reads up to {TRAINING_STATE_VERSION}")
    return obj


def _cpu_state(state: Dict[str, Tensor]) -> Dict[str, Tensor]:
    return {k: v.detach().cpu().clone() for k, v in state.items()}


def _loader_generators(loader: Optional[DataLoader]) -> List[torch.Generator]:
    gens: List[torch.Generator] = []
    for owner in (loader, getattr(loader, 'sampler', None)):
        gen = getattr(owner, 'generator', None)
        if isinstance(gen, torch.Generator) and all(gen is not g
                                                    for g in gens):
            gens.append(gen)
    return gens


def _rng_state(loader: Optional[DataLoader]) -> Dict[str, Any]:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: Dict[str, Any] = dict(
        torch=torch.get_rng_state(),
        numpy=dict(kind=kind, keys=torch.from_numpy(keys.astype(np.int64)),
                   pos=int(pos), has_gauss=int(has_gauss),
                   cached_gaussian=float(cached)),
        python=random.getstate(),
        loader=[g.get_state() for g in _loader_generators(loader)],
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(states: List[Dict[str, Any]],
                   loader: Optional[DataLoader]) -> None:
    rank, world = D.get_rank(), D.get_world_size()
    if len(states) != world:
        warnings.warn(f"The checkpoint was written by {len(states)} "
                      f"process(es), this run has {world}: data order and "
                      f"dropout will differ from an uninterrupted run",
                      UserWarning, stacklevel=3)
    state = states[rank % len(states)]
    torch.set_rng_state(state['torch'].cpu())
    npy = state['numpy']
    np.random.set_state((npy['kind'], npy['keys'].cpu().numpy().astype(
        np.uint32), npy['pos'], npy['has_gauss'], npy['cached_gaussian']))
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    gens = _loader_generators(loader)
    for gen, gen_state in zip(gens, state['loader']):
        gen.set_state(gen_state.cpu())
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'].cpu())


def _loader_targets(loader: DataLoader) -> Optional[np.ndarray]:
    r"""The targets :obj:`[N, L]` of a loader's data set, or :obj:`None` if
    they cannot be read cheaply."""
    dataset = getattr(loader, 'dataset', None)
    if dataset is None:
        return None
    try:
        if isinstance(dataset, InMemoryDataset):
            data, slices = dataset._data, dataset.slices
            y = getattr(data, 'y', None)
            if (isinstance(y, Tensor) and y.dim() == 2 and slices is not None
                    and 'y' in slices and
                    bool((slices['y'].diff() == 1).all())):
                idx = torch.as_tensor(list(dataset.indices()),
                                      dtype=torch.long)
                return y[idx].float().numpy()
        ys = [data.y.reshape(1, -1).float() for data in dataset]
        return torch.cat(ys).numpy() if ys else None
    except Exception:  # an unusual data set: skip the check
        return None
