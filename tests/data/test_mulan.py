import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch

import lamp_geometric.data.download as download_module
from lamp_geometric.data import ArffFiles, BibTeX, Delicious, Mulan, read_arff
from lamp_geometric.data.mulan import MULAN_URL, read_mulan_labels

DATA_DIR = os.environ.get('LAMP_DATA')


def has(*parts):
    return bool(DATA_DIR) and osp.isfile(osp.join(DATA_DIR, *parts))


needs_bibtex = pytest.mark.skipif(
    not has('mulan', 'bibtex', 'bibtex-train.arff'),
    reason='needs the real data: set LAMP_DATA (mulan/bibtex/)')
needs_delicious = pytest.mark.skipif(
    not has('mulan', 'delicious', 'delicious-train.arff'),
    reason='needs the real data: set LAMP_DATA (mulan/delicious/)')

# A tiny Mulan set: the labels (y1, y2) stand between the features, one of
# them with an escaped name, as in Delicious' TAG_m\'usica.
HEADER = """% a comment
@relation tiny

@attribute w0 {0,1}
@attribute y1 {0,1}
@attribute 'w 1' numeric
@attribute y\\'2 {0,1}
@attribute w2 {0,1}

@data
"""
XML = """<?xml version="1.0" encoding="utf-8"?>
<labels xmlns="http://mulan.sourceforge.net/labels">
<label name="y1"></label>
<label name="y\\'2"></label>
</labels>
"""
TRAIN_SPARSE = [
    '{0 1,1 1,2 0.5}',   # w0, y1, w1=0.5
    '{3 1,4 1}',         # y'2, w2
    '{}',                # nothing: no feature node, no label
    '{0 1,1 1,3 1}',
    '{2 2,1 ?}',         # y1 missing
    '{4 1,1 1}',
    '{0 1,3 1}',
    '{0 1,1 1,3 1,4 1}',
    '{2 1,3 1}',
    '{0 1,4 1,1 1}',
]
TEST_SPARSE = ['{0 1,1 1,3 1}', '{4 1}']


def write_set(folder, name='tiny', train=TRAIN_SPARSE, test=TEST_SPARSE,
              header=HEADER, xml=XML):
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, f'{name}-train.arff'), 'w') as f:
        f.write(header + '\n'.join(train) + '\n')
    with open(osp.join(folder, f'{name}-test.arff'), 'w') as f:
        f.write(header + '\n'.join(test) + '\n')
    with open(osp.join(folder, f'{name}.xml'), 'w') as f:
        f.write(xml)


@pytest.fixture
def tiny(tmp_path):
    data_dir = tmp_path / 'data'
    write_set(str(data_dir / 'mulan' / 'tiny'))
    return str(data_dir)


def test_read_sparse_arff(tiny):
    arff = read_arff(osp.join(tiny, 'mulan', 'tiny', 'tiny-train.arff'))
    assert arff.relation == 'tiny'
    assert arff.names == ['w0', 'y1', 'w 1', "y'2", 'w2']
    assert arff.sparse and arff.num_rows == 10
    dense = arff.to_dense()
    assert dense[0].tolist() == [1, 1, 0.5, 0, 0]
    assert dense[2].tolist() == [0, 0, 0, 0, 0]
    assert np.isnan(dense[4, 1]) and dense[4, 2] == 2
    assert arff.row_lines[0] == 11  # 1-based, after the header


