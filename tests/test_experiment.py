r"""The experiment engine (:mod:`lamp_geometric.experiment`) through the
command line of ``examples/mlc.py``, and ``benchmarks/accuracy/paper.py``
on top of it."""
import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from lamp_geometric.data import Mulan
from lamp_geometric.experiment import (
    ExperimentConfig,
    ExperimentData,
    build_label_graph,
    build_parser,
    run,
    variant_name,
)
from lamp_geometric.graphs import co_occurrence
from lamp_geometric.recipe import TrainingConfig
from lamp_geometric.registry import get_dataset

from bench_scripts import load_script

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


paper = load_script('accuracy', 'paper.py')


class mlc:  # noqa: N801  (the command line of examples/mlc.py)
    @staticmethod
    def parse_args(argv):
        return build_parser().parse_args(argv)

    @staticmethod
    def main(argv):
        return run(build_parser().parse_args(argv))


DATA_DIR = os.environ.get('LAMP_DATA')
needs_data = pytest.mark.skipif(
    not DATA_DIR
    or not osp.isfile(osp.join(DATA_DIR, 'sider', 'sider.csv'))
    or not osp.isfile(osp.join(DATA_DIR, 'mulan', 'bibtex', 'bibtex.xml')),
    reason='needs the real data: set LAMP_DATA (sider/, mulan/bibtex/)')

SMILES = ['CCO', 'CCCO', 'c1ccccc1', 'c1ccccc1O', 'CC(=O)O', 'CCN', 'CCCCN',
          'c1ccncc1', 'OCC(O)CO', 'CC(C)O', 'C1CCCCC1', 'C1CCCCC1O',
          'c1ccc2ccccc2c1', 'CCOC(=O)C', 'NCCO', 'CC(N)C(=O)O', 'ClCCl',
          'BrCC', 'c1ccoc1', 'c1ccsc1']

FAST = ['--epochs', '1', '--hidden', '8', '--heads', '2', '--batch-size',
        '8', '--quiet', '--threads', '1']


@pytest.fixture
def tiny_csv(tmp_path):
    path = tmp_path / 'mols.csv'
    rows = ['smiles,aromatic,nitrogen,oxygen']
    for s in SMILES:
        rows.append(f"{s},{int('c' in s)},{int('N' in s or 'n' in s)},"
                    f"{int('O' in s or 'o' in s)}")
    path.write_text('\n'.join(rows) + '\n')
    return str(path)


def test_examples_mlc_runs_a_recorded_command_line(tiny_csv, tmp_path):
    # The command lines recorded by benchmarks/accuracy/paper.py keep
    # running as a script.
    out = tmp_path / 'run.json'
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'examples', 'mlc.py'), '--dataset',
         'csv', '--csv', tiny_csv, '--encoder', 'emb', '--label-graph',
         'fc', '--seed', '0', '--epochs', '1', '--hidden', '8', '--heads',
         '2', '--lr', '0.001', '--batch-size', '8', '--dropout', '0.2',
         '--lambda-int', '0.2', '--select', 'roc_auc', '--weight-decay',
         '0.01', '--warmup', '0.05', '--schedule', 'cosine', '--clip-norm',
         '1.0', '--patience', '15', '--ema', '0.0', '--device', 'cpu',
         '--quiet', '--threads', '1', '--cache-dir', str(tmp_path / 'c'),
         '--out', str(out)],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONWARNINGS='ignore'))
    assert proc.returncode == 0, proc.stderr[-2000:]
    saved = json.loads(out.read_text())
    assert saved['variant'] == 'Emb + LaMP_fc'
    assert saved['split_sizes'] == [16, 2, 2]


def test_run_takes_the_two_configurations(tiny_csv, tmp_path):
    res = run(ExperimentConfig(csv=tiny_csv, cache_dir=str(tmp_path / 'c'),
                               encoder='emb', label_graph='el'),
              TrainingConfig(epochs=1, hidden=8, heads=2, batch_size=8,
                             quiet=True, threads=1),
              log=None)
    assert res['dataset'] == 'csv' and res['variant'] == 'Emb + LaMP_el'
    assert res['config']['hidden'] == 8 and res['config']['csv'] == tiny_csv
    assert {'test', 'val', 'config', 'history'} <= set(res)


