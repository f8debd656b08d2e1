import math

import pytest
import torch

from lamp_geometric.data import (
    ArffFiles,
    FeatureSpec,
    TextDataset,
    read_inputs,
)

HEADER = ('@relation v\n@attribute a numeric\n@attribute b numeric\n'
          '@attribute kind {x,y}\n@attribute flag {0,1}\n'
          '@attribute l1 {0,1}\n@attribute l2 {0,1}\n@data\n')
ROWS = [f"{i % 5},{'?' if i == 3 else -70 - i % 3},{'xy'[i % 2]},"
        f"{i % 3 == 0:d},{i % 2},{(i // 2) % 2}" for i in range(30)]
DOCS = ['sports\tThe match ended in a draw.', 'news\tMarkets fell.',
        'sports,news\tThe team won the cup.', 'weather\tRain and wind.',
        'sports\tA late goal won the match.', 'news\tThe bank raised rates.',
        'weather\tSun all week.', 'sports\tThe cup final.'] * 3


def arff_set(tmp_path, header=HEADER, rows=ROWS):
    (tmp_path / 'd.arff').write_text(header + '\n'.join(rows) + '\n')
    (tmp_path / 'l.xml').write_text(
        '<labels><label name="l1"/><label name="l2"/></labels>')
    dataset = ArffFiles([str(tmp_path / 'd.arff')], str(tmp_path / 'l.xml'),
                        root=str(tmp_path / 'cache'), seed=3,
                        verbose=False)
    return dataset, str(tmp_path / 'd.arff')


def test_arff_rows_are_featurised_as_in_training(tmp_path):
    # A vector set: the numeric features standardised with the training
    # statistics (the missing value of row 3 at the training mean), the
    # flag and the one-hot category as nodes when present.
    dataset, path = arff_set(tmp_path)
    assert dataset.input_type == 'vector'
    spec = FeatureSpec.from_dict(FeatureSpec.from_dataset(dataset)
                                 .to_dict())
    assert spec.vocab == ['a', 'b', 'kind=x', 'kind=y', 'flag']
    rows, notes = read_inputs(path, spec, label_names=dataset.label_names)
    assert len(rows) == len(dataset) and notes == []
    assert [r.id for r in rows] == [str(9 + i) for i in range(30)]
    for i, row in enumerate(rows):
        sample = dataset[i]
        assert torch.equal(row.data.x, sample.x), i
        assert torch.allclose(row.data.value, sample.value, atol=1e-6), i
    assert rows[3].data.value[1] == 0.0  # missing: the training mean
    assert rows[0].feature_names == ['a', 'b', 'kind=x', 'flag']


def test_csv_rows_match_arff_rows(tmp_path):
    dataset, path = arff_set(tmp_path)
    spec = FeatureSpec.from_dataset(dataset)
    (tmp_path / 'rows.csv').write_text(
        'flag,kind,b,a,l1,extra\n1,x,-70,0,1,z\n0,y,,1,,z\n1,w,-70,0,1,z\n'
        '1,x,-70\n')
    rows, notes = read_inputs(str(tmp_path / 'rows.csv'), spec,
                              label_names=['l1', 'l2'])
    arff_rows, _ = read_inputs(path, spec, label_names=['l1', 'l2'])
    assert torch.equal(rows[0].data.x, arff_rows[0].data.x)
    assert torch.allclose(rows[0].data.value, arff_rows[0].data.value)
    assert rows[1].data.value[1] == 0.0  # empty cell: missing
    assert "line 4: value 'w' of column 'kind' is not one of its training " \
        "categories ['x', 'y']" == rows[2].error
    assert rows[3].error == 'line 5: expected 6 fields, found 3'
    assert notes == [f"'{tmp_path / 'rows.csv'}': ignored 1 column(s) that "
                     f"are neither features nor labels: ['extra']"]
    (tmp_path / 'short.csv').write_text('a,b\n1,2\n')
    with pytest.raises(ValueError, match=r"lacks 3 feature column\(s\) .*"
                       r"\['kind=x', 'kind=y', 'flag'\]"):
        read_inputs(str(tmp_path / 'short.csv'), spec)


def test_texts_are_tokenised_with_the_training_vocabulary(tmp_path):
    (tmp_path / 'docs.txt').write_text('\n'.join(DOCS) + '\n')
    dataset = TextDataset([str(tmp_path / 'docs.txt')],
                          root=str(tmp_path / 'cache'), seed=1,
                          max_length=6, verbose=False)
    spec = FeatureSpec.from_dict(FeatureSpec.from_dataset(dataset)
                                 .to_dict())
    assert spec.max_length == 6 and spec.lowercase
    # Every sample, test ones included, is encoded as the data set holds it
    # (words outside this split's training documents are '<unk>').
    for i in range(len(dataset)):
        text = DOCS[i].split('\t', 1)[1]
        data, names = spec.encode_text(text)
        assert torch.equal(data.x, dataset[i].x), i
        assert len(names) == data.x.numel()
    data, names = spec.encode_text('The ZEBRA won')
    assert names == ['the', 'zebra (unk)', 'won']
    assert data.x[1] == 1 and spec.names_of(data.x.tolist())[1] == '<unk>'
    with pytest.raises(ValueError, match='no word'):
        spec.encode_text(' ... ')


def test_file_types_and_missing_files(tmp_path):
    spec = FeatureSpec('sequence', vocab=['<pad>', '<unk>', 'a'])
    (tmp_path / 'x.json').write_text('{}')
    with pytest.raises(ValueError, match=r"reads \.csv or \.txt files, not "
                       r"'\.json'"):
        read_inputs(str(tmp_path / 'x.json'), spec)
    with pytest.raises(FileNotFoundError, match='Input file not found'):
        read_inputs(str(tmp_path / 'none.txt'), spec)
    with pytest.raises(ValueError, match="need the names of their features"):
        FeatureSpec('bow')
    with pytest.raises(ValueError, match="Unknown input type"):
        FeatureSpec('image')
    bow = FeatureSpec('bow', vocab=['w1', 'w2', 'w3'])
    data, names = bow.encode_values({2: 1.0, 0: 0.0, 1: math.nan})
    assert data.x.tolist() == [2] and names == ['w3']
