r"""Models."""
from .lamp import (
    LaMP,
    LaMPOutput,
    label_log_odds,
)

__all__ = [
    'LaMP',
    'LaMPOutput',
    'label_log_odds',
]
