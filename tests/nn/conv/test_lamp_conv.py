import math

import pytest
import torch
import torch.nn.functional as F

import torch_geometric.typing
from torch_geometric import EdgeIndex
from torch_geometric.nn import GINConv, HeteroConv
from torch_geometric.testing import withPackage
from torch_geometric.typing import SparseTensor
from torch_geometric.utils import (
    scatter,
    to_torch_coo_tensor,
    to_torch_csc_tensor,
    to_torch_csr_tensor,
)

from lamp_geometric.nn import LaMPConv

pytestmark = pytest.mark.filterwarnings(
    'ignore:Sparse (CSR|CSC) tensor support is in beta state',
    'ignore:Sparse invariant checks are implicitly disabled',
)


def residual_path(conv, x_dst):
    r"""The output of a destination that receives no message (eval mode):
    ``norm2(m + lin2(relu(lin1(m))))`` with ``m = norm1(x_dst)``."""
    res = x_dst if conv.lin_skip is None else conv.lin_skip(x_dst)
    m = conv.norm1(res)
    return conv.norm2(m + conv.lin2(F.relu(conv.lin1(m))))


def manual_alpha(conv, x_src, x_dst, edge_index):
    r"""Scaled dot-product attention per destination and head, computed
    edge by edge (no bias in query/key, as by default)."""
    H = conv.heads
    D = conv.out_channels // H
    q = (x_dst @ conv.lin_query.weight.t()).view(-1, H, D)
    k = (x_src @ conv.lin_key.weight.t()).view(-1, H, D)
    src, dst = edge_index
    score = (q[dst] * k[src]).sum(dim=-1) / math.sqrt(D)
    alpha = torch.empty_like(score)
    for i in dst.unique().tolist():
        m = dst == i
        alpha[m] = score[m].softmax(dim=0)
    return alpha


def layer_norm(v, eps=1e-5):
    mean = v.mean(dim=-1, keepdim=True)
    var = v.var(dim=-1, unbiased=False, keepdim=True)
    return (v - mean) / torch.sqrt(var + eps)


def test_lamp_conv():
    torch.manual_seed(12345)
    x1 = torch.randn(4, 64)
    edge_index = torch.tensor([[0, 1, 2, 3], [0, 0, 1, 1]])

    conv = LaMPConv(64, 64, heads=4).eval()
    assert str(conv) == 'LaMPConv(64, 64, heads=4)'
    assert conv.lin_skip is None
    out = conv(x1, edge_index)
    assert out.size() == (4, 64)
    assert torch.isfinite(out).all()
    # Nodes 2 and 3 have no incoming edge:
    assert torch.allclose(out[2:], residual_path(conv, x1[2:]), atol=1e-6)
    assert not torch.allclose(out[:2], residual_path(conv, x1[:2]),
                              atol=1e-3)

    conv = LaMPConv(16, 32, heads=2)
    assert str(conv) == 'LaMPConv(16, 32, heads=2)'
    assert conv.lin_skip is not None  # 16 != 32
    assert conv(torch.randn(4, 16), edge_index).size() == (4, 32)


def test_lamp_conv_bipartite():
    torch.manual_seed(12345)
    x1 = torch.randn(4, 16)
    x2 = torch.randn(2, 8)
    edge_index = torch.tensor([[0, 1, 2, 3], [0, 0, 1, 1]])

    conv = LaMPConv((16, 8), 32, heads=2).eval()
    assert str(conv) == 'LaMPConv((16, 8), 32, heads=2)'
    assert conv.lin_key.in_channels == 16
    assert conv.lin_value.in_channels == 16
    assert conv.lin_query.in_channels == 8
    out = conv((x1, x2), edge_index)
    assert out.size() == (2, 32)
    assert torch.isfinite(out).all()

    # Destination 0 only sees sources 0, 1; destination 1 only 2, 3:
    out2 = conv((torch.cat([x1[:2], torch.randn(2, 16)]), x2), edge_index)
    assert torch.allclose(out2[0], out[0], atol=1e-6)
    assert not torch.allclose(out2[1], out[1], atol=1e-4)


