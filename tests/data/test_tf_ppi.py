import os
import os.path as osp

import pytest
import torch

from lamp_geometric.data import TFPPI
from lamp_geometric.graphs import dataset_prior

DATA_DIR = os.environ.get('LAMP_DATA')
needs_data = pytest.mark.skipif(
    not DATA_DIR
    or not osp.isfile(osp.join(DATA_DIR, 'ppi_toy', 'ToyPPIData.txt')),
    reason='needs the real data: set LAMP_DATA (ppi_toy/)')


def edges(edge_index):
    return set(map(tuple, edge_index.t().tolist()))


@pytest.fixture
def tiny(tmp_path):
    folder = tmp_path / 'data' / 'ppi_toy'
    folder.mkdir(parents=True)
    genes = [f'G{i:02d}' for i in range(20)] + ['TF1', 'TF2', 'TF3']
    rows = [f'{g}\t' + '\t'.join(str(float(i * 3 + j)) for j in range(3))
            for i, g in enumerate(genes)]
    (folder / 'ToyExpressionData.txt').write_text('\n'.join(rows) + '\n')
    motif = []
    for i in range(20):
        motif.append(f'TF{1 + i % 3}\tG{i:02d}\t1.000000')
        if i % 4 == 0:
            motif.append(f'TF3\tG{i:02d}\t1.000000')
    motif.append('TF1\tNOEXPR\t1.0')  # a gene without expression
    (folder / 'ToyMotifData.txt').write_text('\n'.join(motif) + '\n')
    (folder / 'ToyPPIData.txt').write_text(
        'TF1\tTF2\t1\nTF2\tTF2\t1\nTF3\tTFX\t1\n')
    return str(tmp_path / 'data')


def test_tiny_tf_ppi(tiny, tmp_path):
    with pytest.warns(UserWarning, match="1 of the 4 names.*'TFX'"):
        ds = TFPPI(tiny, root=str(tmp_path / 'c'), verbose=False)
        prior = dataset_prior(ds)
    assert ds.label_names == ['TF1', 'TF2', 'TF3']
    assert len(ds) == 20  # TF genes (no motif) and NOEXPR dropped
    assert ds.stats['dropped_without_motif'] == 3
    assert ds.stats['dropped_without_expression'] == 1
    assert ds.sample_names[:2] == ['G00', 'G01']
    assert ds[0].y.tolist() == [[1.0, 0.0, 1.0]]
    assert ds[0].x.tolist() == [0, 1, 2]
    # TF1-TF2 only: the self-interaction and the unknown TFX are dropped.
    assert edges(prior) == {(0, 1), (1, 0)}
    _, report = dataset_prior(ds, return_ignored=True)
    assert report['names'] == ['TFX'] and report['self_interactions'] == 1

    # Values standardised with training statistics.
    v = ds._data.value.view(-1, 3)
    train = v[ds.train_idx]
    assert torch.allclose(train.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(train.std(0), torch.ones(3), atol=1e-5)

    raw = TFPPI(tiny, root=str(tmp_path / 'c'), standardize=False,
                verbose=False)
    assert raw[0].value.tolist() == [0.0, 1.0, 2.0]


def test_bad_expression_row(tmp_path, tiny):
    path = osp.join(tiny, 'ppi_toy', 'ToyExpressionData.txt')
    with open(path, 'a') as f:
        f.write('EXTRA\t1.0\n')
    with pytest.raises(ValueError, match="'EXTRA' has 1 values"):
        TFPPI(tiny, root=str(tmp_path / 'c2'), verbose=False)


@needs_data
@pytest.mark.data
def test_tf_ppi_real(tmp_path_factory):
    ds = TFPPI(DATA_DIR, root=str(tmp_path_factory.mktemp('ppi')),
               verbose=False)
    assert len(ds) == 913 and ds.num_labels == 87
    assert ds.num_features == 50
    assert ds.stats['genes_with_expression'] == 1000
    assert ds.stats['dropped_without_motif'] == 87
    assert ds.stats['dropped_without_expression'] == 0
    assert ds.stats['ppi_rows'] == 238
    assert ds.stats['genes_without_positive'] == 0
    _, report = dataset_prior(ds, return_ignored=True)
    assert report['names'] == [] and report['self_interactions'] == 42
    # 238 rows = 42 self-interactions + 196 TF pairs (both directions).
    assert dataset_prior(ds).size(1) == 2 * 196
    assert [ds.train_idx.numel(), ds.val_idx.numel(),
            ds.test_idx.numel()] == [731, 91, 91]
    d = ds[0]
    assert d.x.tolist() == list(range(50)) and d.value.shape == (50,)
