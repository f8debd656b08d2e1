import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, 'docs')


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip('sphinx')
    proc = subprocess.run(
        [sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-q', '-b',
         'html', '-d', str(tmp_path / 'doctrees'), DOCS,
         str(tmp_path / 'html')],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = tmp_path / 'html'
    for page in ['index', 'getting_started', 'concepts', 'api',
                 'differences', 'howto/own_csv', 'howto/label_graph',
                 'howto/compose_gnn', 'howto/explain', 'howto/checkpoints',
                 'howto/distributed', 'howto/cpu_speed']:
        assert (html / f'{page}.html').is_file(), page
    api = (html / 'api.html').read_text(encoding='utf-8')
    # autodoc imported every module (an import failure is only a warning
    # without -W, and would leave these out).
    for name in ['lamp_geometric.nn.LaMPConv', 'lamp_geometric.nn.LaMP',
                 'lamp_geometric.data.SIDER',
                 'lamp_geometric.graphs.co_occurrence',
                 'lamp_geometric.metrics.tune_thresholds',
                 'lamp_geometric.train.fit',
                 'lamp_geometric.explain.explain',
                 'lamp_geometric.checkpoint.save_checkpoint',
                 'lamp_geometric.predict.Predictor']:
        assert f'id="{name}"' in api, name
