r"""Sparse or dense label-to-label layer?  One LaMP label-to-label layer on
random label graphs from 0.1% to 100% dense (edges / L^2, self loops
included), L = 256 and 983, B=32, 4 heads, widths d=64 and d=512 (head
dimensions 16 and 128): LaMPConv (sparse, fused edge attention over the
replicated graph) against DenseLaMPConv (boolean adjacency, fused
attention), in training (dropout 0.1, forward+backward) and inference
(eval, forward).

The smallest density from which the dense layer is at least as fast, in
training, for every L, is the crossover of a head dimension.  The dense
layer's cost per label pair depends little on the head dimension (softmax,
mask and dropout over all L^2 pairs), the sparse layer's cost per edge grows
with it, so the crossover falls as heads widen.  ``LaMP(path='auto')``
sends label graphs at least that dense to the dense path
(``AttentionPolicy.dense_thresholds`` in
``lamp_geometric.nn.attention.policy``, interpolated between the measured
head dimensions by ``AttentionPolicy.dense_threshold_for``).
"""
import argparse
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import common as C  # noqa: E402

from lamp_geometric.nn import DenseLaMPConv, LaMPConv  # noqa: E402

DENSITIES = (0.001, 0.003, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
LABELS = (256, 983)
QUICK_DENSITIES = (0.01, 0.1, 1.0)
QUICK_LABELS = (64, )
WIDTHS = (64, 512)
#: Skip the sparse layer when one pass would gather more floats than this.
SPARSE_LIMIT_FLOATS = 4e9


def random_graph(L: int, density: float, seed: int = 0) -> torch.Tensor:
    r"""A random label graph with self loops and
    :obj:`round(density * L^2)` edges in total, as :obj:`[2, E]` (source,
    destination) sorted by destination."""
    g = torch.Generator().manual_seed(seed)
    E = max(L, round(density * L * L))
    loops = torch.arange(L) * (L + 1)  # flat index dst * L + src, src == dst
    others = torch.randperm(L * L, generator=g)
    others = others[others % (L + 1) != 0][:E - L]
    flat = torch.cat([loops, others]).sort().values
    return torch.stack([flat % L, flat // L])


def build(kind: str, L: int, density: float, shape: Dict[str, int],
          train: bool) -> Optional[Callable[[], Any]]:
    torch.manual_seed(0)
    B, d, H = shape['B'], shape['d'], shape['heads']
    ei = random_graph(L, density)
    E = ei.size(1) * B
    p = 0.1 if train else 0.0
    x = torch.randn(B, L, d, requires_grad=train)
    w = torch.randn(B, L, d)
    if kind == 'dense':
        conv = DenseLaMPConv(d, d, heads=H, dropout=p)
        adj = torch.zeros(L, L, dtype=torch.bool)
        adj[ei[1], ei[0]] = True

        def fwd():
            return conv(x, adj=adj)
    else:
        if E * d > SPARSE_LIMIT_FLOATS:
            return None
        conv = LaMPConv(d, d, heads=H, dropout=p)
        offset = torch.arange(B) * L
        edge_index = (ei.unsqueeze(1) + offset.view(1, -1, 1)).view(2, -1)
        xs = x.detach().view(B * L, d).requires_grad_(train)
        w = w.view(B * L, d)

        def fwd():
            return conv(xs, edge_index)
    conv.train(train)
    if train:
        def run():
            conv.zero_grad(set_to_none=True)
            (fwd() * w).sum().backward()
    else:
        def run():
            with torch.no_grad():
                fwd()
    return run


def main() -> None:
    p = C.parser(__doc__.split('\n')[0], runs=3, warmup=1)
    p.add_argument('--labels', nargs='+', type=int, default=None)
    p.add_argument('--densities', nargs='+', type=float, default=None)
    p.add_argument('--hidden', nargs='+', type=int, default=None,
                   help='widths d (default: 64 512; 32 with --quick)')
    args = p.parse_args()
    info = C.start(args)
    widths = args.hidden or ([32] if args.quick else list(WIDTHS))
    labels = args.labels or (QUICK_LABELS if args.quick else LABELS)
    densities = args.densities or (QUICK_DENSITIES if args.quick else
                                   DENSITIES)
    rows: List[Dict[str, Any]] = []
    crossover: Dict[str, Dict[str, Dict[str, Optional[float]]]] = {}
    shapes = []
    for d in widths:
        shape = dict(B=4 if args.quick else 32, d=d, heads=4)
        shapes.append(shape)
        key = f"head_dim={d // shape['heads']}"
        crossover[key] = {mode: _sweep(mode, shape, labels, densities, args,
                                       rows)
                          for mode in ('train', 'infer')}
    for row in rows:
        row['density_%'] = f"{100 * row['density']:g}"
    print(C.table(rows, ['mode', 'd', 'L', 'density_%', 'edges_per_sample',
                         'sparse_ms', 'dense_ms', 'dense_speedup']))
    print(f'first density where dense >= sparse: {crossover}')
    C.write_json(C.out_path(args, __file__),
                 dict(machine=info, shapes=shapes, rows=rows,
                      crossover=crossover))


def _sweep(mode: str, shape: Dict[str, int], labels: Sequence[int],
           densities: Sequence[float], args: argparse.Namespace,
           rows: List[Dict[str, Any]]) -> Dict[str, Optional[float]]:
    r"""Times both layers over the densities for every L; appends the rows
    and returns the crossover density per L."""
    crossover: Dict[str, Optional[float]] = {}
    for L in labels:
        first_dense_win: Optional[float] = None
        for rho in densities:
            fns = {}
            for kind in ('sparse', 'dense'):
                fn = build(kind, L, rho, shape, mode == 'train')
                if fn is not None:
                    fns[kind] = fn
            times = C.time_interleaved(fns, args.runs, args.warmup)
            row: Dict[str, Any] = dict(
                mode=mode, d=shape['d'], L=L, density=rho,
                edges_per_sample=random_graph(L, rho).size(1),
                dense_ms=1e3 * C.median(times['dense']),
                dense_times_s=times['dense'])
            if 'sparse' in times:
                row.update(sparse_ms=1e3 * C.median(times['sparse']),
                           sparse_times_s=times['sparse'],
                           dense_speedup=C.paired_ratio(times['sparse'],
                                                        times['dense']))
            else:
                row['sparse_skipped'] = (
                    f'{row["edges_per_sample"] * shape["B"] / 1e6:.0f}M '
                    f'edges x d={shape["d"]}: too many gathers')
                row['dense_speedup'] = None
            dense_wins = (row['dense_speedup'] is None
                          or row['dense_speedup'] >= 1.0)
            if first_dense_win is None and dense_wins:
                first_dense_win = rho
            print(f"{mode} d={shape['d']} L={L} density={rho:g}: "
                  f"dense {row['dense_ms']:.0f} ms, sparse "
                  f"{row.get('sparse_ms', float('nan')):.0f} ms")
            rows.append(row)
        crossover[str(L)] = first_dense_win
    return crossover


if __name__ == '__main__':
    main()
