import pytest
import torch
import torch.nn.functional as F

from lamp_geometric.nn import DenseLaMPConv, LaMPConv


def residual_path(conv, x_dst):
    res = x_dst if conv.lin_skip is None else conv.lin_skip(x_dst)
    m = conv.norm1(res)
    return conv.norm2(m + conv.lin2(F.relu(conv.lin1(m))))


def to_sparse_graph(allowed, S, L):
    r"""The (source, destination) ``edge_index`` of the flattened batch
    equivalent to the dense ``allowed[b, i, j]`` (destination ``b * L + i``
    from source ``b * S + j``)."""
    b, i, j = allowed.nonzero(as_tuple=True)
    return torch.stack([b * S + j, b * L + i]), (b, i, j)


def allowed_mask(adj, mask, B, L, S):
    allowed = torch.ones(B, L, S, dtype=torch.bool)
    if adj is not None:
        allowed = allowed & (adj if adj.dim() == 3 else adj.unsqueeze(0))
    if mask is not None:
        allowed = allowed & mask.view(B, 1, S)
    return allowed


def make_pair(in_channels, out_channels, heads, seed=0):
    torch.manual_seed(seed)
    dense = DenseLaMPConv(in_channels, out_channels, heads=heads).eval()
    sparse = LaMPConv(in_channels, out_channels, heads=heads).eval()
    sparse.load_state_dict(dense.state_dict())
    return dense, sparse


def grads(module, *inputs):
    return [t.grad.clone() for t in inputs] + [
        p.grad.clone() for p in module.parameters()
    ]


def test_dense_lamp_conv():
    conv = DenseLaMPConv(64, 64, heads=4)
    assert str(conv) == 'DenseLaMPConv(64, 64, heads=4)'
    conv = DenseLaMPConv((16, 8), 32, heads=2)
    assert str(conv) == 'DenseLaMPConv((16, 8), 32, heads=2)'

    x_src, x_dst = torch.randn(2, 5, 16), torch.randn(2, 3, 8)
    assert conv((x_src, x_dst)).size() == (2, 3, 32)
    out, alpha = conv((x_src, x_dst), return_attention_weights=True)
    assert out.size() == (2, 3, 32) and alpha.size() == (2, 2, 3, 5)


def test_dense_lamp_conv_state_dict():
    torch.manual_seed(12345)
    for in_channels in [16, (16, 8)]:
        sparse = LaMPConv(in_channels, 32, heads=4)
        dense = DenseLaMPConv(in_channels, 32, heads=4)
        assert list(dense.state_dict().keys()) == list(
            sparse.state_dict().keys())
        for k, v in dense.state_dict().items():
            assert v.shape == sparse.state_dict()[k].shape, k
        dense.load_state_dict(sparse.state_dict(), strict=True)
        for k, v in dense.state_dict().items():
            assert torch.equal(v, sparse.state_dict()[k]), k
        sparse2 = LaMPConv(in_channels, 32, heads=4)
        sparse2.load_state_dict(dense.state_dict(), strict=True)


ADJS = ['complete', 'shared', 'batched']


def make_adj(kind, B, L, S, gen):
    if kind == 'complete':
        return None
    shape = (L, S) if kind == 'shared' else (B, L, S)
    adj = torch.rand(shape, generator=gen) < 0.6
    adj[..., 1, :] = False  # destination 1 is never allowed a source
    if kind == 'batched':
        adj[0, 0, :] = True
    return adj


