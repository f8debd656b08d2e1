r"""The fast paths give the outputs of the plain paths.

* LaMPConv's ``'edge'`` backend (the default for a plain ``edge_index``)
  against its ``'segment'`` backend (``MessagePassing.propagate``): outputs,
  attention and gradients, sorted and unsorted destinations, several chunks,
  attention dropout.
* The stacked key/value (and query) projection against three ``Linear``
  calls; destination features shared by all samples (``[1, L, C]``) against
  the same features expanded to ``[B, L, C]``.
* DenseLaMPConv's chunked attention with dropout against unchunked attention
  with the same random masks; its factored attention over few sources
  (the policy's ``factored_max_cost``) against the plain one, and where it
  is taken.
* LaMP: the first step's shared label projection against the expanded one;
  the sparse path never builds the ``[L, L]`` adjacency.
* bfloat16 autocast against float32, within the documented tolerance:
  logits within ``0.05 + 0.02 * |logit|`` and probabilities within ``0.02``
  of float32 (measured: about 0.02 and 0.006 at d=64..512); the loss stays
  float32.
"""
import types

import pytest
import torch
import torch.nn.functional as F

from lamp_geometric.nn import DenseLaMPConv, LaMP, LaMPConv, LaMPLoss
from lamp_geometric.nn import attention as A
from lamp_geometric.nn.attention import EdgeAttention, attention_policy
from lamp_geometric.nn.conv import dense_lamp_conv

#: Documented bfloat16-autocast tolerance (see the module docstring).
BF16_LOGIT_ATOL, BF16_LOGIT_RTOL, BF16_PROB_ATOL = 0.05, 0.02, 0.02


