import math

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader

from lamp_geometric import metrics
from lamp_geometric.baselines import (
    EmbMLP,
    MorganRandomForest,
    label_prior_baselines,
    morgan_fingerprints,
)
from lamp_geometric.nn import LaMPLoss, TokenEmbedding
from lamp_geometric.train import fit, predict


def bow(ids, y):
    return Data(x=torch.tensor(ids, dtype=torch.long),
                y=torch.tensor([y], dtype=torch.float))


def test_label_prior_baselines_is_the_metrics_one():
    assert label_prior_baselines is metrics.label_prior_baselines


def test_emb_mlp_shapes_and_pooling():
    torch.manual_seed(0)
    model = EmbMLP(TokenEmbedding(6, 8), 8, num_labels=3, dropout=0.1)
    assert str(model) == 'EmbMLP(8, num_labels=3, num_layers=4)'
    linears = [m for m in model.mlp if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 4 and linears[-1].out_features == 3
    model.eval()
    batch = Batch.from_data_list([bow([1, 2], [1, 0, 0]), bow([], [0, 0, 0]),
                                  bow([2, 1], [1, 0, 0])])
    logits = model(batch)
    assert isinstance(logits, torch.Tensor) and logits.shape == (3, 3)
    # Mean pooling: a set, order-free; an empty sample pools to zeros.
    assert torch.allclose(logits[0], logits[2], atol=1e-6)
    assert torch.allclose(logits[1], model.mlp(torch.zeros(1, 8))[0])
    # The pooled embedding is layer-normalised before the MLP ...
    z = model.encoder(batch)
    pooled = z[:2].mean(0, keepdim=True)
    expected = model.mlp(torch.nn.functional.layer_norm(pooled, (8, )))
    assert torch.allclose(logits[0], expected[0], atol=1e-5)
    # ... unless asked not to: then the MLP reads the mean itself.
    plain = EmbMLP(TokenEmbedding(6, 8), 8, 3, input_norm=False).eval()
    assert isinstance(plain.norm, torch.nn.Identity)
    z = plain.encoder(batch)
    assert torch.allclose(plain(batch)[0],
                          plain.mlp(z[:2].mean(0, keepdim=True))[0],
                          atol=1e-6)
    with pytest.raises(ValueError, match='num_layers'):
        EmbMLP(TokenEmbedding(6, 8), 8, 3, num_layers=0)


def test_emb_mlp_trains_with_fit():
    torch.manual_seed(0)
    # Word 1 means label 0, word 2 means label 1.
    data = [bow([1, 3], [1, 0]), bow([2, 3], [0, 1]), bow([1, 2], [1, 1]),
            bow([3], [0, 0])] * 4
    loader = DataLoader(data, batch_size=8, shuffle=True)
    model = EmbMLP(TokenEmbedding(4, 16), 16, num_labels=2, num_layers=2)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    _, _, before = predict(model, loader, loss_fn=LaMPLoss())
    result = fit(model, loader, loader, 15, opt, progress=False)
    y, p, after = predict(model, loader, loss_fn=LaMPLoss())
    assert after < 0.5 * before
    assert result.best_epoch >= 1
    assert ((p > 0.5) == (y == 1)).all()


SMILES = ['CCO', 'CCCO', 'c1ccccc1', 'c1ccccc1O', 'CC(=O)O', 'CCN', 'CCCCN',
          'c1ccncc1', 'OCC(O)CO', 'CC(C)O']


def test_one_morgan_fingerprint_function():
    # The random forest featurises with the data layer's function.
    from lamp_geometric import data

    assert morgan_fingerprints is data.morgan_fingerprints
    rf = MorganRandomForest(radius=1, n_bits=64)
    assert (rf.featurize(SMILES[:3]) ==
            data.morgan_fingerprints(SMILES[:3], radius=1, n_bits=64)).all()


def test_morgan_random_forest_labels_nan_and_single_class():
    aromatic = [1.0 if 'c' in s else 0.0 for s in SMILES]
    y = np.stack([
        aromatic,                       # learnable, fully observed
        [1.0] * len(SMILES),            # single class: constant 1
        [np.nan] * len(SMILES),         # never observed: constant 0
        [1.0 - a for a in aromatic],    # observed on part of the rows only
    ], axis=1)
    y[::3, 3] = np.nan
    rf = MorganRandomForest(n_estimators=20, n_bits=256, random_state=0)
    assert rf.fit(SMILES, y) is rf
    assert rf.constant_labels == [1, 2]
    p = rf.predict_proba(SMILES)
    assert p.shape == (len(SMILES), 4)
    assert np.all((p >= 0) & (p <= 1))
    assert (p[:, 1] == 1).all() and (p[:, 2] == 0).all()
    assert ((p[:, 0] > 0.5) == (np.asarray(aromatic) == 1)).all()
    assert ((p[:, 3] > 0.5) == (np.asarray(aromatic) == 0)).all()
    auc = metrics.ranking_metrics(np.asarray(aromatic)[:, None], p[:, :1])
    assert math.isclose(auc['roc_auc'], 1.0)


def test_morgan_random_forest_single_shared_label_and_errors():
    y = np.asarray([1.0 if 'c' in s else 0.0 for s in SMILES])
    rf = MorganRandomForest(n_estimators=10, n_bits=128).fit(SMILES, y)
    assert rf.predict_proba(['c1ccccc1C', 'CCCCCO']).shape == (2, 1)
    with pytest.raises(RuntimeError, match='fit'):
        MorganRandomForest().predict_proba(SMILES)
    with pytest.raises(ValueError, match='shape'):
        MorganRandomForest().fit(SMILES, np.zeros((3, 2)))
    with pytest.raises(ValueError, match='0, 1 or NaN'):
        MorganRandomForest().fit(SMILES, np.full((len(SMILES), 1), 2.0))


def test_logistic_one_vs_rest_picks_c_on_validation():
    from lamp_geometric.baselines import LogisticOneVsRest
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = np.stack([(X[:, 0] > 0), (X[:, 1] + 0.3 * rng.normal(size=300) > 0),
                  np.zeros(300, dtype=bool)], 1).astype(float)
    y[::7, 1] = np.nan  # missing targets are left out of the fit
    model = LogisticOneVsRest(Cs=(1e-4, 1.0)).fit(X[:200], y[:200],
                                                   X[200:], y[200:])
    assert set(model.scores) == {1e-4, 1.0}
    assert model.C == max(model.scores, key=model.scores.get)
    assert model.at_edge  # one of two candidates is always an edge
    middle = LogisticOneVsRest(Cs=(1e-4, 1.0, 1e4))
    middle.C, middle.scores = 1.0, {1e-4: 0.7, 1.0: 0.9, 1e4: 0.8}
    assert not middle.at_edge
    assert not LogisticOneVsRest(Cs=(1.0,)).fit(X[:200], y[:200]).at_edge
    assert model.constant_labels == [2]
    prob = model.predict_proba(X[200:])
    assert prob.shape == (100, 3) and np.all(prob[:, 2] == 0)
    score = metrics.ranking_metrics(y[200:, :2], prob[:, :2])['roc_auc']
    assert score > 0.95
    with pytest.raises(RuntimeError, match='fit'):
        LogisticOneVsRest().predict_proba(X)
    with pytest.raises(ValueError, match='Cs'):
        LogisticOneVsRest(Cs=())
