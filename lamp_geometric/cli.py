r"""The :obj:`lamp-geometric` command line.

.. code-block:: text

    lamp-geometric train    --epochs 30 --label-graph pr --checkpoint model.pt
    lamp-geometric train    --csv my.csv --smiles-column smiles \
                            --label-columns tox1 tox2 --checkpoint model.pt
    lamp-geometric train    --dataset bibtex --encoder fmp --out bibtex.json
    lamp-geometric evaluate --checkpoint model.pt
    lamp-geometric predict  --checkpoint model.pt --smiles CCO c1ccccc1O
    lamp-geometric predict  --checkpoint text.pt --input new.txt --out p.csv
    lamp-geometric explain  --checkpoint model.pt --smiles CCO --out-dir expl

Run :obj:`lamp-geometric <command> --help` for the options.  :obj:`train`
runs :func:`lamp_geometric.experiment.run` on any data set of
:mod:`lamp_geometric.registry`; the other commands read checkpoints of any
input type (molecules, bag of words, texts, numeric vectors).  Bad input (a
missing file or column, a malformed line, a setting that does not apply) is
reported in one line with exit status 2 (:obj:`--verbose` shows the
traceback); inputs that cannot be read are reported with their line and the
others predicted.
"""
import argparse
import json
import os
import sys
from typing import Any, Callable, List, Optional, Sequence, Tuple

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
    g = p.add_argument_group('inputs')
    g.add_argument('--smiles', nargs='+', default=None, metavar='SMILES',
                   help='SMILES strings (molecule models)')
    g.add_argument('--input', default=None, metavar='FILE',
                   help='a file of inputs, read as the model was trained: '
                   '.csv (molecules: a SMILES column; texts: a text column; '
                   'bag of words and vectors: one column per feature, named '
                   'as in training), .arff (bag of words and vectors: the '
                   'training attributes) or .txt (one SMILES string or '
                   'document per line); label columns are ignored')
    g.add_argument('--smiles-column', default=None,
                   help="SMILES column of a CSV --input (default: the "
                   "training file's, usually 'smiles')")
    g.add_argument('--text-column', default='text',
                   help="text column of a CSV --input (default: 'text')")


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
                   help="which samples (default: 'test' of the training "
                   "data set, 'all' of another one)")
    p.add_argument('--seed', type=int, default=None,
                   help='split seed (default: the one used in training)')
    p.add_argument('--limit', type=int, default=None, metavar='N',
                   help='evaluate only the first N samples of the split')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--device', default='cpu')
    p.add_argument('--out', default=None, help='write the metrics as JSON')
    _add_verbosity(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        'predict', help='predict labels of new inputs',
        description='Predict per-label probabilities and binary labels '
        '(under the thresholds tuned on validation) of new inputs of the '
        "checkpoint's type: molecules, texts, bag-of-words or numeric rows. "
        '--out writes one row per input: index, id (its line in --input, '
        'or its position), input, error, one probability column per label, '
        'one 0/1 column per label and predicted_labels.  Inputs that cannot '
        'be read are reported with their line and the others predicted.')
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
        'and label-to-label attention plots (features named: atoms, words, '
        'feature names), a table of the features each label attended to '
        'most, and molecule drawings shaded by attention, for each input.')
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


def _read_inputs(args, predictor) -> Tuple[List[Any], List[str]]:
    r"""The featurised inputs of :obj:`--smiles` and :obj:`--input`, and
    the notes of reading them."""
    from lamp_geometric.data.inputs import INPUT_KINDS

    kind = predictor.input_type
    rows: List[Any] = []
    notes: List[str] = []
    if args.smiles:
        if kind != 'molecule':
            raise UsageError(f"'{args.checkpoint}' is a model of "
                             f"{INPUT_KINDS[kind]}, not molecules: pass "
                             f"--input FILE")
        rows += predictor.featurize(args.smiles)
    if args.input:
        more, notes = predictor.read_file(args.input, args.smiles_column,
                                          args.text_column)
        rows += more
    if not rows:
        what = 'molecules' if kind == 'molecule' else 'inputs'
        hint = '--smiles or --input' if kind == 'molecule' else '--input'
        raise UsageError(f'no {what} given: pass {hint}')
    return rows, notes


