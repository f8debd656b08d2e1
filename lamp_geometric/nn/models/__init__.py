r"""Models."""
from .lamp import (
    LaMP,
    LaMPOutput,
    DENSE_THRESHOLD,
    DENSE_THRESHOLDS,
    default_dense_threshold,
    label_log_odds,
)

__all__ = [
    'LaMP',
    'LaMPOutput',
    'DENSE_THRESHOLD',
    'DENSE_THRESHOLDS',
    'default_dense_threshold',
    'label_log_odds',
]