def test_mulan_tiny_sparse(tiny):
    ds = Mulan('tiny', data_dir=tiny, root=osp.join(tiny, '..', 'cache'),
               verbose=False)
    assert len(ds) == 12
    assert ds.label_names == ['y1', "y\\'2"]  # as written in the XML
    assert ds.vocab == ['w0', 'w 1', 'w2']
    assert ds.num_features == 3 and ds.num_labels == 2

    d0 = ds[0]
    assert d0.x.tolist() == [0, 1] and d0.value.tolist() == [1.0, 0.5]
    assert d0.y.tolist() == [[1.0, 0.0]]
    assert ds[2].x.numel() == 0  # an empty row is kept, with no node
    assert torch.isnan(ds[4].y[0, 0]) and ds[4].y[0, 1] == 0
    assert ds[4].value.tolist() == [2.0]
    assert ds[1].x.tolist() == [2] and ds[1].y.tolist() == [[0.0, 1.0]]

    # Given split: 10 train rows (1 held out for validation), 2 test rows.
    assert ds.has_given_split
    assert ds.test_idx.tolist() == [10, 11]
    assert ds.val_idx.numel() == 1
    assert sorted(ds.train_idx.tolist() + ds.val_idx.tolist()) == \
        list(range(10))
    # Rows 2 (empty) and 4 (y1 missing, y'2 negative) have no positive.
    assert ds.stats['rows_without_label'] == {'train': 2, 'test': 1}
    assert ds.stats['num_train'] == 10 and ds.stats['num_test'] == 2
    assert int(ds[int(ds.val_idx[0])].split) == 1


def test_validation_split_by_seed(tiny):
    root = osp.join(tiny, '..', 'cache')
    vals = set()
    for seed in range(6):
        ds = Mulan('tiny', data_dir=tiny, root=root, seed=seed,
                   verbose=False)
        again = Mulan('tiny', data_dir=tiny, root=root, seed=seed,
                      verbose=False)
        assert torch.equal(ds.val_idx, again.val_idx)
        assert ds.test_idx.tolist() == [10, 11]
        vals.add(tuple(ds.val_idx.tolist()))
    assert len(vals) > 1  # the seed moves the validation row
    ds = Mulan('tiny', data_dir=tiny, root=root, val_fraction=0.5,
               verbose=False)
    assert ds.val_idx.numel() == 5 and ds.train_idx.numel() == 5


def test_dense_arff_matches_sparse(tmp_path, tiny):
    sparse = Mulan('tiny', data_dir=tiny, root=str(tmp_path / 'c1'),
                   verbose=False)
    arff = read_arff(osp.join(tiny, 'mulan', 'tiny', 'tiny-train.arff'))
    test = read_arff(osp.join(tiny, 'mulan', 'tiny', 'tiny-test.arff'))

    def dense_rows(a):
        rows = []
        for r in a.to_dense():
            rows.append(','.join('?' if np.isnan(v) else f'{v:g}'
                                 for v in r))
        return rows

    folder = str(tmp_path / 'dense' / 'mulan' / 'tiny')
    write_set(folder, train=dense_rows(arff), test=dense_rows(test))
    dense = Mulan('tiny', data_dir=str(tmp_path / 'dense'),
                  root=str(tmp_path / 'c2'), verbose=False)
    assert not read_arff(osp.join(folder, 'tiny-train.arff')).sparse
    for a, b in zip(sparse, dense):
        assert torch.equal(a.x, b.x)
        assert torch.equal(a.value, b.value)
        assert torch.equal(a.y.nan_to_num(-1), b.y.nan_to_num(-1))


def test_single_file_set_gets_random_split(tmp_path):
    folder = tmp_path / 'data' / 'mulan' / 'one'
    folder.mkdir(parents=True)
    (folder / 'one.arff').write_text(HEADER + '\n'.join(TRAIN_SPARSE) + '\n')
    (folder / 'one.xml').write_text(XML)
    ds = Mulan('one', data_dir=str(tmp_path / 'data'),
               root=str(tmp_path / 'c'), verbose=False)
    assert not ds.has_given_split
    sizes = [ds.train_idx.numel(), ds.val_idx.numel(), ds.test_idx.numel()]
    assert sizes == [8, 1, 1]


def test_nominal_features_are_one_hot(tmp_path):
    header = ('@relation t\n@attribute colour {red,green,blue}\n'
              '@attribute size numeric\n@attribute lab {0,1}\n@data\n')
    folder = tmp_path / 'd' / 'mulan' / 'nom'
    write_set(str(folder), name='nom', header=header,
              train=['green,2.5,1', 'red,0,0', '?,1,1'],
              test=['blue,0,1'],
              xml='<labels><label name="lab"/></labels>')
    ds = Mulan('nom', data_dir=str(tmp_path / 'd'), root=str(tmp_path / 'c'),
               verbose=False)
    assert ds.vocab == ['colour=red', 'colour=green', 'colour=blue', 'size']
    assert ds[0].x.tolist() == [1, 3] and ds[0].value.tolist() == [1, 2.5]
    assert ds[1].x.tolist() == [0]  # category 'red' is a node; size 0 not
    assert ds[2].x.tolist() == [3]  # missing colour: no node
    assert ds[3].x.tolist() == [2]


