import json
import os
import struct

import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.utils import from_smiles

from lamp_geometric.checkpoint import load_checkpoint
from lamp_geometric.data import MoleculeCSV
from lamp_geometric.explain import (
    draw_molecule_attention,
    explain,
    explain_output,
    molecule_feature_names,
    plot_feature_attention,
    plot_intermediate_predictions,
    plot_label_attention,
    save_explanation,
)
from lamp_geometric.nn import LaMP

import tiny_molecules as tm


def png_size(path_or_bytes):
    data = path_or_bytes
    if isinstance(path_or_bytes, str):
        with open(path_or_bytes, 'rb') as f:
            data = f.read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    assert data[12:16] == b'IHDR'
    width, height = struct.unpack('>II', data[16:24])
    return width, height


@pytest.fixture(scope='module', params=['fc', 'el'])
def trained(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f'explain_{request.param}')
    # The engine also explains 2 test molecules (as `--explain 2` does).
    results = tm.train_tiny(str(tmp), label_graph=request.param,
                            encoder='fmp', epochs=2, explain=2,
                            explain_dir=str(tmp / 'engine_expl'))
    pngs = [p for p in results['explanations'] if p.endswith('.png')]
    assert len({os.path.basename(p).split('_')[0] for p in pngs}) == 2
    assert all(os.path.isfile(p) and
               os.path.dirname(p) == str(tmp / 'engine_expl')
               for p in results['explanations'])
    model, info = load_checkpoint(str(tmp / 'model.pt'))
    dataset = MoleculeCSV(str(tmp / 'tiny.csv'), root=str(tmp / 'cache_e'),
                          verbose=False)
    return model, info, dataset, tmp


def readouts_by_hooks(model, batch):
    # The model's own readout applied to the label states each conv emits.
    states = []
    hooks = [conv.register_forward_hook(
        lambda mod, inp, out: states.append(out[0] if isinstance(out, tuple)
                                            else out))
        for pair in zip(model.xy_convs, model.yy_convs) for conv in pair]
    try:
        with torch.no_grad():
            model(batch)
    finally:
        for h in hooks:
            h.remove()
    B, L = batch.num_graphs, model.num_labels
    return [model.readout(u.reshape(B, L, -1)) for u in states]


def test_intermediate_predictions_match_the_readout(trained):
    model, info, dataset, _ = trained
    data = [dataset[i] for i in range(6)]
    expls = explain(model, data, label_names=info.label_names)
    assert len(expls) == 6
    batch = Batch.from_data_list(data)
    hooked = readouts_by_hooks(model, batch)
    with torch.no_grad():
        out = model(batch)
    assert len(hooked) == len(out.stage_names) == 4
    for b, expl in enumerate(expls):
        assert expl.stage_names == ['1.1', '1.2', '2.1', '2.2']
        assert expl.stage_logits.shape == (4, len(tm.LABELS))
        for s in range(4):
            assert torch.allclose(expl.stage_logits[s], hooked[s][b],
                                  atol=1e-5)
            assert torch.allclose(expl.stage_logits[s],
                                  out.stage_logits[s][b], atol=1e-5)
        assert torch.allclose(expl.probabilities,
                              torch.sigmoid(out.logits[b]), atol=1e-6)
        assert torch.equal(expl.y_true, data[b].y.view(-1))
        assert expl.smiles == data[b].smiles
        assert expl.label_names == tm.LABELS


def test_attention_rows_sum_to_one(trained):
    model, info, dataset, _ = trained
    expls = explain(model, [dataset[i] for i in range(5)],
                    label_names=info.label_names)
    heads, L = model.heads, model.num_labels
    for expl in expls:
        S = len(expl.feature_names)
        assert sorted(expl.feature_attention) == ['1.1', '2.1']
        assert sorted(expl.label_attention) == ['1.2', '2.2']
        for stage, att in expl.feature_attention.items():
            assert att.shape == (heads, L, S)
            assert (att >= 0).all()
            assert torch.allclose(att.sum(-1), torch.ones(heads, L),
                                  atol=1e-5)
            assert torch.allclose(expl.attention(stage),
                                  att.sum(0))  # summed over heads
            assert torch.allclose(expl.attention(stage, 'mean').sum(-1),
                                  torch.ones(L), atol=1e-5)
        for stage, att in expl.label_attention.items():
            assert att.shape == (heads, L, L)
            assert torch.allclose(att.sum(-1), torch.ones(heads, L),
                                  atol=1e-5)
            if model.label_graph == 'el':  # each label hears only itself
                assert torch.allclose(att, torch.eye(L).expand_as(att))
            else:
                assert (att > 0).all()


