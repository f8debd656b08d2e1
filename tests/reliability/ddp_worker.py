r"""The experiments of :obj:`test_distributed.py`, run the same way in one
process and in every process of a distributed (gloo) group."""
import os
from typing import Any, Dict

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler
from torch_geometric.data import Batch

from lamp_geometric import distributed as D
from lamp_geometric.data import MoleculeCSV
from lamp_geometric.graphs import co_occurrence
from lamp_geometric.nn import LaMP, LaMPLoss, molecule_encoder
from lamp_geometric.train import (
    evaluate_splits,
    fit,
    make_loaders,
    predict,
    seed_everything,
)

GLOBAL_BATCH = 8
#: Train 8 molecules (one global batch), validation 11 and test 9: odd sizes,
#: so the evaluation shards differ in size.
SPLITS = (torch.arange(0, 8), torch.arange(8, 19), torch.arange(19, 28))


def make_model(dataset, seed: int = 0) -> LaMP:
    r"""A tiny LaMP with FMP and a co-occurrence prior; no dropout (DDP
    equality needs deterministic forward passes)."""
    seed_everything(seed)
    prior = co_occurrence(dataset.y[SPLITS[0]])
    return LaMP(dataset.num_labels, 16,
                encoder=molecule_encoder('fmp', 16, heads=2), heads=2,
                steps=2, dropout=0.0, label_graph='pr',
                label_edge_index=prior)


def one_step(dataset) -> Dict[str, Any]:
    r"""One SGD step on the global batch (the first 8 molecules), each
    process taking its equal share."""
    rank, world = D.get_rank(), D.get_world_size()
    model = make_model(dataset)
    net = DistributedDataParallel(model) if world > 1 else model
    local = GLOBAL_BATCH // world
    batch = Batch.from_data_list(
        [dataset[i] for i in range(rank * local, (rank + 1) * local)])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    out = net(batch)
    loss = LaMPLoss()(out.logits, batch.y, out.intermediate_logits)
    loss.backward()
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    optimizer.step()
    return dict(params={k: v.detach().clone()
                        for k, v in model.state_dict().items()},
                unused=unused)


def fit_run(dataset, checkpoint_dir: str) -> Dict[str, Any]:
    r"""Two epochs of :func:`fit` (one global batch each) with the library's
    loaders, then predictions and test metrics."""
    rank, world = D.get_rank(), D.get_world_size()
    model = make_model(dataset)
    train_loader, val_loader, test_loader = make_loaders(
        dataset, SPLITS, batch_size=GLOBAL_BATCH // world, seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    result = fit(model, train_loader, val_loader, 2, optimizer,
                 select='roc_auc', progress=False,
                 checkpoint_path=os.path.join(checkpoint_dir,
                                              f'state_rank{rank}.pt'))
    y_val, p_val, val_loss = predict(model, val_loader, loss_fn=LaMPLoss())
    test, val, thresholds = evaluate_splits(model, val_loader, test_loader)
    return dict(params={k: v.detach().clone()
                        for k, v in model.state_dict().items()},
                history=result.history, best_epoch=result.best_epoch,
                y_val=y_val, p_val=p_val, val_loss=val_loss, test=test,
                val=val, thresholds=thresholds,
                train_sampler=type(train_loader.sampler).__name__,
                val_sampler=type(val_loader.sampler).__name__)


def gather_check() -> Dict[str, Any]:
    r"""Gathers a padded :class:`DistributedSampler` shard and an unpadded
    one back into data set order."""
    items = list(range(5))
    padded = list(DistributedSampler(items, num_replicas=D.get_world_size(),
                                     rank=D.get_rank(), shuffle=False))
    unpadded = list(D.DistributedEvalSampler(items))
    return dict(
        padded_local=padded,
        padded=D.all_gather_arrays(np.array(padded), num_samples=5).tolist(),
        unpadded_local=unpadded,
        unpadded=D.all_gather_arrays(np.array(unpadded)).tolist(),
        # One sample for two processes: rank 1 has nothing (and a
        # placeholder array of another shape, as predict() gives it).
        one=D.all_gather_arrays(np.array([[7., 8.]]) if D.get_rank() == 0
                                else np.zeros((0, 0))).tolist(),
        sums=D.all_reduce_sum([1.0, D.get_rank()]))


def run(dataset, out_dir: str) -> Dict[str, Any]:
    return dict(one_step=one_step(dataset),
                fit=fit_run(dataset, out_dir),
                gather=gather_check(),
                world=D.get_world_size())


def worker(rank: int, world: int, port: int, csv_path: str, root: str,
           out_dir: str) -> None:
    r"""Entry point of one spawned process."""
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                      RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    r, w, device = D.init_distributed('gloo')
    assert (r, w, device.type) == (rank, world, 'cpu')
    try:
        dataset = MoleculeCSV(csv_path, root=root, verbose=False)
        results = run(dataset, out_dir)
        results['main'] = D.is_main_process()
        torch.save(results, os.path.join(out_dir, f'rank{rank}.pt'))
    finally:
        D.cleanup()