@pytest.mark.parametrize('bad_line,match', [
    ('{0 1,1 1', 'line 13: sparse row not terminated'),
    ('{0 1,x 1}', "line 13: sparse index 'x'"),
    ('{0 1,9 1}', 'line 13: sparse index 9 out of range'),
    ('{0 1,1 2}', "line 13: value '2' is not a category"),
    ('{0 1,2 abc}', "line 13: value 'abc' of numeric attribute"),
    ('{0 1,1}', "line 13: sparse entry '1'"),
    ('1,0,0.5', 'line 13: expected 5 comma-separated values, found 3'),
])
def test_malformed_arff_reports_the_line(tmp_path, bad_line, match):
    folder = tmp_path / 'd' / 'mulan' / 'bad'
    write_set(str(folder), name='bad',
              train=[TRAIN_SPARSE[0], TRAIN_SPARSE[1], bad_line])
    path = str(folder / 'bad-train.arff')
    with pytest.raises(ValueError, match=match):
        read_arff(path)
    with pytest.raises(ValueError, match=match):
        Mulan('bad', data_dir=str(tmp_path / 'd'), root=str(tmp_path / 'c'),
              verbose=False)


def test_malformed_header(tmp_path):
    path = tmp_path / 'h.arff'
    path.write_text('@relation r\n@attribute a {0,1}\n')
    with pytest.raises(ValueError, match='no @data section'):
        read_arff(str(path))
    path.write_text('@relation r\n@attribute a\n@data\n')
    with pytest.raises(ValueError, match='line 2'):
        read_arff(str(path))
    path.write_text('@relation r\n@attribute a {0,1\n@data\n')
    with pytest.raises(ValueError, match="line 2: nominal attribute 'a'"):
        read_arff(str(path))


def test_label_errors(tmp_path):
    folder = tmp_path / 'd' / 'mulan' / 'lab'
    write_set(str(folder), name='lab',
              xml='<labels><label name="y1"/><label name="nope"/></labels>')
    with pytest.raises(ValueError, match="not attributes.*'nope'"):
        Mulan('lab', data_dir=str(tmp_path / 'd'), root=str(tmp_path / 'c'),
              verbose=False)
    (folder / 'lab.xml').write_text('<labels>')
    with pytest.raises(ValueError, match='not a valid Mulan XML'):
        Mulan('lab', data_dir=str(tmp_path / 'd'), root=str(tmp_path / 'c'),
              verbose=False)


def test_train_and_test_must_declare_the_same_attributes(tmp_path):
    folder = tmp_path / 'd' / 'mulan' / 'mix'
    write_set(str(folder), name='mix')
    other = HEADER.replace('@attribute w2 {0,1}', '@attribute w3 {0,1}')
    (folder / 'mix-test.arff').write_text(other + '{0 1}\n')
    with pytest.raises(ValueError, match='different attributes'):
        Mulan('mix', data_dir=str(tmp_path / 'd'), root=str(tmp_path / 'c'),
              verbose=False)


def test_download_when_absent(tmp_path, monkeypatch, tiny):
    src = osp.join(tiny, 'mulan', 'tiny')
    calls = []

    def download_url(url, folder, log=True, filename=None):
        calls.append(url)
        path = osp.join(folder, filename)
        shutil.copyfile(osp.join(src, filename), path)
        return path

    monkeypatch.setattr(download_module, 'download_url', download_url)
    root = tmp_path / 'root'
    ds = Mulan('tiny', data_dir=str(tmp_path / 'nothing'), root=str(root),
               verbose=False)
    assert len(ds) == 12
    assert sorted(calls) == sorted(MULAN_URL + 'tiny/' + f for f in
                                   ['tiny-train.arff', 'tiny-test.arff',
                                    'tiny.xml'])
    assert sorted(os.listdir(root / 'raw')) == ['tiny-test.arff',
                                                'tiny-train.arff', 'tiny.xml']
    Mulan('tiny', data_dir=str(tmp_path / 'nothing'), root=str(root),
          verbose=False)
    assert len(calls) == 3  # no second download


