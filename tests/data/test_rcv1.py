import json
import os
import os.path as osp

import pytest
import torch

from lamp_geometric.data import RCV1Subset
from lamp_geometric.data.reuters import UNK
from lamp_geometric.graphs import dataset_prior

DATA_DIR = os.environ.get('LAMP_DATA')
needs_data = pytest.mark.skipif(
    not DATA_DIR
    or not osp.isfile(osp.join(DATA_DIR, 'rcv1', 'rcv1_dev.json')),
    reason='needs the real data: set LAMP_DATA (rcv1/)')

TAXONOMY = 'Root\tA\tB\nA\tA1\tA2\nA1\tA11\nB\tB1\n'


def edges(edge_index):
    return set(map(tuple, edge_index.t().tolist()))


@pytest.fixture
def tiny(tmp_path):
    folder = tmp_path / 'data' / 'rcv1'
    folder.mkdir(parents=True)
    docs = []
    for i in range(20):
        labels = ['A', 'A1'] if i % 2 else ['B', 'B1']
        tokens = ['Common', f'word{i % 3}'] + (['Rare'] if i == 0 else [])
        docs.append(json.dumps(dict(doc_label=labels, doc_token=tokens,
                                    doc_keyword=[], doc_topic=[])))
    (folder / 'rcv1_dev.json').write_text('\n'.join(docs) + '\n')
    (folder / 'rcv1.taxonomy').write_text(TAXONOMY)
    return str(tmp_path / 'data')


def test_tiny_rcv1(tiny, tmp_path):
    ds = RCV1Subset(tiny, root=str(tmp_path / 'c'), verbose=False)
    # Observed topics only: A2, A11 never occur and are not labels.
    assert ds.label_names == ['A', 'A1', 'B', 'B1']
    assert len(ds) == 20
    sizes = [ds.train_idx.numel(), ds.val_idx.numel(), ds.test_idx.numel()]
    assert sizes == [16, 2, 2]
    assert ds[1].y.tolist() == [[1.0, 1.0, 0.0, 0.0]]
    words = [ds.vocab[i] for i in ds[1].x.tolist()]
    assert words == ['common', 'word1']  # lowercased, in order

    # The tree: A-A1 and B-B1 (both directions); Root, A2 and A11 ignored.
    assert edges(dataset_prior(ds)) == {(0, 1), (1, 0), (2, 3), (3, 2)}
    assert ds.ignored_topics == ['A11', 'A2']
    assert ds.prior_name == 'RCV1 topic tree'


def test_vocabulary_of_the_training_split(tiny, tmp_path):
    # Document 0 holds the only 'rare' token: <unk> unless it is training.
    for seed in range(10):
        ds = RCV1Subset(tiny, root=str(tmp_path / 'c'), seed=seed,
                        verbose=False)
        last = int(ds[0].x[-1])
        if 0 in ds.train_idx.tolist():
            assert ds.vocab[last] == 'rare'
        else:
            assert last == UNK
            assert ds.stats['unk_tokens'] == 1
    ds = RCV1Subset(tiny, root=str(tmp_path / 'c'), seed=0, min_count=5,
                    verbose=False)
    assert int(ds[0].x[-1]) == UNK  # seen once < 5


def test_taxonomy_labels_and_ancestors(tiny, tmp_path):
    ds = RCV1Subset(tiny, root=str(tmp_path / 'c'), labels='taxonomy',
                    ancestors=True, verbose=False)
    assert ds.label_names == ['A', 'A1', 'A11', 'A2', 'B', 'B1']
    assert ds.label_matrix[:, 2].sum() == 0  # never observed
    i = {n: k for k, n in enumerate(ds.label_names)}
    got = edges(dataset_prior(ds))
    assert (i['A'], i['A11']) in got and (i['A11'], i['A']) in got
    assert (i['A1'], i['B']) not in got
    with pytest.raises(ValueError, match='observed'):
        RCV1Subset(tiny, labels='all')


def test_bad_json_line(tmp_path):
    folder = tmp_path / 'd' / 'rcv1'
    folder.mkdir(parents=True)
    (folder / 'rcv1_dev.json').write_text('{"doc_label": ["A"]}\n')
    (folder / 'rcv1.taxonomy').write_text(TAXONOMY)
    with pytest.raises(ValueError, match="line 1: expected a JSON object"):
        RCV1Subset(str(tmp_path / 'd'), root=str(tmp_path / 'c'),
                   verbose=False)


@pytest.fixture(scope='module')
def rcv1(tmp_path_factory):
    return RCV1Subset(DATA_DIR, root=str(tmp_path_factory.mktemp('rcv1')),
                      verbose=False)


@needs_data
@pytest.mark.data
def test_rcv1_real(rcv1):
    assert len(rcv1) == 2316
    assert rcv1.num_labels == 98 == rcv1.stats['observed_topics']
    assert rcv1.stats['taxonomy_topics'] == 103
    assert abs(rcv1.stats['labels_per_sample'] - 3.2) < 0.01
    assert [rcv1.train_idx.numel(), rcv1.val_idx.numel(),
            rcv1.test_idx.numel()] == [1852, 232, 232]
    assert rcv1.ignored_topics == ['E141', 'E312', 'G156', 'G159', 'GMIL']
    ei = dataset_prior(rcv1)
    # 98 topics, 4 of them top-level (children of Root): 94 parent-child
    # edges, both directions.
    assert ei.size(1) == 2 * 94
    i = {n: k for k, n in enumerate(rcv1.label_names)}
    assert (i['CCAT'], i['C15']) in edges(ei)
    assert (i['C15'], i['C151']) in edges(ei)
    assert int(torch.diff(rcv1.slices['x']).max()) <= 500
