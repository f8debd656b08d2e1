r"""Train LaMP on SIDER (27 drug side effects from molecular graphs).

Reads SIDER (shipped with the package; ``<data-dir>/sider/sider.csv``
instead when ``--data-dir`` or ``LAMP_DATA`` is set), splits it 80/10/10 at
random by seed, trains LaMP, keeps the best validation epoch, tunes one
threshold per metric on validation and prints the test metrics beside two
label-prior baselines computed on the same test split.
``--checkpoint PATH`` saves the trained model (see
:mod:`lamp_geometric.checkpoint`); ``--explain N`` writes explanation plots
for N test molecules.

The experiment itself is :func:`lamp_geometric.experiment.run`, which
``examples/mlc.py`` and ``lamp-geometric train`` run too (every option of
theirs works here).

Example::

    python examples/sider.py --epochs 30 --label-graph pr --encoder fmp \
        --out runs/sider_pr_fmp.json --checkpoint runs/sider_pr_fmp.pt
"""
import sys
from typing import Any, Dict

from lamp_geometric.experiment import build_parser, run


def main(argv=None) -> Dict[str, Any]:
    args = build_parser(__doc__.split('\n\n')[0]).parse_args(argv)
    return run(args)


if __name__ == '__main__':
    main(sys.argv[1:])
