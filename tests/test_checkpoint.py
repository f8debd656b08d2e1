import os

import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.utils import from_smiles

from lamp_geometric.checkpoint import (
    FORMAT_VERSION,
    build_lamp,
    lamp_config,
    load_checkpoint,
    molecule_featurizer,
    save_checkpoint,
)
from lamp_geometric.data import MoleculeCSV
from lamp_geometric.graphs import co_occurrence

import tiny_molecules as tm

SMILES = ['CCO', 'c1ccccc1O', 'ClCCl', 'C1CCNCC1', 'CC(=O)Nc1ccccc1']


def batch():
    return Batch.from_data_list([from_smiles(s) for s in SMILES])


def config(label_graph='fc', encoder='fmp', **kwargs):
    cfg = dict(num_labels=5, hidden=16, heads=2, steps=2, dropout=0.1,
               label_graph=label_graph, encoder=encoder)
    if label_graph == 'pr':
        cfg['label_edge_index'] = torch.tensor([[0, 1, 2], [1, 0, 4]])
    cfg.update(kwargs)
    return cfg


def perturb(model):
    # Move every parameter (and BatchNorm statistics) off its
    # initialisation, so a load that silently re-initialised would differ.
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen))
        for name, buf in model.named_buffers():
            if buf.is_floating_point():
                buf.add_(0.1 * torch.rand(buf.shape, generator=gen))


@pytest.mark.parametrize('label_graph,encoder', [
    ('el', 'emb'), ('fc', 'fmp'), ('pr', 'gin'), ('pr', 'fmp')])
def test_round_trip_is_exact(tmp_path, label_graph, encoder):
    torch.manual_seed(0)
    cfg = config(label_graph, encoder)
    model = build_lamp(cfg)
    perturb(model)
    model.eval()
    path = str(tmp_path / 'model.pt')
    thresholds = dict(ebF1=0.2, miF1=0.25, maF1=0.05, acc=0.5, ha=0.5)
    save_checkpoint(path, model, model_config=cfg,
                    label_names=tm.LABELS, thresholds=thresholds,
                    featurizer=molecule_featurizer(),
                    extra=dict(note='x', values=[1, 2.5]))
    loaded, info = load_checkpoint(path)
    assert not loaded.training
    with torch.no_grad():
        expected = model(batch())
        got = loaded(batch())
    for a, b in zip(expected.stage_logits, got.stage_logits):
        assert torch.equal(a, b)
    assert info.label_names == tm.LABELS
    assert info.thresholds == thresholds
    assert info.extra == dict(note='x', values=[1, 2.5])
    assert info.featurizer['name'] == 'from_smiles'
    assert info.format_version == FORMAT_VERSION
    assert info.model_config['encoder'] == encoder
    assert torch.equal(loaded.label_edge_index, model.label_edge_index)
    # No temporary file is left behind by the atomic write.
    assert sorted(os.listdir(tmp_path)) == ['model.pt']


def test_checkpoint_loads_with_weights_only(tmp_path):
    cfg = config('pr', 'fmp')
    model = build_lamp(cfg)
    path = str(tmp_path / 'model.pt')
    import numpy as np
    save_checkpoint(path, model, model_config=cfg, label_names=tm.LABELS,
                    thresholds=None, featurizer=molecule_featurizer(),
                    extra=dict(score=np.float64(0.5), arr=np.arange(3),
                               pair=(1, 2)))
    obj = torch.load(path, weights_only=True)
    assert obj['format'] == 'lamp_geometric.checkpoint'
    assert isinstance(obj['model_config']['label_edge_index'], torch.Tensor)
    assert obj['extra'] == dict(score=0.5, arr=[0, 1, 2], pair=[1, 2])
    assert obj['thresholds'] is None


def test_lamp_config_rebuilds_the_model(tmp_path):
    prior = co_occurrence(torch.tensor([[1., 1., 0.], [0., 1., 1.]]))
    model = build_lamp(dict(num_labels=3, hidden=8, heads=2, steps=1,
                            label_graph='pr', label_edge_index=prior,
                            encoder='emb', feature_node_dropout=0.25))
    assert model.feature_node_dropout == 0.25
    cfg = lamp_config(model, encoder='emb')
    rebuilt = build_lamp(cfg)
    assert rebuilt.state_dict().keys() == model.state_dict().keys()
    assert torch.equal(rebuilt.label_edge_index, model.label_edge_index)
    assert cfg['steps'] == 1 and cfg['label_graph'] == 'pr'
    assert rebuilt.feature_node_dropout == 0.25


def test_save_rejects_a_wrong_config(tmp_path):
    model = build_lamp(config('fc', 'fmp'))
    path = str(tmp_path / 'model.pt')
    with pytest.raises(ValueError, match='does not describe'):
        save_checkpoint(path, model, model_config=config('fc', 'emb'),
                        label_names=tm.LABELS, thresholds=None,
                        featurizer={})
    with pytest.raises(ValueError, match='does not describe'):
        save_checkpoint(path, model, model_config=config('fc', 'fmp',
                                                         hidden=32),
                        label_names=tm.LABELS, thresholds=None,
                        featurizer={})
    with pytest.raises(ValueError, match='label names'):
        save_checkpoint(path, model, model_config=config(),
                        label_names=['a'], thresholds=None, featurizer={})
    with pytest.raises(ValueError, match='Unknown model configuration'):
        build_lamp(dict(config(), colour='red'))
    with pytest.raises(ValueError, match='lacks'):
        build_lamp(dict(num_labels=3))
    assert not os.path.exists(path)


