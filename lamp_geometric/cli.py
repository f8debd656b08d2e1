r"""The :obj:`lamp-geometric` command line.

.. code-block:: text

    lamp-geometric train    --epochs 30 --label-graph pr --checkpoint model.pt
    lamp-geometric train    --csv my.csv --smiles-column smiles \
                            --label-columns tox1 tox2 --checkpoint model.pt
    lamp-geometric train    --dataset bibtex --encoder fmp --out bibtex.json
    lamp-geometric evaluate --checkpoint model.pt
    lamp-geometric predict  --checkpoint model.pt --smiles CCO c1ccccc1O
    lamp-geometric explain  --checkpoint model.pt --smiles CCO --out-dir expl

Run :obj:`lamp-geometric <command> --help` for the options.  :obj:`train`
runs :func:`lamp_geometric.experiment.run` on any data set of
:mod:`lamp_geometric.registry`; the other commands read molecule
checkpoints.  Bad input (a missing file or column, a malformed line, a
setting that does not apply) is reported in one line with exit status 2
(:obj:`--verbose` shows the traceback).
"""
import argparse
import json
import os
import sys
from typing import Callable, List, Optional, Sequence

__all__ = ['main', 'build_parser']

#: Exit status for a usage problem (missing file or column, bad option).
EXIT_USAGE = 2
#: Exit status when no input could be processed.
EXIT_FAILED = 1

PROG = 'lamp-geometric'


class UsageError(Exception):
    r"""A problem the user can fix (reported without a traceback)."""


def _add_dataset_arguments(p: argparse.ArgumentParser) -> None:
    from lamp_geometric.experiment import add_experiment_arguments

    g = p.add_argument_group('data set')
    add_experiment_arguments(g, only=('dataset', 'data_dir', 'cache_dir',
                                      'csv', 'smiles_column',
                                      'label_columns'), training=False)


def _add_verbosity(p: argparse.ArgumentParser, quiet: bool = True) -> None:
    if quiet:
        p.add_argument('--quiet', action='store_true',
                       help='print only results and errors, no progress '
                       'bars')
    p.add_argument('--verbose', action='store_true',
                   help='more messages (one line per epoch), tracebacks on '
                   'errors')