@pytest.mark.parametrize('keep', [True, False])
def test_run_keeps_freed_memory_unless_told_not_to(tiny_csv, tmp_path,
                                                    monkeypatch, keep):
    calls = []
    monkeypatch.setattr('lamp_geometric.experiment.keep_freed_memory',
                        lambda: calls.append(True))
    run(ExperimentConfig(csv=tiny_csv, cache_dir=str(tmp_path / 'c'),
                         encoder='mlp'),
        TrainingConfig(epochs=1, hidden=8, heads=2, batch_size=8,
                       quiet=True, threads=1, keep_memory=keep),
        log=None)
    assert calls == ([True] if keep else [])


@pytest.mark.parametrize('encoder,graph', [('fmp', 'pr'), ('emb', 'fc'),
                                           ('mlp', 'el')])
def test_mlc_on_a_molecule_csv(tiny_csv, tmp_path, capsys, encoder, graph):
    out = tmp_path / 'run.json'
    res = mlc.main(['--dataset', 'csv', '--csv', tiny_csv,
                    '--cache-dir', str(tmp_path / 'cache'),
                    '--encoder', encoder, '--label-graph', graph,
                    '--out', str(out)] + FAST)
    # --quiet: no progress bar, one line per epoch.
    assert capsys.readouterr().out.count('epoch   1  train loss') == 1
    saved = json.loads(out.read_text())
    for key in ('ebF1', 'miF1', 'maF1', 'acc', 'ha', 'roc_auc', 'config',
                'median_epoch_time', 'test', 'val', 'baselines',
                'split_sizes'):
        assert key in saved
    assert saved['split_sizes'] == [16, 2, 2]
    assert saved['config']['encoder'] == encoder
    assert saved['input_type'] == 'molecule'
    if encoder == 'mlp':
        assert saved['variant'] == 'Emb + MLP'
        assert saved['label_graph'] == 'n/a'
    else:
        prefix = 'FMP' if encoder == 'fmp' else 'Emb'
        assert saved['variant'] == f'{prefix} + LaMP_{graph}'
    if graph == 'pr' and encoder != 'mlp':
        assert saved['label_graph'] == 'co-occurrence in the training split'
        assert saved['label_graph_edges'] > 0
    assert 0.0 <= res['ebF1'] <= 1.0


def test_mlc_fingerprint_nodes(tiny_csv, tmp_path):
    res = mlc.main(['--dataset', 'csv', '--csv', tiny_csv,
                    '--cache-dir', str(tmp_path / 'cache'),
                    '--encoder', 'fmp', '--label-graph', 'pr',
                    '--fingerprint-nodes'] + FAST)
    assert res['variant'] == 'FMP+FP + LaMP_pr'
    assert 0.0 <= res['ebF1'] <= 1.0
    # Bits of the fingerprint get an embedding table of their own.
    base = mlc.main(['--dataset', 'csv', '--csv', tiny_csv,
                     '--cache-dir', str(tmp_path / 'cache'),
                     '--encoder', 'fmp', '--label-graph', 'pr'] + FAST)
    assert res['num_parameters'] == base['num_parameters'] + 2048 * 8
    with pytest.raises(ValueError, match='--fingerprint-nodes needs'):
        mlc.main(['--dataset', 'csv', '--csv', tiny_csv, '--encoder', 'rf',
                  '--fingerprint-nodes', '--cache-dir',
                  str(tmp_path / 'cache')] + FAST)


def test_mlc_bf16_autocast(tiny_csv, tmp_path):
    res = mlc.main(['--dataset', 'csv', '--csv', tiny_csv,
                    '--cache-dir', str(tmp_path / 'cache'),
                    '--encoder', 'fmp', '--label-graph', 'pr', '--amp']
                   + FAST)
    assert res['variant'] == 'FMP + LaMP_pr (bf16)'
    assert res['config']['amp'] is True
    assert all(math.isfinite(res['test'][k]) for k in ('ebF1', 'ha'))


def test_mlc_random_forest_with_scaffold_split(tiny_csv, tmp_path):
    res = mlc.main(['--dataset', 'csv', '--csv', tiny_csv, '--encoder', 'rf',
                    '--split', 'scaffold', '--rf-trees', '10',
                    '--cache-dir', str(tmp_path / 'cache'), '--quiet'])
    assert res['variant'] == 'RF (Morgan)' and res['best_epoch'] is None
    assert sum(res['split_sizes']) == len(SMILES)
    assert math.isnan(res['roc_auc']) or 0.0 <= res['roc_auc'] <= 1.0
    assert 0.0 <= res['ebF1'] <= 1.0
    with pytest.raises(ValueError, match='rf needs molecules'):
        mlc.main(['--dataset', 'bibtex', '--encoder', 'rf', '--quiet'])
    with pytest.raises(ValueError, match='scaffold needs molecules'):
        mlc.main(['--dataset', 'bibtex', '--split', 'scaffold', '--quiet'])


