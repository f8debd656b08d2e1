r"""The LaMP loss (paper Eq. 19-21), with missing targets masked out."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def masked_bce_with_logits(logits: Tensor, target: Tensor) -> Tensor:
    r"""Mean binary cross entropy over the observed (finite) targets.

    Entries of :obj:`target` that are NaN (missing labels) do not contribute.
    If no target is observed the loss is an exact zero that still depends on
    :obj:`logits` (so :meth:`backward` works and gives zero gradients).

    Args:
        logits (torch.Tensor): Pre-sigmoid predictions :obj:`[B, L]`.
        target (torch.Tensor): Targets in :math:`\{0, 1\}` or NaN,
            :obj:`[B, L]`.
    """
    if logits.shape != target.shape:
        raise ValueError(f"'logits' and 'target' must have the same shape "
                         f"(got {list(logits.shape)} and "
                         f"{list(target.shape)})")
    mask = target.isfinite()
    target = torch.where(mask, target, torch.zeros_like(target))
    loss = F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype),
                                              reduction='none')
    loss = loss * mask.to(loss.dtype)
    return loss.sum() / mask.sum().clamp(min=1).to(loss.dtype)


class LaMPLoss(torch.nn.Module):
    r"""The LaMP loss (Eq. 21): the mean binary cross entropy of the final
    readout (Eq. 19) plus :math:`\lambda` times the sum of the BCEs of the
    intermediate readouts (Eq. 20), probed with the same tied readout after
    every feature-to-label and label-to-label stage except the last:

    .. math::
        \mathcal{L}_{\mathrm{LaMP}} = \mathcal{L}_{\mathrm{out}}
        (\mathbf{y}, \hat{\mathbf{y}}) + \lambda \sum_{s < 2T}
        \mathcal{L}_{\mathrm{int}}(\mathbf{y}, \hat{\mathbf{y}}^{s})

    NaN targets (missing labels) are masked out of every term.

    Args:
        lambda_int (float, optional): Weight :math:`\lambda` of the
            intermediate losses (the paper picks it from
            :math:`\{0, 0.1, 0.2, 0.3\}`). (default: :obj:`0.2`)
    """
    def __init__(self, lambda_int: float = 0.2):
        super().__init__()
        if lambda_int < 0:
            raise ValueError(f"'lambda_int' must be non-negative "
                             f"(got {lambda_int})")
        self.lambda_int = lambda_int

    def forward(self, logits: Tensor, target: Tensor,
                intermediate: Optional[Sequence[Tensor]] = None) -> Tensor:
        r"""Computes the loss.

        Args:
            logits (torch.Tensor): Final logits :obj:`[B, L]`.
            target (torch.Tensor): Targets :obj:`[B, L]` (NaN = missing).
            intermediate (list of torch.Tensor, optional): The intermediate
                logits, each :obj:`[B, L]` (for :class:`LaMP` outputs,
                :obj:`out.intermediate_logits`). (default: :obj:`None`)
        """
        loss = masked_bce_with_logits(logits, target)
        if intermediate and self.lambda_int > 0:
            loss_int = sum(masked_bce_with_logits(x, target)
                           for x in intermediate)
            loss = loss + self.lambda_int * loss_int
        return loss

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(lambda_int={self.lambda_int})'