def test_lamp_conv_layouts():
    torch.manual_seed(12345)
    x = torch.randn(5, 16)
    x_dst = torch.randn(3, 8)
    # Unsorted edges, a destination with several in-edges, self loops:
    edge_index = torch.tensor([[4, 0, 1, 2, 3, 1, 0, 3],
                               [0, 0, 0, 1, 1, 2, 3, 3]])
    perm = torch.tensor([5, 2, 7, 0, 3, 6, 1, 4])
    edge_index = edge_index[:, perm]
    ei_bip = torch.tensor([[4, 0, 1, 2, 3, 0], [0, 0, 2, 2, 1, 2]])

    for x_in, ei, size in [
        (x, edge_index, (5, 5)),
        ((x, x_dst), ei_bip, (5, 3)),
    ]:
        bipartite = isinstance(x_in, tuple)
        conv = (LaMPConv((16, 8), 16, heads=2)
                if bipartite else LaMPConv(16, 16, heads=2)).eval()
        out, (ei_out, alpha) = conv(x_in, ei, return_attention_weights=True)
        assert ei_out is ei
        dense_alpha = torch.zeros(size[1], size[0], 2)
        dense_alpha[ei[1], ei[0]] = alpha

        # EdgeIndex (unsorted and sorted):
        for edge_index_obj in [
                EdgeIndex(ei, sparse_size=size),
                EdgeIndex(ei, sparse_size=size).sort_by('col')[0],
        ]:
            assert torch.allclose(conv(x_in, edge_index_obj), out, atol=1e-6)

        # torch.sparse CSR (the transposed [N_dst, N_src] adjacency):
        adj = to_torch_csc_tensor(ei, size=size).t()
        assert adj.layout == torch.sparse_csr and adj.size() == size[::-1]
        assert torch.allclose(conv(x_in, adj), out, atol=1e-6)
        out_adj, (adj_alpha, alpha2) = conv(x_in, adj,
                                            return_attention_weights=True)
        assert torch.allclose(out_adj, out, atol=1e-6)
        assert adj_alpha.layout == torch.sparse_csr
        assert adj_alpha.size() == (size[1], size[0], 2)
        assert alpha2.size() == (ei.size(1), 2)
        assert torch.allclose(adj_alpha.to_dense(), dense_alpha, atol=1e-6)

        # torch.sparse CSC:
        adj = to_torch_csr_tensor(ei, size=size).t()
        assert adj.layout == torch.sparse_csc and adj.size() == size[::-1]
        assert torch.allclose(conv(x_in, adj), out, atol=1e-6)
        _, (adj_alpha, _) = conv(x_in, adj, return_attention_weights=True)
        assert torch.allclose(adj_alpha.to_dense(), dense_alpha, atol=1e-6)

        # torch.sparse COO (uncoalesced after the transpose):
        adj = to_torch_coo_tensor(ei, size=size).t()
        assert torch.allclose(conv(x_in, adj), out, atol=1e-6)
        _, (adj_alpha, _) = conv(x_in, adj, return_attention_weights=True)
        assert torch.allclose(adj_alpha.to_dense(), dense_alpha, atol=1e-6)


@pytest.mark.skipif(not torch_geometric.typing.WITH_TORCH_SPARSE,
                    reason="'torch-sparse' not installed")
