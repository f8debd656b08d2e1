import math

import pytest
import torch
import torch.nn.functional as F

from lamp_geometric.nn import LaMPLoss, masked_bce_with_logits

nan = float('nan')


def bce(x, y):
    r"""Binary cross entropy of one logit, by hand."""
    p = 1 / (1 + math.exp(-x))
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def test_masked_bce_with_logits():
    torch.manual_seed(12345)
    logits = torch.randn(4, 6)
    target = torch.randint(0, 2, (4, 6)).float()
    expected = F.binary_cross_entropy_with_logits(logits, target)
    assert torch.allclose(masked_bce_with_logits(logits, target), expected)

    # Hand-computed with missing entries:
    logits = torch.tensor([[0.5, -1.0, 2.0], [0.0, 3.0, -0.5]])
    target = torch.tensor([[1.0, nan, 0.0], [nan, 1.0, nan]])
    expected = (bce(0.5, 1) + bce(2.0, 0) + bce(3.0, 1)) / 3
    loss = masked_bce_with_logits(logits, target)
    assert abs(loss.item() - expected) < 1e-6
    assert abs(expected - 0.8832) < 1e-4  # (0.4741 + 2.1269 + 0.0486) / 3

    # Missing entries get no gradient:
    logits.requires_grad_()
    masked_bce_with_logits(logits, target).backward()
    assert torch.all(logits.grad[target.isnan()] == 0)
    sig = torch.sigmoid(logits.detach())
    observed = ~target.isnan()
    expected_grad = (sig - target.nan_to_num(0)) / 3
    assert torch.allclose(logits.grad[observed], expected_grad[observed])


def test_masked_bce_all_missing():
    logits = torch.randn(2, 3, requires_grad=True)
    target = torch.full((2, 3), nan)
    loss = masked_bce_with_logits(logits, target)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    assert torch.all(logits.grad == 0)


def test_masked_bce_errors():
    with pytest.raises(ValueError, match='same shape'):
        masked_bce_with_logits(torch.randn(2, 3), torch.zeros(3, 2))
    with pytest.raises(ValueError, match='same shape'):
        LaMPLoss()(torch.randn(2, 3), torch.zeros(2, 4))


def test_lamp_loss():
    torch.manual_seed(12345)
    final = torch.randn(3, 4)
    inter = [torch.randn(3, 4) for _ in range(3)]
    target = torch.randint(0, 2, (3, 4)).float()
    assert str(LaMPLoss(0.3)) == 'LaMPLoss(lambda_int=0.3)'

    def ref(x):
        return F.binary_cross_entropy_with_logits(x, target)

    loss = LaMPLoss(0.0)(final, target, inter)
    assert torch.allclose(loss, ref(final))
    assert torch.allclose(LaMPLoss(0.3)(final, target), ref(final))

    loss = LaMPLoss(0.3)(final, target, inter)
    expected = ref(final) + 0.3 * (ref(inter[0]) + ref(inter[1]) +
                                   ref(inter[2]))
    assert torch.allclose(loss, expected)
    assert not torch.allclose(loss, ref(final))

    # Missing targets are masked out of every term:
    target[0, 1] = nan
    target[2, 3] = nan
    obs = ~target.isnan()

    def ref_masked(x):
        return F.binary_cross_entropy_with_logits(x[obs], target[obs])

    loss = LaMPLoss(0.2)(final, target, inter)
    expected = ref_masked(final) + 0.2 * sum(ref_masked(x) for x in inter)
    assert torch.allclose(loss, expected)
    assert torch.isfinite(loss)


def test_lamp_loss_negative_lambda():
    with pytest.raises(ValueError, match='lambda_int'):
        LaMPLoss(-0.1)
