r"""Models."""
from .lamp import LaMP, LaMPOutput, DENSE_THRESHOLD

__all__ = [
    'LaMP',
    'LaMPOutput',
    'DENSE_THRESHOLD',
]
