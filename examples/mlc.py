r"""Train LaMP (or a baseline) on any multi-label data set of the library.

One script for every input type and label graph of the LaMP paper: the
data sets of :mod:`lamp_geometric.registry` (SIDER and molecule CSVs,
BibTeX, Delicious, Reuters-21578, RCV1, TF/PPI, any Mulan folder with
``mulan:NAME``, the user's ARFF or text files), the encoders ``emb``,
``fmp``, ``mlp`` (Emb + MLP), ``linear`` (logistic regression) and ``rf``
(random forest on Morgan fingerprints, molecules), and the label graphs
``el``, ``fc`` and ``pr``.  The experiment itself is
:func:`lamp_geometric.experiment.run`, which ``lamp-geometric train`` runs
too; the options and their defaults come from
:class:`lamp_geometric.experiment.ExperimentConfig` and
:class:`lamp_geometric.recipe.TrainingConfig`.

Training keeps the best validation epoch, tunes one threshold per metric on
validation and prints the test metrics beside two label-prior baselines on
the same test split, and the same metrics under the original code's
protocol; ``--out`` writes them as JSON (``ebF1 miF1 maF1 acc ha
roc_auc``, ``test``, ``val``, ``test_paper``, ``history``, ``config``,
...).

Examples::

    python examples/mlc.py --dataset bibtex --label-graph fc --encoder fmp \
        --epochs 30 --out runs/bibtex_fc_fmp.json
    python examples/mlc.py --dataset sider --split scaffold --encoder rf
    python examples/mlc.py --dataset reuters --encoder emb --limit 200 \
        --limit-eval 100 --epochs 1 --hidden 32      # a quick check
"""
import sys
from typing import Any, Dict

from lamp_geometric.experiment import build_parser, run


def main(argv=None) -> Dict[str, Any]:
    args = build_parser(__doc__.split('\n\n')[0]).parse_args(argv)
    return run(args)


if __name__ == '__main__':
    main(sys.argv[1:])
