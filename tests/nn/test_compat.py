import torch

from lamp_geometric.nn import _compat
from lamp_geometric.nn._compat import autocast_dtype, is_compiling


def test_autocast_dtype():
    assert autocast_dtype('cpu') is None
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert autocast_dtype('cpu') == torch.bfloat16
    assert autocast_dtype('cpu') is None


def test_autocast_dtype_before_device_generic_functions(monkeypatch):
    # torch < 2.4: is_autocast_enabled() takes no device, and there is no
    # get_autocast_dtype; the CPU state has functions of its own.  (Patched
    # inside the autocast region: entering and leaving it use them.)
    enabled = torch.is_autocast_enabled

    def old_is_autocast_enabled(*args):
        if args:
            raise TypeError('is_autocast_enabled() takes 0 arguments')
        return enabled('cuda')

    def old_api(m):
        m.setattr(_compat.torch, 'is_autocast_enabled',
                  old_is_autocast_enabled)
        m.delattr(_compat.torch, 'get_autocast_dtype')

    with monkeypatch.context() as m:
        old_api(m)
        assert autocast_dtype('cpu') is None
    with torch.autocast('cpu', dtype=torch.bfloat16):
        with monkeypatch.context() as m:
            old_api(m)
            assert autocast_dtype('cpu') == torch.bfloat16
            assert autocast_dtype('cuda') is None
            assert autocast_dtype('xpu') is None


def test_is_compiling(monkeypatch):
    assert is_compiling() is False
    seen = []

    @torch.compile(backend='eager', fullgraph=True)
    def f(x):
        seen.append(is_compiling())
        return x + 1

    f(torch.ones(2))
    assert seen == [True]
    # torch < 2.3: no torch.compiler.is_compiling, torch._dynamo's instead.
    from torch import _dynamo
    monkeypatch.delattr(torch.compiler, 'is_compiling')
    monkeypatch.setattr(_dynamo, 'is_compiling', lambda: True)
    assert is_compiling() is True