def _add_inputs(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group('molecules')
    g.add_argument('--smiles', nargs='+', default=None, metavar='SMILES',
                   help='SMILES strings')
    g.add_argument('--input', default=None, metavar='FILE',
                   help='a CSV file with a SMILES column (see '
                   '--smiles-column), or a text file with one SMILES per '
                   'line')
    g.add_argument('--smiles-column', default='smiles',
                   help="SMILES column of a CSV --input (default: 'smiles')")


def _add_threshold(p: argparse.ArgumentParser) -> None:
    from lamp_geometric.metrics import THRESHOLD_METRICS
    p.add_argument('--metric', choices=THRESHOLD_METRICS, default='maF1',
                   help='use the threshold tuned on validation for this '
                   'metric (default: maF1)')
    p.add_argument('--threshold', type=float, default=None,
                   help='use this threshold instead')


def build_parser() -> argparse.ArgumentParser:
    r"""The argument parser of :obj:`lamp-geometric` (with its
    subcommands)."""
    from lamp_geometric import __version__
    from lamp_geometric.experiment import add_experiment_arguments

    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Label Message Passing (LaMP) networks for multi-label '
        'classification.')
    parser.add_argument('--version', action='version',
                        version=f'%(prog)s {__version__}')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    sub.required = True

    p = sub.add_parser(
        'train', help='train LaMP (or a baseline) on a data set',
        description='Train LaMP or a baseline on a data set of the '
        'registry (molecules, bag of words, text, vectors; your own CSV, '
        'ARFF or text files): its split, best validation epoch, one '
        'threshold per metric tuned on validation, test metrics beside '
        'label-prior baselines.  --out writes {"test", "val", "config", '
        '"history", ...} as JSON.')
    add_experiment_arguments(p)
    p.add_argument('--verbose', action='store_true',
                   help='one line per epoch, tracebacks on errors')
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        'evaluate', help='evaluate a checkpoint on a data set',
        description='Evaluate a checkpoint with its tuned thresholds.  '
        'Without data options it uses the data set and split it was trained '
        'on.')
    p.add_argument('--checkpoint', required=True, metavar='PATH')
    _add_dataset_arguments(p)
    p.add_argument('--split', choices=['test', 'val', 'train', 'all'],
                   default=None,
                   help="which molecules (default: 'test' of the training "
                   "data set, 'all' of another one)")
    p.add_argument('--seed', type=int, default=None,
                   help='split seed (default: the one used in training)')
    p.add_argument('--limit', type=int, default=None, metavar='N',
                   help='evaluate only the first N molecules of the split')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--device', default='cpu')
    p.add_argument('--out', default=None, help='write the metrics as JSON')
    _add_verbosity(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        'predict', help='predict labels of new molecules',
        description='Predict per-label probabilities and binary labels of '
        'molecules.  Invalid SMILES are reported and the others predicted.')
    p.add_argument('--checkpoint', required=True, metavar='PATH')
    _add_inputs(p)
    _add_threshold(p)
    p.add_argument('--out', default=None, metavar='FILE',
                   help='write the predictions (.json for JSON, else CSV)')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--device', default='cpu')
    _add_verbosity(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser(
        'explain', help='explain predictions with plots',
        description='Write the intermediate predictions, label-to-feature '
        'and label-to-label attention plots, and molecule drawings shaded '
        'by attention, for each molecule.')
    p.add_argument('--checkpoint', required=True, metavar='PATH')
    _add_inputs(p)
    _add_threshold(p)
    p.add_argument('--out-dir', default='explanations', metavar='DIR',
                   help="output directory (default: 'explanations')")
    p.add_argument('--labels', nargs='+', default=None, metavar='LABEL',
                   help='labels (names or indices) of the attention plots '
                   '(default: the predicted ones)')
    p.add_argument('--molecule-labels', type=int, default=3, metavar='K',
                   help='draw the molecule for the K most probable of those '
                   'labels (default: 3)')
    p.add_argument('--device', default='cpu')
    _add_verbosity(p)
    p.set_defaults(func=cmd_explain)
    return parser


# Helpers ####################################################################

def _printer(args) -> Callable[[str], None]:
    if getattr(args, 'quiet', False):
        return lambda _msg: None
    return print


def _read_inputs(args) -> List[str]:
    smiles: List[str] = list(args.smiles or [])
    if args.input:
        if not os.path.isfile(args.input):
            raise FileNotFoundError(f"Input file not found: '{args.input}'")
        if args.input.lower().endswith('.csv'):
            import csv
            with open(args.input, newline='', encoding='utf-8-sig') as f:
                reader = csv.DictReader(f)
                columns = reader.fieldnames or []
                if args.smiles_column not in columns:
                    raise ValueError(
                        f"Column '{args.smiles_column}' not found in "
                        f"'{args.input}'; the columns are: {columns} (choose "
                        f"one with --smiles-column)")
                smiles += [row[args.smiles_column] for row in reader]
        else:
            with open(args.input, encoding='utf-8') as f:
                smiles += [line.strip() for line in f if line.strip()]
    if not smiles:
        raise UsageError('no molecules given: pass --smiles or --input')
    return smiles


def _load_predictor(args):
    from lamp_geometric.predict import Predictor
    return Predictor.from_checkpoint(args.checkpoint, device=args.device,
                                     batch_size=getattr(args, 'batch_size',
                                                        64))


# Commands ###################################################################

def cmd_train(args) -> int:
    r"""Runs :func:`lamp_geometric.experiment.run`."""
    from lamp_geometric.experiment import configs_from, run

    if args.quiet and args.verbose:
        raise UsageError('--quiet and --verbose exclude each other')
    config, training = configs_from(args)
    run(config, training, log=_printer(args),
        epoch_log=print if args.verbose else None)
    return 0


def _evaluation_data(args, info):
    r"""The data set and the molecules :obj:`evaluate` scores, and the name
    of the split."""
    from lamp_geometric.data import random_split
    from lamp_geometric.experiment import ExperimentConfig, load_data
    from lamp_geometric.recipe import config_from

    trained = dict(info.extra.get('dataset') or {})
    split_info = dict(info.extra.get('split') or {})
    recorded = info.extra.get('experiment')
    own_data = args.dataset is None and args.csv is None
    local = dict(data_dir=args.data_dir, cache_dir=args.cache_dir)
    if own_data:
        if not trained:
            raise UsageError(f"'{args.checkpoint}' does not record its data "
                             f"set: pass --dataset or --csv")
        if recorded:
            config = config_from(dict(recorded, **local), ExperimentConfig)
        else:  # written before the experiment engine recorded its settings
            config = ExperimentConfig(
                dataset=trained.get('name', 'sider'), csv=trained.get('csv'),
                smiles_column=trained.get('smiles_column', 'smiles'),
                label_columns=trained.get('label_columns'), **local)
    else:
        config = ExperimentConfig(
            dataset=args.dataset, csv=args.csv,
            smiles_column=args.smiles_column,
            label_columns=(args.label_columns or
                           (info.label_names if args.csv else None)),
            **local)
    split = args.split or ('test' if own_data else 'all')
    seed = args.seed if args.seed is not None else split_info.get('seed', 0)
    data = load_data(config, seed, verbose=not args.quiet)
    dataset = data.dataset
    if list(dataset.label_names) != list(info.label_names):
        raise UsageError(f"The data set's labels {dataset.label_names} are "
                         f"not the checkpoint's {info.label_names}")
    if split == 'all':
        subset = dataset
    elif own_data and not recorded:
        # Such checkpoints split the first `limit` molecules at random.
        if trained.get('limit') is not None:
            dataset = dataset[:trained['limit']]
        parts = random_split(len(dataset), split_info.get(
            'fractions', [0.8, 0.1, 0.1]), seed=seed)
        subset = dataset[parts[('train', 'val', 'test').index(split)]]
    else:
        subset = dataset[data.splits[('train', 'val', 'test').index(split)]]
    if args.limit is not None:
        subset = subset[:args.limit]
    return subset, split


def cmd_evaluate(args) -> int:
    r"""Evaluates a checkpoint with its tuned thresholds."""
    import torch

    from lamp_geometric import metrics as M

    say = _printer(args)
    predictor = _load_predictor(args)
    info = predictor.info
    subset, split = _evaluation_data(args, info)
    say(f"evaluating on {len(subset)} molecules ({split})")
    result = predictor.predict_dataset(
        subset, progress=not args.quiet and len(subset) > args.batch_size)
    y = torch.cat([subset[i].y for i in range(len(subset))]).numpy()
    thresholds = info.thresholds or 0.5
    scores = M.evaluate(y, result.probabilities(), thresholds)
    print(M.format_table({os.path.basename(args.checkpoint): scores}))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)),
                    exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(checkpoint=args.checkpoint, split=split,
                           num_molecules=len(subset), thresholds=thresholds,
                           metrics=scores), f, indent=2)
        say(f"wrote {args.out}")
    return 0