def test_mlc_limit(tiny_csv, tmp_path):
    res = mlc.main(['--dataset', 'csv', '--csv', tiny_csv, '--encoder',
                    'emb', '--limit', '5', '--limit-eval', '1',
                    '--cache-dir', str(tmp_path / 'cache')] + FAST)
    assert res['split_sizes'] == [5, 1, 1]


def test_prior_sees_training_rows_only(tmp_path):
    # Every row holds a pair of labels of its own: the prior built for a
    # split must hold exactly the pairs of its training rows.
    header = '@relation t\n@attribute w {0,1}\n' + ''.join(
        f'@attribute y{j} {{0,1}}\n' for j in range(8)) + '@data\n'
    pairs = [(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7),
             (0, 4), (1, 5)]
    rows = ['{0 1,%d 1,%d 1}' % (a + 1, b + 1) for a, b in pairs]
    folder = tmp_path / 'd' / 'mulan' / 'pairs'
    folder.mkdir(parents=True)
    (folder / 'pairs-train.arff').write_text(header + '\n'.join(rows[:8]))
    (folder / 'pairs-test.arff').write_text(header + '\n'.join(rows[8:]))
    (folder / 'pairs.xml').write_text(
        '<labels>' + ''.join(f'<label name="y{j}"/>' for j in range(8)) +
        '</labels>')
    ds = Mulan('pairs', data_dir=str(tmp_path / 'd'),
               root=str(tmp_path / 'c'), val_fraction=0.25, verbose=False)
    train_idx = ds.train_idx
    assert ds.val_idx.numel() == 2 and ds.test_idx.tolist() == [8, 9]
    data = ExperimentData(ds, get_dataset('mulan:pairs'), 'bow',
                          ds.splits(), 'default', 'pairs')
    prior, name = build_label_graph(data, 'pr')
    assert name == 'co-occurrence in the training split'
    expected = set()
    for i in train_idx.tolist():
        a, b = pairs[i]
        expected |= {(a, b), (b, a)}
    assert set(map(tuple, prior.t().tolist())) == expected
    held_out = {pairs[i] for i in ds.val_idx.tolist() + [8, 9]}
    for a, b in held_out:
        assert (a, b) not in expected
    assert torch.equal(prior, co_occurrence(ds.label_matrix[train_idx]))
    assert build_label_graph(data, 'fc')[0] is None


