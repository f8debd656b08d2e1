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
    assert [r['input'] for r in rows] == ['CCO', 'c1ccccc1O', 'C1CC(']
    assert [r['id'] for r in rows] == ['1', '2', '3']
    assert rows[2]['error'] and not rows[0]['error']
    assert 0.0 <= float(rows[0]['ring']) <= 1.0
    predicted = [n for n in tm.LABELS if rows[0][f'{n} (predicted)'] == '1']
    assert rows[0]['predicted_labels'] == ';'.join(predicted)
    assert '1 of 3 input(s) could not be predicted (id 3)' in proc.stderr


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
    assert got['split'] == 'test' and got['num_samples'] == 5
    for key in ['ebF1', 'miF1', 'maF1', 'acc', 'ha']:
        assert got['metrics'][key] == pytest.approx(results['test'][key])
    rc = cli.main(['evaluate', '--checkpoint', str(trained / 'model.pt'),
                   '--csv', str(trained / 'tiny.csv'), '--cache-dir',
                   str(trained / 'cache'), '--out', str(out), '--quiet'])
    assert rc == 0
    assert json.loads(out.read_text())['num_samples'] == len(tm.SMILES)


def test_predict_reads_input_files(trained, capsys):
    txt = trained / 'in.txt'
    txt.write_text('CCO\n\nClCCl\n')
    table = trained / 'in.csv'
    table.write_text('name,mol\na,CCN\nb,c1ccccc1\nc,xx\n')
    out = trained / 'pred.json'
    rc = cli.main(['predict', '--checkpoint', str(trained / 'model.pt'),
                   '--input', str(txt), '--quiet', '--out', str(out)])
    assert rc == 0
    obj = json.loads(out.read_text())
    assert [p['input'] for p in obj['predictions']] == ['CCO', 'ClCCl']
    assert [p['id'] for p in obj['predictions']] == ['1', '3']
    assert obj['notes'] == [f"'{txt}': skipped 1 blank line (line 2)"]
    rc = cli.main(['predict', '--checkpoint', str(trained / 'model.pt'),
                   '--input', str(table), '--smiles-column', 'mol',
                   '--metric', 'ebF1', '--out', str(out), '--quiet'])
    assert rc == 0
    obj = json.loads(out.read_text())
    assert [p['input'] for p in obj['predictions']] == ['CCN', 'c1ccccc1',
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
    (['--dataset', 'text', '--text', '{docs}', '--checkpoint', 'm.pt',
      '--encoder', 'linear'],
     "--checkpoint saves networks (--encoder emb, fmp or mlp), not "
     "--encoder linear"),
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


# Checkpoints of every input type ############################################

VECTOR_HEADER = ('@relation v\n@attribute a numeric\n@attribute b numeric\n'
                 '@attribute l1 {0,1}\n@attribute l2 {0,1}\n@data\n')
VECTOR_ROWS = [f'{i % 5},{-70 - i % 3},{i % 2},{(i // 2) % 2}'
               for i in range(30)]
WORDS = ['goal', 'match', 'rain', 'sun', 'bank', 'rates']
BOW_HEADER = ('@relation w\n' + ''.join(f'@attribute {w} {{0,1}}\n'
                                        for w in WORDS) +
              '@attribute sports {0,1}\n@attribute weather {0,1}\n@data\n')
BOW_ROWS = ['{0 1, 1 1, 6 1}', '{2 1, 3 1, 7 1}', '{1 1, 6 1}',
            '{2 1, 7 1}', '{4 1, 5 1}', '{0 1, 4 1, 6 1}'] * 5
LABELS_XML = ('<labels><label name="{}"/><label name="{}"/></labels>')
FAST = ['--epochs', '1', '--hidden', '16', '--heads', '2', '--seed', '1',
        '--quiet']


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    r"""A text, a bag-of-words and a vector checkpoint trained by the CLI,
    with their results."""
    tmp = tmp_path_factory.mktemp('models')
    (tmp / 'docs.txt').write_text('\n'.join(DOCS) + '\n')
    (tmp / 'vec.arff').write_text(VECTOR_HEADER + '\n'.join(VECTOR_ROWS))
    (tmp / 'vec.xml').write_text(LABELS_XML.format('l1', 'l2'))
    (tmp / 'bow.arff').write_text(BOW_HEADER + '\n'.join(BOW_ROWS))
    (tmp / 'bow.xml').write_text(LABELS_XML.format('sports', 'weather'))
    runs = dict(
        text=['--text', tmp / 'docs.txt', '--encoder', 'fmp',
              '--label-graph', 'pr'],
        bow=['--arff', tmp / 'bow.arff', '--xml', tmp / 'bow.xml',
             '--encoder', 'emb', '--label-graph', 'fc'],
        vector=['--arff', tmp / 'vec.arff', '--xml', tmp / 'vec.xml',
                '--encoder', 'mlp'])
    for name, argv in runs.items():
        rc = cli.main(['train', *map(str, argv), *FAST, '--cache-dir',
                       str(tmp / 'cache'), '--checkpoint',
                       str(tmp / f'{name}.pt'), '--out',
                       str(tmp / f'{name}.json')])
        assert rc == 0, name
    return tmp


@pytest.mark.parametrize('name', ['text', 'bow', 'vector'])
def test_evaluate_any_input_type_reproduces_the_test_metrics(
        models, name, capsys):
    out = models / f'{name}_eval.json'
    rc = cli.main(['evaluate', '--checkpoint', str(models / f'{name}.pt'),
                   '--cache-dir', str(models / 'cache'), '--out', str(out),
                   '--quiet'])
    assert rc == 0, capsys.readouterr().err
    got = json.loads(out.read_text())
    trained = json.loads((models / f'{name}.json').read_text())
    assert got['num_samples'] == trained['split_sizes'][2]
    for key in ['ebF1', 'miF1', 'maF1', 'acc', 'ha']:
        assert got['metrics'][key] == pytest.approx(trained['test'][key])


def test_predict_texts_from_a_txt_and_a_csv_file(models, capsys):
    (models / 'new.txt').write_text('The late goal won the match\n\n'
                                    '!!!\nsports\tRain and zebra\n')
    out = models / 'text_pred.csv'
    rc = cli.main(['predict', '--checkpoint', str(models / 'text.pt'),
                   '--input', str(models / 'new.txt'), '--out', str(out),
                   '--quiet'])
    assert rc == 0
    err = capsys.readouterr().err
    assert "skipped 1 blank line (line 2)" in err
    assert "input 1 ('!!!'): no word in the text (id 3)" in err
    assert '1 of 3 input(s) could not be predicted (id 3)' in err
    with open(out, newline='') as f:
        rows = list(csv.DictReader(f))
    assert [r['id'] for r in rows] == ['1', '3', '4']
    assert rows[2]['input'] == 'Rain and zebra'  # the labels are ignored
    assert rows[1]['error'] and rows[1]['sports'] == ''
    for label in ['sports', 'news', 'weather']:
        assert 0 <= float(rows[0][label]) <= 1
    (models / 'new.csv').write_text('doc,text\na,The cup final\nb,\n')
    rc = cli.main(['predict', '--checkpoint', str(models / 'text.pt'),
                   '--input', str(models / 'new.csv'), '--out', str(out),
                   '--quiet'])
    assert rc == 0
    with open(out, newline='') as f:
        rows = list(csv.DictReader(f))
    assert [r['id'] for r in rows] == ['2', '3'] and rows[1]['error']


def test_predict_rows_from_arff_and_csv_files(models, capsys):
    # The same rows as an ARFF file without labels and as a CSV file give
    # the same probabilities.
    arff = models / 'new_bow.arff'
    arff.write_text('@relation w\n' + ''.join(
        f'@attribute {w} {{0,1}}\n' for w in reversed(WORDS)) +
        '@data\n{0 1, 5 1}\n{3 1}\n')
    table = models / 'new_bow.csv'
    table.write_text(','.join(WORDS + ['sports']) + '\n'
                     '1,0,0,0,0,1,\n0,0,1,0,0,0,1\n')
    for path in (arff, table):
        out = models / f'{path.name}.csv'
        rc = cli.main(['predict', '--checkpoint', str(models / 'bow.pt'),
                       '--input', str(path), '--out', str(out), '--quiet'])
        assert rc == 0, capsys.readouterr().err
    with open(models / 'new_bow.arff.csv', newline='') as f:
        from_arff = list(csv.DictReader(f))
    with open(models / 'new_bow.csv.csv', newline='') as f:
        from_csv = list(csv.DictReader(f))
    assert [r['id'] for r in from_arff] == ['9', '10']
    assert [r['id'] for r in from_csv] == ['2', '3']
    for a, b in zip(from_arff, from_csv):
        assert float(a['sports']) == pytest.approx(float(b['sports']))
    vec = models / 'new_vec.csv'
    vec.write_text('b,a,note\n-70,1,x\n,4,y\n-71,abc,z\n')
    out = models / 'vec_pred.csv'
    rc = cli.main(['predict', '--checkpoint', str(models / 'vector.pt'),
                   '--input', str(vec), '--out', str(out), '--quiet'])
    assert rc == 0
    err = capsys.readouterr().err
    assert "ignored 1 column(s) that are neither features nor labels: " \
        "['note']" in err
    assert "line 4: value 'abc' of column 'a' is not a number" in err
    with open(out, newline='') as f:
        rows = list(csv.DictReader(f))
    assert [bool(r['error']) for r in rows] == [False, False, True]


@pytest.mark.parametrize('argv,message', [
    (['predict', '--checkpoint', '{text}', '--smiles', 'CCO'],
     'is a model of texts, not molecules: pass --input FILE'),
    (['predict', '--checkpoint', '{text}'], 'no inputs given: pass --input'),
    (['predict', '--checkpoint', '{text}', '--input', '{bow_arff}'],
     "a model of texts reads .csv or .txt files, not '.arff'"),
    (['predict', '--checkpoint', '{bow}', '--input', '{docs}'],
     "a model of bag-of-words rows reads .csv or .arff files, not '.txt'"),
    (['predict', '--checkpoint', '{vector}', '--input', '{short}'],
     "lacks 1 feature column(s) of the model's training data: ['b']"),
    (['predict', '--checkpoint', '{bow}', '--input', '{broken}'],
     "broken.arff', line 12"),
    (['predict', '--checkpoint', '{text}', '--input', '{short}'],
     "Column 'text' not found"),
    (['evaluate', '--checkpoint', '{text}', '--dataset', 'sider'],
     'evaluate reloads the data set it was trained on'),
    (['explain', '--checkpoint', '{vector}', '--input', '{short}'],
     'explain needs a LaMP model'),
])
def test_bad_inputs_of_other_types_exit_2(models, capsys, argv, message):
    (models / 'short.csv').write_text('a\n1\n')
    (models / 'broken.arff').write_text(BOW_HEADER + '{0 1, 1 1}\n{0 1\n')
    names = dict(text=models / 'text.pt', bow=models / 'bow.pt',
                 vector=models / 'vector.pt', docs=models / 'docs.txt',
                 bow_arff=models / 'bow.arff', short=models / 'short.csv',
                 broken=models / 'broken.arff')
    argv = [a.format(**names) for a in argv]
    rc = cli.main(argv + ['--quiet'])
    err = capsys.readouterr().err
    assert rc == cli.EXIT_USAGE
    assert message in err and 'Traceback' not in err
    assert err.startswith(f'lamp-geometric {argv[0]}: error:')


def test_explain_names_words_and_features(models, capsys):
    (models / 'one.txt').write_text('The late goal won the cup final\n')
    out_dir = models / 'expl_text'
    rc = cli.main(['explain', '--checkpoint', str(models / 'text.pt'),
                   '--input', str(models / 'one.txt'), '--out-dir',
                   str(out_dir), '--quiet'])
    assert rc == 0
    obj = json.loads((out_dir / 'input0.json').read_text())
    assert obj['feature_names'] == ['the', 'late', 'goal', 'won', 'the',
                                    'cup', 'final']
    with open(out_dir / 'input0_top_features.csv', newline='') as f:
        top = list(csv.DictReader(f))
    assert top and {r['feature'] for r in top} <= set(obj['feature_names'])
    (models / 'one.arff').write_text(BOW_HEADER + '{0 1, 1 1, 3 1}\n')
    rc = cli.main(['explain', '--checkpoint', str(models / 'bow.pt'),
                   '--input', str(models / 'one.arff'), '--out-dir',
                   str(models / 'expl_bow'), '--quiet'])
    assert rc == 0
    obj = json.loads((models / 'expl_bow' / 'input0.json').read_text())
    assert obj['feature_names'] == ['goal', 'match', 'sun']
