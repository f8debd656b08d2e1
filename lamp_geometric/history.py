r"""Learning curves: what a training run's history says (converged or
not) and a plot of its losses and validation criterion.

The history is the per-epoch list of
:attr:`lamp_geometric.train.FitResult.history` (``epoch``, ``train_loss``,
``val_loss``, ``val_<criterion>``, ``lr``, ``time``; with
``--trace-test`` also ``test_<metric>``, ``elapsed`` and ``trace_time``),
as written to the results JSON of every experiment.
"""
from typing import Any, List, Mapping, Optional, Sequence

__all__ = ['describe_fit', 'plot_history']


def describe_fit(result: Any, select: str) -> str:
    r"""One line on a :class:`~lamp_geometric.train.FitResult`: the best
    validation epoch, the median epoch time, and *not converged* when the
    best epoch is the last one trained (the run was still improving)."""
    line = (f"best validation epoch {result.best_epoch} of "
            f"{result.last_epoch} ({select} {result.best_score:.4f}); median "
            f"epoch {result.median_epoch_time:.2f}s")
    if result.stopped_early:
        line += '; stopped early'
    if getattr(result, 'timed_out', False):
        line += '; stopped at the time limit'
    if not result.converged:
        line += ('; not converged: the best epoch is the last, train '
                 'longer')
    return line


def plot_history(history: Sequence[Mapping[str, float]], path: str,
                 select: Optional[str] = None, title: Optional[str] = None
                 ) -> str:
    r"""Writes the learning curves of :obj:`history` to a PNG file: the
    training and validation losses on the left, the validation criterion
    :obj:`val_<select>` on the right (when recorded), the best epoch
    marked.

    Args:
        history (list of dict): Per-epoch rows (see the module docs).
        path (str): The PNG file to write (folders are created).
        select (str, optional): The validation criterion to plot.
            (default: the first ``val_*`` key other than the loss)
        title (str, optional): A title for the figure.

    Returns:
        str: :obj:`path`.

    Raises:
        ValueError: If :obj:`history` is empty.
    """
    import os

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    if not history:
        raise ValueError("The history is empty: nothing to plot")
    epochs = [row['epoch'] for row in history]
    keys: List[str] = [k for k in history[0]
                       if k.startswith('val_') and k != 'val_loss']
    key = f'val_{select}' if select and select != 'loss' else (
        keys[0] if keys else None)
    fig, axes = plt.subplots(1, 2 if key else 1, figsize=(10 if key else 5,
                                                          3.5))
    axes = list(axes) if key else [axes]
    axes[0].plot(epochs, [r['train_loss'] for r in history], label='train')
    axes[0].plot(epochs, [r['val_loss'] for r in history],
                 label='validation')
    axes[0].set_xlabel('epoch')
    axes[0].set_ylabel('loss')
    axes[0].legend()
    if key and key in history[0]:
        values = [r[key] for r in history]
        best = max(range(len(values)), key=lambda i: values[i])
        axes[1].plot(epochs, values, color='tab:green')
        axes[1].axvline(epochs[best], color='grey', linestyle='--',
                        label=f'best epoch {epochs[best]}')
        axes[1].set_xlabel('epoch')
        axes[1].set_ylabel(key)
        axes[1].legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