@needs_data
@pytest.mark.data
@pytest.mark.filterwarnings('ignore::UserWarning')  # 32 rows: 1-class labels
def test_paper_benchmark_quick(tmp_path):
    out_dir = tmp_path / 'results'
    res = paper.main(['--quick', '--datasets', 'sider', 'bibtex',
                      '--variants', 'mlp', 'fmp-pr', '--threads', '1',
                      '--data-dir', DATA_DIR,
                      '--cache-dir', str(tmp_path / 'cache'),
                      '--out-dir', str(out_dir)])
    md = (out_dir / 'paper_quick.md').read_text()
    saved = json.loads((out_dir / 'paper_quick.json').read_text())
    assert len(saved['runs']) == 4 and len(res['runs']) == 4
    assert {r['dataset'] for r in saved['runs']} == {'sider', 'bibtex'}
    for r in saved['runs']:
        assert r['command'].startswith('python examples/mlc.py --dataset ')
        assert '--limit 32' in r['command'] and '--epochs 1' in r['command']
        assert set(r['test']) == set(paper.KEYS)
        assert r['command'] in md
    # The paper's numbers beside ours: BibTeX FMP + LaMP_pr, Table 1-3.
    assert saved['paper']['bibtex']['FMP + LaMP_pr']['ebF1'] == 0.447
    assert '| FMP + LaMP_pr (paper)' in md and '.447' in md
    assert '| Emb + MLP (ours)' in md and 'NOT a measurement' in md
    assert saved['summary']['sider']['FMP + LaMP_pr (ours)']['ebF1'][1] == 0
    assert saved['config']['epochs'] == 1 and saved['config']['hidden'] == 16
    # No local directory is written into the results.
    assert DATA_DIR not in md and DATA_DIR not in json.dumps(saved)
    assert str(tmp_path) not in md
    # BibTeX used its given split: first 32 train, 32 val, 32 test rows.
    bib = [r for r in saved['runs'] if r['dataset'] == 'bibtex'][0]
    assert bib['split_sizes'] == [32, 32, 32]
    # Every finished run is one line of the runs file; a second call with
    # the same settings trains nothing and --render rebuilds the same table.
    lines = (out_dir / 'paper_quick_runs.jsonl').read_text().splitlines()
    assert len(lines) == 4
    again = paper.main(['--quick', '--datasets', 'sider', '--variants',
                        'mlp', '--threads', '1', '--render',
                        '--out-dir', str(out_dir)])
    assert again['tables'] == res['tables']
    assert (out_dir / 'paper_quick.md').read_text() == md
    assert len((out_dir / 'paper_quick_runs.jsonl').read_text()
               .splitlines()) == 4
    assert bib['label_graph'] in ('n/a', 'co-occurrence in the training '
                                  'split')
    # A run at other settings is kept beside the first and gets its own
    # row, both tagged with their settings.
    other = paper.main(['--quick', '--datasets', 'sider', '--variants',
                        'mlp', '--threads', '1', '--lr', '0.0005',
                        '--data-dir', DATA_DIR,
                        '--cache-dir', str(tmp_path / 'cache'),
                        '--out-dir', str(out_dir)])
    assert len((out_dir / 'paper_quick_runs.jsonl').read_text()
               .splitlines()) == 5
    sider_rows = other['summary']['sider']
    assert 'Emb + MLP (ours, settings A)' in sider_rows
    assert 'Emb + MLP (ours, settings B)' in sider_rows
    md = (out_dir / 'paper_quick.md').read_text()
    assert 'lr 0.001' in md and 'lr 0.0005' in md
    assert md.count('Settings: A: d=16') == 1


@pytest.mark.data
@pytest.mark.skipif(not DATA_DIR or not osp.isfile(osp.join(
    DATA_DIR or '', 'mulan', 'emotions', 'emotions.xml')),
    reason='needs LAMP_DATA with mulan/emotions/')
@pytest.mark.filterwarnings('ignore::UserWarning')
def test_mlc_on_a_mulan_vector_set_with_the_linear_floor(tmp_path, capsys):
    common = ['--dataset', 'mulan:emotions', '--data-dir', DATA_DIR,
              '--cache-dir', str(tmp_path / 'cache')]
    linear = mlc.main(common + ['--encoder', 'linear', '--quiet'])
    assert linear['input_type'] == 'vector'
    assert linear['variant'] == 'logistic regression'
    assert linear['C'] in (0.01, 0.1, 1.0)
    # The floor learns: well above chance, and above predicting the label
    # frequencies.
    assert linear['roc_auc'] > 0.75
    assert linear['maF1'] > linear['baselines']['all_positive']['maF1']
    plot = tmp_path / 'curves.png'
    net = mlc.main(common + ['--encoder', 'emb', '--label-graph', 'fc',
                             '--epochs', '3', '--hidden', '16', '--heads',
                             '2', '--quiet', '--threads', '1', '--plot',
                             str(plot)])
    out = capsys.readouterr().out
    assert plot.is_file()
    assert ('not converged' in out) == (not net['converged'])
    assert [row['epoch'] for row in net['history']] == [1, 2, 3]
    assert {'train_loss', 'val_loss', 'val_roc_auc', 'lr'} <= set(
        net['history'][0])
    assert set(net['test_paper']) == set(net['test'])
    assert "original code's protocol" in out
    # The results record the feature-node dropout the model trained with:
    # the recipe's for the Emb encoder, none for the logistic regression.
    assert net['config']['feature_node_dropout'] == 0.5
    assert linear['config']['feature_node_dropout'] == 0.0
    with pytest.raises(SystemExit):
        mlc.parse_args(['--dataset', 'nope'])


