r"""LaMP training batches on the real bag-of-words and text data sets, with
the feature-to-label attention on padded sources against the ragged path
(``lamp_geometric.nn.attention.ragged_attention``: samples grouped by
size, each group trimmed to its largest sample).

Documents differ in length far more than molecules: in a random batch of
32 Delicious documents the real words fill about 11% of the padded
``[B, S_max]`` (BibTeX 45%, Reuters 27%), and the padded attention spends
the rest on masked slots.  For each data set: the first ``--batches``
training batches (B=32, the data set's own split), LaMP_el (no label-to-
label attention) with the "Emb" encoder (the feature-to-label stages are
the whole attention) or the "FMP" encoder (2 layers of attention among the
features of each document, which the ragged path trims on both sides), T=2,
4 heads, dropout 0.1, one forward+backward+Adam step per batch.  Rows:

  padded   every feature-to-label call on the padded tensors, unfactored
  ragged   the ragged path where the library takes it (the policy's
           ``ragged_max_fill``, ``ragged_min_weights``), unfactored
  auto     the library's choice: the ragged path, and the factored
           attention (``factored_max_cost``) per group where it pays

``fill``: real sources / padded sources over the timed batches;
``factored``: how many of the feature-to-label calls of one ``auto`` step
took the factored path.  Times:
median milliseconds per batch over interleaved repeats.  Needs the data
(``--data-dir`` or ``$LAMP_DATA``; a benchmark never downloads): without
it, or for a data set that cannot be loaded, the JSON says skipped and why.
"""
import os
import sys
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch_geometric.loader import DataLoader  # noqa: E402

import common as C  # noqa: E402
from tables import ragged_table  # noqa: E402

from lamp_geometric.data import BibTeX, Delicious, Reuters21578  # noqa: E402
from lamp_geometric.nn import LaMP, LaMPLoss  # noqa: E402
from lamp_geometric.nn.attention import get_policy  # noqa: E402
from lamp_geometric.nn.conv import dense_lamp_conv  # noqa: E402
from lamp_geometric.nn.feature_encoders import feature_encoder  # noqa: E402
from lamp_geometric.train import make_optimizer  # noqa: E402

DATASETS = {'bibtex': (BibTeX, 'bow'), 'delicious': (Delicious, 'bow'),
            'reuters': (Reuters21578, 'sequence')}


def load(name: str, args) -> Any:
    cls, _ = DATASETS[name]
    root = os.path.join(args.cache_dir, name) if args.cache_dir else None
    return cls(root=root, data_dir=args.data_dir, verbose=False)


def build(dataset, input_type: str, d: int, batches: List[Any],
          encoder_name: str):
    r"""Returns the training step over :obj:`batches`."""
    torch.manual_seed(0)
    encoder = feature_encoder(encoder_name, input_type, d,
                              num_features=dataset.num_features, heads=4,
                              dropout=0.1)
    model = LaMP(len(dataset.label_names), d, encoder=encoder, steps=2,
                 heads=4, dropout=0.1, label_graph='el').train()
    opt = make_optimizer(model, 1e-3)
    crit = LaMPLoss(0.2)

    def run() -> None:
        for batch in batches:
            opt.zero_grad(set_to_none=True)
            out = model(batch)
            y = batch.y.view(batch.num_graphs, -1).float()
            crit(out.logits, y, out.intermediate_logits).backward()
            opt.step()
    return run


def count_factored(fn) -> str:
    r"""Runs :obj:`fn` once (untimed) and returns how many of its
    feature-to-label calls took the factored path, as ``'k/n'``."""
    taken: List[bool] = []
    conv_cls = dense_lamp_conv.DenseLaMPConv
    decide = conv_cls._use_factored

    def spy(self, *args, **kwargs) -> bool:
        taken.append(decide(self, *args, **kwargs))
        return taken[-1]

    C.with_settings(fn, conv_cls, _use_factored=spy)()
    return f'{sum(taken)}/{len(taken)}'


def with_paths(fn, max_fill: float, max_cost: float):
    return C.with_policy(fn, ragged_max_fill=max_fill,
                         factored_max_cost=max_cost)


def main() -> None:
    p = C.parser(__doc__.split('\n')[0], runs=3, warmup=1)
    p.add_argument('--datasets', nargs='+', default=list(DATASETS),
                   choices=list(DATASETS))
    p.add_argument('--hidden', nargs='+', type=int, default=None,
                   help='widths d (default: 64 512; 16 with --quick)')
    p.add_argument('--encoders', nargs='+', default=['emb', 'fmp'],
                   choices=['emb', 'fmp'])
    p.add_argument('--batches', type=int, default=None,
                   help='training batches per step (default: 4; 1 with '
                   '--quick)')
    p.add_argument('--data-dir', default=os.environ.get('LAMP_DATA'))
    p.add_argument('--cache-dir', default=os.environ.get('LAMP_CACHE'))
    args = p.parse_args()
    info = C.start(args)
    widths = args.hidden or ([16] if args.quick else [64, 512])
    n = args.batches or (1 if args.quick else 4)
    rows: List[Dict[str, Any]] = []
    skipped: Dict[str, str] = {}
    for name in args.datasets:
        if not args.data_dir:
            skipped[name] = 'no data directory (--data-dir or $LAMP_DATA)'
            print(f'{name}: skipped ({skipped[name]})')
            continue
        try:
            dataset = load(name, args)
        except Exception as e:  # reported, not hidden
            skipped[name] = f'{type(e).__name__}: {e}'
            print(f'{name}: skipped ({skipped[name]})')
            continue
        train_idx = dataset.splits()[0][:32 * n]
        batches = list(DataLoader(dataset[train_idx], batch_size=32))
        sizes = [torch.bincount(b.batch, minlength=b.num_graphs)
                 for b in batches]
        fill = (sum(int(s.sum()) for s in sizes) /
                sum(s.numel() * int(s.max()) for s in sizes))
        for enc, d in [(e, w) for e in args.encoders for w in widths]:
            step = build(dataset, DATASETS[name][1], d, batches, enc)
            fill_max = get_policy().ragged_max_fill
            cost_max = get_policy().factored_max_cost
            fns = {'padded': with_paths(step, 0.0, 0.0),
                   'ragged': with_paths(step, fill_max, 0.0),
                   'auto': with_paths(step, fill_max, cost_max)}
            times = C.time_interleaved(fns, args.runs, args.warmup)
            row = dict(dataset=name, encoder=enc, d=d,
                       L=len(dataset.label_names),
                       batches=len(batches), fill=fill,
                       factored=count_factored(fns['auto']),
                       padded_ms=1e3 * C.median(times['padded']) / n,
                       ragged_ms=1e3 * C.median(times['ragged']) / n,
                       auto_ms=1e3 * C.median(times['auto']) / n,
                       speedup=C.paired_ratio(times['padded'],
                                              times['auto']),
                       vs_ragged=C.paired_ratio(times['ragged'],
                                                times['auto']),
                       times_s=times)
            print(f"{name} {enc} d={d}: padded {row['padded_ms']:.0f} ms, "
                  f"ragged {row['ragged_ms']:.0f} ms, "
                  f"auto {row['auto_ms']:.0f} ms per batch")
            rows.append(row)
    print(ragged_table(rows))
    C.write_json(C.out_path(args, __file__, 'ragged'),
                 dict(machine=info, rows=rows, skipped=skipped))


if __name__ == '__main__':
    main()
