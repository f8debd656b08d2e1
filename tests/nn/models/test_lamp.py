import pytest
import torch
from torch.nn import Parameter

from torch_geometric.data import Batch
from torch_geometric.nn import GINConv
from torch_geometric.utils import from_smiles, scatter

from lamp_geometric.nn import (
    AtomEmbedding,
    FMPEncoder,
    GINEncoder,
    LaMP,
    LaMPLoss,
    LaMPOutput,
)

L, D = 5, 8
# A tiny prior: 0 <-> 1, 2 -> 3, 1 -> 3; label 4 is isolated (self loop only).
PRIOR = torch.tensor([[0, 1, 2, 1], [1, 0, 3, 3]])
SMILES = ['CCO', 'c1ccccc1O', '[Na+].[Cl-]', 'C']


def make_model(label_graph='pr', path='auto', seed=0, **kwargs):
    torch.manual_seed(seed)
    if label_graph == 'pr':
        kwargs.setdefault('label_edge_index', PRIOR)
    return LaMP(L, D, steps=2, heads=2, label_graph=label_graph, path=path,
                **kwargs).eval()


def features(seed=1):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(8, D, generator=gen)
    batch = torch.tensor([0, 0, 0, 1, 2, 2, 2, 2])
    return z, batch


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def dense_attention(edge_index, alpha, num_dst, num_src):
    out = alpha.new_zeros(num_dst, num_src, alpha.size(-1))
    out[edge_index[1], edge_index[0]] = alpha
    return out


def molecules():
    return Batch.from_data_list([from_smiles(s) for s in SMILES])


def test_lamp_repr_and_graphs():
    model = make_model('pr')
    assert str(model) == ('LaMP(num_labels=5, hidden_channels=8, steps=2, '
                          'heads=2, label_graph=pr)')
    dropping = LaMP(5, 8, heads=2, label_graph='fc', feature_node_dropout=.5)
    assert str(dropping) == ('LaMP(num_labels=5, hidden_channels=8, steps=2, '
                          'heads=2, label_graph=fc, '
                          'feature_node_dropout=0.5)')
    # Self loops added, duplicates removed:
    ei = model.label_edge_index
    assert ei.size(1) == 4 + 5
    edges = set(map(tuple, ei.t().tolist()))
    assert edges == {(0, 1), (1, 0), (2, 3), (1, 3)} | {(i, i)
                                                       for i in range(5)}
    model = make_model('pr', label_edge_index=torch.cat(
        [PRIOR, PRIOR, torch.tensor([[2], [2]])], dim=1))
    assert model.label_edge_index.size(1) == 9
    assert make_model('el').label_edge_index.size(1) == 5
    assert make_model('fc').label_edge_index.size(1) == 25


def test_lamp_tied_weights():
    model = make_model('fc', tie_weights=True, readout_bias=False)
    assert model.readout_weight is model.label_emb.weight
    names = [name for name, _ in model.named_parameters()]
    assert not any('readout' in name for name in names)
    expected = L * D + sum(num_params(c) for c in model.xy_convs) + sum(
        num_params(c) for c in model.yy_convs)
    assert num_params(model) == expected

    u = torch.randn(3, L, D)
    assert torch.allclose(model.readout(u),
                          (u * model.label_emb.weight).sum(dim=-1))
    # Changing W^y changes the readout of the same states:
    with torch.no_grad():
        model.label_emb.weight.mul_(2.0)
    assert torch.allclose(model.readout(u),
                          2 * (u * model.label_emb.weight / 2).sum(dim=-1),
                          atol=1e-6)

    untied = make_model('fc', tie_weights=False, readout_bias=False)
    assert isinstance(untied.readout_weight, Parameter)
    assert untied.readout_weight is not untied.label_emb.weight
    assert untied.readout_weight.shape == (L, D)
    assert num_params(untied) == num_params(model) + L * D
    with torch.no_grad():
        untied.readout_weight.zero_()
    z, batch = features()
    assert torch.all(untied.forward_features(z, batch).logits == 0)