def test_missing_files_without_network(tmp_path, monkeypatch):
    def fail(url, folder, log=True, filename=None):
        raise OSError('offline')

    monkeypatch.setattr(download_module, 'download_url', fail)
    with pytest.raises(FileNotFoundError, match='LAMP_DATA.*offline'):
        Mulan('absent', data_dir=str(tmp_path), root=str(tmp_path / 'r'),
              verbose=False)


def test_read_mulan_labels_nested(tmp_path):
    path = tmp_path / 'h.xml'
    path.write_text('<labels xmlns="http://mulan.sourceforge.net/labels">'
                    '<label name="a"><label name="a1"/></label>'
                    '<label name="b"/></labels>')
    assert read_mulan_labels(str(path)) == ['a', 'a1', 'b']


# Real data ###################################################################

@pytest.fixture(scope='module')
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp('mulan_cache')


@needs_bibtex
@pytest.mark.data
def test_bibtex_real(cache):
    ds = BibTeX(DATA_DIR, root=str(cache / 'bibtex'), verbose=False)
    assert (ds.stats['num_train'], ds.stats['num_test']) == (4880, 2515)
    assert ds.num_features == 1836 and ds.num_labels == 159
    assert len(ds) == 4880 + 2515
    assert ds.test_idx.numel() == 2515
    assert (ds.train_idx.numel(), ds.val_idx.numel()) == (4392, 488)
    assert ds.label_names[0] == 'TAG_2005'
    assert set(ds._data.value.unique().tolist()) == {1.0}
    assert not torch.isnan(ds.label_matrix).any()
    # Paper Table 6: 2.38 labels per sample (train + test here).
    assert abs(ds.stats['labels_per_sample'] - 2.40) < 0.02


@needs_delicious
@pytest.mark.data
def test_delicious_real(cache):
    import time
    start = time.perf_counter()
    ds = Delicious(DATA_DIR, root=str(cache / 'delicious'), verbose=False)
    assert time.perf_counter() - start < 30  # vectorised: seconds
    assert (ds.stats['num_train'], ds.stats['num_test']) == (12920, 3185)
    assert ds.num_features == 500 and ds.num_labels == 983
    assert ds.stats['rows_without_label'] == {'train': 10, 'test': 4}
    y = ds.label_matrix
    no_label = (y.sum(1) == 0)
    assert int(no_label[:12920].sum()) == 10
    assert int(no_label[12920:].sum()) == 4
    assert "TAG_m\\'usica" in ds.label_names  # matched despite the escape
    assert abs(ds.stats['labels_per_sample'] - 19.02) < 0.05


def test_processed_files_are_written_atomically(tiny, processed_writes):
    # Two processes may build one cache at once: the one that finishes
    # first must never read the other's half-written file.  The processed
    # file appears at its final path only when it is complete.
    root = osp.join(tiny, '..', 'cache')
    ds = Mulan('tiny', data_dir=tiny, root=root, verbose=False)
    assert len(ds) == 12
    assert len(processed_writes) == 1
    assert 'data.pt' not in processed_writes[0]
    processed = osp.join(root, 'processed')
    assert not [f for f in os.listdir(processed) if f.startswith('.tmp-')]


