r"""Mixed precision: forward and backward under :func:`torch.autocast` give
finite values that agree with float32 within documented tolerances.

Tolerances (LaMP with FMP encoder, d = 32, 4 heads, 2 steps, a whole batch of
about 40 molecules; tiny molecules and SIDER), reduced precision vs float32:

================================  ==========  ===========================
quantity                          tolerance   observed on CPU with bf16
================================  ==========  ===========================
probabilities, max abs diff       0.02        <= 0.0076
logits, max abs diff              0.08        <= 0.031
loss (Eq. 21), relative diff      0.005       <= 0.0007
gradients, relative L2 error      0.05        <= 0.009 (cosine >= .9999)
================================  ==========  ===========================

The logits themselves are bfloat16 under autocast (the readout multiplies
in the autocast type, as a linear layer would).  bfloat16 keeps 8 bits of
mantissa (a relative rounding error of 2^-9 per operation), so differences
of this size are expected; they are far below the differences between two
training seeds.  float16 has 11 bits and the same
tolerances hold on the GPU.
"""
import pytest
import torch
from torch_geometric.data import Batch

from lamp_geometric.checkpoint import build_lamp
from lamp_geometric.graphs import co_occurrence
from lamp_geometric.nn import LaMPLoss

PROB_TOL = 0.02
LOGIT_TOL = 0.08
LOSS_RTOL = 0.005
GRAD_RTOL = 0.05

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason='needs a CUDA GPU')


def make_model(dataset, label_graph='pr', seed=0):
    torch.manual_seed(seed)
    config = dict(num_labels=dataset.num_labels, hidden=32, heads=4, steps=2,
                  label_graph=label_graph, encoder='fmp')
    if label_graph == 'pr':
        config['label_edge_index'] = co_occurrence(dataset.y)
    return build_lamp(config).eval()  # dropout off: deterministic


def forward_backward(model, batch, device_type, dtype):
    r"""Returns (float32 logits, loss, flat gradient) of one forward and
    backward pass, under autocast to :obj:`dtype` unless it is
    :obj:`None`."""
    model.zero_grad()
    with torch.autocast(device_type, dtype=dtype or torch.bfloat16,
                        enabled=dtype is not None):
        out = model(batch)
    inter = [x.float() for x in out.intermediate_logits]
    loss = LaMPLoss()(out.logits.float(), batch.y, inter)
    loss.backward()
    grad = torch.cat([p.grad.flatten() for p in model.parameters()])
    return out.logits.detach().float(), loss.detach(), grad


def check_agreement(model, batch, device_type, dtype):
    logits32, loss32, grad32 = forward_backward(model, batch, device_type,
                                                None)
    logits, loss, grad = forward_backward(model, batch, device_type, dtype)
    assert torch.isfinite(logits).all() and torch.isfinite(loss)
    assert torch.isfinite(grad).all()
    assert all(p.grad is not None for p in model.parameters())
    prob_diff = (logits.sigmoid() - logits32.sigmoid()).abs().max().item()
    logit_diff = (logits - logits32).abs().max().item()
    loss_diff = (abs(loss - loss32) / loss32).item()
    grad_diff = ((grad - grad32).norm() / grad32.norm()).item()
    assert prob_diff <= PROB_TOL, prob_diff
    assert logit_diff <= LOGIT_TOL, logit_diff
    assert loss_diff <= LOSS_RTOL, loss_diff
    assert grad_diff <= GRAD_RTOL, grad_diff
    # Reduced precision really was used (the comparison is not vacuous).
    assert logit_diff > 0


@pytest.mark.parametrize('label_graph', ['pr', 'fc'])
def test_cpu_bf16_autocast_agrees_with_float32(molecules, label_graph):
    model = make_model(molecules, label_graph)
    batch = Batch.from_data_list(list(molecules))
    check_agreement(model, batch, 'cpu', torch.bfloat16)


def test_cpu_bf16_training_step_stays_finite(molecules):
    model = make_model(molecules).train()
    batch = Batch.from_data_list(list(molecules)[:16])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(3):
        optimizer.zero_grad()
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = model(batch)
        loss = LaMPLoss()(out.logits.float(), batch.y,
                          [x.float() for x in out.intermediate_logits])
        loss.backward()
        optimizer.step()
        assert torch.isfinite(loss)
    assert all(torch.isfinite(p).all() for p in model.parameters())


@needs_cuda
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
@pytest.mark.parametrize('label_graph', ['pr', 'fc'])
def test_cuda_autocast_agrees_with_float32(molecules, dtype, label_graph):
    model = make_model(molecules, label_graph).cuda()
    batch = Batch.from_data_list(list(molecules)).cuda()
    check_agreement(model, batch, 'cuda', dtype)


@needs_cuda
def test_cuda_fp16_training_step_with_grad_scaler(molecules):
    model = make_model(molecules).cuda().train()
    batch = Batch.from_data_list(list(molecules)[:16]).cuda()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler('cuda')
    for _ in range(3):
        optimizer.zero_grad()
        with torch.autocast('cuda', dtype=torch.float16):
            out = model(batch)
        loss = LaMPLoss()(out.logits.float(), batch.y,
                          [x.float() for x in out.intermediate_logits])
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        assert torch.isfinite(loss)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_fit_with_amp_gives_finite_history(molecules):
    from lamp_geometric.data import random_split
    from lamp_geometric.train import fit, make_loaders

    model = make_model(molecules)
    loaders = make_loaders(molecules, random_split(len(molecules)), 16)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    result = fit(model, loaders[0], loaders[1], 1, optimizer, amp=True,
                 progress=False)
    row = result.history[0]
    assert torch.isfinite(torch.tensor([row['train_loss'],
                                        row['val_loss']])).all()