def test_lamp_conv_sparse_tensor():
    torch.manual_seed(12345)
    x1 = torch.randn(4, 16)
    x2 = torch.randn(2, 8)
    edge_index = torch.tensor([[0, 1, 2, 3], [0, 0, 1, 1]])

    conv = LaMPConv(16, 16, heads=2).eval()
    out = conv(x1, edge_index)
    adj = SparseTensor.from_edge_index(edge_index, sparse_sizes=(4, 4))
    assert torch.allclose(conv(x1, adj.t()), out, atol=1e-6)
    _, alpha = conv(x1, edge_index, return_attention_weights=True)
    out2, adj_alpha = conv(x1, adj.t(), return_attention_weights=True)
    assert torch.allclose(out2, out, atol=1e-6)
    assert adj_alpha.sizes() == [4, 4, 2] and adj_alpha.nnz() == 4
    assert torch.allclose(adj_alpha.to_dense()[edge_index[1], edge_index[0]],
                          alpha, atol=1e-6)

    conv = LaMPConv((16, 8), 16, heads=2).eval()
    out = conv((x1, x2), edge_index)
    adj = SparseTensor.from_edge_index(edge_index, sparse_sizes=(4, 2))
    assert torch.allclose(conv((x1, x2), adj.t()), out, atol=1e-6)


def test_lamp_conv_attention_weights():
    torch.manual_seed(12345)
    x1 = torch.randn(6, 16)
    x2 = torch.randn(4, 8)
    # Destination 2 has no incoming edge:
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 5, 0, 5],
                               [0, 0, 1, 1, 1, 3, 3, 3]])
    conv = LaMPConv((16, 8), 16, heads=4).eval()
    out = conv((x1, x2), edge_index)
    assert conv._alpha is None

    res = conv((x1, x2), edge_index, return_attention_weights=True)
    assert torch.allclose(res[0], out)
    assert conv._alpha is None
    ei, alpha = res[1]
    assert ei is edge_index
    assert alpha.size() == (8, 4)
    assert alpha.min() >= 0 and alpha.max() <= 1
    sums = scatter(alpha, edge_index[1], dim=0, dim_size=4, reduce='sum')
    expected = torch.tensor([1., 1., 0., 1.]).view(-1, 1).expand(4, 4)
    assert torch.allclose(sums, expected, atol=1e-6)
    assert torch.allclose(alpha, manual_alpha(conv, x1, x2, edge_index),
                          atol=1e-6)
    # The heads differ from each other:
    assert not torch.allclose(alpha[:, 0], alpha[:, 1], atol=1e-3)


def test_lamp_conv_empty_edge_index():
    torch.manual_seed(12345)
    empty = torch.empty(2, 0, dtype=torch.long)

    x = torch.randn(3, 16)
    conv = LaMPConv(16, 16, heads=2).eval()
    out = conv(x, empty)
    assert out.size() == (3, 16)
    assert torch.isfinite(out).all()
    assert torch.allclose(out, residual_path(conv, x), atol=1e-6)
    out, (_, alpha) = conv(x, empty, return_attention_weights=True)
    assert alpha.size() == (0, 2)

    x1, x2 = torch.randn(4, 16), torch.randn(2, 8)
    conv = LaMPConv((16, 8), 32, heads=2).eval()
    out = conv((x1, x2), empty)
    assert out.size() == (2, 32)
    assert torch.isfinite(out).all()
    # By hand: m = norm1(W_skip x_dst), out = norm2(m + lin2(relu(lin1(m)))):
    m = layer_norm(x2 @ conv.lin_skip.weight.t())
    h = F.relu(m @ conv.lin1.weight.t() + conv.lin1.bias)
    h = h @ conv.lin2.weight.t() + conv.lin2.bias
    assert torch.allclose(out, layer_norm(m + h), atol=1e-5)


def test_lamp_conv_isolated_destination():
    torch.manual_seed(12345)
    x1 = torch.randn(4, 16, requires_grad=True)
    x2 = torch.randn(3, 8, requires_grad=True)
    edge_index = torch.tensor([[0, 1, 2, 3], [0, 0, 1, 1]])  # no edge to 2
    conv = LaMPConv((16, 8), 16, heads=2).eval()
    out = conv((x1, x2), edge_index)
    assert torch.isfinite(out).all()
    assert torch.allclose(out[2], residual_path(conv, x2[2:])[0], atol=1e-6)

    (out * torch.randn_like(out)).sum().backward()
    assert torch.isfinite(x1.grad).all() and torch.isfinite(x2.grad).all()
    for name, p in conv.named_parameters():
        assert torch.isfinite(p.grad).all(), name


