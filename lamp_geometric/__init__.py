r"""Label Message Passing (LaMP) networks for multi-label classification on
PyTorch Geometric."""
__version__ = '0.1.0'

__all__ = ['__version__']