@pytest.mark.parametrize('adj_kind', ADJS)
@pytest.mark.parametrize('x_dst_channels', [8, 6])  # 6: with `lin_skip`
@pytest.mark.parametrize('attention', [False, True])
def test_dense_equals_sparse_bipartite(adj_kind, x_dst_channels, attention):
    gen = torch.Generator().manual_seed(7)
    B, S, L = 4, 5, 4
    sizes = torch.tensor([5, 0, 3, 1])  # sample 1 has no feature node
    mask = torch.arange(S).view(1, -1) < sizes.view(-1, 1)
    adj = make_adj(adj_kind, B, L, S, gen)
    dense, sparse = make_pair((6, x_dst_channels), 8, heads=2)
    assert (dense.lin_skip is None) == (x_dst_channels == 8)

    x_src = torch.randn(B, S, 6, generator=gen)
    x_dst = torch.randn(B, L, x_dst_channels, generator=gen)
    w = torch.randn(B, L, 8, generator=gen)

    xs, xd = x_src.clone().requires_grad_(), x_dst.clone().requires_grad_()
    out_d = dense((xs, xd), adj=adj, mask=mask,
                  return_attention_weights=attention)
    if attention:
        out_d, alpha_d = out_d
    (out_d * w).sum().backward()
    grads_d = grads(dense, xs, xd)

    allowed = allowed_mask(adj, mask, B, L, S)
    edge_index, (b, i, j) = to_sparse_graph(allowed, S, L)
    xs, xd = x_src.clone().requires_grad_(), x_dst.clone().requires_grad_()
    out_s, (_, alpha_s) = sparse((xs.view(B * S, -1), xd.view(B * L, -1)),
                                 edge_index, return_attention_weights=True)
    out_s = out_s.view(B, L, -1)
    (out_s * w).sum().backward()
    grads_s = grads(sparse, xs, xd)

    assert torch.isfinite(out_d).all()
    assert torch.allclose(out_d, out_s, atol=1e-5)
    for gd, gs in zip(grads_d, grads_s):
        assert torch.isfinite(gd).all()
        assert torch.allclose(gd, gs, atol=1e-5)
    # Padded sources get no gradient:
    assert torch.all(grads_d[0][~mask] == 0)

    # Rows without any allowed source are the residual path:
    empty = ~allowed.any(dim=-1)
    assert empty[1].all()  # the sample without feature nodes
    if adj_kind != 'complete':
        assert empty[:, 1].all()
    assert torch.allclose(out_d[empty],
                          residual_path(dense, x_dst[empty]), atol=1e-5)
    assert not torch.allclose(out_d[~empty],
                              residual_path(dense, x_dst[~empty]), atol=1e-3)

    if attention:
        assert alpha_d.size() == (B, 2, L, S)
        assert torch.allclose(alpha_d.permute(0, 2, 3, 1)[b, i, j], alpha_s,
                              atol=1e-6)
        assert torch.all(alpha_d.permute(0, 2, 3, 1)[~allowed] == 0)
        sums = alpha_d.sum(dim=-1)  # [B, H, L]
        expected = (~empty).float().unsqueeze(1).expand(B, 2, L)
        assert torch.allclose(sums, expected, atol=1e-6)


@pytest.mark.parametrize('adj_kind', ADJS)
@pytest.mark.parametrize('attention', [False, True])
def test_dense_equals_sparse_homogeneous(adj_kind, attention):
    gen = torch.Generator().manual_seed(3)
    B, N = 3, 5
    sizes = torch.tensor([5, 2, 4])
    mask = torch.arange(N).view(1, -1) < sizes.view(-1, 1)
    adj = make_adj(adj_kind, B, N, N, gen)
    dense, sparse = make_pair(8, 8, heads=4, seed=1)

    x = torch.randn(B, N, 8, generator=gen)
    w = torch.randn(B, N, 8, generator=gen) * mask.unsqueeze(-1)

    xd = x.clone().requires_grad_()
    out_d = dense(xd, adj=adj, mask=mask, return_attention_weights=attention)
    if attention:
        out_d, alpha_d = out_d
    (out_d * w).sum().backward()
    grads_d = grads(dense, xd)
    # Padded rows come back zero:
    assert torch.all(out_d[~mask] == 0)

    allowed = allowed_mask(adj, mask, B, N, N)
    edge_index, (b, i, j) = to_sparse_graph(allowed, N, N)
    xs = x.clone().requires_grad_()
    out_s, (_, alpha_s) = sparse(xs.view(B * N, -1), edge_index,
                                 return_attention_weights=True)
    out_s = out_s.view(B, N, -1)
    (out_s * w).sum().backward()
    grads_s = grads(sparse, xs)

    assert torch.isfinite(out_d).all()
    assert torch.allclose(out_d[mask], out_s[mask], atol=1e-5)
    for gd, gs in zip(grads_d, grads_s):
        assert torch.isfinite(gd).all()
        assert torch.allclose(gd, gs, atol=1e-5)

    if attention:
        real = mask[b, i]  # compare real destination rows only
        alpha_d = alpha_d.permute(0, 2, 3, 1)
        assert torch.allclose(alpha_d[b, i, j][real], alpha_s[real],
                              atol=1e-6)
        assert torch.all(alpha_d[~allowed] == 0)


def test_dense_lamp_conv_complete_without_mask():
    # No adjacency and no mask: every destination attends to every source.
    torch.manual_seed(12345)
    dense, sparse = make_pair((8, 8), 8, heads=2)
    B, S, L = 2, 3, 4
    x_src, x_dst = torch.randn(B, S, 8), torch.randn(B, L, 8)
    out_d = dense((x_src, x_dst))
    edge_index, _ = to_sparse_graph(torch.ones(B, L, S, dtype=torch.bool), S,
                                    L)
    out_s = sparse((x_src.view(B * S, 8), x_dst.view(B * L, 8)), edge_index)
    assert torch.allclose(out_d, out_s.view(B, L, 8), atol=1e-5)

    out_h = dense(x_dst)  # homogeneous, complete
    edge_index, _ = to_sparse_graph(torch.ones(B, L, L, dtype=torch.bool), L,
                                    L)
    out_s = sparse(x_dst.view(B * L, 8), edge_index)
    assert torch.allclose(out_h, out_s.view(B, L, 8), atol=1e-5)