def test_every_paper_variant_is_a_valid_command_line():
    # Each variant of the accuracy benchmark becomes a command line of
    # examples/mlc.py that selects the encoder, label graph and flags it
    # names, and the name the tables print.
    args = paper.parse_args(['--datasets', 'sider'])
    names = {}
    for variant, (encoder, graph, *flags) in paper.ALL_VARIANTS.items():
        cli = paper.run_command(args, 'sider', variant, 0)
        parsed = build_parser().parse_args(cli)
        assert (parsed.encoder, parsed.label_graph) == (encoder, graph)
        assert parsed.fingerprint_nodes == ('--fingerprint-nodes' in flags)
        assert parsed.amp == ('--amp' in flags)
        names[variant] = variant_name(
            parsed.encoder, parsed.label_graph, parsed.fingerprint_nodes,
            parsed.amp, parsed.mlp_input_norm)
    # The feature-node dropout goes only to LaMP variants, and only when
    # given; the settings record what each variant trains with.
    assert '--feature-node-dropout' not in paper.run_command(
        args, 'sider', 'emb-fc', 0)
    assert [paper.run_settings(args, v)['feature_node_dropout']
            for v in ('emb-fc', 'emb+fp-fc', 'fmp-pr', 'mlp', 'linear')] == [
        0.5, 0.5, 0.5, 0.0, 0.0]
    given = paper.parse_args(['--datasets', 'sider',
                              '--feature-node-dropout', '0.7'])
    cli = paper.run_command(given, 'sider', 'fmp-pr', 0)
    assert cli[cli.index('--feature-node-dropout') + 1] == '0.7'
    assert '--feature-node-dropout' not in paper.run_command(
        given, 'sider', 'mlp', 0)
    assert paper.run_settings(given, 'mlp')['feature_node_dropout'] == 0.0
    assert names['emb+fp-fc'] == 'Emb+FP + LaMP_fc'
    assert names['fmp+fp-pr'] == 'FMP+FP + LaMP_pr'
    assert names['fmp-pr-bf16'] == 'FMP + LaMP_pr (bf16)'
    assert len(set(names.values())) == len(names)


def test_paper_settings_name_a_feature_node_dropout_off_the_recipe():
    # Rows at the recipe's setting for their encoder share a description;
    # another value (e.g. runs from before Emb had it on) is named.
    args = paper.parse_args(['--datasets', 'sider'])
    emb, mlp = (paper.run_settings(args, v) for v in ('emb-fc', 'mlp'))
    assert paper.describe_settings(emb, 'emb-fc') == \
        paper.describe_settings(mlp, 'mlp')
    assert 'feature' not in paper.describe_settings(emb, 'emb-fc')
    assert paper.describe_settings(dict(emb, feature_node_dropout=0.0),
                                   'fmp-pr').endswith(
        ', no feature-node dropout')
    assert paper.describe_settings(dict(emb, feature_node_dropout=0.7),
                                   'emb-fc').endswith(
        ', feature nodes dropped with p 0.7')


def test_paper_tables_leave_out_runs_that_did_not_converge():
    settings = dict(epochs=10)
    assert paper.converged(dict(best_epoch=4, last_epoch=9,
                                settings=settings))
    assert not paper.converged(dict(best_epoch=9, last_epoch=9,
                                    settings=settings))
    # Older runs without last_epoch ran all their epochs.
    assert not paper.converged(dict(best_epoch=10, settings=settings))
    assert paper.converged(dict(best_epoch=None, settings=settings))


TEXT_TRAIN = ['sports,news\tThe match ended in a draw on Monday.',
              'news\tMarkets fell on Monday.',
              'sports\tThe team won the cup.',
              'weather,news\tRain and wind on Monday.',
              'sports\tA late goal won the match.',
              'news\tThe bank raised rates.',
              'weather\tSun all week, no rain.',
              'sports\tThe cup final was a draw.',
              'weather\tWind from the west.',
              'news,weather\tStorms closed the markets.',
              'sports,news\tThe final drew a record crowd.',
              'weather\tA cold and wet week.']


def test_run_on_a_text_file(tmp_path):
    path = tmp_path / 'docs.txt'
    path.write_text('\n'.join(TEXT_TRAIN * 2) + '\n')
    res = mlc.main(['--text', str(path), '--encoder', 'fmp', '--label-graph',
                    'pr', '--cache-dir', str(tmp_path / 'c')] + FAST)
    assert res['dataset'] == 'text' and res['input_type'] == 'sequence'
    assert res['split_sizes'] == [20, 2, 2]
    assert res['label_graph'] == 'co-occurrence in the training split'
    assert {'ebF1', 'roc_auc'} <= set(res['test']) and res['history']
    linear = mlc.main(['--dataset', 'text', '--text', str(path), '--encoder',
                       'linear', '--cache-dir', str(tmp_path / 'c'),
                       '--quiet'])
    assert linear['variant'] == 'logistic regression'


