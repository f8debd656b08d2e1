r"""Train LaMP on SIDER (27 drug side effects from molecular graphs).

Reads ``<data-dir>/sider/sider.csv`` (``--data-dir`` defaults to the
``LAMP_DATA`` environment variable) or downloads it from MoleculeNet, splits
it 80/10/10 at random by seed, trains LaMP, keeps the best validation epoch,
tunes one threshold per metric on validation and prints the test metrics
beside two label-prior baselines computed on the same test split.
``--checkpoint PATH`` saves the trained model (see
:mod:`lamp_geometric.checkpoint`); ``--explain N`` writes explanation plots
for N test molecules.

The experiment itself is
:func:`lamp_geometric.pipeline.run_molecule_experiment`, which the
``lamp-geometric train`` command runs too.

Example::

    python examples/sider.py --epochs 30 --label-graph pr --encoder fmp \
        --out runs/sider_pr_fmp.json --checkpoint runs/sider_pr_fmp.pt
"""
import argparse
import sys

from lamp_geometric.pipeline import (
    add_experiment_arguments,
    run_molecule_experiment,
)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_experiment_arguments(p)
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    return run_molecule_experiment(args)


if __name__ == '__main__':
    main(sys.argv[1:])