def test_lamp_conv_hand_computed():
    # heads=1, d=4, identity query/key/value/output projections and a zero
    # MLP: out_i = LN(LN(x_i + sum_j alpha_ij x_j)), alpha = softmax(q.k/2).
    conv = LaMPConv(4, 4, heads=1).eval()
    with torch.no_grad():
        for lin in [conv.lin_query, conv.lin_key, conv.lin_value,
                    conv.lin_out]:
            lin.weight.copy_(torch.eye(4))
        for lin in [conv.lin1, conv.lin2]:
            lin.weight.zero_()
            lin.bias.zero_()
    x = torch.tensor([[1., 0., 0., 0.], [0., 2., 0., 0.], [1., 1., 0., 0.],
                      [0., 0., 1., -1.]])
    # (source, destination) pairs; destinations 1 and 3 receive nothing.
    edge_index = torch.tensor([[0, 1, 2, 3, 2], [2, 2, 2, 0, 0]])
    out, (_, alpha) = conv(x, edge_index, return_attention_weights=True)

    # Destination 2 (q = [1, 1, 0, 0]): scores 1/2, 2/2, 2/2.
    e = [math.exp(0.5), math.exp(1.0), math.exp(1.0)]
    a2 = [v / sum(e) for v in e]
    # Destination 0 (q = [1, 0, 0, 0]): scores 0/2 (node 3), 1/2 (node 2).
    e = [1.0, math.exp(0.5)]
    a0 = [v / sum(e) for v in e]
    expected = torch.tensor(a2 + a0).view(-1, 1)
    assert torch.allclose(alpha, expected, atol=1e-6)
    assert abs(alpha[0].item() - 0.2326965) < 1e-6  # e^.5 / (e^.5 + 2e)

    msg = torch.zeros(4, 4)
    msg[2] = a2[0] * x[0] + a2[1] * x[1] + a2[2] * x[2]
    msg[0] = a0[0] * x[3] + a0[1] * x[2]
    assert torch.allclose(out, layer_norm(layer_norm(x + msg)), atol=1e-5)


def test_lamp_conv_scale_per_head():
    # Two heads of d/K = 2 channels: scale 1/sqrt(2), not 1/sqrt(4).
    conv = LaMPConv(4, 4, heads=2).eval()
    with torch.no_grad():
        conv.lin_query.weight.copy_(torch.eye(4))
        conv.lin_key.weight.copy_(torch.eye(4))
    x = torch.tensor([[2., 0., 0., 1.], [0., 1., 3., 0.], [1., 1., 1., 1.]])
    edge_index = torch.tensor([[0, 1], [2, 2]])
    _, (_, alpha) = conv(x, edge_index, return_attention_weights=True)
    # Head 0 (channels 0-1): q = [1, 1], k0 = [2, 0] -> 2, k1 = [0, 1] -> 1.
    # Head 1 (channels 2-3): q = [1, 1], k0 = [0, 1] -> 1, k1 = [3, 0] -> 3.
    s = 1 / math.sqrt(2)
    h0 = 1 / (1 + math.exp((1 - 2) * s))
    h1 = 1 / (1 + math.exp((3 - 1) * s))
    expected = torch.tensor([[h0, h1], [1 - h0, 1 - h1]])
    assert torch.allclose(alpha, expected, atol=1e-6)

    # Random weights, 4 heads of 4 channels, against the edge-wise formula:
    torch.manual_seed(12345)
    conv = LaMPConv((8, 6), 16, heads=4).eval()
    x1, x2 = 2 * torch.randn(5, 8), 2 * torch.randn(3, 6)
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 0, 2], [0, 0, 0, 1, 1, 2, 2]])
    _, (_, alpha) = conv((x1, x2), edge_index, return_attention_weights=True)
    assert torch.allclose(alpha, manual_alpha(conv, x1, x2, edge_index),
                          atol=1e-6)


