r"""LaMP message passing layers."""
from .lamp_conv import LaMPConv
from .dense_lamp_conv import DenseLaMPConv

__all__ = [
    'LaMPConv',
    'DenseLaMPConv',
]
