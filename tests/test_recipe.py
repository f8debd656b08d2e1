import argparse

import numpy as np
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from lamp_geometric.baselines import EmbMLP
from lamp_geometric.nn import LaMP, TokenEmbedding
from lamp_geometric.recipe import (
    FEATURE_NODE_DROPOUT,
    TrainingConfig,
    add_config_arguments,
    config_from,
    feature_node_dropout,
    label_prevalence,
    train_model,
)


def test_options_are_generated_from_the_dataclass():
    p = argparse.ArgumentParser()
    add_config_arguments(p)
    args = p.parse_args([])
    assert config_from(args) == TrainingConfig()
    args = p.parse_args(['--lr', '3e-4', '--no-label-prior', '--betas', '0.9',
                         '0.98', '--schedule', 'linear', '--threads', '1'])
    cfg = config_from(args)
    assert (cfg.lr, cfg.label_prior, cfg.betas, cfg.schedule,
            cfg.threads) == (3e-4, False, (0.9, 0.98), 'linear', 1)
    with pytest.raises(SystemExit):
        p.parse_args(['--schedule', 'step'])
    # Entry points may override a default or take a subset of the fields.
    q = argparse.ArgumentParser()
    add_config_arguments(q, overrides=dict(epochs=3), only=['epochs', 'lr'])
    assert vars(q.parse_args([])) == dict(epochs=3, lr=TrainingConfig().lr)
    # Unknown keys are ignored, missing ones take the defaults.
    assert config_from(dict(hidden=8, other=1)).hidden == 8


def test_feature_node_dropout_of_the_recipe_by_encoder():
    # Left unset, the recipe's value for a LaMP encoder, and none for a
    # model without feature-to-label attention.
    assert TrainingConfig().feature_node_dropout is None
    assert feature_node_dropout('emb') == FEATURE_NODE_DROPOUT['emb'] == 0.5
    assert feature_node_dropout('fmp') == FEATURE_NODE_DROPOUT['fmp'] == 0.5
    assert feature_node_dropout('mlp') == feature_node_dropout('linear') == 0
    # A value given wins, 0 included.
    assert feature_node_dropout('emb', 0.0) == 0.0
    assert feature_node_dropout('fmp', 0.3) == 0.3
    p = argparse.ArgumentParser()
    add_config_arguments(p)
    assert p.parse_args([]).feature_node_dropout is None
    assert p.parse_args(['--feature-node-dropout', '0.7']
                        ).feature_node_dropout == 0.7


def test_label_prevalence_ignores_missing_targets():
    y = np.array([[1, 0, np.nan], [0, 0, np.nan], [1, np.nan, np.nan]])
    p = label_prevalence(y)
    assert p[:2].tolist() == pytest.approx([2 / 3, 0.0])
    assert torch.isnan(p[2])


def toy_loaders(seed=0):
    r"""Label 0 is present exactly when token 0 is, label 1 when token 1
    is; label 2 is rare noise."""
    gen = torch.Generator().manual_seed(seed)
    data = []
    for _ in range(96):
        ids = torch.randperm(6, generator=gen)[:3]
        y = [float(0 in ids), float(1 in ids),
             float(torch.rand(1, generator=gen) < 0.1)]
        data.append(Data(x=ids, y=torch.tensor([y])))
    return (DataLoader(data[:64], batch_size=16, shuffle=True,
                       generator=gen), DataLoader(data[64:], batch_size=32),
            torch.cat([d.y for d in data[:64]]))


@pytest.mark.parametrize('kind', ['lamp', 'mlp'])
def test_train_model_learns_a_toy_task(kind):
    torch.manual_seed(0)
    train, val, y_train = toy_loaders()
    encoder = TokenEmbedding(6, 16)
    model = (LaMP(3, 16, encoder=encoder, heads=2) if kind == 'lamp' else
             EmbMLP(encoder, 16, 3, num_layers=2))
    config = TrainingConfig(epochs=40, patience=10, hidden=16, heads=2,
                            lr=1e-2, quiet=True, select='loss')
    # The label prior is the starting bias of the readout.
    seen = {}
    original = type(model).set_label_prior

    def spy(self, p):
        seen['prior'] = p.clone()
        original(self, p)

    type(model).set_label_prior = spy
    try:
        result = train_model(model, train, val, config, y_train=y_train)
    finally:
        type(model).set_label_prior = original
    assert torch.allclose(seen['prior'], y_train.mean(0))
    first, best = result.history[0], result.history[result.best_epoch - 1]
    assert best['val_loss'] < 0.6 * first['val_loss']
    assert result.history[0]['lr'] < config.lr  # the warmup
    model.eval()
    batch = next(iter(val))
    out = model(batch)
    logits = out if isinstance(out, torch.Tensor) else out.logits
    pred = torch.sigmoid(logits)[:, :2] > 0.5
    assert (pred == (batch.y[:, :2] > 0.5)).float().mean() > 0.9


def test_trace_test_and_time_limit_options():
    p = argparse.ArgumentParser()
    add_config_arguments(p)
    cfg = config_from(p.parse_args(['--trace-test', '--max-minutes', '0.5']))
    assert cfg.trace_test and cfg.max_minutes == 0.5
    defaults = TrainingConfig()
    assert not defaults.trace_test and defaults.max_minutes == 0.0

    torch.manual_seed(0)
    train, val, y_train = toy_loaders()
    config = TrainingConfig(epochs=2, hidden=16, heads=2, quiet=True,
                            trace_test=True)
    model = LaMP(3, 16, encoder=TokenEmbedding(6, 16), heads=2)
    with pytest.raises(ValueError, match='test_loader'):
        train_model(model, train, val, config)
    # The validation loader stands in for a test split here.
    result = train_model(model, train, val, config, test_loader=val)
    for row in result.history:
        assert {'test_ebF1', 'test_miF1', 'test_maF1', 'test_roc_auc',
                'test_paper_ebF1', 'elapsed', 'trace_time'} <= set(row)