def test_lamp_conv_reset_parameters():
    torch.manual_seed(1)
    conv = LaMPConv((16, 8), 32, heads=2)
    with torch.no_grad():
        for p in conv.parameters():
            p.fill_(0.5)
    torch.manual_seed(2)
    conv.reset_parameters()
    for name, p in conv.named_parameters():
        assert not torch.all(p == 0.5), name
    assert torch.equal(conv.norm1.weight, torch.ones(32))
    assert torch.equal(conv.norm1.bias, torch.zeros(32))
    state1 = {k: v.clone() for k, v in conv.state_dict().items()}

    torch.manual_seed(3)
    conv.reset_parameters()
    assert not torch.equal(conv.lin_query.weight, state1['lin_query.weight'])

    torch.manual_seed(2)
    conv.reset_parameters()
    for k, v in conv.state_dict().items():
        assert torch.equal(v, state1[k]), k


def test_lamp_conv_gradients():
    torch.manual_seed(12345)
    x1 = torch.randn(4, 16, requires_grad=True)
    x2 = torch.randn(2, 8, requires_grad=True)
    edge_index = torch.tensor([[0, 1, 2, 3, 0], [0, 0, 1, 1, 1]])
    conv = LaMPConv((16, 8), 32, heads=2, bias=True)
    params = dict(conv.named_parameters())
    assert 'lin_skip.weight' in params and 'lin_query.bias' in params
    out = conv((x1, x2), edge_index)
    # The output is layer-normalized, so `out.sum()` would have zero
    # gradient; project onto random weights instead.
    (out * torch.randn_like(out)).sum().backward()
    for name, p in params.items():
        assert p.grad is not None, name
        assert p.grad.abs().sum() > 0, name
    assert x1.grad.abs().sum(dim=-1).min() > 0
    assert x2.grad.abs().sum(dim=-1).min() > 0


@withPackage('torch>=2.1.0')
def test_lamp_conv_compile_graph_breaks():
    import torch._dynamo as dynamo

    torch.manual_seed(12345)
    x1, x2 = torch.randn(4, 16), torch.randn(2, 8)
    edge_index = torch.tensor([[0, 1, 2, 3], [0, 0, 1, 1]])

    conv = LaMPConv(16, 16, heads=2).eval()
    dynamo.reset()
    explanation = dynamo.explain(conv)(x1, edge_index)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1

    conv = LaMPConv((16, 8), 32, heads=2).eval()
    dynamo.reset()
    explanation = dynamo.explain(conv)((x1, x2), edge_index)
    assert explanation.graph_break_count == 0, explanation.break_reasons

    dynamo.reset()
    explanation = dynamo.explain(conv)((x1, x2), edge_index,
                                       return_attention_weights=True)
    assert explanation.graph_break_count == 0, explanation.break_reasons

    # Full-graph tracing (errors on any graph break) gives the same output:
    dynamo.reset()
    compiled = torch.compile(conv, backend='eager', fullgraph=True)
    assert torch.allclose(compiled((x1, x2), edge_index),
                          conv((x1, x2), edge_index), atol=1e-6)
    dynamo.reset()


@withPackage('torch>=2.1.0')
def test_lamp_conv_compile_inductor():
    torch.manual_seed(12345)
    x1, x2 = torch.randn(4, 16), torch.randn(2, 8)
    edge_index = torch.tensor([[0, 1, 2, 3], [0, 0, 1, 1]])
    conv = LaMPConv((16, 8), 32, heads=2).eval()
    torch._dynamo.reset()
    compiled = torch.compile(conv, fullgraph=True)
    assert torch.allclose(compiled((x1, x2), edge_index),
                          conv((x1, x2), edge_index), atol=1e-5)
    torch._dynamo.reset()


