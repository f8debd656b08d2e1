import os

import pytest
import torch

# The tests use tiny tensors: intra-op threads only add start-up and
# spin-wait overhead, which on a busy 2-core machine makes each op ~100x
# slower.
torch.set_num_threads(1)


@pytest.fixture
def processed_writes(monkeypatch):
    r"""For every ``data.pt`` that :mod:`lamp_geometric.io` writes: the
    files of its folder at the moment of writing (a list, filled as the
    test runs)."""
    import lamp_geometric.io as io
    seen = []
    real_save = torch.save

    def spy(obj, f):
        name = str(getattr(f, 'name', ''))
        if name.endswith('data.pt'):
            seen.append(sorted(os.listdir(os.path.dirname(name))))
        return real_save(obj, f)

    monkeypatch.setattr(io.torch, 'save', spy)  # torch.save itself
    return seen


@pytest.fixture
def policy():
    r"""Changes fields of the current attention policy for the rest of a
    test: ``policy(ragged_min_weights=0)``; the previous policy comes back
    when the test ends."""
    from contextlib import ExitStack

    from lamp_geometric.nn.attention import attention_policy
    with ExitStack() as stack:
        yield lambda **changes: stack.enter_context(
            attention_policy(**changes))
