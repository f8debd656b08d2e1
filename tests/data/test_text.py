import pytest
import torch

from lamp_geometric.data import TextDataset, read_labelled_text
from lamp_geometric.data.reuters import UNK
from lamp_geometric.data.text import describe_skipped

TRAIN = [
    'sports,news\tThe match ended 2-2, a DRAW.',
    'news\tMarkets fell on Monday.',
    '',
    '# a comment',
    'sports\tThe team won the cup.',
    'weather\t...',  # no word: skipped
    'weather, news\tRain and wind on Monday.',
    '\tA document without any label.',
    'sports\tA late goal won the match.',
    'news\tThe bank raised rates.',
    'weather\tSun all week.',
    'sports,sports\tThe cup final.',
]
TEST = ['news,politics\tThe vote on Monday.', 'sports\tAnother draw.']


def write(path, lines):
    path.write_text('\n'.join(lines) + '\n', encoding='utf-8')
    return str(path)


def test_read_labelled_text(tmp_path):
    path = write(tmp_path / 'train.txt', TRAIN)
    labels, tokens, skipped = read_labelled_text(path, max_length=4)
    assert labels[0] == ['sports', 'news'] and tokens[0] == ['the', 'match',
                                                             'ended', '2']
    assert labels[3] == ['weather', 'news']  # spaces around labels removed
    assert labels[4] == [] and labels[-1] == ['sports']  # duplicates merged
    assert len(labels) == len(tokens) == 9
    assert skipped == {'blank': [3], 'comment': [4], 'no_words': [6]}
    line = describe_skipped(path, skipped)
    assert "skipped 3 lines: 1 blank (line 3); 1 comment (line 4); 1 no " \
           "word in the text (line 6)" in line
    assert describe_skipped(path, {'blank': []}) is None


@pytest.mark.parametrize('bad,match', [
    ('sports the match', r"line 2: expected 'label1,label2<TAB>text', found "
                         r"no tab"),
    ('a,,b\ttext', r"line 2: empty label name in 'a,,b'"),
])
def test_bad_lines_name_the_line(tmp_path, bad, match):
    path = write(tmp_path / 'bad.txt', ['news\tok', bad])
    with pytest.raises(ValueError, match=match):
        read_labelled_text(path)
    with pytest.raises(ValueError, match='bad.txt'):
        TextDataset([path], root=str(tmp_path / 'c'), verbose=False)


def test_text_dataset_given_split(tmp_path, capsys):
    train = write(tmp_path / 'train.txt', TRAIN)
    test = write(tmp_path / 'test.txt', TEST)
    ds = TextDataset([train, test], root=str(tmp_path / 'c'),
                     val_fraction=0.25)
    out = capsys.readouterr().out
    assert 'skipped 3 lines' in out and 'line 6' in out
    assert ds.input_type == 'sequence'
    assert ds.label_names == ['sports', 'news', 'weather']
    assert ds.stats['unseen_test_labels'] == ['politics']
    assert ds.stats['documents_without_label'] == 1
    assert len(ds) == 11 and ds.test_idx.tolist() == [9, 10]
    assert ds.val_idx.numel() == 2 and ds.train_idx.numel() == 7
    assert ds[0].y.tolist() == [[1.0, 1.0, 0.0]]
    assert ds[9].y.tolist() == [[0.0, 1.0, 0.0]]
    # Words in reading order; words never seen in training are <unk>.
    full = TextDataset([train, test], root=str(tmp_path / 'c'),
                       val_fraction=0.0, verbose=False)
    vocab = full.vocab
    assert [vocab[i] for i in full[0].x.tolist()] == [
        'the', 'match', 'ended', '2', '2', 'a', 'draw']
    assert [vocab[i] if i != UNK else '<unk>' for i in full[9].x.tolist()] \
        == ['the', '<unk>', 'on', 'monday']
    train_words = {int(i) for j in ds.train_idx.tolist() for i in ds[j].x}
    for j in ds.val_idx.tolist() + ds.test_idx.tolist():
        assert set(ds[j].x.tolist()) <= train_words | {UNK}
    X = ds.feature_matrix()
    assert X.shape == (11, ds.num_features) and X[0].sum() == 7


def test_text_dataset_one_file_random_split(tmp_path):
    ds = TextDataset(write(tmp_path / 'all.txt', TRAIN + TEST),
                     root=str(tmp_path / 'c'), seed=1, verbose=False)
    assert not ds.has_given_split and len(ds) == 11
    assert sum(t.numel() for t in ds.splits()) == 11
    assert 'politics' in ds.label_names
    again = TextDataset(str(tmp_path / 'all.txt'), root=str(tmp_path / 'c'),
                        seed=1, verbose=False)
    assert torch.equal(ds.test_idx, again.test_idx)


def test_text_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="'none.txt'"):
        TextDataset(['none.txt'], root=str(tmp_path / 'c'))
    empty = write(tmp_path / 'empty.txt', ['', '# nothing'])
    with pytest.raises(ValueError, match='holds no document'):
        TextDataset([empty], root=str(tmp_path / 'c'), verbose=False)
    nolabel = write(tmp_path / 'nolabel.txt', ['\tsome text', '\tmore'])
    with pytest.raises(ValueError, match='have no label'):
        TextDataset([nolabel], root=str(tmp_path / 'c2'), verbose=False)
