r"""One attention layer, forward and forward+backward: LaMPConv (sparse),
DenseLaMPConv and PyG's TransformerConv against the original design's layer
(multi-head attention + feed-forward, ``benchmarks/reference.py``), on the
two graphs of a LaMP step:

* ``xy``: feature-to-label, complete bipartite per sample (S sources, L
  destinations);
* ``yy``: label-to-label, complete per sample (L x L, self loops included).

Shapes: SIDER (B=32, S=30, L=27, d=512, 4 heads) and Delicious (B=32, S=20,
L=983).  Rows:

  reference          RefMultiHeadAttention + RefPositionwiseFeedForward
                     (dense, masked softmax materialised), float32
  dense              DenseLaMPConv, float32
  dense-bf16         DenseLaMPConv under bfloat16 autocast
  sparse             LaMPConv, 'edge' attention backend, float32
  sparse-propagate   LaMPConv, 'segment' attention backend
                     (MessagePassing.propagate), float32
  transformer        torch_geometric.nn.TransformerConv (heads=4, concat,
                     root weight; no feed-forward or LayerNorm), float32

Eval mode (no dropout), so every row computes the same attention.  Sparse
rows are skipped (with the reason printed) where their [E, H, D] tensors
would not fit in about 8 GB or take minutes.
"""
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import common as C  # noqa: E402
from reference import (  # noqa: E402
    RefMultiHeadAttention,
    RefPositionwiseFeedForward,
)

from torch_geometric.nn import TransformerConv  # noqa: E402

from lamp_geometric.nn import DenseLaMPConv, LaMPConv  # noqa: E402

SHAPES = {
    'sider': dict(B=32, S=30, L=27, d=512, heads=4),
    'delicious': dict(B=32, S=20, L=983, d=512, heads=4),
}
QUICK_SHAPES = {
    'sider': dict(B=4, S=12, L=27, d=64, heads=4),
    'delicious': dict(B=2, S=6, L=100, d=32, heads=4),
}
ROWS = ('reference', 'dense', 'dense-bf16', 'sparse', 'sparse-propagate',
        'transformer')
#: Skip a sparse row when its gathered edge tensors would exceed this.
SPARSE_LIMIT_BYTES = 8 * 2**30
#: ... or when one pass would gather more than this many floats (minutes).
SPARSE_LIMIT_FLOATS = 4e9


class RefLayer(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.attn = RefMultiHeadAttention(heads, d, dropout=0.0)
        self.ffn = RefPositionwiseFeedForward(d, d, dropout=0.0)

    def forward(self, x_dst, x_src):
        return self.ffn(self.attn(x_dst, x_src, x_src)[0])


def complete_edges(B: int, S: int, L: int) -> torch.Tensor:
    r"""Complete bipartite (source b*S+j -> destination b*L+i) per sample,
    sorted by destination."""
    b = torch.arange(B).view(B, 1, 1).expand(B, L, S)
    i = torch.arange(L).view(1, L, 1).expand(B, L, S)
    j = torch.arange(S).view(1, 1, S).expand(B, L, S)
    return torch.stack([(b * S + j).reshape(-1), (b * L + i).reshape(-1)])


def build(row: str, shape: Dict[str, int], graph: str
          ) -> Optional[Dict[str, Callable[[], Any]]]:
    torch.manual_seed(0)
    B, L, d, H = shape['B'], shape['L'], shape['d'], shape['heads']
    S = shape['S'] if graph == 'xy' else L
    x_src = torch.randn(B, S, d, requires_grad=True)
    x_dst = torch.randn(B, L, d, requires_grad=True)
    w = torch.randn(B, L, d)
    amp = row.endswith('bf16')
    if row == 'reference':
        layer: nn.Module = RefLayer(d, H)
        if graph == 'yy':
            def fwd():
                return layer(x_dst, x_dst)
        else:
            def fwd():
                return layer(x_dst, x_src)
    elif row.startswith('dense'):
        layer = DenseLaMPConv(d if graph == 'yy' else (d, d), d, heads=H)
        if graph == 'yy':
            def fwd():
                with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp):
                    return layer(x_dst)
        else:
            def fwd():
                with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp):
                    return layer((x_src, x_dst))
    else:
        E = B * S * L
        if row == 'sparse':
            need = E * (H * 8 + 16)  # score/alpha + edge_index
        else:
            need = 5 * E * d * 4  # gathered q, k, v, product, messages
        if need > SPARSE_LIMIT_BYTES or E * d > SPARSE_LIMIT_FLOATS:
            return None
        edge_index = complete_edges(B, S, L)
        if row == 'transformer':
            layer = TransformerConv(d if graph == 'yy' else (d, d), d // H,
                                    heads=H)
        else:
            layer = LaMPConv(d if graph == 'yy' else (d, d), d, heads=H)
        xs = x_src.detach().view(B * S, d).requires_grad_()
        xd = x_dst.detach().view(B * L, d).requires_grad_()
        w = w.view(B * L, d)
        if graph == 'yy':
            def fwd():
                return layer(xd, edge_index)
        else:
            def fwd():
                return layer((xs, xd), edge_index)
        if row != 'transformer':  # LaMPConv's edge or segment backend
            fwd = C.with_policy(
                fwd, backend='edge' if row == 'sparse' else 'segment')
    layer.eval()

    def forward():
        with torch.no_grad():
            fwd()

    def forward_backward():
        layer.zero_grad(set_to_none=True)
        (fwd().float() * w).sum().backward()

    return dict(forward=forward, forward_backward=forward_backward)