@pytest.mark.filterwarnings('ignore::UserWarning')
def test_run_on_arff_files(tmp_path):
    header = ('@relation v\n@attribute a numeric\n@attribute b numeric\n'
              '@attribute l1 {0,1}\n@attribute l2 {0,1}\n@data\n')
    rows = [f'{i % 5},{-70 - i % 3},{i % 2},{(i // 2) % 2}'
            for i in range(30)]
    (tmp_path / 'tr.arff').write_text(header + '\n'.join(rows[:24]))
    (tmp_path / 'te.arff').write_text(header + '\n'.join(rows[24:]))
    (tmp_path / 'l.xml').write_text(
        '<labels><label name="l1"/><label name="l2"/></labels>')
    res = mlc.main(['--arff', str(tmp_path / 'tr.arff'),
                    str(tmp_path / 'te.arff'), '--xml',
                    str(tmp_path / 'l.xml'), '--encoder', 'emb',
                    '--label-graph', 'fc', '--cache-dir',
                    str(tmp_path / 'c')] + FAST)
    assert res['dataset'] == 'arff' and res['input_type'] == 'vector'
    assert res['split_sizes'] == [22, 2, 6]
    with pytest.raises(ValueError, match='not --encoder linear'):
        mlc.main(['--arff', str(tmp_path / 'tr.arff'), '--xml',
                  str(tmp_path / 'l.xml'), '--encoder', 'linear',
                  '--checkpoint', str(tmp_path / 'm.pt'), '--cache-dir',
                  str(tmp_path / 'c')] + FAST)
    assert not (tmp_path / 'm.pt').exists()


def test_settings_that_do_not_apply_are_refused_before_loading(tmp_path):
    for argv, match in [
            (['--dataset', 'bibtex', '--encoder', 'linear', '--checkpoint',
              'm.pt'], 'not --encoder linear'),
            (['--csv', 'x.csv', '--fingerprint-nodes', '--checkpoint',
              'm.pt'], 'cannot save a model with --fingerprint-nodes'),
            (['--csv', 'x.csv', '--encoder', 'rf', '--checkpoint', 'm.pt'],
             'saves networks'),
            (['--dataset', 'sider', '--text', 'x.txt'],
             'does not combine with --dataset sider'),
            (['--csv', 'x.csv', '--text', 'x.txt'], 'one kind of file'),
            (['--dataset', 'text'], 'pass --text'),
            (['--dataset', 'arff', '--arff', 'a', 'b', 'c'],
             'one file or two'),
            (['--dataset', 'bibtex', '--explain', '2', '--encoder', 'mlp'],
             '--explain needs a LaMP network'),
            (['--dataset', 'bibtex', '--encoder', 'mlp',
              '--feature-node-dropout', '0.5'],
             '--feature-node-dropout applies to LaMP'),
            (['--dataset', 'bibtex', '--feature-node-dropout', '1'],
             r'--feature-node-dropout must be in \[0, 1\)'),
            (['--limit', '0'], '--limit must be positive')]:
        with pytest.raises(ValueError, match=match):
            mlc.main(argv + ['--cache-dir', str(tmp_path)])


def test_mlp_input_norm_option_and_variant_names():
    from lamp_geometric.baselines import EmbMLP
    from lamp_geometric.experiment import build_model, variant_name
    assert variant_name('mlp', 'el') == 'Emb + MLP'
    assert variant_name('mlp', 'el', mlp_input_norm=False) == (
        'Emb + MLP (plain mean)')
    assert variant_name('fmp', 'pr', amp=True) == 'FMP + LaMP_pr (bf16)'
    args = build_parser().parse_args(['--encoder', 'mlp',
                                      '--no-mlp-input-norm'])
    exp, training = ExperimentConfig(encoder='mlp', mlp_input_norm=False), \
        TrainingConfig(hidden=8, heads=2)
    assert args.mlp_input_norm is False
    model, config = build_model(exp, training, 'bow', 3, num_features=5,
                                label_edge_index=None)
    assert isinstance(model, EmbMLP) and not model.input_norm
    assert config['mlp_input_norm'] is False
