import os
import os.path as osp

import pytest
import torch

from lamp_geometric.data import Reuters21578
from lamp_geometric.data.reuters import (
    PAD,
    SGML_FILES,
    UNK,
    build_vocab,
    parse_sgml,
    tokenize,
)
from lamp_geometric.graphs import co_occurrence, dataset_prior

DATA_DIR = os.environ.get('LAMP_DATA')
needs_data = pytest.mark.skipif(
    not DATA_DIR
    or not osp.isfile(osp.join(DATA_DIR, 'reuters21578', 'reut2-021.sgm')),
    reason='needs the real data: set LAMP_DATA (reuters21578/)')


def doc(newid, split, topics_attr, topics, title='', body='', unproc=None):
    d = ''.join(f'<D>{t}</D>' for t in topics)
    if unproc is not None:
        text = f'<TEXT TYPE="UNPROC">&#2;{unproc}</TEXT>'
    else:
        text = (f'<TEXT>&#2;\n<TITLE>{title}</TITLE>\n<DATELINE>X, Feb 26 - '
                f'</DATELINE><BODY>{body}\n Reuter\n&#3;</BODY></TEXT>')
    return (f'<REUTERS TOPICS="{topics_attr}" LEWISSPLIT="{split}" '
            f'CGISPLIT="TRAINING-SET" OLDID="1" NEWID="{newid}">\n'
            f'<DATE>26-FEB-1987</DATE>\n<TOPICS>{d}</TOPICS>\n'
            f'<PLACES></PLACES>\n{text}\n</REUTERS>\n')


DOCS = [
    doc(1, 'TRAIN', 'YES', ['earn'], 'PROFIT UP',
        'Profit &lt;rose&gt; 5.3 pct at caf\xe9 &#233;'),
    doc(2, 'TRAIN', 'YES', ['earn', 'acq'], 'Merger', 'Profit merger deal'),
    doc(3, 'TRAIN', 'YES', ['grain'], 'Wheat', 'wheat only in train'),
    doc(4, 'TRAIN', 'YES', [], 'No topic', 'nothing'),
    doc(5, 'TRAIN', 'NO', ['earn'], 'Not ModApte', 'skipped'),
    doc(6, 'TEST', 'YES', ['earn'], 'Zebra', 'zebra profit'),
    doc(7, 'TEST', 'YES', ['acq'], 'Deal', 'merger deal'),
    doc(8, 'NOT-USED', 'YES', ['earn'], 'Unused', 'unused'),
    doc(9, 'TEST', 'YES', ['cocoa'], 'Cocoa', 'cocoa only in test'),
    doc(10, 'TRAIN', 'YES', ['acq'], unproc='RAW deal TEXT'),
]


@pytest.fixture
def tiny(tmp_path):
    folder = tmp_path / 'data' / 'reuters21578'
    folder.mkdir(parents=True)
    chunks = {SGML_FILES[0]: DOCS[:5], SGML_FILES[1]: DOCS[5:]}
    for k, name in enumerate(SGML_FILES):
        docs = chunks.get(name, [doc(100 + k, 'NOT-USED', 'NO', [])])
        text = '<!DOCTYPE lewis SYSTEM "lewis.dtd">\n' + ''.join(docs)
        (folder / name).write_bytes(text.encode('latin-1'))
    return str(tmp_path / 'data')


def test_tokenize_and_vocab():
    assert tokenize('Profit ROSE 5.3 pct; U.S.-based!') == \
        ['profit', 'rose', '5', '3', 'pct', 'u', 's', 'based']
    assert tokenize('a b c d', max_length=2) == ['a', 'b']
    vocab = build_vocab([['b', 'a', 'b'], ['c']], min_count=1)
    assert vocab[:2] == ['<pad>', '<unk>'] and vocab[PAD] == '<pad>'
    assert vocab[2:] == ['b', 'a', 'c']  # by count, ties alphabetical
    assert build_vocab([['b', 'a', 'b']], min_count=2) == ['<pad>', '<unk>',
                                                          'b']