def test_lamp_default_readout_is_untied_with_a_label_prior_bias():
    torch.manual_seed(0)
    model = LaMP(L, 64, heads=2)
    assert not model.tie_weights
    assert model.readout_weight is not model.label_emb.weight
    assert model.readout_bias.shape == (L, )
    assert torch.all(model.readout_bias == 0)
    # Labels start from N(0, 1) as in the original code; a tied readout
    # keeps the small N(0, 1/d) start (its logits would saturate).
    assert 0.8 < float(model.label_emb.weight.std()) < 1.2
    tied = LaMP(L, 64, heads=2, tie_weights=True)
    assert float(tied.label_emb.weight.std()) < 0.2
    assert LaMP(L, 64, heads=2, label_init_std=0.5).label_init_std == 0.5

    prevalence = torch.tensor([0.5, 0.1, 0.9, 0.0, float('nan')])
    model.set_label_prior(prevalence)
    expected = torch.logit(torch.tensor([0.5, 0.1, 0.9, 1e-4, 0.5]))
    assert torch.allclose(model.readout_bias, expected)
    with torch.no_grad():
        model.readout_untied.zero_()
    z, batch = torch.randn(6, 64), torch.tensor([0, 0, 1, 1, 1, 2])
    probs = torch.sigmoid(model.forward_features(z, batch).logits)
    assert torch.allclose(probs, torch.tensor([0.5, 0.1, 0.9, 1e-4, 0.5])
                          .expand_as(probs), atol=1e-6)
    with pytest.raises(ValueError, match='shape'):
        model.set_label_prior(torch.ones(L + 1))
    with pytest.raises(RuntimeError, match='no readout bias'):
        LaMP(L, 8, heads=2, readout_bias=False).set_label_prior(prevalence)


def test_lamp_readout_of_bfloat16_states():
    # Label states in bfloat16 (autocast) meet W^y cast to bfloat16: logits
    # in bfloat16, the gradient of W^y in float32 (its parameter's type).
    model = make_model('fc', tie_weights=True, readout_bias=False)
    u = torch.randn(3, L, D).bfloat16().requires_grad_()
    logits = model.readout(u)
    assert logits.dtype == torch.bfloat16
    w = model.label_emb.weight
    assert torch.equal(logits, (u * w.bfloat16()).sum(dim=-1))
    ref = (u.detach().float() * w).sum(dim=-1)
    assert torch.allclose(logits.float(), ref, atol=0.05, rtol=0.02)
    logits.sum().backward()
    assert w.grad.dtype == torch.float32
    assert torch.allclose(w.grad, u.detach().float().sum(0), atol=0.05,
                          rtol=0.02)
    # float64 states keep float64 (no cast down).
    assert model.readout(u.detach().double()).dtype == torch.float64


