r"""SIDER test metrics of LaMP variants over several seeds, beside the
paper's numbers and two label-prior baselines on the same test splits.

Each run is one call of :func:`lamp_geometric.experiment.run` with the
options of ``examples/sider.py`` (random 80/10/10 split by seed, best
validation epoch, one threshold per metric tuned on validation) and this
script writes the mean ± std table to ``results/sider.md`` and the raw runs
to ``results/sider.json``.  The recipe options and their defaults are the
library's (:class:`lamp_geometric.recipe.TrainingConfig`); the recorded
tables pass theirs explicitly.  ``benchmarks/accuracy/paper.py --datasets
sider`` runs the same variants beside the paper's other data sets.

A variant ``graph:encoder:amp`` trains and predicts under bfloat16
autocast (``--amp``), to compare the fast path's metrics with float32 on
the same seeds.

Example::

    python benchmarks/accuracy/sider.py --seeds 0 1 2 --epochs 30 \
        --hidden 128
    python benchmarks/accuracy/sider.py --variants el:fmp el:fmp:amp \
        --out-dir benchmarks/accuracy/results/amp
"""
import argparse
import json
import os
import os.path as osp

from typing import Any, Dict, List

import numpy as np

from lamp_geometric import metrics as M
from lamp_geometric import experiment
from lamp_geometric.recipe import TrainingConfig, add_config_arguments

HERE = osp.dirname(osp.abspath(__file__))

KEYS = ('ebF1', 'miF1', 'maF1', 'acc', 'ha', 'roc_auc')
# The paper's Tables 1-3 (SIDER column): ebF1, miF1, maF1.
PAPER = {
    'paper: FMP + LaMP_el': dict(ebF1=.766, miF1=.795, maF1=.664),
    'paper: FMP + LaMP_pr': dict(ebF1=.766, miF1=.797, maF1=.664),
}
#: The recipe options of this script (defaults: the library's).
RECIPE = ('epochs', 'hidden', 'heads', 'lr', 'batch_size', 'select',
          'threads')


def run_cli(argv: List[str]) -> Dict[str, Any]:
    r"""One run of :func:`lamp_geometric.experiment.run` from the command
    line of ``examples/mlc.py``."""
    return experiment.run(experiment.build_parser().parse_args(argv))


def mean_std(values):
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--variants', nargs='+',
                   default=['pr:fmp', 'el:fmp', 'rf'],
                   help="label-graph:encoder pairs (with ':amp': under "
                   "bfloat16 autocast), or 'rf' for the random "
                   "forest on Morgan fingerprints (radius 2, 2048 bits, 500 "
                   "trees; examples/mlc.py --encoder rf)")
    add_config_arguments(p, TrainingConfig, only=RECIPE)
    experiment.add_experiment_arguments(p, only=('data_dir',),
                                        training=False)
    p.add_argument('--out-dir', default=osp.join(HERE, 'results'))
    p.add_argument('--render', metavar='JSON', default=None,
                   help='only re-render the table from an earlier results '
                   'JSON (no training)')
    args = p.parse_args(argv)
    for variant in args.variants:
        parts = variant.split(':')
        if variant != 'rf' and not (len(parts) == 2 or (
                len(parts) == 3 and parts[2] == 'amp')):
            p.error(f"unknown variant '{variant}' (expected "
                    f"'graph:encoder', 'graph:encoder:amp' or 'rf')")

    runs = []
    if args.render:
        with open(args.render) as f:
            saved = json.load(f)
        runs = saved['runs']
        for key, value in saved['config'].items():
            setattr(args, key, value)
    for variant in args.variants if not args.render else []:
        if variant == 'rf':
            for seed in args.seeds:
                cli = ['--dataset', 'sider', '--encoder', 'rf', '--seed',
                       str(seed), '--quiet']
                print(f'== rf seed {seed}', flush=True)
                data = ['--data-dir', args.data_dir] if args.data_dir else []
                res = run_cli(cli + data)
                runs.append(dict(variant=variant, seed=seed, cli=cli,
                                 test={k: res['test'][k] for k in KEYS},
                                 baselines=res['baselines']))
            continue
        graph, encoder, *amp = variant.split(':')
        for seed in args.seeds:
            cli = ['--epochs', str(args.epochs), '--hidden', str(args.hidden),
                   '--heads', str(args.heads), '--lr', str(args.lr),
                   '--batch-size', str(args.batch_size), '--label-graph',
                   graph, '--encoder', encoder, '--seed', str(seed),
                   '--select', args.select, '--quiet']
            if args.threads:
                cli += ['--threads', str(args.threads)]
            if amp == ['amp']:
                cli.append('--amp')
            print(f'== {variant} seed {seed}', flush=True)
            data = ['--data-dir', args.data_dir] if args.data_dir else []
            res = run_cli(cli + data)
            runs.append(dict(variant=variant, seed=seed, cli=cli,
                             test={k: res['test'][k] for k in KEYS},
                             baselines=res['baselines'],
                             best_epoch=res['best_epoch'],
                             median_epoch_time=res['median_epoch_time']))

    rows = {}
    for variant in args.variants:
        sel = [r for r in runs if r['variant'] == variant]
        if variant == 'rf':
            name = 'random forest, Morgan fingerprints'
        else:
            graph, encoder, *amp = variant.split(':')
            name = (f'{encoder.upper()} + LaMP_{graph} (ours' +
                    (', bf16 autocast)' if amp == ['amp'] else ')'))
        rows[name] = {
            k: mean_std([r['test'][k] for r in sel]) for k in KEYS}
    first = [r for r in runs if r['variant'] == args.variants[0]]
    for name, key in (('majority (train prior)', 'majority'),
                      ('all positive', 'all_positive')):
        rows[name] = {
            k: mean_std([r['baselines'][key][k] for r in first])
            for k in ('ebF1', 'miF1', 'maF1', 'acc', 'ha')}
    rows.update(PAPER)
    table = M.format_table(rows, keys=list(KEYS))

    os.makedirs(args.out_dir, exist_ok=True)
    # Recorded without local directories, so results carry no machine paths
    # (an output directory inside the project is kept, relative to it).
    config = {k: v for k, v in vars(args).items()
              if k not in ('data_dir', 'out_dir', 'render')}
    root = osp.dirname(osp.dirname(HERE))
    out_rel = osp.relpath(osp.abspath(args.out_dir), root)
    if (osp.abspath(args.out_dir) != osp.join(HERE, 'results')
            and not out_rel.startswith('..')):
        config['out_dir'] = out_rel
    cmd = 'python benchmarks/accuracy/sider.py ' + ' '.join(
        f'--{k.replace("_", "-")} ' + (' '.join(map(str, v)) if isinstance(
            v, list) else str(v)) for k, v in config.items()
        if v is not None)
    with open(osp.join(args.out_dir, 'sider.json'), 'w') as f:
        json.dump(dict(config=config, command=cmd, runs=runs), f, indent=2)
    with open(osp.join(args.out_dir, 'sider.md'), 'w') as f:
        f.write(f'SIDER test metrics, mean ± std over seeds {args.seeds} '
                f'(random 80/10/10 splits; d={args.hidden}, '
                f'{args.epochs} epochs, best epoch by validation '
                f'{args.select}; thresholds tuned on validation per '
                f'metric).\n\n{table}\n\nProduced by: `{cmd}`\n')
    print(table)
    return rows


if __name__ == '__main__':
    main()
