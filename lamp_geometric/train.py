r"""Training and prediction loops for multi-label models on PyG batches.

The loops are model-agnostic: a model maps a batch to either a
:class:`~lamp_geometric.nn.LaMPOutput` (its intermediate readouts then enter
the LaMP loss) or a plain logits tensor :obj:`[B, L]`.  Targets are
:obj:`batch.y` of shape :obj:`[B, L]` with NaN for missing labels.
"""
import copy
import math
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from torch_geometric.loader import DataLoader

from lamp_geometric import metrics as M
from lamp_geometric.nn.loss import LaMPLoss
from lamp_geometric.nn.models.lamp import LaMPOutput

#: Validation criteria :func:`fit` can select the best epoch by.
SELECT_CHOICES = ('loss', 'roc_auc', 'pr_auc', 'ebF1', 'miF1', 'maF1')


def seed_everything(seed: int) -> None:
    r"""Seeds Python, NumPy and PyTorch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def split_output(out) -> Tuple[Tensor, List[Tensor]]:
    r"""Returns :obj:`(logits, intermediate_logits)` of a model output."""
    if isinstance(out, LaMPOutput):
        return out.logits, out.intermediate_logits
    if isinstance(out, Tensor):
        return out, []
    raise TypeError(f"A model must return a LaMPOutput or a logits tensor "
                    f"(got {type(out).__name__})")


def _targets(batch) -> Tensor:
    y = batch.y
    if y.dim() == 1:
        y = y.view(batch.num_graphs, -1)
    return y.float()


def train_epoch(
    model: torch.nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable = LaMPLoss(),
    device: torch.device = torch.device('cpu'),
    progress: bool = False,
) -> float:
    r"""Runs one training epoch and returns the mean training loss (weighted
    by batch size)."""
    model.train()
    total, count = 0.0, 0
    for batch in tqdm(loader, desc='train', leave=False, disable=not progress):
        batch = batch.to(device)
        optimizer.zero_grad()
        logits, inter = split_output(model(batch))
        loss = loss_fn(logits, _targets(batch), inter)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"The training loss became {loss.item()}"
                                     f"; lower the learning rate")
        loss.backward()
        optimizer.step()
        total += float(loss) * batch.num_graphs
        count += batch.num_graphs
    return total / max(count, 1)


@torch.no_grad()
def predict(
    model: torch.nn.Module,
    loader: DataLoader,
    device: torch.device = torch.device('cpu'),
    loss_fn: Optional[Callable] = None,
) -> Tuple[np.ndarray, np.ndarray, float]:
    r"""Returns :obj:`(y_true, y_prob, loss)` over a loader: targets
    :obj:`[N, L]` (NaN kept), sigmoid probabilities :obj:`[N, L]`, and the
    mean loss (:obj:`nan` without :obj:`loss_fn`)."""
    model.eval()
    ys, probs = [], []
    total, count = 0.0, 0
    for batch in loader:
        batch = batch.to(device)
        logits, inter = split_output(model(batch))
        y = _targets(batch)
        if loss_fn is not None:
            total += float(loss_fn(logits, y, inter)) * batch.num_graphs
            count += batch.num_graphs
        ys.append(y.cpu())
        probs.append(torch.sigmoid(logits.float()).cpu())
    y_true = torch.cat(ys).numpy()
    y_prob = torch.cat(probs).numpy()
    loss = total / count if count > 0 else math.nan
    return y_true, y_prob, loss


@dataclass
class FitResult:
    r"""What :func:`fit` returns.

    Attributes:
        best_epoch (int): The epoch (1-based) with the best validation score.
        best_score (float): Its validation score.
        history (list of dict): Per epoch: train loss, validation loss and
            validation metrics, epoch time in seconds.
        epoch_times (list of float): Seconds per training epoch.
    """
    best_epoch: int
    best_score: float
    history: List[Dict[str, float]] = field(default_factory=list)
    epoch_times: List[float] = field(default_factory=list)

    @property
    def median_epoch_time(self) -> float:
        return float(np.median(self.epoch_times)) if self.epoch_times else 0.


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
) -> FitResult:
    r"""Trains for :obj:`epochs` epochs and leaves :obj:`model` holding the
    weights of the epoch with the best validation score.

    Args:
        select (str, optional): Validation criterion, one of
            :obj:`SELECT_CHOICES`: :obj:`'loss'` (lower is better) or a metric
            of :mod:`lamp_geometric.metrics` (F1 scores at their validation-
            tuned thresholds; higher is better). (default: :obj:`'loss'`)
        log (callable, optional): Receives one line per epoch.
    """
    if select not in SELECT_CHOICES:
        raise ValueError(f"'select' must be one of {SELECT_CHOICES} (got "
                         f"'{select}')")
    sign = -1.0 if select == 'loss' else 1.0
    best_score, best_epoch, best_state = -math.inf, 0, None
    result = FitResult(best_epoch=0, best_score=math.nan)
    bar = tqdm(range(1, epochs + 1), desc='epochs', disable=not progress)
    for epoch in bar:
        start = time.perf_counter()
        train_loss = train_epoch(model, train_loader, optimizer, loss_fn,
                                 device)
        result.epoch_times.append(time.perf_counter() - start)
        y_val, p_val, val_loss = predict(model, val_loader, device, loss_fn)
        row: Dict[str, float] = dict(epoch=epoch, train_loss=train_loss,
                                     val_loss=val_loss,
                                     time=result.epoch_times[-1])
        if select == 'loss':
            score = val_loss
        else:
            thresholds = M.tune_thresholds(y_val, p_val)
            val_metrics = M.evaluate(y_val, p_val, thresholds)
            row.update({f'val_{k}': v for k, v in val_metrics.items()})
            score = val_metrics[select]
        result.history.append(row)
        if math.isfinite(score) and sign * score > best_score:
            best_score, best_epoch = sign * score, epoch
            best_state = copy.deepcopy(model.state_dict())
        bar.set_postfix(train=f'{train_loss:.4f}', val=f'{val_loss:.4f}',
                        best=best_epoch)
        if log is not None:
            log(f"epoch {epoch:3d}  train loss {train_loss:.4f}  val loss "
                f"{val_loss:.4f}  val {select} {score:.4f}  "
                f"{result.epoch_times[-1]:.1f}s")
    if best_state is not None:
        model.load_state_dict(best_state)
    result.best_epoch = best_epoch
    result.best_score = sign * best_score if best_epoch else math.nan
    return result


def evaluate_splits(
    model: torch.nn.Module,
    val_loader: DataLoader,
    test_loader: DataLoader,
    device: torch.device = torch.device('cpu'),
) -> Tuple[Dict[str, float], Dict[str, float], Dict[str, float]]:
    r"""Tunes one threshold per metric on validation and evaluates test.

    Returns :obj:`(test_metrics, val_metrics, thresholds)`.
    """
    y_val, p_val, _ = predict(model, val_loader, device)
    y_test, p_test, _ = predict(model, test_loader, device)
    thresholds = M.tune_thresholds(y_val, p_val)
    return (M.evaluate(y_test, p_test, thresholds),
            M.evaluate(y_val, p_val, thresholds), thresholds)


def make_loaders(
    dataset,
    splits: Sequence[Tensor],
    batch_size: int,
    seed: int = 0,
) -> Tuple[DataLoader, DataLoader, DataLoader]:
    r"""Train (shuffled with a seeded generator), validation and test
    loaders for index splits of a PyG dataset."""
    train_idx, val_idx, test_idx = splits
    gen = torch.Generator().manual_seed(seed)
    return (
        DataLoader(dataset[train_idx], batch_size=batch_size, shuffle=True,
                   generator=gen),
        DataLoader(dataset[val_idx], batch_size=batch_size),
        DataLoader(dataset[test_idx], batch_size=batch_size),
    )