def test_batch_and_single_explanations_agree(trained):
    model, info, dataset, _ = trained
    batch = explain(model, [dataset[i] for i in range(4)])
    single = explain(model, dataset[2])[0]
    assert single.index == 0 and batch[2].index == 2
    assert torch.allclose(single.stage_logits, batch[2].stage_logits,
                          atol=1e-5)
    for stage in single.feature_attention:
        assert torch.allclose(single.feature_attention[stage],
                              batch[2].feature_attention[stage], atol=1e-5)
    assert single.label_names[0] == 'label 0'


def test_feature_names_and_training_mode(trained):
    model, _, _, _ = trained
    assert molecule_feature_names(from_smiles('CCO')) == ['C0', 'C1', 'O2']
    model.train()
    expl = explain(model, from_smiles('c1ccccc1O'))[0]
    assert model.training  # restored
    model.eval()
    assert expl.feature_names == [f'C{i}' for i in range(6)] + ['O6']
    top = expl.top_features(0, '1.1', k=3)
    assert len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1]
    with pytest.raises(KeyError):
        expl.top_features(0, '1.2')
    with pytest.raises(KeyError):
        expl.label_index('no such label')


def test_plots_are_valid_pngs(trained, tmp_path):
    model, info, dataset, _ = trained
    # A molecule with at least two true positive labels.
    data = next(d for d in dataset if d.y.sum() >= 2 and d.num_nodes >= 5)
    expl = explain(model, data, label_names=info.label_names)[0]
    paths = save_explanation(expl, str(tmp_path), prefix='m')
    names = sorted(os.path.basename(p) for p in paths)
    expected = {'m_predictions.png', 'm_attention_1_1.png',
                'm_attention_1_2.png', 'm_attention_2_1.png',
                'm_attention_2_2.png', 'm.json'}
    assert expected <= set(names)
    molecules = [n for n in names if n.startswith('m_molecule_')]
    assert 1 <= len(molecules) <= 3
    for p in paths:
        assert os.path.getsize(p) > 1000
        if p.endswith('.png'):
            w, h = png_size(p)
            assert 200 <= w <= 4000 and 150 <= h <= 4000, (p, w, h)
    saved = json.loads((tmp_path / 'm.json').read_text())
    assert saved['label_names'] == tm.LABELS
    assert saved['smiles'] == data.smiles
    assert len(saved['stage_probabilities']) == 4
    assert len(saved['feature_attention']['1.1'][0][0]) == data.num_nodes
    # The heatmaps default to the true positive labels.
    assert expl.positive_labels() == (data.y.view(-1) == 1).nonzero(
    ).view(-1).tolist()


def test_plot_functions(trained, tmp_path):
    model, info, dataset, _ = trained
    expl = explain(model, dataset[5], label_names=info.label_names)[0]
    fig = plot_intermediate_predictions(expl, path=str(tmp_path / 'a.png'))
    assert len(fig.axes) == 2  # grid + colour bar
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == expl.stage_names
    red = [t.get_text() for t in ax.get_xticklabels()
           if t.get_color() == 'red']
    assert red == [n for n, y in zip(tm.LABELS, expl.y_true) if y == 1]
    fig = plot_feature_attention(expl, '2.1', labels=['ring', 1])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [
        'ring', 'oxygen']
    assert len(fig.axes[0].get_xticklabels()) == len(expl.feature_names)
    fig = plot_label_attention(expl, '1.2', labels=[0, 2, 4],
                               path=str(tmp_path / 'c.png'))
    assert len(fig.axes[0].get_xticklabels()) == 3
    png = draw_molecule_attention(expl, 'oxygen', '1.1',
                                  path=str(tmp_path / 'd.png'))
    assert png_size(png) == (500, 400)
    assert (tmp_path / 'd.png').read_bytes() == png
    for p in ['a.png', 'c.png']:
        png_size(str(tmp_path / p))
    with pytest.raises(KeyError):
        plot_feature_attention(expl, '1.2')
    with pytest.raises(KeyError):
        plot_label_attention(expl, '1.1')
    with pytest.raises(KeyError):
        draw_molecule_attention(expl, 0, '2.2')


def test_explain_output_with_own_embeddings():
    torch.manual_seed(0)
    model = LaMP(3, 8, steps=1, heads=2, label_graph='fc').eval()
    z = torch.randn(5, 8)
    batch = torch.tensor([0, 0, 1, 1, 1])
    out = model.forward_features(z, batch, 2, return_attention=True)
    expls = explain_output(out, batch, 2, label_names=['a', 'b', 'c'])
    assert [e.feature_names for e in expls] == [['x0', 'x1'],
                                                ['x0', 'x1', 'x2']]
    assert expls[1].feature_attention['1.1'].shape == (2, 3, 3)
    assert expls[0].y_true is None and expls[0].smiles is None
    with pytest.raises(ValueError, match='return_attention'):
        explain_output(model.forward_features(z, batch, 2), batch)
    with pytest.raises(ValueError, match='label names'):
        explain_output(out, batch, label_names=['a'])