def spy_on(monkeypatch, owner, name, record=lambda *args, **kwargs: 1):
    r"""Replaces :obj:`owner.name` by a wrapper that appends
    :obj:`record(*args, **kwargs)` to the returned list on every call."""
    calls = []
    real = getattr(owner, name)

    def spy(*args, **kwargs):
        calls.append(record(*args, **kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return calls


def plain_project(self, x_src, x_dst, shared):
    return self.lin_query(x_dst), self.lin_key(x_src), self.lin_value(x_src)


def run_conv(conv, x, edge_index, w, backend):
    conv.zero_grad(set_to_none=True)
    xs = [t.detach().clone().requires_grad_() for t in x]
    inp = xs[0] if len(xs) == 1 else tuple(xs)
    with attention_policy(backend=backend):
        out, (ei, alpha) = conv(inp, edge_index,
                                return_attention_weights=True)
    (out * w).sum().backward()
    grads = [t.grad for t in xs] + [p.grad for p in conv.parameters()]
    return out, ei, alpha, grads


def assert_all_close(a, b, atol):
    r"""Two lists of tensors (outputs, gradients) agree: the same entries
    are :obj:`None`, the others are finite and close."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert (x is None) == (y is None)
        if x is not None:
            assert torch.isfinite(x).all()
            assert torch.allclose(x, y, atol=atol)


def assert_same(a, b, atol=1e-5):
    out_a, ei_a, alpha_a, grads_a = a
    out_b, ei_b, alpha_b, grads_b = b
    assert torch.allclose(out_a, out_b, atol=atol)
    assert torch.equal(ei_a, ei_b)
    assert torch.allclose(alpha_a, alpha_b, atol=atol)
    assert_all_close(grads_a, grads_b, atol)


@pytest.mark.parametrize('bipartite', [False, True])
@pytest.mark.parametrize('sort', [False, True])
@pytest.mark.parametrize('bias', [False, True])
def test_fused_edge_attention_equals_propagate(bipartite, sort, bias, policy):
    torch.manual_seed(12345)
    n_src, n_dst = (12, 7) if bipartite else (9, 9)
    in_channels = (16, 8) if bipartite else 16
    conv = LaMPConv(in_channels, 32, heads=4, bias=bias).eval()
    x = ([torch.randn(n_src, 16), torch.randn(n_dst, 8)]
         if bipartite else [torch.randn(n_src, 16)])
    # Destination n_dst - 1 gets no edge (a zero message), some pairs repeat.
    edge_index = torch.stack([torch.randint(0, n_src, (40, )),
                              torch.randint(0, n_dst - 1, (40, ))])
    if sort:
        edge_index = edge_index[:, edge_index[1].argsort(stable=True)]
    w = torch.randn(n_dst, 32)
    plain = run_conv(conv, x, edge_index, w, 'segment')
    # Several chunks of 3 edges:
    policy(edge_chunk_elements=3 * 32)
    fused = run_conv(conv, x, edge_index, w, 'edge')
    assert_same(fused, plain)


def test_fused_edge_attention_is_used_and_falls_back():
    torch.manual_seed(0)
    conv = LaMPConv(8, 8, heads=2)
    calls = []
    orig = EdgeAttention.apply

    def counting(*args):
        calls.append(1)
        return orig(*args)

    x = torch.randn(5, 8)
    edge_index = torch.tensor([[0, 1, 2, 3, 4], [1, 2, 3, 4, 0]])
    EdgeAttention.apply = counting
    try:
        out = conv(x, edge_index)
        assert len(calls) == 1
        with attention_policy(backend='segment'):
            assert torch.allclose(conv(x, edge_index), out, atol=1e-6)
        # A message hook needs `propagate`:
        handle = conv.register_message_forward_hook(lambda *args: None)
        assert torch.allclose(conv(x, edge_index), out, atol=1e-6)
        handle.remove()
        # int32 indices go through `propagate`:
        conv(x, edge_index.int())
        assert len(calls) == 1
    finally:
        EdgeAttention.apply = orig


def test_fused_edge_attention_empty_and_isolated():
    torch.manual_seed(0)
    conv = LaMPConv((8, 4), 8, heads=2).eval()
    x = (torch.randn(3, 8), torch.randn(4, 4))
    empty = torch.empty(2, 0, dtype=torch.long)
    with attention_policy(backend='segment'):
        expected = conv(x, empty)
    out, (_, alpha) = conv(x, empty, return_attention_weights=True)
    assert torch.allclose(out, expected, atol=1e-6)
    assert alpha.size() == (0, 2)


@pytest.mark.parametrize('homogeneous', [False, True])
def test_stacked_projections(homogeneous):
    torch.manual_seed(0)
    conv = DenseLaMPConv(16 if homogeneous else (16, 8), 16, heads=2,
                         bias=True).eval()
    B, S, L = 3, 5, 4
    x = (torch.randn(B, 5, 16) if homogeneous else
         (torch.randn(B, S, 16), torch.randn(B, L, 8)))
    mask = torch.rand(B, S) < 0.7
    out = conv(x, mask=mask)
    conv._project = types.MethodType(plain_project, conv)
    assert torch.allclose(conv(x, mask=mask), out, atol=1e-6)


def test_dense_shared_destinations():
    torch.manual_seed(0)
    conv = DenseLaMPConv((16, 8), 16, heads=4)
    B, S, L = 4, 6, 5
    x_src = torch.randn(B, S, 16)
    mask = torch.rand(B, S) < 0.6
    mask[2] = False  # a sample without sources
    x_dst = torch.randn(1, L, 8)
    w = torch.randn(B, L, 16)
    results = []
    for shared in (True, False):
        conv.zero_grad(set_to_none=True)
        xs = x_src.clone().requires_grad_()
        xd = x_dst.clone().requires_grad_()
        inp = xd if shared else xd.expand(B, L, 8)
        out = conv.eval()((xs, inp), mask=mask)
        (out * w).sum().backward()
        results.append([out, xs.grad, xd.grad] +
                       [p.grad for p in conv.parameters()])
    for a, b in zip(*results):
        assert torch.allclose(a, b, atol=1e-5)
    out, alpha = conv((x_src, x_dst), mask=mask,
                      return_attention_weights=True)
    assert out.size() == (B, L, 16) and alpha.size() == (B, 4, L, S)
    with pytest.raises(ValueError, match=r'\[1, L, F\]'):
        conv((x_src, torch.randn(2, L, 8)))


def make_lamp(path, L=6, d=16, seed=0):
    torch.manual_seed(seed)
    prior = torch.tensor([[0, 1, 2, 3, 4, 5, 1], [1, 2, 0, 4, 3, 1, 5]])
    return LaMP(L, d, steps=2, heads=2, label_graph='pr',
                label_edge_index=prior, path=path)


def features(B=3, S=4, d=16, seed=1):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(B * S, d, generator=g)
    batch = torch.arange(B).repeat_interleave(S)
    return z, batch


def dense_grads(conv, x_src, x_dst, w, **kwargs):
    r"""Output, input gradients and parameter gradients of
    :obj:`(conv((x_src, x_dst), **kwargs) * w).sum()`."""
    conv.zero_grad(set_to_none=True)
    xs, xd = x_src.clone().requires_grad_(), x_dst.clone().requires_grad_()
    out = conv((xs, xd), **kwargs)
    (out * w).sum().backward()
    return [out, xs.grad, xd.grad] + [p.grad for p in conv.parameters()]


def stage_grads(model, z, batch, w):
    r"""Logits, feature gradient and parameter gradients of the sum of
    every stage's logits weighted by :obj:`w [B, L]`."""
    model.zero_grad(set_to_none=True)
    zz = z.clone().requires_grad_()
    out = model.forward_features(zz, batch, w.size(0))
    sum((s * w).sum() for s in out.stage_logits).backward()
    return [out.logits, zz.grad] + [p.grad for p in model.parameters()]


@pytest.mark.parametrize('path', ['dense', 'sparse'])
def test_lamp_shared_first_step_equals_expanded(path):
    model = make_lamp(path).eval()
    z, batch = features()
    w = torch.randn(3, 6)

    def run():
        return stage_grads(model, z, batch, w)

    fast = run()
    first = model.xy_convs[0]
    forward = first.forward

    def expanded(x, *args, **kwargs):
        x_src, x_dst = x
        if x_dst.dim() == 3:
            x_dst = x_dst.expand(x_src.size(0), -1, -1)
        return forward((x_src, x_dst), *args, **kwargs)

    first.forward = expanded
    for conv in list(model.xy_convs) + list(model.yy_convs):
        conv._project = types.MethodType(plain_project, conv)
    with attention_policy(backend='segment'):
        plain = run()
    for a, b in zip(fast, plain):
        assert torch.allclose(a, b, atol=1e-5)


def test_lamp_sparse_path_never_builds_label_adj():
    L = 3000  # a dense [L, L] adjacency would be 9 MB; it is never built
    g = torch.Generator().manual_seed(0)
    prior = torch.randint(0, L, (2, 5 * L), generator=g)
    model = LaMP(L, 8, steps=1, heads=2, label_graph='pr',
                 label_edge_index=prior)
    assert not model.yy_dense  # auto: a sparse prior takes the sparse path

    def fail():
        raise AssertionError('the sparse path built the dense adjacency')

    model.label_adj = fail
    z, batch = features(B=2, S=3, d=8)
    out = model.forward_features(z, batch, 2)
    assert out.logits.size() == (2, L)
    edge_index = model._yy_graph(2)['edge_index']
    assert bool((edge_index[1][1:] >= edge_index[1][:-1]).all())


@pytest.mark.parametrize('path', ['dense', 'sparse'])
def test_bf16_autocast_within_tolerance(path):
    model = make_lamp(path, d=64, seed=3).train()
    for conv in list(model.xy_convs) + list(model.yy_convs):
        conv.dropout = 0.0  # compare deterministic passes
    z, batch = features(d=64)
    y = (torch.rand(3, 6) < 0.3).float()
    y[0, 0] = float('nan')
    loss_fn = LaMPLoss()

    def run(amp):
        model.zero_grad(set_to_none=True)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp):
            out = model.forward_features(z, batch, 3)
        logits = out.logits.float()
        loss = loss_fn(logits, y, [s.float() for s in
                                   out.intermediate_logits])
        loss.backward()
        grad = torch.cat([p.grad.flatten() for p in model.parameters()
                          if p.grad is not None])
        return logits.detach(), loss, grad

    logits32, loss32, grad32 = run(False)
    logits16, loss16, grad16 = run(True)
    assert loss16.dtype == torch.float32
    err = (logits16 - logits32).abs()
    assert bool((err <= BF16_LOGIT_ATOL +
                 BF16_LOGIT_RTOL * logits32.abs()).all()), err.max()
    assert (logits16.sigmoid() - logits32.sigmoid()).abs().max() <= \
        BF16_PROB_ATOL
    assert abs(float(loss16.detach()) - float(loss32.detach())) < 0.02
    assert F.cosine_similarity(grad16, grad32, dim=0) > 0.99


def test_train_amp_outputs_are_float32():
    from lamp_geometric.train import amp_outputs
    model = make_lamp('dense')

    class Encoder(torch.nn.Module):
        def forward(self, data):
            return data.z

    model.encoder = Encoder()
    z, batch = features()
    data = types.SimpleNamespace(z=z, batch=batch, num_graphs=3)
    logits, inter = amp_outputs(model, data, torch.device('cpu'), True)
    assert logits.dtype == torch.float32
    assert all(x.dtype == torch.float32 for x in inter)
    ref, _ = amp_outputs(model, data, torch.device('cpu'), False)
    assert (logits - ref).abs().max() < BF16_LOGIT_ATOL + \
        BF16_LOGIT_RTOL * ref.abs().max()


def test_ragged_groups_cover_every_sample_once():
    lengths = torch.tensor([3, 0, 300, 5, 4, 0, 290, 40])
    groups = A.ragged_groups(lengths)
    seen = torch.cat([idx for idx, _ in groups]).sort().values
    assert torch.equal(seen, torch.arange(8))
    for idx, size in groups:
        assert size == int(lengths[idx].max())
        # Each group stays filled (a single sample always is):
        assert (idx.numel() == 1 or
                int(lengths[idx].sum()) >= 0.8 * idx.numel() * size)
    sizes = sorted(size for _, size in groups)
    assert sizes[0] == 0  # the empty samples form their own group
    (idx, size), = A.ragged_groups(torch.tensor([7, 7, 7]))
    assert idx.tolist() == [0, 1, 2] and size == 7


@pytest.mark.parametrize('shared_q', [False, True])
def test_ragged_attention_equals_padded(shared_q):
    torch.manual_seed(0)
    lengths = torch.tensor([2, 9, 0, 3, 9, 1])
    B, H, L, S, D = lengths.numel(), 2, 5, 9, 4
    q0 = torch.randn(1 if shared_q else B, H, L, D, requires_grad=True)
    k = torch.randn(B, H, S, D, requires_grad=True)
    v = torch.randn(B, H, S, D, requires_grad=True)
    q = q0.expand(B, H, L, D)
    real = torch.arange(S).view(1, S) < lengths.view(B, 1)
    out = A.ragged_attention(q, k, v, lengths)
    w = torch.randn_like(out)
    grads = torch.autograd.grad((out * w).sum(), (q0, k, v))
    # Padded reference; the sample without sources gets zero rows.
    mask = (real | ~real.any(1, keepdim=True)).view(B, 1, 1, S)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    ref = ref * real.any(1).view(B, 1, 1, 1)
    assert torch.allclose(out, ref, atol=1e-6)
    ref_grads = torch.autograd.grad((ref * w).sum(), (q0, k, v))
    for g, r in zip(grads, ref_grads):
        assert torch.allclose(g, r, atol=1e-5)
    # With dropout: finite, and padding still receives no gradient.
    out = A.ragged_attention(q, k, v, lengths, 0.3)
    gk = torch.autograd.grad(out.sum(), k)[0]
    assert torch.isfinite(out).all()
    assert (gk.abs().sum((1, 3))[~real] == 0).all()


def test_dense_conv_takes_the_ragged_path_only_when_it_pays(monkeypatch,
                                                            policy):
    torch.manual_seed(0)
    conv = DenseLaMPConv((8, 8), 8, heads=2).eval()
    B, S, L = 4, 12, 3
    lengths = torch.tensor([1, 12, 2, 0])
    mask = torch.arange(S).view(1, S) < lengths.view(B, 1)  # fill .31
    x_src, x_dst = torch.randn(B, S, 8), torch.randn(1, L, 8)
    calls = spy_on(monkeypatch, dense_lamp_conv, 'ragged_attention')
    padded = conv((x_src, x_dst), mask=mask)
    assert not calls  # B * H * L * S is far below ragged_min_weights
    policy(ragged_min_weights=0)
    ragged = conv((x_src, x_dst), mask=mask)
    assert calls
    assert torch.allclose(ragged, padded, atol=1e-6)
    # Not a prefix mask, or a full one: the padded path.
    calls.clear()
    conv((x_src, x_dst), mask=mask.flip(1))
    conv((x_src, x_dst), mask=torch.ones(B, S, dtype=torch.bool))
    assert not calls


def test_ragged_path_of_homogeneous_attention(policy):
    # FMP over a complete graph within each sample: queries are trimmed too.
    torch.manual_seed(0)
    conv = DenseLaMPConv(8, 8, heads=2).eval()
    B, S = 4, 10
    lengths = torch.tensor([3, 10, 1, 2])
    mask = torch.arange(S).view(1, S) < lengths.view(B, 1)
    x = torch.randn(B, S, 8, requires_grad=True)
    w = torch.randn(B, S, 8)
    padded = conv(x, mask=mask)
    g_padded = torch.autograd.grad((padded * w).sum(), x)[0]
    policy(ragged_min_weights=0)
    ragged = conv(x, mask=mask)
    g_ragged = torch.autograd.grad((ragged * w).sum(), x)[0]
    assert torch.allclose(ragged, padded, atol=1e-6)
    assert torch.allclose(g_ragged, g_padded, atol=1e-6)
    assert (ragged[~mask] == 0).all()
    q, k, v = (torch.randn(B, 2, S, 4) for _ in range(3))
    out = A.ragged_attention(q, k, v, lengths,
                                           trim_queries=True)
    assert out.shape == (B, 2, S, 4)
    assert (out.transpose(1, 2)[~mask] == 0).all()


FACTORED_CASES = [(shared, bias, x_dst_channels, masks)
                  for shared in (False, True) for bias in (False, True)
                  for x_dst_channels in (8, 6)  # 6: with `lin_skip`
                  for masks in ('none', 'mask', 'adj', 'batched')]


@pytest.mark.parametrize('shared,bias,x_dst_channels,masks', FACTORED_CASES)
def test_factored_attention_equals_plain(shared, bias, x_dst_channels, masks,
                                         policy):
    gen = torch.Generator().manual_seed(5)
    B, S, L = 3, 4, 7
    conv = DenseLaMPConv((6, x_dst_channels), 8, heads=2, bias=bias)
    conv = conv.double().eval()
    x_src = torch.randn(B, S, 6, generator=gen, dtype=torch.double)
    x_dst = torch.randn(1 if shared else B, L, x_dst_channels, generator=gen,
                        dtype=torch.double)
    w = torch.randn(B, L, 8, generator=gen, dtype=torch.double)
    mask = adj = None
    if masks != 'none':  # sample 1 has no feature node
        mask = torch.arange(S).view(1, S) < torch.tensor([4, 0, 2]).view(B, 1)
    if masks == 'adj':
        adj = torch.rand(L, S, generator=gen) < 0.5
        adj[1] = False  # label 1 never receives a message
    if masks == 'batched':
        adj = torch.rand(B, L, S, generator=gen) < 0.5

    def run(cost):
        policy(factored_max_cost=cost)
        return dense_grads(conv, x_src, x_dst, w, adj=adj, mask=mask)

    factored, plain = run(float('inf')), run(0.0)
    assert factored[0].shape == (B, L, 8)
    assert_all_close(factored, plain, atol=1e-10)


def test_dense_conv_takes_the_factored_path_only_when_it_pays(monkeypatch,
                                                              policy):
    torch.manual_seed(0)
    calls = spy_on(monkeypatch, dense_lamp_conv, 'factored_message')
    conv = DenseLaMPConv(64, 64, heads=4).eval()
    few = (torch.randn(2, 3, 64), torch.randn(2, 200, 64))  # S << L, d
    many = (torch.randn(2, 200, 64), torch.randn(2, 30, 64))
    plain, factored = A.factored_costs(200, 3, 64, 64, 4,
                                                     False)
    assert factored < A.get_policy().factored_max_cost * plain
    conv(few)
    assert len(calls) == 1
    plain, factored = A.factored_costs(30, 200, 64, 64, 4,
                                                     False)
    assert factored > plain
    conv(many)
    conv(few, return_attention_weights=True)  # needs the [L, S] weights
    conv(torch.randn(2, 5, 64))  # homogeneous
    assert len(calls) == 1
    policy(factored_max_cost=0.0)
    conv(few)
    assert len(calls) == 1
    # The plain cost counts the real sources of a padded batch: 3 real
    # sources padded to 40 are cheaper on the (ragged) plain path.
    policy(factored_max_cost=0.8)
    mask = torch.zeros(2, 40, dtype=torch.bool)
    mask[:, :3] = True
    conv((torch.randn(2, 40, 64), few[1]), mask=mask)
    assert len(calls) == 1


def test_factored_attention_dropout_and_bfloat16(policy):
    torch.manual_seed(0)
    conv = DenseLaMPConv(32, 32, heads=4, dropout=0.3)
    x_src = torch.randn(4, 3, 32, requires_grad=True)
    x_dst = torch.randn(4, 50, 32, requires_grad=True)
    policy(factored_max_cost=float('inf'))
    torch.manual_seed(1)
    out1 = conv((x_src, x_dst))
    torch.manual_seed(1)
    out2 = conv((x_src, x_dst))
    assert torch.equal(out1, out2)  # reproducible under the seed
    assert not torch.allclose(out1, conv((x_src, x_dst)))
    out1.sum().backward()
    assert torch.isfinite(x_src.grad).all() and torch.isfinite(
        x_dst.grad).all()
    # Attention dropout keeps the expectation of the message.
    p = conv.lin_out.weight
    with torch.no_grad():
        msgs = [A.factored_message(
            conv.lin_query.weight, None, p, x_dst[:1],
            x_src[:1].view(1, 3, 4, 8), x_src[:1].view(1, 3, 4, 8), None,
            0.3) for _ in range(1600)]
        exact = A.factored_message(
            conv.lin_query.weight, None, p, x_dst[:1],
            x_src[:1].view(1, 3, 4, 8), x_src[:1].view(1, 3, 4, 8), None,
            0.0)
    mean = torch.stack(msgs).mean(0)
    assert (mean - exact).abs().max() < 0.1 * exact.abs().max()
    # bfloat16 autocast: within tolerance of float32, float32 softmax.
    conv.eval()
    ref = conv((x_src, x_dst))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = conv((x_src, x_dst))
    assert out.dtype in (torch.float32, torch.bfloat16)
    err = (out.float() - ref).abs()
    assert bool((err <= BF16_LOGIT_ATOL + BF16_LOGIT_RTOL * ref.abs()).all())


def test_lamp_with_many_labels_takes_the_factored_path(monkeypatch, policy):
    # Many labels over few features: the feature-to-label stages of both
    # steps are factored, and the model's output is the plain one.
    torch.manual_seed(0)
    model = LaMP(60, 32, steps=2, heads=4, label_graph='fc').eval()
    z, batch = features(B=3, S=2, d=32)
    # Records the batch size of x_dst: 1 in the shared first step.
    calls = spy_on(monkeypatch, dense_lamp_conv, 'factored_message',
                   lambda *args, **kwargs: args[3].size(0))
    w = torch.randn(3, 60)

    def run():
        return stage_grads(model, z, batch, w)

    factored = run()
    assert calls == [1, 3]
    policy(factored_max_cost=0.0)
    plain = run()
    assert calls == [1, 3]
    assert_all_close(factored, plain, atol=1e-5)


@pytest.mark.parametrize('shared', [False, True])
def test_factored_attention_per_ragged_group(monkeypatch, shared, policy):
    # Documents of very different lengths: the factored message is computed
    # per group of similar size, on trimmed sources, with the padded
    # plain path's outputs and gradients.
    gen = torch.Generator().manual_seed(2)
    B, S, L = 6, 12, 80
    lengths = torch.tensor([0, 1, 2, 9, 12, 3])  # fill 27 / 72
    mask = torch.arange(S).view(1, S) < lengths.view(B, 1)
    conv = DenseLaMPConv(32, 32, heads=4).double().eval()
    x_src = torch.randn(B, S, 32, generator=gen, dtype=torch.double)
    x_dst = torch.randn(1 if shared else B, L, 32, generator=gen,
                        dtype=torch.double)
    w = torch.randn(B, L, 32, generator=gen, dtype=torch.double)
    # Records the number of groups (the method's `groups` argument).
    calls = spy_on(monkeypatch, DenseLaMPConv, '_factored_groups',
                   lambda *args, **kwargs: len(args[-2]))
    policy(ragged_min_weights=0)

    def run(cost):
        policy(factored_max_cost=cost)
        return dense_grads(conv, x_src, x_dst, w, mask=mask)

    factored = run(float('inf'))
    assert len(calls) == 1 and calls[0] > 1
    policy(ragged_max_fill=0.0)
    plain = run(0.0)
    assert len(calls) == 1
    assert all(t is not None for t in factored)
    assert_all_close(factored, plain, atol=1e-10)
    assert torch.all(factored[1][~mask] == 0)  # padding: no gradient
    # Under the default threshold the groups' mean size decides: factored
    # through its groups, though not on the padded sources.
    policy(factored_max_cost=0.8)
    policy(ragged_max_fill=0.5)
    groups = A.ragged_groups(lengths)
    mean_size = sum(i.numel() * n for i, n in groups) / B
    args = (32, 32, 4, shared)
    plain_cost = A.factored_costs(L, 27 / B, *args)[0]
    assert A.factored_costs(L, mean_size, *args)[1] <= \
        0.8 * plain_cost
    assert A.factored_costs(L, S, *args)[1] > 0.8 * plain_cost
    conv((x_src, x_dst), mask=mask)
    assert len(calls) == 2