def test_dense_numeric_set_is_a_standardised_vector(tmp_path):
    header = ('@relation v\n@attribute a numeric\n@attribute b numeric\n'
              '@attribute lab {0,1}\n@data\n')
    folder = tmp_path / 'd' / 'mulan' / 'vec'
    write_set(str(folder), name='vec', header=header,
              train=['1,-70,1', '3,-74,0', '5,?,1', '0,-72,0'],
              test=['2,-71,1'],
              xml='<labels><label name="lab"/></labels>')
    ds = Mulan('vec', data_dir=str(tmp_path / 'd'), root=str(tmp_path / 'c'),
               val_fraction=0.0, verbose=False)
    assert ds.input_type == 'vector'
    # Every feature is a node of every row (a zero value included) ...
    assert [d.x.tolist() for d in ds] == [[0, 1]] * 5
    # ... standardised with the training rows' mean and standard deviation
    # (a missing value becomes the mean, 0).
    a = torch.tensor([1., 3., 5., 0.])
    b = torch.tensor([-70., -74., -72.])
    assert ds.feature_scaling['ids'] == [0, 1]
    assert ds.feature_scaling['mean'] == pytest.approx([2.25, -72.0])
    assert ds.feature_scaling['std'] == pytest.approx(
        [float(a.std()), float(b.std())])
    values = torch.stack([d.value for d in ds])
    assert torch.allclose(values[:4, 0], (a - a.mean()) / a.std())
    assert values[2, 1] == 0
    assert torch.allclose(values[4], torch.tensor(
        [(2 - 2.25) / float(a.std()), (-71 + 72) / float(b.std())]))
    assert ds.stats['missing_values'] == {'train': 1, 'test': 0}
    X = ds.feature_matrix()
    assert X.shape == (5, 2)
    assert np.allclose(X.toarray(), values.numpy())


def test_arff_files_anywhere_read_like_mulan(tmp_path, tiny):
    # The user's own files, in folders of their own, read as the Mulan set
    # of the same content.
    folder = osp.join(tiny, 'mulan', 'tiny')
    mine = tmp_path / 'mine'
    (mine / 'a').mkdir(parents=True)
    (mine / 'b').mkdir()
    shutil.copy(osp.join(folder, 'tiny-train.arff'), mine / 'a' / 'tr.arff')
    shutil.copy(osp.join(folder, 'tiny-test.arff'), mine / 'b' / 'te.arff')
    shutil.copy(osp.join(folder, 'tiny.xml'), mine / 'labels.xml')
    ds = ArffFiles([str(mine / 'a' / 'tr.arff'), str(mine / 'b' / 'te.arff')],
                   xml=str(mine / 'labels.xml'), root=str(tmp_path / 'c1'),
                   verbose=False)
    ref = Mulan('tiny', data_dir=tiny, root=str(tmp_path / 'c2'),
                verbose=False)
    assert ds.label_names == ref.label_names and ds.vocab == ref.vocab
    assert ds.input_type == 'bow' and ds.display_name == 'tr.arff'
    assert torch.equal(ds.label_matrix.nan_to_num(-1),
                       ref.label_matrix.nan_to_num(-1))
    assert ds.test_idx.tolist() == [10, 11]
    assert torch.equal(ds.val_idx, ref.val_idx)
    # One file: a random 80/10/10 split by seed.
    one = ArffFiles(str(mine / 'a' / 'tr.arff'), str(mine / 'labels.xml'),
                    root=str(tmp_path / 'c3'), verbose=False)
    assert not one.has_given_split and len(one) == 10
    assert [t.numel() for t in one.splits()] == [8, 1, 1]


def test_arff_files_errors(tmp_path, tiny):
    train = osp.join(tiny, 'mulan', 'tiny', 'tiny-train.arff')
    with pytest.raises(ValueError, match='pass --xml'):
        ArffFiles([train], xml=None, root=str(tmp_path / 'c'))
    with pytest.raises(FileNotFoundError, match="'nope.arff'"):
        ArffFiles(['nope.arff'], xml=train, root=str(tmp_path / 'c'))
    with pytest.raises(ValueError, match='one ARFF file .* or two'):
        ArffFiles([train] * 3, xml=train, root=str(tmp_path / 'c'))
    bad = tmp_path / 'bad.arff'
    bad.write_text(HEADER + '{0 1,1 1}\n{0 1,9 1}\n')
    with pytest.raises(ValueError, match=r"bad.arff', line 12: sparse index "
                       r"9 out of range"):
        ArffFiles([str(bad)], xml=osp.join(tiny, 'mulan', 'tiny',
                                           'tiny.xml'),
                  root=str(tmp_path / 'c4'), verbose=False)