def test_save_leaves_the_random_state_alone(tmp_path):
    model = build_lamp(config())
    torch.manual_seed(5)
    save_checkpoint(str(tmp_path / 'm.pt'), model, model_config=config(),
                    label_names=tm.LABELS, thresholds=None, featurizer={})
    after = torch.rand(3)
    torch.manual_seed(5)
    assert torch.equal(after, torch.rand(3))


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='not found'):
        load_checkpoint(str(tmp_path / 'missing.pt'))
    junk = tmp_path / 'junk.pt'
    junk.write_text('not a checkpoint')
    with pytest.raises(ValueError, match='not a readable'):
        load_checkpoint(str(junk))
    other = tmp_path / 'other.pt'
    torch.save({'weights': torch.zeros(2)}, str(other))
    with pytest.raises(ValueError, match='not a lamp_geometric checkpoint'):
        load_checkpoint(str(other))
    model = build_lamp(config())
    path = str(tmp_path / 'future.pt')
    save_checkpoint(path, model, model_config=config(),
                    label_names=tm.LABELS, thresholds=None, featurizer={})
    obj = torch.load(path, weights_only=True)
    obj['format_version'] = FORMAT_VERSION + 1
    torch.save(obj, path)
    with pytest.raises(ValueError, match='upgrade'):
        load_checkpoint(path)


def test_trained_experiment_checkpoint_reproduces_test_predictions(tmp_path):
    # A model trained by the experiment engine and reloaded gives identical
    # probabilities on the whole data set.
    tm.train_tiny(str(tmp_path), label_graph='pr', encoder='fmp', epochs=1)
    model, info = load_checkpoint(str(tmp_path / 'model.pt'))
    assert info.label_names == tm.LABELS
    assert set(info.thresholds) == {'ebF1', 'miF1', 'maF1', 'acc', 'ha'}
    assert info.extra['dataset']['name'] == 'csv'
    assert info.extra['split']['sizes'] == [38, 5, 5]
    dataset = MoleculeCSV(str(tmp_path / 'tiny.csv'),
                          root=str(tmp_path / 'cache2'), verbose=False)
    data = Batch.from_data_list([dataset[i] for i in range(len(dataset))])
    rebuilt = build_lamp(info.model_config)
    rebuilt.load_state_dict(model.state_dict())
    rebuilt.eval()
    with torch.no_grad():
        assert torch.equal(model(data).logits, rebuilt(data).logits)


@pytest.mark.parametrize('version', [1, 2])
def test_molecule_checkpoints_of_older_formats_load(tmp_path, version):
    # Format 1 had a tied readout without bias and did not write those keys;
    # neither format wrote the input type (molecules) or the label graph.
    cfg = config('pr', 'fmp')
    if version == 1:
        cfg.update(tie_weights=True, readout_bias=False)
    model = build_lamp(cfg)
    perturb(model)
    path = str(tmp_path / 'old.pt')
    save_checkpoint(path, model, model_config=cfg, label_names=tm.LABELS,
                    thresholds=dict(maF1=0.3),
                    featurizer=molecule_featurizer('smi'))
    obj = torch.load(path, weights_only=True)
    obj['format_version'] = version
    del obj['label_graph']
    del obj['model_config']['input_type']
    assert 'num_features' not in obj['model_config']
    if version == 1:
        del obj['model_config']['tie_weights']
        del obj['model_config']['readout_bias']
    del obj['featurizer']['input_type']
    torch.save(obj, path)
    loaded, info = load_checkpoint(path)
    assert info.format_version == version and info.label_graph is None
    assert info.input_type == 'molecule'
    assert info.feature_spec.smiles_column == 'smi'
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(batch()).logits, loaded(batch()).logits)


def test_bag_of_words_and_mlp_models_round_trip(tmp_path):
    from lamp_geometric.baselines import EmbMLP
    from lamp_geometric.checkpoint import build_model
    from lamp_geometric.data import FeatureSpec

    vocab = ['goal', 'match', 'rain', 'sun']
    spec = FeatureSpec('bow', vocab=vocab).to_dict()
    data = Batch.from_data_list([
        Data(x=torch.tensor([0, 1])), Data(x=torch.tensor([2]))])
    for encoder in ['fmp', 'mlp']:
        cfg = dict(num_labels=2, hidden=8, heads=2, steps=1, dropout=0.1,
                   label_graph='fc', encoder=encoder, input_type='bow',
                   num_features=len(vocab), mlp_layers=2)
        model = build_model(cfg)
        assert isinstance(model, EmbMLP) == (encoder == 'mlp')
        perturb(model)
        path = str(tmp_path / f'{encoder}.pt')
        save_checkpoint(path, model, model_config=cfg,
                        label_names=['sports', 'weather'],
                        thresholds=dict(maF1=0.4), featurizer=spec,
                        label_graph_name='fully connected')
        loaded, info = load_checkpoint(path)
        assert info.input_type == 'bow'
        assert info.feature_spec.vocab == vocab
        assert (info.label_graph is None) == (encoder == 'mlp')
        model.eval()
        with torch.no_grad():
            a, b = model(data), loaded(data)
        a = getattr(a, 'logits', a)
        b = getattr(b, 'logits', b)
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="reads 'sequence' inputs but the "
                       "model 'bow'"):
        save_checkpoint(path, model, model_config=cfg,
                        label_names=['sports', 'weather'], thresholds=None,
                        featurizer=dict(spec, input_type='sequence'))
    with pytest.raises(ValueError, match='vocabulary has 3 entries'):
        save_checkpoint(path, model, model_config=cfg,
                        label_names=['sports', 'weather'], thresholds=None,
                        featurizer=dict(spec, vocab=vocab[:3]))
    with pytest.raises(ValueError, match=r"lacks \['num_features'\]"):
        build_model(dict(cfg, num_features=None))


