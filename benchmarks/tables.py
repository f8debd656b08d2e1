r"""Prints the Markdown tables of ``benchmarks/README.md`` from the JSON
results of the benchmark scripts.

    python benchmarks/tables.py            # results.json of every folder
    python benchmarks/tables.py --quick    # results_quick.json
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common as C  # noqa: E402

ROOT = Path(__file__).resolve().parent


def header(payload) -> str:
    m = payload['machine']
    gemm = payload.get('gemm_gflops')
    line = (f"`{m.get('argv', '')}` — {m['cpu']}, {m['logical_cpus']} "
            f"logical CPUs, {m['threads']} threads, torch {m['torch']}, "
            f"PyG {m['torch_geometric']}, load average "
            f"{m['loadavg_start'][0]:.2f} at the start, "
            f"{m.get('loadavg_end', [float('nan')])[0]:.2f} at the end")
    if gemm:
        line += ('; GEMM GFLOP/s ' +
                 ', '.join(f'{k} {v:.0f}' for k, v in gemm.items()))
    return line


def layers(payload) -> str:
    out = [header(payload), '']
    for key, run in payload['runs'].items():
        rows = []
        for r in run['rows']:
            r = dict(r)
            if 'skipped' in r:
                r['ms'] = None
                r['note'] = 'skipped: ' + r['skipped'].split(':')[0]
            rows.append(r)
        out += [f"**{key}** {run['shape']}", '',
                C.table(rows, ['layer', 'mode', 'ms', 'speedup', 'gflop',
                               'gflops', 'pct_peak', 'note']), '']
    return '\n'.join(out)


def train_step_table(rows) -> str:
    return C.table(rows, ['variant', 'ms', 'speedup', 'speedup_best',
                          'gflop', 'gflops', 'pct_peak', 'peak_mib',
                          'mem_vs_ref', 'alloc_mib', 'alloc_vs_ref',
                          'faults_k', 'sys_ms'])


def train_step(payload) -> str:
    out = [header(payload), '']
    for name, cfg in payload['configs'].items():
        out += [f"**{name}** {cfg['config']}", '',
                train_step_table(cfg['rows']), '']
    return '\n'.join(out)


def scaling(payload) -> str:
    rows = []
    for r in payload['rows']:
        r = dict(r)
        r['edges'] = r.get('label_edges')
        r['note'] = r.get('skipped') or r.get('error')
        rows.append(r)
    return '\n'.join([
        header(payload), '', f"config {payload['config']}", '',
        C.table(rows, ['L', 'degree', 'path', 'edges', 'ms', 'peak_gib',
                       'time_x_vs_deg10', 'mem_x_vs_deg10', 'note']), ''
    ])


def density(payload) -> str:
    rows = []
    for r in payload['rows']:
        r = dict(r)
        r['note'] = r.get('sparse_skipped')
        r['density_%'] = f"{100 * r['density']:g}"
        # Files written before the width sweep hold one shape, d=512.
        r.setdefault('d', payload.get('shape', {}).get('d'))
        rows.append(r)
    shapes = payload.get('shapes', [payload.get('shape')])
    return '\n'.join([
        header(payload), '', f"shapes {shapes}", '',
        C.table(rows, ['mode', 'd', 'L', 'density_%', 'edges_per_sample',
                       'sparse_ms', 'dense_ms', 'dense_speedup', 'note']),
        '', f"first density where dense >= sparse: "
        f"{payload['crossover']}", ''
    ])


def ragged_table(rows) -> str:
    return C.table([dict(r, encoder=r.get('encoder', 'emb')) for r in rows],
                   ['dataset', 'encoder', 'd', 'L', 'fill', 'factored',
                    'padded_ms', 'ragged_ms', 'auto_ms', 'speedup',
                    'vs_ragged'])


def ragged(payload) -> str:
    return '\n'.join([header(payload), '', ragged_table(payload['rows']),
                      ''])


def mask_product(payload) -> str:
    return '\n'.join([
        header(payload), '',
        C.table(payload['rows'], ['tensor', 'dtype', 'bool_ms', 'uint8_ms',
                                  'speedup']), ''])


def keep_mask_table(rows) -> str:
    return C.table([dict(r, keep_rate=f"{r['keep_rate']:.4f}") for r in rows],
                   ['mask', 'elements', 'keep_rate', 'bernoulli_ms',
                    'rand_ms', 'float_blocks_ms', 'int32_ms',
                    'keep_mask_ms', 'vs_bernoulli', 'vs_float_blocks',
                    'vs_int32'])


def keep_mask(payload) -> str:
    return '\n'.join([header(payload), '', f"p = {payload['p']}", '',
                      keep_mask_table(payload['rows']), ''])


def factored_table(rows) -> str:
    return C.table(rows, ['d', 'L', 'S', 'shared', 'dtype', 'cost',
                          'plain_ms', 'factored_ms', 'speedup', 'auto'])


def factored(payload) -> str:
    return '\n'.join([header(payload), '', f"config: {payload['config']}",
                      '', factored_table(payload['rows']), ''])


def scatter_table(rows) -> str:
    return C.table(rows, ['op', 'L', 'edges', 'native_ms', 'scatter_ms',
                          'speedup', 'max_diff'])


def scatter(payload) -> str:
    out = [header(payload), '']
    if payload.get('skipped'):
        out += [f"skipped: {payload['skipped']}", '']
    out += [scatter_table(payload['rows']), '']
    return '\n'.join(out)


def throughput_table(rows) -> str:
    def pct(x):
        return None if x is None else 100 * x

    return C.table([dict(r, note=r.get('reference_skipped'),
                         **{'eval_%': pct(r.get('eval_share')),
                            'select_%': pct(r.get('select_share')),
                            'tune_%': pct(r.get('tune_share'))})
                    for r in rows],
                   ['dataset', 'hidden', 'dtype', 'L', 'ours_ms',
                    'reference_ms', 'ratio', 'baseline_ms', 'vs_baseline',
                    'samples_per_s', 'collate_ms',
                    'forward_ms', 'backward_ms', 'optimizer_ms',
                    'faults_k', 'sys_ms', 'eval_ms_per_batch', 'eval_%',
                    'select_%', 'tune_ms', 'tune_%', 'gflop', 'gflops',
                    'pct_peak', 'note'])


def throughput(payload) -> str:
    out = [header(payload), '', f"config {payload['config']}", '']
    for name, why in payload.get('skipped', {}).items():
        out += [f'skipped {name}: {why}', '']
    out += [throughput_table(payload['rows']), '']
    return '\n'.join(out)


def allocator_pairs(folder: Path) -> str:
    r"""The step with and without :func:`lamp_geometric.allocator.
    keep_freed_memory`, from the throughput runs ``keep_N.json`` and
    ``default_N.json`` in :obj:`folder` (run in turn: keep, default, keep,
    default): median step and epoch time of each run, default / keep per
    pair, and the page faults per step where the runs counted them."""
    runs = {}
    for path in sorted(folder.glob('*_*.json')):
        mode, n = path.stem.rsplit('_', 1)
        runs[(mode, n)] = {(r['dataset'], r['hidden']): r for r in
                           json.loads(path.read_text())['rows']}
    pairs = sorted(n for mode, n in runs if mode == 'keep'
                   and ('default', n) in runs)
    rows = []
    for key in (runs[('keep', pairs[0])] if pairs else {}):
        row = dict(dataset=key[0], hidden=key[1])
        for n in pairs:
            keep, default = runs[('keep', n)][key], runs[('default', n)][key]
            row[f'keep_ms_{n}'] = keep['ours_ms']
            row[f'default_ms_{n}'] = default['ours_ms']
            row[f'ratio_{n}'] = default['ours_ms'] / keep['ours_ms']
            row[f'epoch_ratio_{n}'] = default['epoch_s'] / keep['epoch_s']
            # Page faults (thousands per step), in runs that count them.
            row[f'keep_faults_k_{n}'] = keep.get('faults_k')
            row[f'default_faults_k_{n}'] = default.get('faults_k')
        rows.append(row)
    counted = [n for n in pairs
               if any(r[f'keep_faults_k_{n}'] is not None for r in rows)]
    columns = ['dataset', 'hidden'] + [
        f'{c}_{n}' for n in pairs for c in
        ('keep_ms', 'default_ms', 'ratio', 'epoch_ratio')
        + (('keep_faults_k', 'default_faults_k') if n in counted else ())]
    return C.table(rows, columns)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--quick', action='store_true')
    args = p.parse_args()
    name = 'results_quick.json' if args.quick else 'results.json'
    for folder, fn in (('layers', layers), ('train_step', train_step),
                       ('throughput', throughput), ('scaling', scaling),
                       ('density', density)):
        path = ROOT / folder / name
        if not path.is_file():
            print(f'## {folder}: no {name}\n')
            continue
        print(f'## {folder}\n')
        print(fn(json.loads(path.read_text())))
        fine = ROOT / folder / 'results_fine.json'
        for extra, render in (('ragged', ragged),
                              ('mask_product', mask_product),
                              ('keep_mask', keep_mask),
                              ('factored', factored),
                              ('scatter', scatter),
                              ('results_mmap16m', train_step),
                              ('results_jemalloc', train_step),
                              ('results_rerun', train_step)):
            path = ROOT / folder / (f'{extra}_quick.json' if args.quick
                                    else f'{extra}.json')
            if path.is_file():
                print(f'## {folder}/{extra}\n')
                print(render(json.loads(path.read_text())))
        pairs = ROOT / folder / 'allocator'
        if not args.quick and pairs.is_dir():
            print(f'## {folder}/allocator\n')
            print(allocator_pairs(pairs), '\n')
        if folder == 'density' and not args.quick and fine.is_file():
            print('## density (finer grid)\n')
            print(fn(json.loads(fine.read_text())))


if __name__ == '__main__':
    main()
