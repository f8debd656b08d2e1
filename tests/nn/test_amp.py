import torch

from lamp_geometric.nn import _amp
from lamp_geometric.nn._amp import autocast_dtype


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
        m.setattr(_amp.torch, 'is_autocast_enabled', old_is_autocast_enabled)
        m.delattr(_amp.torch, 'get_autocast_dtype')

    with monkeypatch.context() as m:
        old_api(m)
        assert autocast_dtype('cpu') is None
    with torch.autocast('cpu', dtype=torch.bfloat16):
        with monkeypatch.context() as m:
            old_api(m)
            assert autocast_dtype('cpu') == torch.bfloat16
            assert autocast_dtype('cuda') is None
            assert autocast_dtype('xpu') is None
