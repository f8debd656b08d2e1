r"""The ``'dense'`` backend: chunked attention with dropout against the
plain form with the same random numbers, its saved weights in bfloat16, and
its dropout semantics."""
import pytest
import torch
import torch.nn.functional as F

from lamp_geometric.nn.attention import (
    AttentionPolicy,
    attention,
    attention_chunks,
    attention_policy,
)
from lamp_geometric.nn.dropout import dropout


def plain_attention(q, k, v, mask, p):
    r"""Softmax attention with dropout in plain autograd ops: what one
    chunk of the dense backend computes, drawing the same random numbers."""
    score = (q * q.size(-1)**-0.5) @ k.transpose(-1, -2)
    if mask is not None:
        score = score.masked_fill(~mask, float('-inf'))
    return dropout(score.softmax(dim=-1), p, True) @ v


@pytest.mark.parametrize('mask_kind', [None, 'shared', 'batched'])
@pytest.mark.parametrize('budget_rows', [None, 2])
@pytest.mark.parametrize('shared_q', [False, True])
@pytest.mark.parametrize('saved', ['mask', 'weights'])
def test_dense_chunked_attention_with_dropout(mask_kind, budget_rows,
                                              shared_q, saved):
    torch.manual_seed(0)
    B, H, L, S, D = 3, 2, 9, 7, 4
    q0 = torch.randn(1 if shared_q else B, H, L, D, requires_grad=True)
    k = torch.randn(B, H, S, D, requires_grad=True)
    v = torch.randn(B, H, S, D, requires_grad=True)
    q = q0.expand(B, H, L, D)
    mask = None
    if mask_kind is not None:
        mask = torch.rand(B if mask_kind == 'batched' else 1, 1, L, S) < 0.7
        mask[..., 0] = True
    # Chunks of 2 samples, or of 2 rows of one sample:
    budget = (2 * H * L * S * 4 if budget_rows is None else
              budget_rows * H * S * 4)
    # The backward pass from the saved mask or the saved weights:
    with AttentionPolicy(attention_chunk_bytes=budget,
                         saved_weights_max_itemsize=(4 if saved == 'weights'
                                                     else 2),
                         saved_weights_max_bytes=0):
        chunks = attention_chunks(B, H, L, S)
        torch.manual_seed(3)
        out = attention(q, k, v, mask, 0.3)
    assert len(chunks) > 1
    # The backward pass, outside the block, keeps the forward's chunks:
    w = torch.randn_like(out)
    grads = torch.autograd.grad((out * w).sum(), (q0, k, v))

    # The same chunks with plain autograd ops, drawing the random numbers in
    # the same order:
    torch.manual_seed(3)
    ref = torch.zeros(B, H, L, D)
    for b0, b1, r0, r1 in chunks:
        m = None
        if mask is not None:
            m = (mask[b0:b1] if mask.size(0) > 1 else mask)[:, :, r0:r1]
        ref = ref.index_put(
            (torch.arange(b0, b1).view(-1, 1, 1), torch.arange(H).view(
                1, -1, 1), torch.arange(r0, r1).view(1, 1, -1)),
            plain_attention(q[b0:b1, :, r0:r1], k[b0:b1], v[b0:b1], m, 0.3))
    assert torch.allclose(out, ref, atol=1e-6)
    ref_grads = torch.autograd.grad((ref * w).sum(), (q0, k, v))
    for g, r in zip(grads, ref_grads):
        assert torch.allclose(g, r, atol=1e-5)
    # Without dropout, one fused call:
    out0 = attention(q, k, v, mask, 0.0)
    assert torch.allclose(
        out0, F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
        atol=1e-6)
    # Without autograd, the same numbers:
    torch.manual_seed(3)
    with torch.no_grad():
        with AttentionPolicy(attention_chunk_bytes=budget):
            out_ng = attention(q, k, v, mask, 0.3)
    assert torch.allclose(out_ng, out, atol=1e-6)


def test_dense_attention_dropout_bfloat16_saves_weights():
    # In bfloat16 the backward pass uses the saved weights (no recomputed
    # softmax); it agrees with the one from the saved mask up to bfloat16
    # rounding, and the forward pass is the same.
    torch.manual_seed(0)
    B, H, L, S, D = 2, 2, 6, 5, 8
    q, k, v = (torch.randn(B, H, n, D).bfloat16().requires_grad_()
               for n in (L, S, S))
    mask = torch.rand(1, 1, L, S) < 0.7
    mask[..., 0] = True
    w = torch.randn(B, H, L, D).bfloat16()
    results = []
    for itemsize in (2, 1):  # weights, then mask
        torch.manual_seed(4)
        with attention_policy(saved_weights_max_itemsize=itemsize,
                              saved_weights_max_bytes=0):
            out = attention(q, k, v, mask, 0.4)
        results.append([out] + list(
            torch.autograd.grad((out * w).float().sum(), (q, k, v))))
    for a, b in zip(*results):
        assert a.dtype == torch.bfloat16
        assert torch.allclose(a.float(), b.float(), atol=2e-2, rtol=2e-2)
    assert torch.equal(results[0][0], results[1][0])


@pytest.mark.parametrize('with_mask', [False, True])
def test_attention_dropout_semantics(with_mask):
    torch.manual_seed(0)
    B, H, L, S, D = 2, 2, 5, 6, 4
    q, k, v = (torch.randn(B, H, n, D) for n in (L, S, S))
    mask = (torch.rand(B, 1, L, S) < 0.6) if with_mask else None
    if mask is not None:
        mask[..., 1] = True
    # Without dropout: PyTorch's attention.
    out = attention(q, k, v, mask, 0.0)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert torch.allclose(out, ref, atol=1e-5)
    # With dropout: softmax, then zero with probability p and scale.
    p = 0.25
    torch.manual_seed(5)
    out = attention(q, k, v, mask, p)  # one chunk
    torch.manual_seed(5)
    from lamp_geometric.nn.dropout import keep_mask
    keep = keep_mask((B, H, L, S), p)
    score = q @ k.transpose(-1, -2) / D**0.5
    if mask is not None:
        score = score.masked_fill(~mask, float('-inf'))
    ref = (score.softmax(-1) * keep / (1 - p)) @ v
    assert torch.allclose(out, ref, atol=1e-5)


def test_attention_policy_saves_small_float32_weights():
    # Float32 weights are kept when they fit the byte budget, else the mask;
    # both give the same forward pass and gradients.
    policy = AttentionPolicy(saved_weights_max_bytes=4 * 2 * 3 * 5 * 7)
    assert policy.save_weights((2, 3, 5, 7), 4)
    assert not policy.save_weights((2, 3, 5, 8), 4)
    assert policy.save_weights((2, 3, 5, 8), 2)
    assert not AttentionPolicy(saved_weights_max_bytes=0).save_weights(
        (1, 1, 1, 1), 4)
    torch.manual_seed(0)
    B, H, L, S, D = 2, 3, 5, 7, 4
    q, k, v = (torch.randn(B, H, n, D, requires_grad=True)
               for n in (L, S, S))
    w = torch.randn(B, H, L, D)
    results = []
    for budget in (2**20, 0):  # weights, then mask
        torch.manual_seed(4)
        with attention_policy(saved_weights_max_bytes=budget):
            out = attention(q, k, v, None, 0.3)
        results.append([out] + list(
            torch.autograd.grad((out * w).sum(), (q, k, v))))
    assert torch.equal(results[0][0], results[1][0])
    for a, b in zip(results[0][1:], results[1][1:]):
        assert torch.allclose(a, b, atol=1e-5)