def cmd_predict(args) -> int:
    r"""Predicts labels of SMILES strings."""
    from lamp_geometric.predict import PredictionResult

    say = _printer(args)
    smiles = _read_inputs(args)
    predictor = _load_predictor(args)
    result = predictor.predict(smiles, metric=args.metric,
                               threshold=args.threshold,
                               progress=not args.quiet and len(smiles) > 64)
    if not args.quiet:
        ok = [item for item in result if item.ok]
        for start in range(0, max(len(ok), 1), 6):
            chunk = PredictionResult(ok[start:start + 6], result.label_names,
                                     result.threshold, result.metric)
            if chunk.items:
                print(chunk.format_table())
                print()
    for item in result.errors:
        print(f"{PROG}: input {item.index} ({item.smiles!r}): {item.error}",
              file=sys.stderr)
    if args.out:
        result.save(args.out)
        say(f"wrote {args.out}")
    return 0 if len(result.errors) < len(result) else EXIT_FAILED


def cmd_explain(args) -> int:
    r"""Writes explanation plots for SMILES strings."""
    from lamp_geometric.explain import explain, save_explanation
    from lamp_geometric.data import featurize_smiles

    say = _printer(args)
    smiles = _read_inputs(args)
    predictor = _load_predictor(args)
    threshold, _ = predictor.threshold(args.metric, args.threshold)
    labels: Optional[List] = None
    if args.labels:
        labels = [int(x) if x.isdigit() else x for x in args.labels]
        names = predictor.label_names
        unknown = [x for x in labels if (isinstance(x, str) and x not in names)
                   or (isinstance(x, int) and not 0 <= x < len(names))]
        if unknown:
            raise UsageError(f"Unknown label(s) {unknown}; the labels are "
                             f"{names}")
    failed = 0
    for i, s in enumerate(smiles):
        try:
            data = featurize_smiles(s)
        except ValueError as e:
            print(f"{PROG}: input {i} ({s!r}): {e}", file=sys.stderr)
            failed += 1
            continue
        expl = explain(predictor.model, data,
                       label_names=predictor.label_names,
                       threshold=threshold)[0]
        paths = save_explanation(expl, args.out_dir, prefix=f'mol{i}',
                                 labels=labels,
                                 max_molecule_labels=args.molecule_labels)
        positive = [predictor.label_names[j]
                    for j in expl.positive_labels()]
        say(f"mol{i} {s}: {len(positive)} predicted label(s); wrote "
            f"{len(paths)} files to {args.out_dir}")
    return 0 if failed < len(smiles) else EXIT_FAILED


def main(argv: Optional[Sequence[str]] = None) -> int:
    r"""Entry point of the :obj:`lamp-geometric` console script.

    Returns:
        int: The exit status: 0 on success, 1 if no input could be
        processed, 2 for a usage problem (missing file or column, bad
        option).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UsageError, FileNotFoundError, ValueError) as e:
        if getattr(args, 'verbose', False):
            raise
        message = str(e) if str(e) else type(e).__name__
        print(f"{PROG} {args.command}: error: {message}", file=sys.stderr)
        if not isinstance(e, UsageError):
            print(f"{PROG} {args.command}: (--verbose shows the traceback)",
                  file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
