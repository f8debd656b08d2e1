"""Packaging for lamp_geometric (Label Message Passing on PyTorch Geometric)."""
from setuptools import find_packages, setup

__version__ = '0.1.0'

install_requires = [
    'torch>=2.1',
    'torch-geometric>=2.4',
    'rdkit',
    'networkx',
    'scikit-learn',
    'numpy',
    'scipy',
    'liac-arff',
    'tqdm',
    'matplotlib',
]

test_requires = [
    'pytest',
    'pytest-timeout',
    'hypothesis',
    'sphinx',
]

docs_requires = [
    'sphinx',
]

scatter_requires = [
    'torch-scatter',
]

setup(
    name='lamp_geometric',
    version=__version__,
    description='Label Message Passing (LaMP) networks for multi-label '
    'classification, built on PyTorch Geometric',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='MIT',
    python_requires='>=3.9',
    packages=find_packages(include=['lamp_geometric', 'lamp_geometric.*']),
    # SIDER ships with the package (gzipped), with its source, licence and
    # checksum beside it.
    package_data={'lamp_geometric.data': ['raw/*.csv.gz', 'raw/README.md']},
    install_requires=install_requires,
    entry_points={
        'console_scripts': ['lamp-geometric=lamp_geometric.cli:main'],
    },
    extras_require={
        'test': test_requires,
        'docs': docs_requires,
        'scatter': scatter_requires,
        'full': sorted(set(test_requires + docs_requires)),
    },
)
