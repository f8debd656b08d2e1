r"""Scaling with the number of labels: LaMP with a sparse prior label graph
of L = 10^3, 10^4, 10^5 labels and average in-degree 10 (then 20, to see
what doubling the edges costs), B=8 samples of S=20 feature nodes, d=64,
4 heads, T=2, dropout 0.1: time and peak memory of one training
forward+backward pass (LaMP loss included), each configuration in a fresh
subprocess.

With ``path='auto'`` the label-to-label stages run on the sparse path
(LaMPConv over the replicated prior, fused edge attention) and the
feature-to-label stages on the dense path ([B, H, L, S] attention).  The
dense label-to-label path (``path='dense'``) is run for contrast where it
fits in about 8 GB; where it would not, the reason is printed.
"""
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import common as C  # noqa: E402

LABELS = (10**3, 10**4, 10**5)
QUICK_LABELS = (300, )
DEGREES = (10, 20)
#: Skip the dense path when its L x L buffers would exceed this.
DENSE_LIMIT_BYTES = 8 * 2**30


def random_prior(L: int, degree: int, seed: int = 0) -> torch.Tensor:
    r"""A random directed graph with :obj:`degree * L` edges (uniform
    sources and destinations, so in-degree ~ Poisson(degree))."""
    g = torch.Generator().manual_seed(seed)
    E = degree * L
    return torch.stack([torch.randint(0, L, (E, ), generator=g),
                        torch.randint(0, L, (E, ), generator=g)])


def dense_bytes(L: int, B: int, heads: int, steps: int,
                dropout: float) -> int:
    r"""Rough bytes of the dense label-to-label path's O(L^2) buffers: the
    boolean adjacency, its allowed/mask copies, one float mask and, with
    dropout, the boolean attention dropout mask of every step kept for the
    backward pass."""
    need = L * L * (1 + 1 + 4)
    if dropout > 0:
        need += steps * B * heads * L * L
    return need


def child(cfg: Dict[str, Any]) -> Dict[str, Any]:
    from lamp_geometric.nn import LaMP, LaMPLoss
    torch.set_num_threads(cfg['threads'])
    torch.manual_seed(0)
    L, B, S, d = cfg['L'], cfg['B'], cfg['S'], cfg['d']
    prior = random_prior(L, cfg['degree'])
    t = time.perf_counter()
    model = LaMP(L, d, steps=cfg['steps'], heads=cfg['heads'],
                 dropout=cfg['dropout'], label_graph='pr',
                 label_edge_index=prior, path=cfg['path']).train()
    build_s = time.perf_counter() - t
    z = torch.randn(B * S, d, requires_grad=True)
    batch = torch.arange(B).repeat_interleave(S)
    y = (torch.rand(B, L) < 0.01).float()
    crit = LaMPLoss(0.2)

    def step():
        model.zero_grad(set_to_none=True)
        out = model.forward_features(z, batch, B)
        crit(out.logits, y, out.intermediate_logits).backward()

    res = C.measure_peak(step, steps=cfg['warmup'] + cfg['runs'])
    times = res['child_step_seconds'][cfg['warmup']:]
    res.update(median_s=C.median(times), times_s=times, build_s=build_s,
               label_edges=int(model.label_edge_index.size(1)),
               yy_dense=bool(model.yy_dense),
               label_density=model.label_density)
    return res


def main() -> None:
    p = C.parser(__doc__.split('\n')[0], runs=2, warmup=1)
    p.add_argument('--labels', nargs='+', type=int, default=None)
    p.add_argument('--child', type=str, default=None,
                   help=__import__('argparse').SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        print(json.dumps(child(json.loads(args.child))))
        return
    info = C.start(args)
    labels = args.labels or (QUICK_LABELS if args.quick else LABELS)
    base = dict(B=8, S=20, d=64, heads=4, steps=2, dropout=0.1,
                threads=args.threads, runs=args.runs, warmup=args.warmup)
    if args.quick:
        base.update(B=4, S=8, d=32)
    rows: List[Dict[str, Any]] = []
    for L in labels:
        for path in ('auto', 'dense'):
            for degree in DEGREES:
                cfg = dict(base, L=L, degree=degree, path=path)
                row: Dict[str, Any] = dict(L=L, degree=degree, path=path)
                need = dense_bytes(L, base['B'], base['heads'],
                                   base['steps'], base['dropout'])
                if path == 'dense' and args.quick and degree != 10:
                    continue
                if path == 'dense' and need > DENSE_LIMIT_BYTES:
                    row['skipped'] = (f'dense label-to-label path needs '
                                      f'~{need / 2**30:.0f} GB of O(L^2) '
                                      f'buffers (limit 8 GB)')
                    print(f"L={L} {path}: skipped, {row['skipped']}")
                    rows.append(row)
                    continue
                res = C.run_child(__file__, cfg, child, inprocess=args.quick)
                row.update(res)
                if 'error' not in res:
                    row['ms'] = 1e3 * res['median_s']
                    row['peak_gib'] = C.gib(res['peak_rss_growth_bytes'])
                    print(f"L={L} deg={degree} {path}: "
                          f"{row['ms']:.0f} ms, peak +{row['peak_gib']:.2f}"
                          f" GiB, {res['label_edges']} label edges")
                else:
                    print(f"L={L} deg={degree} {path}: {res['error']}")
                rows.append(row)
    # Growth when the edges double (degree 10 -> 20), per L and path:
    for r in rows:
        if r['degree'] != 20 or 'ms' not in r:
            continue
        r10 = next((x for x in rows if x['L'] == r['L'] and
                    x['path'] == r['path'] and x['degree'] == 10
                    and 'ms' in x), None)
        if r10 is not None:
            r['time_x_vs_deg10'] = r['ms'] / r10['ms']
            r['mem_x_vs_deg10'] = (r['peak_gib'] / r10['peak_gib']
                                   if r10['peak_gib'] else math.nan)
    print(C.table(rows, ['L', 'degree', 'path', 'ms', 'peak_gib',
                         'time_x_vs_deg10', 'mem_x_vs_deg10', 'skipped']))
    C.write_json(C.out_path(args, __file__),
                 dict(machine=info, config=base, rows=rows))


if __name__ == '__main__':
    main()