def skip_reason(row: str, shape: Dict[str, int], graph: str) -> str:
    B, L, d = shape['B'], shape['L'], shape['d']
    S = shape['S'] if graph == 'xy' else L
    E = B * S * L
    return (f'{E / 1e6:.1f}M edges x d={d}: {E * d / 1e9:.0f}G floats '
            f'gathered per pass ({5 * E * d * 4 / 2**30:.0f} GiB of [E, H, D] '
            f'tensors through propagate)')


def main() -> None:
    p = C.parser(__doc__.split('\n')[0], runs=7, warmup=2)
    p.add_argument('--shapes', nargs='+', default=list(SHAPES),
                   choices=list(SHAPES))
    p.add_argument('--compile', action='store_true',
                   help='add DenseLaMPConv under torch.compile (inductor)')
    args = p.parse_args()
    info = C.start(args)
    gemm, peak = C.gemm_peak(args.quick)
    results: Dict[str, Any] = dict(machine=info, gemm_gflops=gemm, runs={})
    rows_all = list(ROWS) + (['dense-compiled'] if args.compile else [])
    for shape_name in args.shapes:
        shape = (QUICK_SHAPES if args.quick else SHAPES)[shape_name]
        for graph in ('xy', 'yy'):
            key = f'{shape_name}/{graph}'
            print(f'\n## {key}: {shape}')
            fns: Dict[str, Dict[str, Callable]] = {}
            skipped: Dict[str, str] = {}
            for row in rows_all:
                if row == 'dense-compiled':
                    built = build('dense', shape, graph)
                    assert built is not None
                    fns[row] = _compiled(shape, graph)
                    continue
                built = build(row, shape, graph)
                if built is None:
                    skipped[row] = skip_reason(row, shape, graph)
                    print(f'skip {row}: {skipped[row]}')
                else:
                    fns[row] = built
            out_rows = []
            for mode in ('forward', 'forward_backward'):
                flops = {r: C.count_flops(f[mode]) for r, f in fns.items()}
                times = C.time_interleaved({r: f[mode] for r, f in
                                            fns.items()}, args.runs,
                                           args.warmup)
                for r in fns:
                    t = C.median(times[r])
                    dtype = 'bf16' if r.endswith('bf16') else 'fp32'
                    out_rows.append(dict(
                        layer=r, mode=mode, ms=1e3 * t, times_s=times[r],
                        speedup=C.paired_ratio(times['reference'], times[r]),
                        speedup_best=min(times['reference']) / min(times[r]),
                        gflop=flops[r] / 1e9, gflops=flops[r] / t / 1e9,
                        pct_peak=100 * flops[r] / t / 1e9 / peak[dtype]))
                for r, why in skipped.items():
                    out_rows.append(dict(layer=r, mode=mode, skipped=why))
            print(C.table(out_rows, ['layer', 'mode', 'ms', 'speedup',
                                     'gflop', 'gflops', 'pct_peak']))
            results['runs'][key] = dict(shape=shape, graph=graph,
                                        rows=out_rows)
    C.write_json(C.out_path(args, __file__), results)


def _compiled(shape: Dict[str, int], graph: str) -> Dict[str, Callable]:
    import time
    torch.manual_seed(0)
    B, L, d, H = shape['B'], shape['L'], shape['d'], shape['heads']
    S = shape['S'] if graph == 'xy' else L
    x_src = torch.randn(B, S, d, requires_grad=True)
    x_dst = torch.randn(B, L, d, requires_grad=True)
    w = torch.randn(B, L, d)
    layer = DenseLaMPConv(d if graph == 'yy' else (d, d), d, heads=H).eval()
    compiled = torch.compile(layer)
    args = (x_dst,) if graph == 'yy' else ((x_src, x_dst),)

    def forward():
        with torch.no_grad():
            compiled(*args)

    def forward_backward():
        layer.zero_grad(set_to_none=True)
        (compiled(*args) * w).sum().backward()

    t = time.perf_counter()
    forward()
    forward_backward()
    print(f'torch.compile warm-up {time.perf_counter() - t:.0f}s')
    return dict(forward=forward, forward_backward=forward_backward)


if __name__ == '__main__':
    main()
