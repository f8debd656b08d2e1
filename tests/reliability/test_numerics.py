r"""Numerical guarantees of the LaMP layers and model: exact gradients
(:func:`torch.autograd.gradcheck` in float64) and the symmetries of label
message passing, checked as properties over random graphs (hypothesis)."""
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.autograd import gradcheck
from torch.func import functional_call

from lamp_geometric.nn import DenseLaMPConv, LaMP, LaMPConv
from lamp_geometric.nn.attention import attention_policy

# Few examples, no deadline: every example builds and runs a small model on a
# shared, busy CPU.
PROPERTY = settings(max_examples=8, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
D = 8  # channels (2 heads of 4)


# LaMPConv runs the fused 'edge' attention backend unless the policy forces
# the 'segment' one (PyG's `propagate`).  Both are checked in float64: the
# fused kernel computes in the promoted dtype of its inputs and float32.
SPARSE_BACKENDS = ['segment', 'edge']


def _params(module, names):
    return tuple(dict(module.named_parameters())[n].detach().clone()
                 .requires_grad_() for n in names)


# Gradient checks #############################################################

PARAMS = ('lin_query.weight', 'lin_key.weight', 'lin_value.weight',
          'lin_out.weight', 'lin1.weight', 'norm1.weight')


@pytest.mark.parametrize('backend', SPARSE_BACKENDS)
def test_gradcheck_lamp_conv_homogeneous(backend):
    torch.manual_seed(0)
    conv = LaMPConv(D, D, heads=2).double().eval()
    x = torch.randn(5, D, dtype=torch.double, requires_grad=True)
    # Node 4 has no incoming edge (zero message), 0 -> 1 is duplicated.
    ei = torch.tensor([[0, 1, 2, 3, 0, 0, 2], [1, 0, 1, 2, 1, 3, 2]])
    params = _params(conv, PARAMS)

    def fn(x, *ps):
        return functional_call(conv, dict(zip(PARAMS, ps)), (x, ei))

    with attention_policy(backend=backend):
        assert gradcheck(fn, (x, ) + params, eps=1e-6, atol=1e-5)


@pytest.mark.parametrize('backend', SPARSE_BACKENDS)
def test_gradcheck_lamp_conv_bipartite(backend):
    torch.manual_seed(0)
    conv = LaMPConv((6, D), D, heads=2).double().eval()
    x_src = torch.randn(4, 6, dtype=torch.double, requires_grad=True)
    x_dst = torch.randn(3, D, dtype=torch.double, requires_grad=True)
    ei = torch.tensor([[0, 1, 2, 3, 1], [0, 0, 1, 1, 2]])
    params = _params(conv, PARAMS)

    def fn(x_src, x_dst, *ps):
        return functional_call(conv, dict(zip(PARAMS, ps)),
                               ((x_src, x_dst), ei))

    with attention_policy(backend=backend):
        assert gradcheck(fn, (x_src, x_dst) + params, eps=1e-6, atol=1e-5)


def test_gradcheck_dense_lamp_conv_bipartite_with_mask():
    torch.manual_seed(0)
    conv = DenseLaMPConv((6, D), D, heads=2).double().eval()
    x_src = torch.randn(3, 4, 6, dtype=torch.double, requires_grad=True)
    x_dst = torch.randn(3, 2, D, dtype=torch.double, requires_grad=True)
    # Sample 0 full, sample 1 padded, sample 2 without any source (all-masked
    # rows take the zero-message branch).
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0]]).bool()
    params = _params(conv, PARAMS)

    def fn(x_src, x_dst, *ps):
        return functional_call(conv, dict(zip(PARAMS, ps)),
                               ((x_src, x_dst), ), dict(mask=mask))

    assert gradcheck(fn, (x_src, x_dst) + params, eps=1e-6, atol=1e-5)


def test_gradcheck_dense_lamp_conv_homogeneous_with_adj_and_mask():
    torch.manual_seed(0)
    conv = DenseLaMPConv(D, D, heads=2).double().eval()
    x = torch.randn(2, 4, D, dtype=torch.double, requires_grad=True)
    adj = torch.tensor([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0],
                        [1, 0, 0, 1]]).bool()  # row 2: no neighbour
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]).bool()
    params = _params(conv, PARAMS)

    def fn(x, *ps):
        return functional_call(conv, dict(zip(PARAMS, ps)), (x, ),
                               dict(adj=adj, mask=mask))

    assert gradcheck(fn, (x, ) + params, eps=1e-6, atol=1e-5)


def test_gradcheck_catches_a_wrong_gradient():
    # The check above can fail: a function whose backward is wrong is caught.
    class Wrong(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, grad):
            return grad  # should be 2 x grad

    x = torch.randn(3, dtype=torch.double, requires_grad=True)
    assert not gradcheck(Wrong.apply, (x, ), raise_exception=False)


# Properties ##################################################################

def _graph(draw, num_labels):
    pairs = st.tuples(st.integers(0, num_labels - 1),
                      st.integers(0, num_labels - 1))
    edges = draw(st.lists(pairs, min_size=0, max_size=2 * num_labels))
    if not edges:
        return torch.empty(2, 0, dtype=torch.long)
    return torch.tensor(edges, dtype=torch.long).t()


@st.composite
def problems(draw):
    r"""A label graph, a batch of samples with 0-5 feature nodes each, and a
    seed."""
    num_labels = draw(st.integers(2, 6))
    edge_index = _graph(draw, num_labels)
    sizes = draw(st.lists(st.integers(0, 5), min_size=1, max_size=4))
    seed = draw(st.integers(0, 2**16))
    return num_labels, edge_index, sizes, seed