@pytest.mark.parametrize('path', ['sparse', 'dense'])
def test_lamp_output(path):
    model = make_model('pr', path=path)
    z, batch = features()
    out = model.forward_features(z, batch, num_samples=4)
    assert isinstance(out, LaMPOutput)
    assert out.logits.size() == (4, L)
    assert torch.isfinite(out.logits).all()
    assert out.stage_names == ['1.1', '1.2', '2.1', '2.2']
    assert len(out.stage_logits) == 4
    assert out.stage_logits[-1] is out.logits
    assert len(out.intermediate_logits) == 3
    for s in out.stage_logits:
        assert s.size() == (4, L)
    for a, b in zip(out.stage_logits[:-1], out.stage_logits[1:]):
        assert not torch.allclose(a, b, atol=1e-4)
    assert out.attention is None

    out2 = model.forward_features(z, batch, num_samples=4,
                                  return_attention=True)
    assert torch.allclose(out2.logits, out.logits, atol=1e-6)
    assert list(out2.attention.keys()) == ['1.1', '1.2', '2.1', '2.2']
    B = 4
    has_features = torch.tensor([True, True, True, False])
    for name, (edge_index, alpha) in out2.attention.items():
        assert alpha.size() == (edge_index.size(1), 2)
        assert alpha.min() >= 0 and alpha.max() <= 1
        sums = scatter(alpha, edge_index[1], dim=0, dim_size=B * L,
                       reduce='sum')
        src, dst = edge_index
        if name.endswith('.1'):
            # Feature node j of sample b -> label b * L + i:
            assert torch.equal(batch[src], dst // L)
            expected = has_features.repeat_interleave(L).float()
        else:
            assert torch.equal(src // L, dst // L)
            local = set(map(tuple, torch.stack([src % L, dst % L]).t()
                            .tolist()))
            assert local == set(map(tuple,
                                    model.label_edge_index.t().tolist()))
            expected = torch.ones(B * L)
        assert torch.allclose(sums, expected.view(-1, 1).expand(-1, 2),
                              atol=1e-6), name


def test_lamp_el_attends_to_itself():
    model = make_model('el', path='sparse')
    z, batch = features()
    out = model.forward_features(z, batch, return_attention=True)
    for name in ['1.2', '2.2']:
        edge_index, alpha = out.attention[name]
        assert torch.equal(edge_index[0], edge_index[1])
        assert torch.allclose(alpha, torch.ones_like(alpha))


@pytest.mark.parametrize('label_graph', ['el', 'fc', 'pr'])
def test_lamp_sparse_equals_dense(label_graph):
    sparse = make_model(label_graph, path='sparse', seed=3)
    dense = make_model(label_graph, path='dense', seed=4)
    auto = make_model(label_graph, path='auto', seed=5)
    assert not sparse.xy_dense and not sparse.yy_dense
    assert dense.xy_dense and dense.yy_dense
    assert list(sparse.state_dict().keys()) == list(dense.state_dict().keys())
    dense.load_state_dict(sparse.state_dict(), strict=True)
    auto.load_state_dict(dense.state_dict(), strict=True)
    sparse.load_state_dict(dense.state_dict(), strict=True)

    z0, batch = features()
    w = torch.randn(4, L)
    results = []
    for model in [sparse, dense, auto]:
        model.zero_grad()
        z = z0.clone().requires_grad_()
        out = model.forward_features(z, batch, num_samples=4,
                                     return_attention=True)
        loss = sum((s * w).sum() for s in out.stage_logits)
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters()}
        results.append((out, z.grad.clone(), grads))

    out_s, gz_s, grads_s = results[0]
    for out, gz, grads in results[1:]:
        assert torch.allclose(out.logits, out_s.logits, atol=1e-5)
        for a, b in zip(out.stage_logits, out_s.stage_logits):
            assert torch.allclose(a, b, atol=1e-5)
        assert torch.allclose(gz, gz_s, atol=1e-5)
        assert grads.keys() == grads_s.keys()
        for name in grads:
            assert torch.allclose(grads[name], grads_s[name],
                                  atol=1e-5), name
        for name in out.attention:
            n_dst = 4 * L
            n_src = z0.size(0) if name.endswith('.1') else 4 * L
            assert torch.allclose(
                dense_attention(*out.attention[name], n_dst, n_src),
                dense_attention(*out_s.attention[name], n_dst, n_src),
                atol=1e-6), name
    assert gz_s.abs().sum() > 0


@pytest.mark.parametrize('label_graph', ['fc', 'pr'])
@pytest.mark.parametrize('path', ['sparse', 'dense'])
def test_lamp_label_permutation(label_graph, path):
    perm = torch.tensor([3, 0, 4, 1, 2])  # new label n is old label perm[n]
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(L)

    model = make_model(label_graph, path=path)
    kwargs = {}
    if label_graph == 'pr':
        kwargs['label_edge_index'] = inv[PRIOR]
    permuted = make_model(label_graph, path=path, seed=9, **kwargs)
    state = model.state_dict()
    state['label_emb.weight'] = model.label_emb.weight.detach()[perm]
    state['readout_untied'] = model.readout_untied.detach()[perm]
    state['readout_bias'] = torch.randn(L)
    with torch.no_grad():
        model.readout_bias.copy_(state['readout_bias'][inv])
    state['label_edge_index'] = permuted.label_edge_index.clone()
    permuted.load_state_dict(state, strict=True)

    z, batch = features()
    out = model.forward_features(z, batch, num_samples=4)
    out_p = permuted.forward_features(z, batch, num_samples=4)
    for a, b in zip(out.stage_logits, out_p.stage_logits):
        assert torch.allclose(a[:, perm], b, atol=1e-5)
    # The prior matters: without relabelling the graph, outputs differ.
    if label_graph == 'pr':
        wrong = make_model(label_graph, path=path)
        state['label_edge_index'] = wrong.label_edge_index.clone()
        wrong.load_state_dict(state)
        out_w = wrong.forward_features(z, batch, num_samples=4)
        assert not torch.allclose(out.logits[:, perm], out_w.logits,
                                  atol=1e-4)


@pytest.mark.parametrize('path', ['sparse', 'dense'])
def test_lamp_feature_permutation_and_independence(path):
    model = make_model('pr', path=path)
    z, batch = features()
    out = model.forward_features(z, batch, num_samples=4).logits

    # Permute the feature nodes within each sample:
    perm = torch.tensor([2, 0, 1, 3, 7, 5, 4, 6])
    assert torch.equal(batch[perm], batch)
    out_p = model.forward_features(z[perm], batch, num_samples=4).logits
    assert torch.allclose(out_p, out, atol=1e-5)

    # Each sample alone gives the same logits as within the batch:
    for b in range(4):
        m = batch == b
        alone = model.forward_features(z[m], torch.zeros(int(m.sum()),
                                                         dtype=torch.long),
                                       num_samples=1).logits
        assert torch.allclose(alone[0], out[b], atol=1e-5), b
    # ... and changing another sample's features does not change it:
    z2 = z.clone()
    z2[batch == 2] += 1.0
    out2 = model.forward_features(z2, batch, num_samples=4).logits
    assert torch.allclose(out2[:2], out[:2], atol=1e-6)
    assert not torch.allclose(out2[2], out[2], atol=1e-4)


@pytest.mark.parametrize('path', ['sparse', 'dense'])
def test_lamp_feature_node_dropout(path):
    model = make_model('pr', path=path, feature_node_dropout=0.5)
    assert model.feature_node_dropout == 0.5
    z, batch = features()
    plain = make_model('pr', path=path)
    # Evaluation: no node is dropped, the model is the plain one:
    assert torch.equal(model.forward_features(z, batch).logits,
                       plain.forward_features(z, batch).logits)
    # Training: the same as the plain model on the nodes that were kept.
    model.train()  # (no other dropout: make_model has dropout 0)
    plain.train()
    torch.manual_seed(3)
    out = model.forward_features(z, batch).logits
    torch.manual_seed(3)
    draw = torch.rand(batch.numel())
    best = scatter(draw, batch, dim=0, reduce='max')
    keep = (draw >= 0.5) | (draw == best[batch])
    assert not keep.all()
    expected = plain.forward_features(z[keep], batch[keep],
                                      num_samples=3).logits
    assert torch.allclose(out, expected, atol=1e-5)
    with pytest.raises(ValueError, match="'feature_node_dropout'"):
        LaMP(L, D, feature_node_dropout=1.0)


@pytest.mark.parametrize('path', ['sparse', 'dense'])
def test_lamp_sample_without_feature_nodes(path):
    model = make_model('pr', path=path)
    z = torch.randn(4, D)
    batch = torch.tensor([0, 0, 2, 2])  # sample 1 has no feature node
    out = model.forward_features(z, batch, num_samples=3)
    assert out.logits.size() == (3, L)
    for s in out.stage_logits:
        assert torch.isfinite(s).all()
    alone = model.forward_features(z[:0], batch[:0], num_samples=1)
    assert torch.allclose(out.logits[1], alone.logits[0], atol=1e-5)
    # Default num_samples is batch.max() + 1:
    assert model.forward_features(z, batch).logits.size() == (3, L)


def test_lamp_gradients_with_fmp_encoder():
    torch.manual_seed(12345)
    encoder = FMPEncoder(AtomEmbedding(D), D, num_layers=2, heads=2)
    model = LaMP(L, D, encoder=encoder, steps=2, heads=2, label_graph='pr',
                 label_edge_index=PRIOR)
    data = molecules()
    out = model(data)
    assert out.logits.size() == (4, L)
    target = torch.randint(0, 2, (4, L)).float()
    target[0, 1] = float('nan')
    loss = LaMPLoss(0.3)(out.logits, target, out.intermediate_logits)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert p.grad.abs().sum() > 0, name
    for conv in encoder.convs:
        assert conv.lin_query.weight.grad.abs().sum() > 0
        assert conv.lin_key.weight.grad.abs().sum() > 0


def test_lamp_forward_without_batch_vector():
    torch.manual_seed(12345)
    model = LaMP(L, D, encoder=AtomEmbedding(D), heads=2).eval()
    data = from_smiles('CCO')
    out = model(data)
    assert out.logits.size() == (1, L)
    batched = model(Batch.from_data_list([data, from_smiles('C')]))
    assert torch.allclose(batched.logits[0], out.logits[0], atol=1e-5)

    with pytest.raises(RuntimeError, match='encoder'):
        LaMP(L, D)(data)


def test_lamp_errors():
    with pytest.raises(ValueError, match='label_edge_index'):
        LaMP(L, D, label_graph='pr')
    with pytest.raises(ValueError, match='label_edge_index'):
        LaMP(L, D, label_graph='fc', label_edge_index=PRIOR)
    with pytest.raises(ValueError, match=r'\[0, 5\].*valid: 0\.\.4'):
        LaMP(L, D, label_graph='pr', label_edge_index=torch.tensor([[0, 5],
                                                                   [1, 0]]))
    with pytest.raises(ValueError, match=r'\[-1, 1\].*valid: 0\.\.4'):
        LaMP(L, D, label_graph='pr', label_edge_index=torch.tensor([[0, -1],
                                                                   [1, 0]]))
    with pytest.raises(ValueError, match=r'shape \[2, num_edges\]'):
        LaMP(L, D, label_graph='pr', label_edge_index=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r'shape \[2, num_edges\]'):
        LaMP(L, D, label_graph='pr',
             label_edge_index=torch.tensor([[0, 1], [1, 2], [2, 3]]))
    with pytest.raises(ValueError, match='integer'):
        LaMP(L, D, label_graph='pr', label_edge_index=PRIOR.float())
    with pytest.raises(ValueError, match='label_graph'):
        LaMP(L, D, label_graph='knn')
    with pytest.raises(ValueError, match='path'):
        LaMP(L, D, path='fast')
    with pytest.raises(ValueError, match='num_labels'):
        LaMP(0, D)
    with pytest.raises(ValueError, match='steps'):
        LaMP(L, D, steps=0)

    model = LaMP(L, D, heads=2)
    with pytest.raises(ValueError, match='feature embeddings'):
        model.forward_features(torch.randn(3, D + 1), torch.zeros(3).long())
    with pytest.raises(ValueError, match='batch'):
        model.forward_features(torch.randn(3, D), torch.zeros(2).long())


class GINStack(torch.nn.Module):
    r"""A user-defined encoder: two PyG GINConv layers over the bonds."""
    def __init__(self, channels):
        super().__init__()
        self.conv1 = GINConv(
            torch.nn.Sequential(torch.nn.Linear(9, channels),
                                torch.nn.ReLU(),
                                torch.nn.Linear(channels, channels)))
        self.conv2 = GINConv(
            torch.nn.Sequential(torch.nn.Linear(channels, channels),
                                torch.nn.ReLU(),
                                torch.nn.Linear(channels, channels)))

    def forward(self, data):
        x = self.conv1(data.x.float(), data.edge_index).relu()
        return self.conv2(x, data.edge_index)


@pytest.mark.parametrize('encoder_cls', ['gin_stack', 'gin_encoder'])
def test_lamp_after_gin(encoder_cls):
    torch.manual_seed(12345)
    if encoder_cls == 'gin_stack':
        encoder = GINStack(16)
    else:
        encoder = GINEncoder(16, num_layers=2)
    model = LaMP(L, D, encoder=encoder, feature_channels=16, heads=2)
    assert model.xy_convs[0].lin_key.in_channels == 16
    data = molecules()
    out = model(data)
    assert out.logits.size() == (4, L)
    assert torch.isfinite(out.logits).all()
    target = torch.randint(0, 2, (4, L)).float()
    LaMPLoss(0.2)(out.logits, target, out.intermediate_logits).backward()
    for name, p in encoder.named_parameters():
        assert p.grad is not None, name
        assert p.grad.abs().sum() > 0, name


def test_lamp_load_state_dict_with_other_prior():
    source = make_model('pr', path='sparse')
    prior = torch.tensor([[2, 3, 0, 4], [3, 2, 4, 1]])  # same size as PRIOR
    z, batch = features()
    expected = source.forward_features(z, batch).logits
    for path in ['sparse', 'dense']:
        model = make_model('pr', path=path, seed=2, label_edge_index=prior)
        model.load_state_dict(source.state_dict(), strict=True)
        assert torch.equal(model.label_edge_index, source.label_edge_index)
        out = model.forward_features(z, batch).logits
        assert torch.allclose(out, expected, atol=1e-5), path


def test_lamp_unsorted_batch():
    sparse = make_model('pr', path='sparse')
    dense = make_model('pr', path='dense', seed=2)
    dense.load_state_dict(sparse.state_dict())
    z, batch = features()
    perm = torch.tensor([4, 0, 7, 3, 1, 6, 2, 5])  # mixes the samples
    expected = sparse.forward_features(z, batch, num_samples=4).logits
    assert torch.allclose(
        sparse.forward_features(z[perm], batch[perm], num_samples=4).logits,
        expected, atol=1e-5)
    out = dense.forward_features(z[perm], batch[perm], num_samples=4,
                                 return_attention=True)
    assert torch.allclose(out.logits, expected, atol=1e-5)
    # Attention sources refer to the caller's (unsorted) node order.
    ref = sparse.forward_features(z[perm], batch[perm], num_samples=4,
                                  return_attention=True)
    for stage in ('1.1', '2.1'):
        got = dict(zip(map(tuple, out.attention[stage][0].t().tolist()),
                       out.attention[stage][1].tolist()))
        want = dict(zip(map(tuple, ref.attention[stage][0].t().tolist()),
                        ref.attention[stage][1].tolist()))
        assert got.keys() == want.keys()
        for key in want:
            assert torch.allclose(torch.tensor(got[key]),
                                  torch.tensor(want[key]), atol=1e-5)


def test_lamp_num_samples_check():
    model = make_model('fc')
    z, batch = features()
    with pytest.raises(ValueError, match='num_samples'):
        model.forward_features(z, batch, num_samples=1)


def test_lamp_dense_threshold_follows_the_head_dimension():
    from lamp_geometric.nn import AttentionPolicy, attention_policy
    thresholds = AttentionPolicy().dense_thresholds
    # A prior of 5% density: sparse with narrow heads, dense with wide ones.
    L = 40
    ei = torch.stack([torch.arange(L), (torch.arange(L) + 1) % L])
    narrow = LaMP(L, 64, heads=4, label_graph='pr', label_edge_index=ei)
    wide = LaMP(L, 512, heads=4, label_graph='pr', label_edge_index=ei)
    assert narrow.label_density == pytest.approx(2 * L / L**2)
    assert not narrow.yy_dense and wide.yy_dense
    assert narrow.dense_threshold == thresholds[16]
    forced = LaMP(L, 64, heads=4, label_graph='pr', label_edge_index=ei,
                  dense_threshold=0.01)
    assert forced.yy_dense and forced.dense_threshold == 0.01
    # The policy current when the model is built chooses its layers:
    with AttentionPolicy(dense_threshold=0.01):
        assert LaMP(L, 64, heads=4, label_graph='pr',
                    label_edge_index=ei).yy_dense
    with attention_policy(backend='edge'):
        model = LaMP(L, 512, heads=4, label_graph='pr', label_edge_index=ei)
        assert not model.xy_dense and not model.yy_dense
    with attention_policy(backend='ragged'):
        model = LaMP(L, 64, heads=4, label_graph='el')
        assert model.xy_dense and model.yy_dense
    # An explicit path wins over the policy:
    with attention_policy(backend='edge'):
        assert LaMP(L, 64, heads=4, path='dense').yy_dense


def test_lamp_takes_a_label_graph():
    from lamp_geometric.nn import LabelGraph
    z, batch = features()
    for kind in ('el', 'fc', 'pr'):
        by_kind = make_model(kind)
        torch.manual_seed(0)
        graph = LabelGraph(kind, L, PRIOR if kind == 'pr' else None)
        by_graph = LaMP(L, D, steps=2, heads=2, label_graph=graph).eval()
        # The same model: same graph buffer, same outputs.
        assert by_graph.label_graph == kind
        assert torch.equal(by_graph.label_edge_index, by_kind.label_edge_index)
        assert torch.allclose(by_graph.forward_features(z, batch).logits,
                              by_kind.forward_features(z, batch).logits)
        # ... and the graph reads back as one object.
        assert by_kind.graph.kind == kind
        assert torch.equal(by_kind.graph.edge_index, graph.edge_index)
    with pytest.raises(ValueError, match='has 3 labels, the model 5'):
        LaMP(L, D, label_graph=LabelGraph('fc', 3))
    with pytest.raises(ValueError, match='not used with a LabelGraph'):
        LaMP(L, D, label_graph=LabelGraph('pr', L, PRIOR),
             label_edge_index=PRIOR)
