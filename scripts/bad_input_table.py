r"""Writes docs/bad_inputs.md: every bad input of the test registry
(tests/reliability/cases.py), what the library does with it and the message
it gives, from running each case against the library.

Usage::

    python scripts/bad_input_table.py            # rewrite the table
    python scripts/bad_input_table.py --check    # exit 1 if it is stale
"""
import argparse
import contextlib
import importlib.util
import io
import os
import os.path as osp
import sys
import tempfile

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TABLE = osp.join(ROOT, 'docs', 'bad_inputs.md')


def _load_cases():
    r"""The test registry ``tests/reliability/cases.py`` (it imports only
    the package and its dependencies), loaded from its path."""
    path = osp.join(ROOT, 'tests', 'reliability', 'cases.py')
    spec = importlib.util.spec_from_file_location('cases', path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault('cases', module)
    spec.loader.exec_module(module)
    return module


C = _load_cases()


def generate(work_dir: str) -> str:
    r"""Runs every case (each in its own empty folder under
    :obj:`work_dir`), checks it, and returns the markdown table."""
    outcomes = []
    for k, case in enumerate(C.CASES):
        tmp = osp.join(work_dir, f'case{k}')
        os.makedirs(tmp)
        with contextlib.redirect_stderr(io.StringIO()):  # progress lines
            outcome = C.run_case(case, tmp)
        C.check(case, outcome)
        outcomes.append((case, outcome))
    return C.markdown_table(outcomes) + '\n'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--check', action='store_true',
                        help='only check that the table is up to date')
    parser.add_argument('--out', default=TABLE)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        table = generate(tmp)
    if args.check:
        with open(args.out, encoding='utf-8') as f:
            stale = f.read() != table
        print(f"{args.out} is {'out of date' if stale else 'up to date'}")
        return int(stale)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as f:
        f.write(table)
    print(f'wrote {args.out} ({len(C.CASES)} cases)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