def _model(num_labels, edge_index, path, label_graph='pr', seed=0):
    torch.manual_seed(seed)
    kwargs = {}
    if label_graph == 'pr':
        kwargs['label_edge_index'] = edge_index
    return LaMP(num_labels, D, steps=2, heads=2, label_graph=label_graph,
                path=path, **kwargs).eval()


def _features(sizes, seed):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(sum(sizes), D, generator=gen)
    batch = torch.repeat_interleave(torch.arange(len(sizes)),
                                    torch.tensor(sizes))
    return z, batch


@PROPERTY
@given(problems(), st.sampled_from(['sparse', 'dense']),
       st.sampled_from(['pr', 'fc', 'el']))
def test_label_permutation_permutes_outputs(problem, path, label_graph):
    L, edge_index, sizes, seed = problem
    model = _model(L, edge_index, path, label_graph)
    perm = torch.randperm(L, generator=torch.Generator().manual_seed(seed))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(L)
    # New label i is old label perm[i]: its embedding and its edges move
    # with it.
    permuted = _model(L, inv[edge_index], path, label_graph)
    state = model.state_dict()
    for key in ('label_emb.weight', 'readout_untied', 'readout_bias'):
        state[key] = state[key][perm]
    state['label_edge_index'] = permuted.label_edge_index
    permuted.load_state_dict(state)
    z, batch = _features(sizes, seed)
    out = model.forward_features(z, batch, len(sizes)).logits
    out_p = permuted.forward_features(z, batch, len(sizes)).logits
    assert torch.isfinite(out).all()
    assert torch.allclose(out_p, out[:, perm], atol=1e-5)


@PROPERTY
@given(problems(), st.sampled_from(['sparse', 'dense']))
def test_feature_node_permutation_leaves_outputs_unchanged(problem, path):
    L, edge_index, sizes, seed = problem
    model = _model(L, edge_index, path)
    z, batch = _features(sizes, seed)
    out = model.forward_features(z, batch, len(sizes)).logits
    # Shuffle the feature nodes inside every sample (nodes stay grouped by
    # sample, as PyG batches are).
    gen = torch.Generator().manual_seed(seed + 1)
    perm = torch.cat([torch.nonzero(batch == b).view(-1)[torch.randperm(
        int((batch == b).sum()), generator=gen)] for b in range(len(sizes))])
    out_p = model.forward_features(z[perm], batch[perm], len(sizes)).logits
    assert torch.allclose(out_p, out, atol=1e-5)


@PROPERTY
@given(problems(), st.sampled_from(['sparse', 'dense']))
def test_sample_output_independent_of_batch_and_padding(problem, path):
    L, edge_index, sizes, seed = problem
    model = _model(L, edge_index, path)
    z, batch = _features(sizes, seed)
    out = model.forward_features(z, batch, len(sizes)).logits
    # Every sample alone (no padding in the dense path) gives its row of the
    # batched output, whatever the other samples and their sizes.
    for b in range(len(sizes)):
        keep = batch == b
        alone = model.forward_features(z[keep], torch.zeros(
            int(keep.sum()), dtype=torch.long), 1).logits
        assert torch.allclose(alone[0], out[b], atol=1e-5)


@PROPERTY
@given(problems(), st.sampled_from(['pr', 'fc', 'el']))
def test_sparse_and_dense_agree(problem, label_graph):
    L, edge_index, sizes, seed = problem
    sparse = _model(L, edge_index, 'sparse', label_graph)
    dense = _model(L, edge_index, 'dense', label_graph, seed=seed)
    dense.load_state_dict(sparse.state_dict())
    z, batch = _features(sizes, seed)
    out_s = sparse.forward_features(z, batch, len(sizes))
    out_d = dense.forward_features(z, batch, len(sizes))
    for a, b in zip(out_s.stage_logits, out_d.stage_logits):
        assert torch.isfinite(a).all()
        assert torch.allclose(a, b, atol=1e-5)


@PROPERTY
@given(st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**16))
def test_conv_layers_agree_on_random_bipartite_graphs(num_dst, num_src,
                                                      seed):
    gen = torch.Generator().manual_seed(seed)
    adj = torch.rand(num_dst, num_src, generator=gen) < 0.5
    torch.manual_seed(seed)
    sparse = LaMPConv((6, D), D, heads=2).eval()
    dense = DenseLaMPConv((6, D), D, heads=2).eval()
    dense.load_state_dict(sparse.state_dict())
    x_src = torch.randn(num_src, 6, generator=gen)
    x_dst = torch.randn(num_dst, D, generator=gen)
    dst, src = adj.nonzero().t()
    out_s = sparse((x_src, x_dst), torch.stack([src, dst]))
    out_d = dense((x_src[None], x_dst[None]), adj=adj)[0]
    assert torch.isfinite(out_s).all()
    assert torch.allclose(out_s, out_d, atol=1e-5)


def test_property_checks_can_fail():
    # A model whose label graph is *not* permuted with the labels breaks the
    # equivariance the property test checks: the test is not vacuous.
    L = 4
    edge_index = torch.tensor([[0, 1], [1, 2]])
    model = _model(L, edge_index, 'sparse')
    perm = torch.tensor([1, 2, 3, 0])
    wrong = _model(L, edge_index, 'sparse')
    state = model.state_dict()
    state['label_emb.weight'] = state['label_emb.weight'][perm]
    wrong.load_state_dict(state)
    z, batch = _features([3, 2], 0)
    out = model.forward_features(z, batch, 2).logits
    out_w = wrong.forward_features(z, batch, 2).logits
    assert not torch.allclose(out_w, out[:, perm], atol=1e-5)
