import csv
import json

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.utils import from_smiles

from lamp_geometric.data import MoleculeCSV
from lamp_geometric.predict import (
    Predictor,
    featurize_smiles,
    predict_smiles,
)

import tiny_molecules as tm

INPUTS = ['CCO', 'not a smiles', '', 'c1ccccc1O', 'C1CC(', 'ClCCl']
VALID = [0, 3, 5]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('predict')
    tm.train_tiny(str(tmp), label_graph='fc', encoder='emb', epochs=2)
    return tmp


@pytest.fixture(scope='module')
def predictor(trained):
    return Predictor.from_checkpoint(str(trained / 'model.pt'))


def test_featurize_smiles_is_the_data_featuriser():
    from lamp_geometric import data

    assert featurize_smiles is data.featurize_smiles


def test_featurize_smiles_matches_the_dataset(trained):
    dataset = MoleculeCSV(str(trained / 'tiny.csv'),
                          root=str(trained / 'cache_f'), verbose=False)
    for i in [0, 4, 11, 38]:
        data = featurize_smiles(dataset[i].smiles)
        assert torch.equal(data.x, dataset[i].x)
        assert torch.equal(data.edge_index, dataset[i].edge_index)
        assert torch.equal(data.edge_attr, dataset[i].edge_attr)
    with pytest.raises(ValueError, match='cannot parse'):
        featurize_smiles('C1CC(')
    with pytest.raises(ValueError, match='empty'):
        featurize_smiles('  ')


def test_invalid_smiles_give_per_item_errors(predictor):
    result = predictor.predict(INPUTS)
    assert len(result) == len(INPUTS)
    assert [item.index for item in result] == list(range(len(INPUTS)))
    assert [item.smiles for item in result] == INPUTS
    assert [i for i, item in enumerate(result) if item.ok] == VALID
    assert 'cannot parse' in result[1].error
    assert 'empty' in result[2].error
    assert result[1].probabilities is None and result[1].predicted is None
    prob = result.probabilities()
    assert prob.shape == (len(INPUTS), len(tm.LABELS))
    assert np.isnan(prob[[1, 2, 4]]).all()
    assert np.isfinite(prob[VALID]).all()


def test_probabilities_match_the_model(predictor):
    result = predictor.predict(INPUTS)
    batch = Batch.from_data_list([from_smiles(INPUTS[i]) for i in VALID])
    with torch.no_grad():
        expected = torch.sigmoid(predictor.model(batch).logits).double()
    got = torch.from_numpy(result.probabilities()[VALID])
    assert torch.allclose(got, expected, atol=1e-6)


def test_thresholds_come_from_the_checkpoint(predictor):
    thresholds = predictor.info.thresholds
    result = predictor.predict(INPUTS)  # default: tuned for maF1
    assert result.metric == 'maF1'
    assert result.threshold == thresholds['maF1']
    prob = result.probabilities()
    for i in VALID:
        assert result[i].predicted == [int(p >= thresholds['maF1'])
                                       for p in prob[i]]
        assert result[i].positive_labels == [
            n for n, k in zip(tm.LABELS, result[i].predicted) if k]
    for metric in ['ebF1', 'acc']:
        r = predictor.predict(['CCO'], metric=metric)
        assert r.threshold == thresholds[metric] and r.metric == metric
    r = predictor.predict(['CCO'], threshold=1.0)
    assert r.metric is None and r[0].predicted == [0] * len(tm.LABELS)
    r = predictor.predict(['CCO'], threshold=0.0)
    assert r[0].predicted == [1] * len(tm.LABELS)
    with pytest.raises(ValueError, match='Unknown metric'):
        predictor.predict(['CCO'], metric='roc_auc')
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        predictor.predict(['CCO'], threshold=1.5)


