r"""Smoke test of the benchmark scripts: ``benchmarks/run_all.py --quick``
runs every script on tiny sizes and must write its JSON.  Nothing is
asserted about time."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench_scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ('layers', 'layers_mask_product', 'layers_keep_mask',
           'layers_factored', 'layers_scatter', 'train_step',
           'train_step_ragged', 'throughput', 'scaling',
           'density')


def test_benchmarks_quick(tmp_path):
    res = subprocess.run(
        [sys.executable, str(ROOT / 'benchmarks' / 'run_all.py'), '--quick',
         '--out', str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=str(ROOT))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for folder in FOLDERS:
        path = tmp_path / f'{folder}_quick.json'
        assert path.is_file(), folder
        payload = json.loads(path.read_text())
        assert payload['machine']['threads'] >= 1
        assert 'loadavg_start' in payload['machine']
    masks = json.loads((tmp_path / 'layers_mask_product_quick.json')
                       .read_text())
    assert {r['dtype'] for r in masks['rows']} == {'float32', 'bfloat16'}
    keep = json.loads((tmp_path / 'layers_keep_mask_quick.json').read_text())
    assert all(abs(r['keep_rate'] - (1 - keep['p'])) < 0.02
               for r in keep['rows'])
    factored = json.loads((tmp_path / 'layers_factored_quick.json')
                          .read_text())
    assert {r['auto'] for r in factored['rows']} == {'plain', 'factored'}
    scatter = json.loads((tmp_path / 'layers_scatter_quick.json')
                         .read_text())
    # Timed with both reductions, or skipped with the reason.
    assert all(('skipped' in r) == (r.get('native_ms') is None)
               for r in scatter['rows'])
    assert all(r.get('max_diff', 0.0) < 1e-4 for r in scatter['rows'])
    ragged = json.loads((tmp_path / 'train_step_ragged_quick.json')
                        .read_text())
    # Every data set is timed or reported as skipped, with the reason.
    assert ({r['dataset'] for r in ragged['rows']} | set(ragged['skipped'])
            == {'bibtex', 'delicious', 'reuters'})
    throughput = json.loads((tmp_path / 'throughput_quick.json')
                            .read_text())
    # Every data set is timed or reported as skipped, with the reason (SIDER
    # ships with the package); the reference is timed on the same batches
    # unless its row says why not.
    rows = throughput['rows']
    # The library's allocator setting, and whether it applied.
    assert throughput['config']['allocator'] == 'keep'
    assert isinstance(throughput['config']['allocator_kept'], bool)
    assert ({r['dataset'] for r in rows} | set(throughput['skipped'])
            == {'sider', 'bibtex'})
    assert {r['dtype'] for r in rows if r['dataset'] == 'sider'} == {
        'fp32', 'bf16'}
    assert all(r['faults_k'] >= 0 and r['sys_ms'] >= 0 for r in rows)
    assert all(r['ours_ms'] > 0 and r['samples_per_s'] > 0 and
               r['eval_ms_per_batch'] > 0 and r['gflop'] > 0 for r in rows)
    assert all((r['reference_ms'] is None) == bool(r['reference_skipped'])
               for r in rows)
    layers = json.loads((tmp_path / 'layers_quick.json').read_text())
    assert any(r.get('layer') == 'reference'
               for run in layers['runs'].values() for r in run['rows'])
    steps = json.loads((tmp_path / 'train_step_quick.json').read_text())
    for cfg in steps['configs'].values():
        names = [r['variant'] for r in cfg['rows']]
        assert 'reference' in names and 'ours-amp' in names
        assert all(r['ms'] > 0 for r in cfg['rows'])
        # The memory measurement also counts a steady step's page faults.
        assert all(r['faults_k'] is not None and r['faults_k'] >= 0
                   for r in cfg['rows'] if r['variant'] != 'reference-bf16')


def test_allocator_pairs_match_runs_by_number(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / 'benchmarks'))
    tables = load_script('tables.py')

    def run(mode, n, ms, epoch):
        rows = [dict(dataset='bibtex', hidden=64, ours_ms=ms, epoch_s=epoch)]
        (tmp_path / f'{mode}_{n}.json').write_text(json.dumps(dict(
            rows=rows)))

    run('keep', 1, 100.0, 10.0)
    run('default', 1, 150.0, 12.0)
    run('keep', 2, 200.0, 20.0)  # no default_2: not a pair
    text = tables.allocator_pairs(tmp_path)
    header, _, row = text.splitlines()
    assert header.split(' | ')[2:] == ['keep_ms_1', 'default_ms_1',
                                       'ratio_1', 'epoch_ratio_1 |']
    cells = [c.strip() for c in row.strip('|').split('|')]
    assert cells[:2] == ['bibtex', '64']
    assert float(cells[4]) == pytest.approx(1.5)
    assert float(cells[5]) == pytest.approx(1.2)