def _report_unread(result, command: str, shown: int = 20) -> None:
    r"""Prints the notes and every input that could not be read (the first
    :obj:`shown` in full) to standard error."""
    for note in result.notes:
        print(f"{PROG} {command}: {note}", file=sys.stderr)
    for item in result.errors[:shown]:
        what = '' if item.input is None else f' ({item.input!r})'
        print(f"{PROG}: input {item.index}{what}: {item.error} (id "
              f"{item.id})", file=sys.stderr)
    summary = result.describe_errors()
    if summary:
        print(f"{PROG} {command}: {summary}", file=sys.stderr)


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
    r"""The data set and the samples :obj:`evaluate` scores, and the name
    of the split."""
    from lamp_geometric.data import random_split
    from lamp_geometric.experiment import ExperimentConfig, load_data
    from lamp_geometric.recipe import config_from

    from lamp_geometric.data.inputs import INPUT_KINDS

    trained = dict(info.extra.get('dataset') or {})
    split_info = dict(info.extra.get('split') or {})
    recorded = info.extra.get('experiment')
    own_data = args.dataset is None and args.csv is None
    if (info.input_type != 'molecule' and not own_data
            and args.dataset != trained.get('name')):
        raise UsageError(f"'{args.checkpoint}' is a model of "
                         f"{INPUT_KINDS[info.input_type]}: evaluate reloads "
                         f"the data set it was trained on ("
                         f"{trained.get('name')!r}); for other data use "
                         f"predict")
    own_data = own_data or info.input_type != 'molecule'
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
    say(f"evaluating on {len(subset)} samples ({split})")
    result = predictor.predict_dataset(
        subset, progress=not args.quiet and len(subset) > args.batch_size)
    y = torch.cat([subset[i].y.view(1, -1)
                   for i in range(len(subset))]).numpy()
    thresholds = info.thresholds or 0.5
    scores = M.evaluate(y, result.probabilities(), thresholds)
    print(M.format_table({os.path.basename(args.checkpoint): scores}))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)),
                    exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(checkpoint=args.checkpoint, split=split,
                           num_samples=len(subset), thresholds=thresholds,
                           metrics=scores), f, indent=2)
        say(f"wrote {args.out}")
    return 0


def cmd_predict(args) -> int:
    r"""Predicts labels of new inputs (SMILES strings or a file)."""
    from lamp_geometric.predict import PredictionResult

    say = _printer(args)
    predictor = _load_predictor(args)
    rows, notes = _read_inputs(args, predictor)
    result = predictor.predict_rows(
        rows, metric=args.metric, threshold=args.threshold,
        progress=not args.quiet and len(rows) > 64, notes=notes)
    if not args.quiet:
        ok = [item for item in result if item.ok]
        shown = ok[:_TABLE_INPUTS]
        for start in range(0, len(shown), 6):
            chunk = PredictionResult(shown[start:start + 6],
                                     result.label_names, result.threshold,
                                     result.metric)
            print(chunk.format_table())
            print()
        if len(ok) > len(shown):
            print(f"... {len(ok) - len(shown)} more predicted input(s)"
                  f"{' in ' + args.out if args.out else ' (see --out)'}")
    _report_unread(result, 'predict')
    if args.out:
        result.save(args.out)
        say(f"wrote {args.out}")
    return 0 if len(result.errors) < len(result) else EXIT_FAILED


#: Inputs shown in the printed tables of predict (all go to --out).
_TABLE_INPUTS = 24


def cmd_explain(args) -> int:
    r"""Writes explanation plots for new inputs (SMILES strings or a
    file)."""
    from lamp_geometric.explain import explain, save_explanation
    from lamp_geometric.nn import LaMP

    say = _printer(args)
    predictor = _load_predictor(args)
    if not isinstance(predictor.model, LaMP):
        raise UsageError(f"explain needs a LaMP model; "
                         f"'{args.checkpoint}' holds "
                         f"{type(predictor.model).__name__}")
    rows, notes = _read_inputs(args, predictor)
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
    for note in notes:
        print(f"{PROG} explain: {note}", file=sys.stderr)
    molecules = predictor.input_type == 'molecule'
    failed = 0
    for i, row in enumerate(rows):
        if row.error is not None:
            what = '' if row.text is None else f' ({row.text!r})'
            print(f"{PROG}: input {i}{what}: {row.error} (id {row.id})",
                  file=sys.stderr)
            failed += 1
            continue
        names = None if row.feature_names is None else [row.feature_names]
        expl = explain(predictor.model, row.data,
                       label_names=predictor.label_names,
                       feature_names=names, threshold=threshold)[0]
        prefix = f'mol{i}' if molecules else f'input{i}'
        paths = save_explanation(expl, args.out_dir, prefix=prefix,
                                 labels=labels,
                                 max_molecule_labels=args.molecule_labels)
        positive = [predictor.label_names[j]
                    for j in expl.positive_labels()]
        shown = row.text if row.text is not None else f'id {row.id}'
        say(f"{prefix} {_shorten(shown, 60)}: {len(positive)} predicted "
            f"label(s); wrote {len(paths)} files to {args.out_dir}")
    return 0 if failed < len(rows) else EXIT_FAILED


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + '...'


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