@pytest.mark.filterwarnings('ignore:There exist node types')
def test_lamp_conv_in_hetero_conv():
    torch.manual_seed(12345)
    x_dict = {'atom': torch.randn(5, 16), 'label': torch.randn(3, 32)}
    edge_index_dict = {
        ('atom', 'to', 'label'):
        torch.tensor([[0, 1, 2, 3, 4, 0], [0, 0, 1, 1, 1, 2]]),
        ('label', 'to', 'label'):
        torch.tensor([[0, 1, 2, 0], [0, 1, 2, 2]]),
    }
    xy = LaMPConv((16, 32), 32, heads=2)
    yy = LaMPConv(32, 32, heads=2)
    hetero = HeteroConv(
        {
            ('atom', 'to', 'label'): xy,
            ('label', 'to', 'label'): yy,
        }, aggr='sum').eval()
    out_dict = hetero(x_dict, edge_index_dict)
    assert list(out_dict.keys()) == ['label']
    assert out_dict['label'].size() == (3, 32)
    expected = (
        xy((x_dict['atom'], x_dict['label']),
           edge_index_dict['atom', 'to', 'label']) +
        yy(x_dict['label'], edge_index_dict['label', 'to', 'label']))
    assert torch.allclose(out_dict['label'], expected, atol=1e-6)


def test_lamp_conv_after_gin_conv():
    torch.manual_seed(12345)
    x_atom = torch.randn(5, 8)
    atom_edge_index = torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])
    x_label = torch.randn(3, 16)
    # Atoms 0-2 belong to sample 0 (labels 0, 1), atoms 3-4 to sample 1
    # (label 2):
    xy_edge_index = torch.tensor([[0, 1, 2, 0, 1, 2, 3, 4],
                                  [0, 0, 0, 1, 1, 1, 2, 2]])
    gin = GINConv(
        torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(),
                            torch.nn.Linear(16, 16)))
    conv = LaMPConv((16, 16), 16, heads=2)

    h = gin(x_atom, atom_edge_index)
    out = conv((h, x_label), xy_edge_index)
    assert out.size() == (3, 16)
    (out * torch.randn_like(out)).sum().backward()
    for name, p in gin.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    for name, p in conv.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name

    # Label 2 only attends to atoms 3-4: changing atom 0 (which is not
    # connected to them) does not change it.
    x_atom2 = x_atom.clone()
    x_atom2[0] += 1.0
    out2 = conv((gin(x_atom2, atom_edge_index), x_label), xy_edge_index)
    assert torch.allclose(out2[2], out[2], atol=1e-6)
    assert not torch.allclose(out2[0], out[0], atol=1e-4)


def test_lamp_conv_dropout():
    torch.manual_seed(12345)
    x = torch.randn(6, 16)
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 5, 0, 1],
                               [1, 0, 3, 2, 5, 4, 2, 3]])
    conv = LaMPConv(16, 16, heads=2, dropout=0.5)
    conv.train()
    out1 = conv(x, edge_index)
    out2 = conv(x, edge_index)
    assert not torch.allclose(out1, out2, atol=1e-4)

    conv.eval()
    out1 = conv(x, edge_index)
    out2 = conv(x, edge_index)
    assert torch.equal(out1, out2)
    ref = LaMPConv(16, 16, heads=2, dropout=0.0).eval()
    ref.load_state_dict(conv.state_dict())
    assert torch.allclose(ref(x, edge_index), out1, atol=1e-6)


def test_lamp_conv_bad_arguments():
    with pytest.raises(ValueError, match='divisible'):
        LaMPConv(16, 30, heads=4)
    with pytest.raises(ValueError, match='heads'):
        LaMPConv(16, 16, heads=0)
    with pytest.raises(ValueError, match='dropout'):
        LaMPConv(16, 16, dropout=1.0)
