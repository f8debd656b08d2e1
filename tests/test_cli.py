import csv
import json
import os
import subprocess
import sys

import pytest

from lamp_geometric import cli

import tiny_molecules as tm

DATA_DIR = os.environ.get('LAMP_DATA')
SIDER_CSV = (os.path.join(DATA_DIR, 'sider', 'sider.csv')
             if DATA_DIR else None)


def run_cli(*args, cwd=None):
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    return subprocess.run([sys.executable, '-m', 'lamp_geometric.cli',
                           *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


TRAIN_ARGS = ['--epochs', '1', '--hidden', '16', '--heads', '2',
              '--batch-size', '16', '--dropout', '0.1', '--lr', '3e-3',
              '--label-graph', 'pr', '--encoder', 'fmp', '--seed', '1']


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('cli')
    csv_path = tm.write_csv(str(tmp / 'tiny.csv'))
    proc = run_cli('train', '--csv', csv_path, *TRAIN_ARGS,
                   '--cache-dir', tmp / 'cache', '--checkpoint',
                   tmp / 'model.pt', '--out', tmp / 'results.json',
                   '--quiet')
    assert proc.returncode == 0, proc.stderr
    return tmp


def test_train_writes_checkpoint_and_results(trained):
    results = json.loads((trained / 'results.json').read_text())
    for key in ['ebF1', 'miF1', 'maF1', 'acc', 'ha', 'roc_auc', 'config',
                'median_epoch_time', 'thresholds', 'test', 'baselines',
                'history', 'checkpoint']:
        assert key in results, key
    assert results['dataset'] == 'csv'
    assert results['split_sizes'] == [38, 5, 5]
    assert results['config']['label_graph'] == 'pr'
    assert len(results['history']) == 1
    assert (trained / 'model.pt').is_file()


def test_predict_subprocess(trained):
    out = trained / 'pred.csv'
    proc = run_cli('predict', '--checkpoint', trained / 'model.pt',
                   '--smiles', 'CCO', 'c1ccccc1O', 'C1CC(', '--out', out)
    assert proc.returncode == 0, proc.stderr
    for name in tm.LABELS:
        assert name in proc.stdout
    assert 'tuned for maF1' in proc.stdout
    assert "input 2 ('C1CC(')" in proc.stderr
    assert 'Traceback' not in proc.stderr
    with open(out, newline='') as f:
        rows = list(csv.DictReader(f))
    assert [r['smiles'] for r in rows] == ['CCO', 'c1ccccc1O', 'C1CC(']
    assert rows[2]['error'] and not rows[0]['error']
    assert 0.0 <= float(rows[0]['ring']) <= 1.0


def test_explain_subprocess(trained):
    out_dir = trained / 'expl'
    proc = run_cli('explain', '--checkpoint', trained / 'model.pt',
                   '--smiles', 'c1ccccc1O', 'nonsense(', '--out-dir', out_dir,
                   '--molecule-labels', '1')
    assert proc.returncode == 0, proc.stderr
    assert "input 1 ('nonsense(')" in proc.stderr
    files = sorted(os.listdir(out_dir))
    for name in ['mol0_predictions.png', 'mol0_attention_1_1.png',
                 'mol0_attention_1_2.png', 'mol0_attention_2_1.png',
                 'mol0_attention_2_2.png', 'mol0.json']:
        assert name in files
    assert len([f for f in files if f.startswith('mol0_molecule_')]) == 1
    assert not any(f.startswith('mol1') for f in files)
    with open(out_dir / 'mol0_predictions.png', 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_evaluate_reproduces_the_training_test_metrics(trained, capsys):
    out = trained / 'eval.json'
    rc = cli.main(['evaluate', '--checkpoint', str(trained / 'model.pt'),
                   '--cache-dir', str(trained / 'cache'), '--out', str(out),
                   '--quiet'])
    assert rc == 0
    assert 'model.pt' in capsys.readouterr().out
    got = json.loads(out.read_text())
    results = json.loads((trained / 'results.json').read_text())
    assert got['split'] == 'test' and got['num_molecules'] == 5
    for key in ['ebF1', 'miF1', 'maF1', 'acc', 'ha']:
        assert got['metrics'][key] == pytest.approx(results['test'][key])
    rc = cli.main(['evaluate', '--checkpoint', str(trained / 'model.pt'),
                   '--csv', str(trained / 'tiny.csv'), '--cache-dir',
                   str(trained / 'cache'), '--out', str(out), '--quiet'])
    assert rc == 0
    assert json.loads(out.read_text())['num_molecules'] == len(tm.SMILES)


def test_predict_reads_input_files(trained, capsys):
    txt = trained / 'in.txt'
    txt.write_text('CCO\n\nClCCl\n')
    table = trained / 'in.csv'
    table.write_text('name,mol\na,CCN\nb,c1ccccc1\nc,xx\n')
    out = trained / 'pred.json'
    rc = cli.main(['predict', '--checkpoint', str(trained / 'model.pt'),
                   '--input', str(txt), '--quiet', '--out', str(out)])
    assert rc == 0
    assert [p['smiles'] for p in json.loads(out.read_text())[
        'predictions']] == ['CCO', 'ClCCl']
    rc = cli.main(['predict', '--checkpoint', str(trained / 'model.pt'),
                   '--input', str(table), '--smiles-column', 'mol',
                   '--metric', 'ebF1', '--out', str(out), '--quiet'])
    assert rc == 0
    obj = json.loads(out.read_text())
    assert [p['smiles'] for p in obj['predictions']] == ['CCN', 'c1ccccc1',
                                                         'xx']
    assert obj['metric'] == 'ebF1'
    assert obj['predictions'][2]['error']
    # Every input invalid: exit status 1.
    rc = cli.main(['predict', '--checkpoint', str(trained / 'model.pt'),
                   '--smiles', 'xx', '--quiet'])
    assert rc == cli.EXIT_FAILED


@pytest.mark.parametrize('argv,message', [
    (['train', '--csv', 'missing.csv'], 'CSV file not found'),
    (['train', '--csv', '{tiny}', '--label-columns', 'toxic'],
     "Column(s) ['toxic'] not found"),
    (['predict', '--checkpoint', 'missing.pt', '--smiles', 'CCO'],
     'Checkpoint not found'),
    (['predict', '--checkpoint', '{model}'], 'no molecules given'),
    (['predict', '--checkpoint', '{model}', '--input', 'none.txt'],
     'Input file not found'),
    (['predict', '--checkpoint', '{model}', '--input', '{tiny}',
      '--smiles-column', 'mol'], "Column 'mol' not found"),
    (['evaluate', '--checkpoint', '{model}', '--csv', '{tiny}',
      '--label-columns', 'ring'], "are not the checkpoint's"),
    (['explain', '--checkpoint', '{model}', '--smiles', 'CCO', '--labels',
      'toxic'], "Unknown label(s) ['toxic']"),
])
def test_user_errors_exit_2_without_traceback(trained, capsys, argv,
                                              message):
    argv = [a.format(tiny=trained / 'tiny.csv', model=trained / 'model.pt')
            for a in argv]
    if argv[0] in ('train', 'evaluate'):
        argv += ['--cache-dir', str(trained / 'cache'), '--quiet']
    rc = cli.main(argv)
    err = capsys.readouterr().err
    assert rc == cli.EXIT_USAGE
    assert message in err
    assert 'Traceback' not in err
    assert err.startswith(f'lamp-geometric {argv[0]}: error:')


DOCS = ['sports,news\tThe match ended in a draw on Monday.',
        'news\tMarkets fell on Monday.', 'sports\tThe team won the cup.',
        'weather,news\tRain and wind on Monday.',
        'sports\tA late goal won the match.', 'news\tThe bank raised rates.',
        'weather\tSun all week, no rain.', 'sports\tThe cup final.'] * 2


def test_train_contract_on_a_text_file(tmp_path, capsys):
    docs = tmp_path / 'docs.txt'
    docs.write_text('\n'.join(DOCS) + '\n')
    out = tmp_path / 'result.json'
    rc = cli.main(['train', '--dataset', 'text', '--text', str(docs),
                   '--encoder', 'emb', '--label-graph', 'fc', '--hidden',
                   '8', '--heads', '2', '--epochs', '1', '--seed', '1',
                   '--cache-dir', str(tmp_path / 'c'), '--out', str(out),
                   '--quiet'])
    assert rc == 0 and capsys.readouterr().out == ''
    result = json.loads(out.read_text())
    for part in ('test', 'val'):
        assert {'ebF1', 'miF1', 'maF1', 'acc', 'ha', 'roc_auc'} <= set(
            result[part])
    assert result['config']['dataset'] == 'text'
    assert result['config']['seed'] == 1 and result['config']['hidden'] == 8
    assert [row['epoch'] for row in result['history']] == [1]


@pytest.mark.parametrize('argv,message', [
    (['--dataset', 'text', '--text', '{docs}', '--checkpoint', 'm.pt'],
     "--checkpoint cannot save a model of input type 'sequence' yet"),
    (['--text', '{bad}'], "bad.txt', line 2: expected 'label1,label2<TAB>"
     "text', found no tab"),
    (['--text', 'none.txt'], "Text file not found: 'none.txt'"),
    (['--dataset', 'sider', '--text', '{docs}'],
     '--text reads TEXT files; it does not combine with --dataset sider'),
    (['--dataset', 'arff', '--arff', '{docs}'], 'pass --xml'),
])
def test_train_bad_input_exits_2_in_one_line(tmp_path, capsys, argv,
                                              message):
    (tmp_path / 'docs.txt').write_text('\n'.join(DOCS) + '\n')
    (tmp_path / 'bad.txt').write_text('news\tfine\nno tab here\n')
    argv = [a.format(docs=tmp_path / 'docs.txt', bad=tmp_path / 'bad.txt')
            for a in argv]
    rc = cli.main(['train', *argv, '--cache-dir', str(tmp_path / 'c'),
                   '--epochs', '1', '--hidden', '8', '--quiet'])
    err = capsys.readouterr().err
    assert rc == cli.EXIT_USAGE
    assert message in err and 'Traceback' not in err
    assert err.startswith('lamp-geometric train: error:')
    assert not (tmp_path / 'm.pt').exists()


def test_train_dataset_choices_come_from_the_registry(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(['train', '--dataset', 'nope'])
    assert e.value.code == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "unknown data set 'nope'" in err and 'mulan:NAME' in err


@pytest.mark.parametrize('command', ['train', 'evaluate', 'predict',
                                     'explain'])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([command, '--help'])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f'usage: lamp-geometric {command}')
    if command == 'train':
        for flag in ['--data-dir', '--epochs', '--batch-size', '--lr',
                     '--hidden', '--heads', '--steps', '--dropout',
                     '--label-graph', '--encoder', '--lambda-int', '--seed',
                     '--device', '--checkpoint', '--csv', '--smiles-column',
                     '--label-columns', '--limit', '--quiet', '--verbose',
                     '--explain', '--out', '--arff', '--xml', '--text',
                     'mulan:NAME', '--split']:
            assert flag in out, flag


def test_console_script_is_declared():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, 'setup.py')) as f:
        assert "'lamp-geometric=lamp_geometric.cli:main'" in f.read()


@pytest.mark.data
@pytest.mark.skipif(not SIDER_CSV or not os.path.isfile(SIDER_CSV),
                    reason='needs the real data: set LAMP_DATA to a '
                    'directory holding sider/sider.csv')
def test_train_on_a_sider_subset(tmp_path, capsys):
    model = tmp_path / 'sider.pt'
    rc = cli.main(['train', '--data-dir', DATA_DIR, '--limit', '40',
                   '--epochs', '1', '--hidden', '16', '--heads', '2',
                   '--encoder', 'emb', '--label-graph', 'pr', '--cache-dir',
                   str(tmp_path / 'cache'), '--checkpoint', str(model),
                   '--quiet'])
    assert rc == 0
    assert capsys.readouterr().out == ''  # --quiet
    rc = cli.main(['predict', '--checkpoint', str(model), '--smiles',
                   'CC(=O)Oc1ccccc1C(=O)O'])
    assert rc == 0
    out = capsys.readouterr().out
    assert 'Hepatobiliary disorders' in out
