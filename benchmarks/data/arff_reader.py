r"""Reading Mulan ARFF files: the library's reader
(:func:`lamp_geometric.data.read_arff`, which parses with liac-arff) against
the hand-written parser it replaced (``arff_handwritten.py``, kept as the
baseline), for the sets the paper uses:

* Delicious (sparse, 1483 attributes, 16105 rows in two files),
* BibTeX (sparse, 1995 attributes, 7395 rows),
* emotions (dense, 78 attributes, 593 rows).

Both readers return the same :class:`~lamp_geometric.data.arff.ArffData`
(checked before timing): the attributes with their names and types and
the rows as CSR arrays; and both raise the same errors, with the file and
the line, on a few malformed files (:obj:`MALFORMED`, also checked before
timing).  ``liac_decode`` is liac-arff alone (the header
and the rows as Python dictionaries or lists, nothing converted), to show
what the conversion around it costs.  Each repeat reads a set's training
and test file; the variants run interleaved, and the table gives median
milliseconds and ``speedup`` = median over repeats of
``handwritten / liac_arff`` (above 1: liac-arff is faster).

    python benchmarks/data/arff_reader.py --data-dir DIR   # or LAMP_DATA
"""
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import arff as liac_arff  # noqa: E402
import numpy as np  # noqa: E402

import arff_handwritten  # noqa: E402
import common as C  # noqa: E402

from lamp_geometric.data.arff import read_arff  # noqa: E402

SETS = {'delicious': 'sparse', 'bibtex': 'sparse', 'emotions': 'dense'}
QUICK = {'emotions': 'dense'}
#: liac-arff counts as slower above this ratio of median times.
SLOWER = 1.10
_HEAD = ('@relation t\n@attribute a numeric\n@attribute b {0,1}\n'
         '@attribute c {0,1}\n@data\n')
#: Malformed files on which both readers must raise the same message.
MALFORMED = {
    'no @data': '@relation t\n@attribute a numeric\n',
    'truncated dense row': _HEAD + '1.5,0,1\n2.0,1\n',
    'unterminated sparse row': _HEAD + '1.5,0,1\n{0 2, 2 1\n',
    'sparse index out of range': _HEAD + '{0 2, 7 1}\n',
    'not a number': _HEAD + 'abc,0,1\n',
    'not a category': _HEAD + '1.5,0,2\n',
    'unsupported type': '@relation t\n@attribute a blob\n@data\n1\n',
    'unclosed nominal': '@relation t\n@attribute a {0,1\n@data\n1\n',
}


def error_of(reader, path: str) -> str:
    try:
        reader(path)
    except ValueError as e:
        return str(e)
    return 'no error'


def same_errors() -> None:
    r"""Raises :class:`AssertionError` unless both readers give the same
    message on every file of :obj:`MALFORMED`."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'data.arff')
        for what, content in MALFORMED.items():
            with open(path, 'w') as f:
                f.write(content)
            ours = error_of(read_arff, path)
            theirs = error_of(arff_handwritten.read_arff, path)
            if ours != theirs or ours == 'no error':
                raise AssertionError(f'{what}: {ours!r} != {theirs!r}')


def liac_decode(path: str, sparse: bool) -> list:
    r"""liac-arff's decoding alone: rows as dictionaries (sparse) or lists
    (dense), nominal values as category indices."""
    with open(path, encoding='utf-8', errors='replace') as f:
        out = liac_arff.ArffDecoder().decode(
            f, encode_nominal=True,
            return_type=liac_arff.LOD if sparse else liac_arff.DENSE)
    return out['data']


def same(a, b) -> bool:
    r"""Whether two :class:`ArffData` hold the same header and rows."""
    return (a.relation == b.relation and a.attributes == b.attributes and
            a.sparse == b.sparse and
            all(np.array_equal(getattr(a, k), getattr(b, k), equal_nan=True)
                for k in ('indptr', 'indices', 'values', 'row_lines')))


def main() -> None:
    p = C.parser(__doc__.split('\n')[0], runs=9, warmup=1)
    p.add_argument('--data-dir', type=str,
                   default=os.environ.get('LAMP_DATA'),
                   help='folder holding mulan/NAME/NAME-{train,test}.arff '
                   '(default: LAMP_DATA)')
    p.add_argument('--sets', nargs='+', choices=sorted(SETS), default=None,
                   help='the sets to read (default: all)')
    args = p.parse_args()
    if not args.data_dir:
        p.error('pass --data-dir or set LAMP_DATA')
    info = C.start(args)
    info['liac_arff'] = liac_arff.__version__
    same_errors()
    rows = []
    sets = QUICK if args.quick else SETS
    if args.sets:
        sets = {name: SETS[name] for name in args.sets}
    for name, layout in sets.items():
        paths = [os.path.join(args.data_dir, 'mulan', name,
                              f'{name}-{part}.arff')
                 for part in ('train', 'test')]
        if not all(os.path.isfile(path) for path in paths):
            print(f'{name}: not found under {args.data_dir}, skipped')
            continue
        parts = [read_arff(path) for path in paths]
        for path, ours in zip(paths, parts):
            if not same(ours, arff_handwritten.read_arff(path)):
                raise AssertionError(f'the readers disagree on {path}')
        sparse = layout == 'sparse'
        times = C.time_interleaved({
            'handwritten': lambda: [arff_handwritten.read_arff(path)
                                    for path in paths],
            'liac_arff': lambda: [read_arff(path) for path in paths],
            'liac_decode': lambda: [liac_decode(path, sparse)
                                    for path in paths],
        }, args.runs, args.warmup)
        rows.append(dict(
            set=name, layout=layout,
            attributes=len(parts[0].attributes),
            rows=sum(a.num_rows for a in parts),
            entries=sum(int(a.values.shape[0]) for a in parts),
            mib=sum(os.path.getsize(path) for path in paths) / 2**20,
            handwritten_ms=1e3 * C.median(times['handwritten']),
            liac_arff_ms=1e3 * C.median(times['liac_arff']),
            liac_decode_ms=1e3 * C.median(times['liac_decode']),
            speedup=C.paired_ratio(times['handwritten'],
                                   times['liac_arff']),
            times=times))
    print(C.table(rows, ['set', 'layout', 'attributes', 'rows', 'entries',
                         'mib', 'handwritten_ms', 'liac_arff_ms',
                         'liac_decode_ms', 'speedup']))
    for r in rows:
        if r['set'] == 'delicious':
            slower = r['speedup'] < 1 / SLOWER
            print(f"Delicious: liac-arff {1 / r['speedup']:.2f}x the "
                  f"hand-written reader's time: "
                  f"{'slower' if slower else 'not slower'} (threshold "
                  f"{SLOWER:.2f}x)")
    C.write_json(C.out_path(args, __file__, 'arff_reader'),
                 dict(machine=info, slower_threshold=SLOWER, rows=rows))


if __name__ == '__main__':
    main()
