r"""Loads the benchmark scripts under ``benchmarks/`` as modules, for the
tests of their pure functions."""
import importlib.util
import os.path as osp
from types import ModuleType

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_script(*parts: str) -> ModuleType:
    r"""The script ``benchmarks/<parts...>`` as a module."""
    path = osp.join(ROOT, 'benchmarks', *parts)
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