@pytest.mark.parametrize('attention', [False, True])
def test_dense_lamp_conv_no_nan(attention):
    torch.manual_seed(12345)
    conv = DenseLaMPConv((8, 8), 8, heads=2).eval()
    B, S, L = 3, 4, 3
    x_src = torch.randn(B, S, 8, requires_grad=True)
    x_dst = torch.randn(B, L, 8, requires_grad=True)
    mask = torch.tensor([[True, True, False, False], [False] * 4,
                         [True] * 4])
    adj = torch.ones(B, L, S, dtype=torch.bool)
    adj[:, 0] = False  # an all-False row in every sample
    adj[2] = False  # a sample with no edge at all

    out = conv((x_src, x_dst), adj=adj, mask=mask,
               return_attention_weights=attention)
    if attention:
        out, alpha = out
        assert torch.isfinite(alpha).all()
        assert torch.all(alpha[:, :, 0] == 0) and torch.all(alpha[1:] == 0)
    assert torch.isfinite(out).all()
    (out * torch.randn_like(out)).sum().backward()
    assert torch.isfinite(x_src.grad).all()
    assert torch.isfinite(x_dst.grad).all()
    assert torch.all(x_src.grad[1:] == 0)  # nothing attends to them
    for name, p in conv.named_parameters():
        assert torch.isfinite(p.grad).all(), name

    # Everything masked, in both paths: all rows are the residual path.
    for attn in [False, True]:
        out = conv((x_src, x_dst), mask=torch.zeros(B, S, dtype=torch.bool),
                   return_attention_weights=attn)
        out = out[0] if attn else out
        assert torch.allclose(out, residual_path(conv, x_dst), atol=1e-5)
        out = conv((x_src, x_dst), adj=torch.zeros(L, S, dtype=torch.bool),
                   return_attention_weights=attn)
        out = out[0] if attn else out
        assert torch.allclose(out, residual_path(conv, x_dst), atol=1e-5)


def test_dense_lamp_conv_sdpa_equals_explicit():
    torch.manual_seed(12345)
    conv = DenseLaMPConv(8, 8, heads=2).eval()
    x = torch.randn(2, 5, 8)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    adj = torch.rand(5, 5) < 0.5
    adj[3] = False
    out1 = conv(x, adj=adj, mask=mask)
    out2, _ = conv(x, adj=adj, mask=mask, return_attention_weights=True)
    assert torch.allclose(out1, out2, atol=1e-6)


def test_dense_lamp_conv_dropout():
    torch.manual_seed(12345)
    conv = DenseLaMPConv(8, 8, heads=2, dropout=0.5)
    x = torch.randn(2, 6, 8)
    conv.train()
    assert not torch.allclose(conv(x), conv(x), atol=1e-4)
    conv.eval()
    assert torch.equal(conv(x), conv(x))


def test_dense_lamp_conv_errors():
    conv = DenseLaMPConv((8, 6), 8, heads=2)
    B, S, L = 2, 4, 3
    x = (torch.randn(B, S, 8), torch.randn(B, L, 6))
    with pytest.raises(ValueError, match='boolean'):
        conv(x, adj=torch.ones(L, S))
    with pytest.raises(ValueError, match='shape'):
        conv(x, adj=torch.ones(S, L, dtype=torch.bool))
    with pytest.raises(ValueError, match='shape'):
        conv(x, adj=torch.ones(B + 1, L, S, dtype=torch.bool))
    with pytest.raises(ValueError, match='shape'):
        conv(x, adj=torch.ones(S, dtype=torch.bool))
    with pytest.raises(ValueError, match='mask'):
        conv(x, mask=torch.ones(B, L, dtype=torch.bool))
    with pytest.raises(ValueError, match='mask'):
        conv(x, mask=torch.ones(B, S))
    with pytest.raises(ValueError, match=r'\[B, N, F\]'):
        conv((x[0][0], x[1][0]))
    # Accepted shapes for reference:
    conv(x, adj=torch.ones(L, S, dtype=torch.bool))
    conv(x, adj=torch.ones(1, L, S, dtype=torch.bool),
         mask=torch.ones(B, S, dtype=torch.bool))
