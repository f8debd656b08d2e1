r"""Every attention backend computes the same LaMP block: each one, forced by
the policy on the layer that runs it, against the plain dense math written
out here."""
import pytest
import torch
import torch.nn.functional as F

from lamp_geometric.nn import DenseLaMPConv, LaMPConv
from lamp_geometric.nn.attention import (
    BACKENDS,
    DENSE_BACKENDS,
    attention_policy,
)
from lamp_geometric.nn.conv import dense_lamp_conv, lamp_conv

B, L, F_SRC, F_DST, C, HEADS = 3, 6, 8, 12, 16, 4

#: The function of each backend, in the module of the layer that calls it.
BACKEND_FUNCTIONS = {
    'segment': (lamp_conv, 'segment_attention'),
    'edge': (lamp_conv, 'edge_attention'),
    'dense': (dense_lamp_conv, 'attention'),
    'ragged': (dense_lamp_conv, 'ragged_attention'),
    'factored': (dense_lamp_conv, 'factored_message'),
}


def prefix_mask(lengths, size):
    return torch.arange(size).view(1, -1) < torch.tensor(lengths).view(-1, 1)


def make_case(name):
    r"""Inputs :obj:`x_src [B, S, F], x_dst [B, L, F]`, the allowed
    destination-from-source pairs :obj:`[B, L, S]`, the arguments of the
    dense layer and whether the inputs are bipartite."""
    g = torch.Generator().manual_seed(0)
    if name in ('feature_to_label', 'no_incoming_edge'):
        lengths = [5, 2, 3] if name == 'feature_to_label' else [4, 0, 2]
        S = 5
        mask = prefix_mask(lengths, S)
        x_src = torch.randn(B, S, F_SRC, generator=g)
        x_dst = torch.randn(B, L, F_DST, generator=g)
        allowed = mask.view(B, 1, S).expand(B, L, S)
        return x_src, x_dst, allowed, dict(mask=mask), True
    x = torch.randn(B, L, C, generator=g)
    if name == 'fully_connected':
        return x, x, torch.ones(B, L, L, dtype=torch.bool), {}, False
    assert name == 'label_to_label_prior'
    adj = torch.eye(L, dtype=torch.bool)
    adj[torch.tensor([0, 1, 2, 4]), torch.tensor([1, 2, 0, 3])] = True
    return x, x, adj.expand(B, L, L), dict(adj=adj), False


def reference(conv, x_src, x_dst, allowed):
    r"""The LaMP block (Eq. 15-18 and 8-9) in plain dense ops; a destination
    without an allowed source receives a zero message."""
    D = C // HEADS
    q = conv.lin_query(x_dst).view(B, -1, HEADS, D).transpose(1, 2)
    k = conv.lin_key(x_src).view(B, -1, HEADS, D).transpose(1, 2)
    v = conv.lin_value(x_src).view(B, -1, HEADS, D).transpose(1, 2)
    score = q @ k.transpose(-1, -2) / D**0.5
    score = score.masked_fill(~allowed.unsqueeze(1), float('-inf'))
    alpha = torch.nan_to_num(score.softmax(dim=-1), nan=0.0)
    msg = (alpha @ v).transpose(1, 2).reshape(B, -1, C)
    res = x_dst if conv.lin_skip is None else conv.lin_skip(x_dst)
    m = conv.norm1(res + conv.lin_out(msg))
    return conv.norm2(m + conv.lin2(F.relu(conv.lin1(m))))


def run_sparse(conv, x_src, x_dst, allowed, bipartite):
    b, i, j = allowed.nonzero(as_tuple=True)
    S = x_src.size(1)
    edge_index = torch.stack([b * S + j, b * L + i])
    if bipartite:
        x = (x_src.reshape(-1, F_SRC), x_dst.reshape(-1, F_DST))
    else:
        x = x_dst.reshape(-1, C)
    return conv(x, edge_index).view(B, L, C)


@pytest.mark.parametrize('case', ['feature_to_label', 'label_to_label_prior',
                                  'fully_connected', 'no_incoming_edge'])
@pytest.mark.parametrize('backend', BACKENDS)
def test_backends_equal_the_reference(backend, case, monkeypatch):
    x_src, x_dst, allowed, dense_args, bipartite = make_case(case)
    torch.manual_seed(1)
    in_channels = (F_SRC, F_DST) if bipartite else C
    # Attention dropout is set and inactive in evaluation mode:
    sparse = LaMPConv(in_channels, C, heads=HEADS, dropout=0.3).eval()
    dense = DenseLaMPConv(in_channels, C, heads=HEADS, dropout=0.3).eval()
    dense.load_state_dict(sparse.state_dict())
    owner, name = BACKEND_FUNCTIONS[backend]
    calls = []
    real = getattr(owner, name)
    monkeypatch.setattr(owner, name,
                        lambda *a, **k: calls.append(1) or real(*a, **k))

    with attention_policy(backend=backend), torch.no_grad():
        if backend in DENSE_BACKENDS:
            out = dense((x_src, x_dst) if bipartite else x_dst, **dense_args)
        else:
            out = run_sparse(sparse, x_src, x_dst, allowed, bipartite)
        expected = reference(sparse, x_src, x_dst, allowed)

    # Ragged and factored attention need padded sources (a source mask):
    runs = bipartite or backend not in ('ragged', 'factored')
    assert bool(calls) == runs
    assert torch.isfinite(out).all()
    assert torch.allclose(out, expected, atol=1e-5)
