r"""Train LaMP on SIDER (27 drug side effects from molecular graphs).

Reads ``<data-dir>/sider/sider.csv`` (``--data-dir`` defaults to the
``LAMP_DATA`` environment variable) or downloads it from MoleculeNet, splits
it 80/10/10 at random by seed, trains LaMP, keeps the best validation epoch,
tunes one threshold per metric on validation and prints the test metrics
beside two label-prior baselines computed on the same test split.

Example::

    python examples/sider.py --epochs 30 --label-graph pr --encoder fmp \
        --out runs/sider_pr_fmp.json
"""
import argparse
import json
import os
import sys
import time

import torch

from lamp_geometric import metrics as M
from lamp_geometric.data import SIDER, random_split
from lamp_geometric.graphs import co_occurrence
from lamp_geometric.nn import LaMP, LaMPLoss, molecule_encoder
from lamp_geometric.nn.encoders import MOLECULE_ENCODERS
from lamp_geometric.train import (
    SELECT_CHOICES,
    evaluate_splits,
    fit,
    make_loaders,
    seed_everything,
)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--data-dir', default=os.environ.get('LAMP_DATA'),
                   help='directory holding sider/sider.csv (default: '
                   '$LAMP_DATA; downloaded from MoleculeNet when absent)')
    p.add_argument('--cache-dir', default=None,
                   help='where processed files go (default: $LAMP_CACHE or '
                   '~/.cache/lamp_geometric)')
    p.add_argument('--epochs', type=int, default=50)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--lr', type=float, default=2e-4)
    p.add_argument('--hidden', type=int, default=512)
    p.add_argument('--heads', type=int, default=4)
    p.add_argument('--steps', type=int, default=2)
    p.add_argument('--dropout', type=float, default=0.2)
    p.add_argument('--label-graph', choices=['el', 'fc', 'pr'], default='pr',
                   help="'el' edgeless, 'fc' fully connected, 'pr' train "
                   "co-occurrence prior")
    p.add_argument('--encoder', choices=MOLECULE_ENCODERS, default='fmp')
    p.add_argument('--lambda-int', type=float, default=0.2,
                   help='weight of the intermediate losses (Eq. 21)')
    p.add_argument('--select', choices=SELECT_CHOICES, default='roc_auc',
                   help='validation criterion for the best epoch')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=None,
                   help='torch CPU threads (default: torch decides)')
    p.add_argument('--out', default=None, help='write results to this JSON')
    p.add_argument('--quiet', action='store_true', help='no progress bars')
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    seed_everything(args.seed)

    dataset = SIDER(data_dir=args.data_dir, root=args.cache_dir,
                    verbose=not args.quiet)
    splits = random_split(len(dataset), seed=args.seed)
    train_idx, val_idx, test_idx = splits
    print(f"SIDER: {len(dataset)} molecules, {dataset.num_labels} labels; "
          f"split {len(train_idx)}/{len(val_idx)}/{len(test_idx)} "
          f"(seed {args.seed})")
    train_loader, val_loader, test_loader = make_loaders(
        dataset, splits, args.batch_size, seed=args.seed)

    y_all = dataset._data.y
    label_edge_index = None
    if args.label_graph == 'pr':
        label_edge_index = co_occurrence(y_all[train_idx], min_count=1)
        print(f"co-occurrence prior from the training split: "
              f"{label_edge_index.size(1)} edges")

    encoder = molecule_encoder(args.encoder, args.hidden, heads=args.heads,
                               dropout=args.dropout)
    model = LaMP(dataset.num_labels, args.hidden, encoder=encoder,
                 steps=args.steps, heads=args.heads, dropout=args.dropout,
                 label_graph=args.label_graph,
                 label_edge_index=label_edge_index).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr,
                                 betas=(0.9, 0.999), eps=1e-8)
    loss_fn = LaMPLoss(lambda_int=args.lambda_int)

    start = time.perf_counter()
    result = fit(model, train_loader, val_loader, args.epochs, optimizer,
                 loss_fn=loss_fn, select=args.select, device=device,
                 progress=not args.quiet)
    train_time = time.perf_counter() - start
    print(f"best validation epoch {result.best_epoch} ({args.select} "
          f"{result.best_score:.4f}); median epoch "
          f"{result.median_epoch_time:.2f}s")

    test, val, thresholds = evaluate_splits(model, val_loader, test_loader,
                                            device)
    baselines = M.label_prior_baselines(y_all[train_idx].numpy(),
                                        y_all[test_idx].numpy())
    name = f"LaMP_{args.label_graph} ({args.encoder})"
    rows = {name: test, 'majority (train prior)': baselines['majority'],
            'all positive': baselines['all_positive']}
    print('\nTest metrics (thresholds tuned on validation per metric):')
    print(M.format_table(rows))

    out = dict(
        dataset='sider',
        config=vars(args),
        split_sizes=[len(train_idx), len(val_idx), len(test_idx)],
        skipped_rows=len(dataset.skipped),
        best_epoch=result.best_epoch,
        median_epoch_time=result.median_epoch_time,
        train_time=train_time,
        thresholds=thresholds,
        test=test,
        val=val,
        baselines=baselines,
        history=result.history,
    )
    out.update({k: test[k] for k in ('ebF1', 'miF1', 'maF1', 'acc', 'ha',
                                     'roc_auc')})
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(out, f, indent=2)
        print(f"wrote {args.out}")
    return out


if __name__ == '__main__':
    main(sys.argv[1:])
