r"""Time to accuracy: per data set on this CPU, the wall-clock time until the
test metric, at the epoch chosen on validation, reaches the paper's number.

Every run is one call of :func:`lamp_geometric.experiment.run` with the
options of ``examples/mlc.py`` and ``--trace-test``: after every epoch the
engine also scores the test split at thresholds tuned on that epoch's
validation predictions and keeps those test metrics in the history with the
training clock (``elapsed``: seconds since training began, without the
trace's own time, so the clock of the same run without the trace).  The
trace never picks an epoch; this script replays the validation criterion
over the history to find, at every epoch, the best epoch so far (the one
the run would return if it stopped there), and reports for each of ebF1,
miF1 and maF1 the first time the test metric of that epoch reaches the
paper's number (the best of the paper's variants on that data set, Tables
1-3), or "not reached" with the best value it got to.

Each finished run is appended as one JSON line to
``results/time_to_accuracy_runs.jsonl`` with its command, the machine's
CPU, the targets, the times and the full curve (per epoch: ``elapsed``,
the validation criterion, the best epoch so far and its test metrics, and
the epoch's own test metrics); a run already there with the same settings
is not repeated, so an interrupted benchmark resumes.  The script then
writes one table to ``results/time_to_accuracy.md`` and ``.json``
(``time_to_accuracy_quick*`` with ``--quick``); ``--render`` only rewrites
them from the runs file.

The recipe is the library's (:class:`lamp_geometric.recipe.TrainingConfig`)
at d=128 (``--hidden``), with a time limit: ``--max-minutes`` (default 170)
stops training before an epoch that would end past it, so that a run with
its data loading and final evaluation finishes within 3 hours of
wall-clock time.  The times are the training clock: data loading, the label
graph and the final evaluation are not in them (the table's wall time
is).  Metrics count empty cases as scikit-learn does; the same times under
the original code's protocol (empty samples and labels left out of ebF1 and
maF1) are in a second table.

Examples::

    python benchmarks/accuracy/time_to_accuracy.py --datasets bibtex \
        --variants emb-fc --seeds 0 --threads 2
    python benchmarks/accuracy/time_to_accuracy.py --quick   # a smoke test
    python benchmarks/accuracy/time_to_accuracy.py --render  # tables only
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence

import torch

from lamp_geometric.recipe import TrainingConfig, add_config_arguments

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(HERE))  # benchmarks/: common
sys.path.insert(0, HERE)  # benchmarks/accuracy/: paper

import common as C  # noqa: E402
import paper  # noqa: E402

#: The metrics with a time to reach the paper's number.
TARGET_KEYS = ('ebF1', 'miF1', 'maF1')
DATASETS = ('bibtex', 'reuters', 'delicious', 'sider')
#: The variants of ``paper.py`` that train a network (and have epochs).
NETWORKS = tuple(v for v, spec in paper.ALL_VARIANTS.items()
                 if spec[0] in ('emb', 'fmp', 'mlp'))
#: The paper's training time on a GPU, minutes: data set -> (minutes, for
#: which model).
PAPER_MINUTES: Dict[str, tuple] = {
    'bibtex': (19, None),
    'reuters': (40, None),
    'delicious': (160, 'LaMP_fc'),
}
#: The protocols of the trace: name -> prefix of its history keys and the
#: field of a curve point.
PROTOCOLS = {'sklearn': ('test_', 'test'),
             'paper': ('test_paper_', 'test_paper')}
#: The recipe options passed to every run (defaults: the library's, but
#: the width and the time limit).
RECIPE = paper.RECIPE + ('max_minutes',)
DEFAULTS = dict(hidden=128, max_minutes=170.0)
#: The settings that make two runs of one data set, variant and seed the
#: same run.
SETTINGS = RECIPE + ('limit', 'limit_eval', 'device')
#: Settings of --quick (a smoke test, not a measurement).
QUICK = dict(seeds=[0], epochs=2, limit=64, limit_eval=64, hidden=16,
             heads=2, batch_size=16)
QUICK_DATASETS = ['sider']


# The curve ###################################################################

def paper_targets(dataset: str) -> Optional[Dict[str, float]]:
    r"""The paper's best number of each of :obj:`TARGET_KEYS` over its
    variants on :obj:`dataset` (:obj:`None` for a data set the paper does
    not report)."""
    rows = paper.PAPER.get(dataset)
    if not rows:
        return None
    return {k: max(row[k] for row in rows.values()) for k in TARGET_KEYS}


def _metrics(row: Mapping[str, Any], prefix: str) -> Dict[str, float]:
    out = {}
    for key, value in row.items():
        if key.startswith(prefix) and not (prefix == 'test_' and
                                           key.startswith('test_paper_')):
            out[key[len(prefix):]] = value
    return out


def best_so_far_curve(history: Sequence[Mapping[str, Any]],
                      select: str) -> List[Dict[str, Any]]:
    r"""Per epoch of a traced history (rows of
    :attr:`lamp_geometric.train.FitResult.history` with
    :obj:`--trace-test`): :obj:`epoch`, :obj:`elapsed`, :obj:`val` (the
    validation criterion), :obj:`best_epoch` (the best epoch so far by that
    criterion, chosen as :func:`lamp_geometric.train.fit` chooses: lower
    loss or higher metric, the earlier epoch on ties, non-finite scores
    skipped; :obj:`None` before the first finite one), :obj:`test` and
    :obj:`test_paper` (the test metrics of the best epoch so far, under
    both protocols) and :obj:`epoch_test` (the epoch's own test
    metrics)."""
    sign = -1.0 if select == 'loss' else 1.0
    key = 'val_loss' if select == 'loss' else f'val_{select}'
    best_score, best_row = -math.inf, None
    curve = []
    for row in history:
        score = row.get(key)
        if (score is not None and math.isfinite(score)
                and sign * score > best_score):
            best_score, best_row = sign * score, row
        point: Dict[str, Any] = dict(
            epoch=int(row['epoch']), elapsed=row.get('elapsed'), val=score,
            best_epoch=None if best_row is None else int(best_row['epoch']))
        for prefix, name in PROTOCOLS.values():
            point[name] = ({} if best_row is None else
                           _metrics(best_row, prefix))
        point['epoch_test'] = _metrics(row, 'test_')
        curve.append(point)
    return curve


def time_to_targets(curve: Sequence[Mapping[str, Any]],
                    targets: Mapping[str, float],
                    field: str = 'test') -> Dict[str, Dict[str, Any]]:
    r"""For each metric of :obj:`targets`: the target, the first point of
    :obj:`curve` (:func:`best_so_far_curve`) whose best epoch's test metric
    (in :obj:`field`) reaches it (:obj:`time`: its :obj:`elapsed`,
    :obj:`epoch`, :obj:`best_epoch`, :obj:`value`; all :obj:`None` when
    never reached), :obj:`best` (the highest value the best epoch so far
    had) and :obj:`final` (its value at the end)."""
    out: Dict[str, Dict[str, Any]] = {}
    for key, target in targets.items():
        values = [(p, p[field].get(key)) for p in curve]
        values = [(p, v) for p, v in values
                  if v is not None and math.isfinite(v)]
        hit = next(((p, v) for p, v in values if v >= target), None)
        out[key] = dict(
            target=target,
            time=None if hit is None else hit[0]['elapsed'],
            epoch=None if hit is None else hit[0]['epoch'],
            best_epoch=None if hit is None else hit[0]['best_epoch'],
            value=None if hit is None else hit[1],
            best=max(v for _, v in values) if values else None,
            final=values[-1][1] if values else None)
    return out


def time_to_accuracy(history: Sequence[Mapping[str, Any]], select: str,
                     targets: Optional[Mapping[str, float]]
                     ) -> Dict[str, Any]:
    r"""The curve of a traced history (:func:`best_so_far_curve`) and, per
    protocol (:obj:`'sklearn'`, :obj:`'paper'`), the time to each target
    (:func:`time_to_targets`; empty without targets)."""
    curve = best_so_far_curve(history, select)
    reached = {protocol: ({} if not targets else
                          time_to_targets(curve, targets, field))
               for protocol, (_, field) in PROTOCOLS.items()}
    return dict(curve=curve, reached=reached)


# Runs ########################################################################

def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--datasets', nargs='+', default=None,
                   type=paper.dataset_name_arg,
                   help=f'default: {" ".join(DATASETS)} (with --quick: '
                   f'{" ".join(QUICK_DATASETS)})')
    p.add_argument('--variants', nargs='+', default=['emb-fc'],
                   choices=list(NETWORKS))
    p.add_argument('--seeds', type=int, nargs='+', default=[0])
    recipe = p.add_argument_group('recipe (default: the library\'s, d=128, '
                                  'a 170-minute limit)')
    add_config_arguments(recipe, TrainingConfig, overrides=DEFAULTS,
                         only=RECIPE)
    paper.add_run_arguments(
        p, 'time_to_accuracy', f'smoke test: {QUICK} on '
        f'{QUICK_DATASETS} by default (written to {{stem}}_quick.*)')
    args = p.parse_args(argv)
    if args.quick:
        for k, v in QUICK.items():
            setattr(args, k, v)
    if args.datasets is None:
        args.datasets = list(QUICK_DATASETS if args.quick else DATASETS)
    return args


def run_command(args: argparse.Namespace, dataset: str, variant: str,
                seed: int) -> List[str]:
    r"""The :obj:`examples/mlc.py` arguments of one run (without the local
    data and cache directories)."""
    return paper.run_command(args, dataset, variant, seed) + [
        '--max-minutes', str(args.max_minutes), '--trace-test']


def run_settings(args: argparse.Namespace, variant: str) -> Dict[str, Any]:
    r"""The recorded settings of a run of :obj:`variant` (as
    :func:`paper.run_settings`, with the time limit)."""
    return {**{k: getattr(args, k) for k in SETTINGS},
            **paper.run_settings(args, variant)}


def run_one(args: argparse.Namespace, dataset: str, variant: str, seed: int,
            local: Sequence[str] = ()) -> Dict[str, Any]:
    r"""Trains one traced run and returns its record (one line of the runs
    file)."""
    cli = run_command(args, dataset, variant, seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    machine = C.machine()
    start = time.perf_counter()
    res = paper.run_cli(cli + list(local))
    wall_time = time.perf_counter() - start
    machine['loadavg_end'] = list(os.getloadavg())
    history = res['history']
    targets = paper_targets(dataset)
    traced = time_to_accuracy(history, args.select, targets)
    curve = traced['curve']
    if curve and curve[-1]['best_epoch'] != res['best_epoch']:
        print(f"warning: the replayed best epoch {curve[-1]['best_epoch']} "
              f"is not the run's {res['best_epoch']}", flush=True)
    return dict(
        dataset=dataset, variant=variant, name=res['variant'], seed=seed,
        settings=run_settings(args, variant),
        command='python examples/mlc.py ' + ' '.join(cli),
        machine=machine,
        targets=targets,
        paper_minutes=PAPER_MINUTES.get(dataset, (None, None))[0],
        reached=traced['reached'],
        test={k: res['test'][k] for k in paper.KEYS},
        test_paper={k: res['test_paper'][k] for k in paper.KEYS},
        best_epoch=res['best_epoch'], last_epoch=res.get('last_epoch'),
        converged=res.get('converged'),
        stopped_early=res.get('stopped_early'),
        timed_out=res.get('timed_out'),
        median_epoch_time=res['median_epoch_time'],
        training_time=curve[-1]['elapsed'] if curve else None,
        trace_time=sum(row.get('trace_time', 0.0) for row in history),
        wall_time=wall_time,
        split_sizes=res['split_sizes'],
        label_graph=res['label_graph'],
        curve=curve)


def main(argv=None) -> Dict[str, Any]:
    args = parse_args(argv)
    local, stem, runs_path = paper.runs_file(args)
    saved = {paper.run_key(r): r for r in paper.load_runs(runs_path)}

    for dataset in ([] if args.render else args.datasets):
        for variant in args.variants:
            settings = run_settings(args, variant)
            for seed in args.seeds:
                saved.update({paper.run_key(r): r
                              for r in paper.load_runs(runs_path)})
                key = paper.run_key(dict(dataset=dataset, variant=variant,
                                         seed=seed, settings=settings))
                if key in saved and not args.fresh:
                    print(f'== {dataset} {variant} seed {seed}: saved',
                          flush=True)
                    continue
                print(f'== {dataset} {variant} seed {seed}', flush=True)
                run = run_one(args, dataset, variant, seed, local)
                with open(runs_path, 'a') as f:  # one line per finished run
                    f.write(json.dumps(run) + '\n')
                saved[paper.run_key(run)] = run
                print(summary_line(run), flush=True)

    runs = sorted(saved.values(), key=lambda r: (
        paper.order_key(paper.ORDER, r['dataset']),
        paper.order_key(paper.ALL_VARIANTS, r['variant']), r['seed'],
        json.dumps(r['settings'], sort_keys=True)))
    rows = {protocol: [table_row(r, protocol) for r in runs]
            for protocol in PROTOCOLS}
    tables = {protocol: C.table(rows[protocol], COLUMNS)
              for protocol in PROTOCOLS}
    config = {k: v for k, v in vars(args).items()
              if k not in ('data_dir', 'cache_dir', 'out_dir', 'render',
                           'fresh')}
    json_path = osp.join(args.out_dir, f'{stem}.json')
    md_path = osp.join(args.out_dir, f'{stem}.md')
    with open(json_path, 'w') as f:
        json.dump(dict(config=config, paper_minutes=PAPER_MINUTES,
                       targets={d: paper_targets(d) for d in
                                sorted({r['dataset'] for r in runs})},
                       rows=rows, runs=runs), f, indent=1)
    with open(md_path, 'w') as f:
        f.write(_markdown(args, stem, tables, runs))
    print(tables['sklearn'])
    print(f'wrote {md_path} and {json_path}')
    return dict(tables=tables, rows=rows, runs=runs, md_path=md_path,
                json_path=json_path)


# Tables ######################################################################

COLUMNS = ('data set', 'variant', 'seed', 'paper ebF1/miF1/maF1',
           'time to ebF1', 'time to miF1', 'time to maF1', 'paper (GPU)',
           'training', 'wall', 'converged')


def format_time(seconds: Optional[float]) -> str:
    if seconds is None:
        return '-'
    return f'{seconds:.1f} s' if seconds < 60 else f'{seconds / 60:.1f} min'


def _value(x: Optional[float]) -> str:
    return '-' if x is None else f'{x:.3f}'.lstrip('0')


def reached_cell(entry: Optional[Mapping[str, Any]]) -> str:
    r"""'12.3 min (epoch 7)', or 'not reached (best .431)'."""
    if not entry:
        return '-'
    if entry['time'] is None:
        return f"not reached (best {_value(entry['best'])})"
    return f"{format_time(entry['time'])} (epoch {entry['best_epoch']})"


def table_row(run: Mapping[str, Any], protocol: str = 'sklearn'
              ) -> Dict[str, Any]:
    targets = run.get('targets')
    reached = run['reached'].get(protocol, {})
    minutes, model = PAPER_MINUTES.get(run['dataset'], (None, None))
    converged = 'yes' if paper.converged(dict(run)) else 'no'
    if run.get('timed_out'):
        converged += ' (time limit)'
    row = {
        'data set': run['dataset'], 'variant': run['name'],
        'seed': run['seed'],
        'paper ebF1/miF1/maF1': ('-' if not targets else '/'.join(
            _value(targets[k]) for k in TARGET_KEYS)),
        'paper (GPU)': ('-' if minutes is None else
                        f'{minutes} min' + (f' ({model})' if model else '')),
        'training': format_time(run.get('training_time')),
        'wall': format_time(run.get('wall_time')),
        'converged': converged,
    }
    for k in TARGET_KEYS:
        row[f'time to {k}'] = reached_cell(reached.get(k))
    return row


def summary_line(run: Mapping[str, Any]) -> str:
    row = table_row(run)
    return (f"{run['dataset']} {run['name']} seed {run['seed']}: " +
            ', '.join(f"{k} {row[f'time to {k}']}" for k in TARGET_KEYS) +
            f"; training {row['training']}, wall {row['wall']}")


def _markdown(args: argparse.Namespace, stem: str,
              tables: Mapping[str, str],
              runs: Sequence[Mapping[str, Any]]) -> str:
    title = ('Smoke test (--quick): NOT a measurement' if args.quick
             else 'Time to accuracy on this CPU')
    cpus = sorted({f"{r['machine']['cpu']}, {r['machine']['threads']} "
                   f"thread(s)" for r in runs if r.get('machine')})
    settings = sorted({paper.describe_run(r) + (
        f", time limit {r['settings']['max_minutes']:g} min"
        if r['settings'].get('max_minutes') else '') for r in runs})
    lines = [
        f'# {title}', '',
        'Per run: the training time until the test metric of the epoch '
        'chosen on validation (the best epoch so far) reaches the '
        "paper's number, the best of the paper's variants on that data set "
        '(Tables 1-3).  After every epoch the run also scored the test '
        "split at thresholds tuned on that epoch's validation predictions "
        '(`--trace-test`, never used to pick the epoch); the clock is the '
        "training clock without the trace's own time (data loading and the "
        'final evaluation are only in the wall time).  "(epoch k)": the '
        'epoch chosen on validation at that time.  "not reached (best x)": '
        'the highest value the chosen epoch had.  "paper (GPU)": the '
        "paper's training time on a GPU.  A run is *converged* when its "
        'best epoch came before its last.  Written by `python '
        'benchmarks/accuracy/time_to_accuracy.py` from the runs in '
        f'`{stem}_runs.jsonl`, which also hold the full curves.', '',
        'Machine: ' + ('; '.join(cpus) or '-') + '.', '',
        'Settings: ' + ('; '.join(settings) or '-') + '.', '',
        '## Empty cases counted as scikit-learn does', '',
        tables['sklearn'], '',
        "## Under the original code's protocol", '',
        'Samples with no true and no predicted label left out of ebF1, '
        'labels with 0/0 left out of maF1, thresholds tuned under it.', '',
        tables['paper'], '',
        '## Commands', '',
        'Each run, with `--data-dir` / `--cache-dir` added for the local '
        'data:', '', '```']
    lines += [r['command'] for r in runs]
    lines += ['```', '']
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