def test_writers_and_table(predictor, tmp_path):
    result = predictor.predict(INPUTS)
    result.save(str(tmp_path / 'p.csv'))
    with open(tmp_path / 'p.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(INPUTS)
    assert rows[1]['error'] and rows[1][tm.LABELS[0]] == ''
    assert float(rows[0][tm.LABELS[0]]) == pytest.approx(
        result[0].probabilities[0], rel=1e-5)
    assert int(rows[3][f'{tm.LABELS[2]} (predicted)']) == \
        result[3].predicted[2]

    result.save(str(tmp_path / 'p.json'))
    obj = json.loads((tmp_path / 'p.json').read_text())
    assert obj['label_names'] == tm.LABELS
    assert obj['threshold'] == result.threshold
    preds = obj['predictions']
    assert preds[1]['error'] and preds[1]['probabilities'] is None
    assert preds[5]['probabilities']['halogen'] == pytest.approx(
        result[5].probabilities[3])

    table = result.format_table()
    for name in tm.LABELS:
        assert name in table
    assert "error: input 1 ('not a smiles')" in table


def test_predict_dataset_and_convenience(predictor, trained):
    dataset = MoleculeCSV(str(trained / 'tiny.csv'),
                          root=str(trained / 'cache_d'), verbose=False)
    subset = dataset[:7]
    result = predictor.predict_dataset(subset)
    assert len(result) == 7 and not result.errors
    by_smiles = predictor.predict([subset[i].smiles for i in range(7)])
    assert np.allclose(result.probabilities(), by_smiles.probabilities(),
                       atol=1e-6)
    again = predict_smiles(str(trained / 'model.pt'), ['CCO', 'C1CC('])
    assert again[0].probabilities == pytest.approx(
        by_smiles[0].probabilities, abs=1e-6)
    assert again[1].error


DOCS = ['sports\tThe match ended in a draw.', 'news\tMarkets fell.',
        'sports,news\tThe team won the cup.', 'weather\tRain and wind.',
        'sports\tA late goal won the match.', 'news\tThe bank raised rates.',
        'weather\tSun all week.', 'sports\tThe cup final.'] * 3


@pytest.fixture(scope='module')
def text_predictor(tmp_path_factory):
    from lamp_geometric.experiment import run

    tmp = tmp_path_factory.mktemp('text')
    (tmp / 'docs.txt').write_text('\n'.join(DOCS) + '\n')
    run(dict(text=[str(tmp / 'docs.txt')], encoder='emb', label_graph='pr',
             hidden=8, heads=2, epochs=1, seed=2, quiet=True,
             cache_dir=str(tmp / 'c'), checkpoint=str(tmp / 'text.pt')),
        log=None, epoch_log=None)
    return Predictor.from_checkpoint(str(tmp / 'text.pt')), tmp


def test_texts_are_predicted_as_the_training_documents(text_predictor):
    from lamp_geometric.data import TextDataset

    predictor, tmp = text_predictor
    assert predictor.input_type == 'sequence'
    dataset = TextDataset([str(tmp / 'docs.txt')], root=str(tmp / 'c2'),
                          seed=2, verbose=False)
    texts = [d.split('\t', 1)[1] for d in DOCS]
    result = predictor.predict_texts(texts + ['...'])
    assert result[-1].error == 'no word in the text'
    from_data = predictor.predict_dataset(dataset)
    assert np.allclose(result.probabilities()[:-1],
                       from_data.probabilities(), atol=1e-6)
    assert [item.id for item in from_data][:3] == ['0', '1', '2']
    assert predictor.predict([{'the': 1}])[0].error == \
        'expected a text (got dict)'
    (tmp / 'new.txt').write_text('The cup final\n\nRain\n')
    by_file = predictor.predict_file(str(tmp / 'new.txt'))
    assert [item.id for item in by_file] == ['1', '3']
    assert by_file.notes == [f"'{tmp / 'new.txt'}': skipped 1 blank line "
                             f"(line 2)"]
    assert by_file[0].probabilities == pytest.approx(
        predictor.predict_texts(['the CUP final!'])[0].probabilities)


def test_a_molecule_model_refuses_texts(predictor):
    with pytest.raises(ValueError, match="reads 'molecule' inputs, not "
                       "texts"):
        predictor.predict_texts(['some text'])
