r"""The ``'edge'`` backend on its own: gradients in float64, and attention
dropout against plain ops with the same random mask."""
import torch

from lamp_geometric.nn.attention import EdgeAttention


def test_edge_attention_gradcheck():
    torch.manual_seed(0)
    H, D, n_src, n_dst = 2, 3, 5, 4
    q = torch.randn(n_dst, H, D, dtype=torch.double, requires_grad=True)
    k = torch.randn(n_src, H, D, dtype=torch.double, requires_grad=True)
    v = torch.randn(n_src, H, D, dtype=torch.double, requires_grad=True)
    src = torch.tensor([0, 1, 2, 3, 4, 0, 2])
    dst = torch.tensor([0, 0, 1, 1, 1, 2, 2])  # destination 3 isolated
    ptr = torch.tensor([0, 2, 5, 7, 7])

    def fn(q, k, v):
        out, _ = EdgeAttention.apply(q, k, v, src, dst, ptr, n_dst, 0.0)
        return out.double()

    # The kernel computes in float32: loose tolerances.
    assert torch.autograd.gradcheck(fn, (q, k, v), eps=1e-3, atol=1e-3,
                                    rtol=1e-2)


def test_edge_attention_dropout_gradients():
    torch.manual_seed(0)
    H, D, n = 2, 4, 6
    q = torch.randn(n, H, D, requires_grad=True)
    k = torch.randn(n, H, D, requires_grad=True)
    v = torch.randn(n, H, D, requires_grad=True)
    src = torch.randint(0, n, (20, ))
    dst = torch.randint(0, n, (20, ))
    p = 0.4
    torch.manual_seed(7)
    out, alpha = EdgeAttention.apply(q, k, v, src, dst, None, n, p)
    w = torch.randn_like(out)
    gq, gk, gv = torch.autograd.grad((out * w).sum(), (q, k, v))

    # The same computation with plain ops and the same random mask:
    torch.manual_seed(7)
    from lamp_geometric.nn.dropout import keep_mask
    keep = keep_mask((20, H), p)
    score = (q[dst] * k[src]).sum(-1) / D**0.5
    from torch_geometric.utils import softmax
    a = softmax(score, dst, num_nodes=n)
    assert torch.allclose(a, alpha, atol=1e-6)
    msg = v[src] * (a * keep / (1 - p)).unsqueeze(-1)
    ref = torch.zeros(n, H, D).index_add(0, dst, msg)
    assert torch.allclose(out, ref, atol=1e-5)
    rq, rk, rv = torch.autograd.grad((ref * w).sum(), (q, k, v))
    for g, r in ((gq, rq), (gk, rk), (gv, rv)):
        assert torch.allclose(g, r, atol=1e-5)