def test_parse_sgml(tiny):
    docs = parse_sgml(osp.join(tiny, 'reuters21578', SGML_FILES[0]))
    assert [d['newid'] for d in docs] == [1, 2, 3, 4, 5]
    first = docs[0]
    assert first['topics'] == ['earn'] and first['lewissplit'] == 'TRAIN'
    assert first['title'] == 'PROFIT UP'
    assert 'Profit <rose> 5.3 pct at caf\xe9 \xe9' in first['text']
    assert 'X, Feb 26' not in first['text']  # the dateline is not text
    unproc = parse_sgml(osp.join(tiny, 'reuters21578', SGML_FILES[1]))[-1]
    assert 'RAW deal TEXT' in unproc['text']


def test_tiny_modapte(tiny, tmp_path):
    ds = Reuters21578(tiny, root=str(tmp_path / 'cache'), check_counts=False,
                      verbose=False)
    assert ds.label_names == ['acq', 'earn']  # grain / cocoa: one side only
    assert ds.stats['num_train'] == 3 and ds.stats['num_test'] == 2
    # Doc 3 (grain only) and doc 4 (no topic) dropped from train, doc 9
    # (cocoa only) from test.
    assert ds.stats['dropped'] == {'train': 2, 'test': 1}
    assert len(ds) == 5
    assert ds.test_idx.tolist() == [3, 4]
    assert ds[1].y.tolist() == [[1.0, 1.0]]

    words = [ds.vocab[i] for i in ds[0].x.tolist()]
    assert words[:2] == ['profit', 'up']  # the title comes first
    assert ds.vocab[:2] == ['<pad>', '<unk>']
    # 'zebra' appears only in a test document: not in the vocabulary.
    assert 'zebra' not in ds.vocab
    assert ds[3].x.tolist()[0] == UNK
    assert [ds.vocab[i] for i in ds[2].x.tolist()] == ['raw', 'deal', 'text']


def test_counts_are_checked(tiny, tmp_path):
    with pytest.raises(ValueError, match='differ from the expected'):
        Reuters21578(tiny, root=str(tmp_path / 'c'), verbose=False)


def test_max_length(tiny, tmp_path):
    ds = Reuters21578(tiny, root=str(tmp_path / 'c'), check_counts=False,
                      max_length=2, verbose=False)
    assert max(d.x.numel() for d in ds) == 2
    with pytest.raises(ValueError, match='max_length'):
        Reuters21578(tiny, root=str(tmp_path / 'c'), max_length=0)


def test_no_sgml_document(tmp_path):
    path = tmp_path / 'x.sgm'
    path.write_text('<!DOCTYPE lewis>\n')
    with pytest.raises(ValueError, match='no <REUTERS> document'):
        parse_sgml(str(path))


@pytest.fixture(scope='module')
def reuters(tmp_path_factory):
    root = tmp_path_factory.mktemp('reuters_cache')
    return Reuters21578(DATA_DIR, root=str(root), verbose=False)


@needs_data
@pytest.mark.data
def test_reuters_real(reuters):
    ds = reuters
    assert (ds.stats['num_train'], ds.stats['num_test']) == (7770, 3019)
    assert ds.num_labels == 90
    # The paper's Table 5: 6993 / 777 / 3019.
    assert [ds.train_idx.numel(), ds.val_idx.numel(),
            ds.test_idx.numel()] == [6993, 777, 3019]
    assert ds.stats['num_modapte'] == {'train': 9603, 'test': 3299}
    assert ds.stats['dropped'] == {'train': 1833, 'test': 280}
    assert 'earn' in ds.label_names and 'acq' in ds.label_names
    y = ds.label_matrix
    assert bool((y.sum(1) >= 1).all())
    assert abs(float(y.sum(1).mean()) - 1.23) < 0.01  # paper Table 6
    lengths = torch.diff(ds.slices['x'])
    assert int(lengths.max()) == 500 and int(lengths.min()) >= 1
    assert ds.num_features == len(ds.vocab) > 20000


@needs_data
@pytest.mark.data
def test_reuters_prior_uses_training_rows_only(reuters):
    prior = dataset_prior(reuters)
    y = reuters.label_matrix
    expected = co_occurrence(y[reuters.train_idx])
    assert torch.equal(prior, expected)
    assert not torch.equal(prior, co_occurrence(y))  # test rows add edges
