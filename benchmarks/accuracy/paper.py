r"""The LaMP paper's variants (Emb + MLP, Emb / FMP x LaMP_el / fc / pr) on
SIDER, BibTeX, Delicious and Reuters-21578, over several seeds, beside the
paper's Tables 1-3 (ebF1, miF1, maF1) and 7-8 (subset accuracy, Hamming
accuracy).

Every run is one call of ``examples/mlc.py`` (same data, splits, training
and validation-tuned thresholds as the example); this script writes the
mean ± std of the test metrics per data set and variant, the paper's numbers
and the exact command of every run to ``results/paper.md`` and the raw runs
to ``results/paper.json`` (``paper_quick.*`` with ``--quick``).

The paper's settings are the defaults: T=2, d=512, K=4, batch 32, Adam
lr 2e-4, dropout 0.2 (0.1 for Delicious), lambda 0.2, 50 epochs.  At d=512
Delicious (983 labels) costs about 35 s per batch with a fully connected
label graph on 2 CPU threads: run the full table on a GPU (``--device
cuda``) or with a smaller ``--hidden``.

Examples::

    python benchmarks/accuracy/paper.py --seeds 0 1 2 --device cuda
    python benchmarks/accuracy/paper.py --datasets sider bibtex \
        --variants mlp emb-fc fmp-pr --hidden 128 --epochs 30
    python benchmarks/accuracy/paper.py --quick     # a smoke test
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Any, Dict, List, Sequence

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', '..', 'examples'))

import mlc  # noqa: E402  (examples/mlc.py)

from lamp_geometric import metrics as M  # noqa: E402

KEYS = ('ebF1', 'miF1', 'maF1', 'acc', 'ha', 'roc_auc')
PAPER_KEYS = ('ebF1', 'miF1', 'maF1', 'acc', 'ha')

#: Variant name -> (encoder, label graph) of examples/mlc.py.
VARIANTS: Dict[str, tuple] = {
    'mlp': ('mlp', 'el'),
    'emb-el': ('emb', 'el'),
    'emb-fc': ('emb', 'fc'),
    'emb-pr': ('emb', 'pr'),
    'fmp-el': ('fmp', 'el'),
    'fmp-fc': ('fmp', 'fc'),
    'fmp-pr': ('fmp', 'pr'),
}
DATASETS = ('sider', 'bibtex', 'delicious', 'reuters')
#: The paper's dropout per data set (Sec. 8.3).
DROPOUT = dict(sider=0.2, bibtex=0.2, reuters=0.2, delicious=0.1)

# The paper's Tables 1, 2, 3, 7 and 8: (ebF1, miF1, maF1, acc, ha).
_PAPER_ROWS = {
    'sider': {
        'Emb + MLP': (.766, .795, .665, .014, .752),
        'Emb + LaMP_el': (.767, .797, .666, .014, .750),
        'Emb + LaMP_fc': (.763, .797, .663, .007, .752),
        'Emb + LaMP_pr': (.765, .798, .663, .007, .751),
        'FMP + LaMP_el': (.766, .795, .664, .007, .748),
        'FMP + LaMP_fc': (.764, .795, .668, .014, .749),
        'FMP + LaMP_pr': (.766, .797, .664, .007, .747),
    },
    'bibtex': {
        'Emb + MLP': (.363, .389, .275, .151, .987),
        'Emb + LaMP_el': (.379, .413, .308, .141, .987),
        'Emb + LaMP_fc': (.427, .458, .366, .171, .988),
        'Emb + LaMP_pr': (.424, .462, .372, .169, .988),
        'FMP + LaMP_el': (.435, .455, .353, .158, .987),
        'FMP + LaMP_fc': (.445, .465, .371, .182, .988),
        'FMP + LaMP_pr': (.447, .473, .376, .185, .988),
    },
    'delicious': {
        'Emb + MLP': (.371, .385, .180, .180, .982),
        'Emb + LaMP_el': (.358, .372, .176, .176, .982),
        'Emb + LaMP_fc': (.368, .379, .192, .192, .982),
        'Emb + LaMP_pr': (.366, .380, .192, .192, .982),
        'FMP + LaMP_el': (.369, .381, .192, .192, .982),
        'FMP + LaMP_fc': (.372, .384, .195, .195, .982),
        'FMP + LaMP_pr': (.372, .386, .196, .196, .982),
    },
    'reuters': {
        'Emb + MLP': (.854, .835, .366, .774, .996),
        'Emb + LaMP_el': (.859, .842, .476, .757, .996),
        'Emb + LaMP_fc': (.896, .871, .547, .813, .997),
        'Emb + LaMP_pr': (.895, .877, .560, .813, .997),
        'FMP + LaMP_el': (.883, .870, .508, .808, .997),
        'FMP + LaMP_fc': (.906, .886, .520, .835, .997),
        'FMP + LaMP_pr': (.902, .889, .517, .828, .997),
    },
}
#: The paper's numbers: data set -> variant -> metric -> value.
PAPER: Dict[str, Dict[str, Dict[str, float]]] = {
    d: {v: dict(zip(PAPER_KEYS, vals)) for v, vals in rows.items()}
    for d, rows in _PAPER_ROWS.items()
}

#: Settings of --quick (a smoke test, not a measurement).
QUICK = dict(seeds=[0], epochs=1, limit=32, limit_eval=32, hidden=16,
             heads=2, batch_size=16)


def mean_std(values: Sequence[float]) -> tuple:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std())


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--datasets', nargs='+', default=list(DATASETS),
                   choices=list(mlc.DATASETS))
    p.add_argument('--variants', nargs='+', default=list(VARIANTS),
                   choices=list(VARIANTS))
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--epochs', type=int, default=50)
    p.add_argument('--hidden', type=int, default=512)
    p.add_argument('--heads', type=int, default=4)
    p.add_argument('--lr', type=float, default=2e-4)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--dropout', type=float, default=None,
                   help="default: the paper's (0.2, Delicious 0.1)")
    p.add_argument('--lambda-int', type=float, default=0.2)
    p.add_argument('--select', default='roc_auc',
                   help='validation criterion for the best epoch')
    p.add_argument('--limit', type=int, default=None)
    p.add_argument('--limit-eval', type=int, default=None)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--device', default='cpu')
    p.add_argument('--quick', action='store_true',
                   help=f'smoke test: {QUICK} (written to paper_quick.*)')
    p.add_argument('--data-dir', default=os.environ.get('LAMP_DATA'))
    p.add_argument('--cache-dir', default=None)
    p.add_argument('--out-dir', default=osp.join(HERE, 'results'))
    args = p.parse_args(argv)
    if args.quick:
        for k, v in QUICK.items():
            setattr(args, k, v)
    return args


def run_command(args: argparse.Namespace, dataset: str, variant: str,
                seed: int) -> List[str]:
    r"""The :obj:`examples/mlc.py` arguments of one run (without the local
    data and cache directories)."""
    encoder, graph = VARIANTS[variant]
    dropout = (args.dropout if args.dropout is not None else
               DROPOUT.get(dataset, 0.2))
    cli = ['--dataset', dataset, '--encoder', encoder, '--label-graph',
           graph, '--seed', str(seed), '--epochs', str(args.epochs),
           '--hidden', str(args.hidden), '--heads', str(args.heads),
           '--lr', str(args.lr), '--batch-size', str(args.batch_size),
           '--dropout', str(dropout), '--lambda-int', str(args.lambda_int),
           '--select', args.select, '--device', args.device, '--quiet']
    for flag, value in (('--limit', args.limit),
                        ('--limit-eval', args.limit_eval),
                        ('--threads', args.threads)):
        if value is not None:
            cli += [flag, str(value)]
    return cli


def main(argv=None) -> Dict[str, Any]:
    args = parse_args(argv)
    local = []
    if args.data_dir:
        local += ['--data-dir', args.data_dir]
    if args.cache_dir:
        local += ['--cache-dir', args.cache_dir]

    runs: List[Dict[str, Any]] = []
    for dataset in args.datasets:
        for variant in args.variants:
            for seed in args.seeds:
                cli = run_command(args, dataset, variant, seed)
                print(f'== {dataset} {variant} seed {seed}', flush=True)
                start = time.perf_counter()
                res = mlc.main(cli + local)
                runs.append(dict(
                    dataset=dataset, variant=variant,
                    name=res['variant'], seed=seed,
                    command='python examples/mlc.py ' + ' '.join(cli),
                    test={k: res['test'][k] for k in KEYS},
                    baselines=res['baselines'],
                    split_sizes=res['split_sizes'],
                    label_graph=res['label_graph'],
                    label_graph_edges=res['label_graph_edges'],
                    best_epoch=res['best_epoch'],
                    median_epoch_time=res['median_epoch_time'],
                    wall_time=time.perf_counter() - start))

    tables: Dict[str, str] = {}
    summary: Dict[str, Dict[str, Any]] = {}
    for dataset in args.datasets:
        rows: Dict[str, Dict[str, Any]] = {}
        sel = [r for r in runs if r['dataset'] == dataset]
        for variant in args.variants:
            mine = [r for r in sel if r['variant'] == variant]
            name = mine[0]['name']
            rows[f'{name} (ours)'] = {
                k: mean_std([r['test'][k] for r in mine]) for k in KEYS}
            paper = PAPER.get(dataset, {}).get(name)
            if paper is not None:
                rows[f'{name} (paper)'] = dict(paper)
        first = [r for r in sel if r['variant'] == args.variants[0]]
        for label, key in (('majority (train prior)', 'majority'),
                           ('all positive', 'all_positive')):
            rows[label] = {k: mean_std([r['baselines'][key][k]
                                        for r in first])
                           for k in PAPER_KEYS}
        tables[dataset] = M.format_table(rows, keys=list(KEYS))
        summary[dataset] = {
            name: {k: list(v) if isinstance(v, tuple) else v
                   for k, v in metrics.items()}
            for name, metrics in rows.items()}

    config = {k: v for k, v in vars(args).items()
              if k not in ('data_dir', 'cache_dir', 'out_dir')}
    command = 'python benchmarks/accuracy/paper.py ' + ' '.join(
        f'--{k.replace("_", "-")}' + (
            '' if isinstance(v, bool) else ' ' + (
                ' '.join(map(str, v)) if isinstance(v, list) else str(v)))
        for k, v in config.items()
        if v is not None and v is not False and not (args.quick and
                                                     k in QUICK))
    stem = 'paper_quick' if args.quick else 'paper'
    os.makedirs(args.out_dir, exist_ok=True)
    json_path = osp.join(args.out_dir, f'{stem}.json')
    md_path = osp.join(args.out_dir, f'{stem}.md')
    with open(json_path, 'w') as f:
        json.dump(dict(config=config, command=command, paper=PAPER,
                       summary=summary, runs=runs), f, indent=2)
    with open(md_path, 'w') as f:
        f.write(_markdown(args, tables, runs, command))
    print('\n\n'.join(f'{d}\n{t}' for d, t in tables.items()))
    print(f'wrote {md_path} and {json_path}')
    return dict(tables=tables, summary=summary, runs=runs,
                md_path=md_path, json_path=json_path)


def _markdown(args: argparse.Namespace, tables: Dict[str, str],
              runs: List[Dict[str, Any]], command: str) -> str:
    title = ('Smoke test (--quick): NOT a measurement'
             if args.quick else 'Accuracy of the paper\'s variants')
    lines = [
        f'# {title}',
        '',
        f'Test metrics, mean ± std over seeds {args.seeds}; each run is '
        f'`examples/mlc.py` (best epoch by validation {args.select}, one '
        f'threshold per metric tuned on validation).  Rows marked '
        f'"(paper)" are the LaMP paper\'s Tables 1-3 (ebF1, miF1, maF1) and '
        f'7-8 (acc = subset accuracy, ha = Hamming accuracy); the paper '
        f'reports no ROC-AUC.  Settings: d={args.hidden}, K={args.heads}, '
        f'{args.epochs} epochs, batch {args.batch_size}, lr {args.lr}, '
        f'lambda {args.lambda_int}'
        + (f', first {args.limit} training samples' if args.limit else '')
        + (f', first {args.limit_eval} validation/test samples'
           if args.limit_eval else '') + '.',
        '',
        f'Produced by: `{command}`',
        '',
    ]
    for dataset, table in tables.items():
        sizes = next(r['split_sizes'] for r in runs
                     if r['dataset'] == dataset)
        graphs = sorted({f"{r['label_graph']}" for r in runs
                         if r['dataset'] == dataset and r['label_graph']
                         not in ('n/a',)})
        lines += [f'## {mlc.DISPLAY.get(dataset, dataset)}', '',
                  f'Split (train/val/test): {sizes[0]}/{sizes[1]}/'
                  f'{sizes[2]}; label graphs: {", ".join(graphs)}.', '',
                  table, '']
    lines += ['## Commands', '',
              'Each run, with `--data-dir` / `--cache-dir` added for the '
              'local data:', '', '```']
    lines += [r['command'] for r in runs]
    lines += ['```', '']
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
