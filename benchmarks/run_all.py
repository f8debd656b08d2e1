r"""Runs every benchmark script in turn and writes each one's JSON.

    python benchmarks/run_all.py --quick            # smoke test, < 2 min
    python benchmarks/run_all.py                    # the full tables (long)
    python benchmarks/run_all.py --quick --out DIR  # JSON files into DIR

Each script runs in its own process with the same ``--runs/--warmup/
--threads`` options.  Exits non-zero if any script fails.
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SCRIPTS = (
    'layers/layers.py',
    'layers/mask_product.py',
    'layers/keep_mask.py',
    'layers/factored.py',
    'layers/scatter.py',
    'train_step/train_step.py',
    'train_step/ragged.py',
    'throughput/throughput.py',
    'scaling/scaling.py',
    'density/density.py',
)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--quick', action='store_true')
    p.add_argument('--runs', type=int, default=None)
    p.add_argument('--warmup', type=int, default=None)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--out', type=str, default=None,
                   help='directory for the JSON files (default: next to '
                   'each script)')
    p.add_argument('--only', nargs='+', default=None,
                   help='folder names to run (default: all)')
    args = p.parse_args()
    failed = []
    start = time.perf_counter()
    for script in SCRIPTS:
        folder = script.split('/')[0]
        if args.only and folder not in args.only:
            continue
        cmd = [sys.executable, str(ROOT / script)]
        for opt in ('runs', 'warmup', 'threads'):
            if getattr(args, opt) is not None:
                cmd += [f'--{opt}', str(getattr(args, opt))]
        if args.quick:
            cmd.append('--quick')
        if args.out:
            stem = Path(script).stem
            stem = folder if stem == folder else f'{folder}_{stem}'
            name = f'{stem}_quick.json' if args.quick else f'{stem}.json'
            cmd += ['--out', str(Path(args.out) / name)]
        print(f'### {script}', flush=True)
        t = time.perf_counter()
        res = subprocess.run(cmd)
        print(f'### {script}: exit {res.returncode}, '
              f'{time.perf_counter() - t:.0f}s', flush=True)
        if res.returncode != 0:
            failed.append(script)
    print(f'total {time.perf_counter() - start:.0f}s')
    if failed:
        print('failed: ' + ', '.join(failed))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
