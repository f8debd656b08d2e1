r"""torch-scatter against PyG's native reductions on the sparse path.

PyG 2.8 reduces with PyTorch's own kernels unless the optional
``torch-scatter`` package is installed.  On the CPU it then differs in one
place only: :func:`torch_geometric.utils.segment` (the edge softmax over a
graph sorted by destination, which :class:`~lamp_geometric.nn.LaMP` uses
for its replicated prior) calls ``torch_scatter.segment_csr`` instead of
``torch._segment_reduce``; :func:`torch_geometric.utils.scatter` keeps
``scatter_add_``/``scatter_reduce_`` on the CPU either way.

Rows, each timed with ``torch_geometric.typing.WITH_TORCH_SCATTER`` off
(``native_ms``) and on (``scatter_ms``), interleaved, medians:

* ``segment max`` / ``segment sum``: :func:`~torch_geometric.utils.segment`
  over :obj:`[E, H]` edge scores sorted into segments of 10 (forward);
* ``softmax``: :func:`~torch_geometric.utils.softmax` with :obj:`ptr`,
  forward and backward;
* ``LaMP step``: one training forward and backward of
  :class:`~lamp_geometric.nn.LaMP` with a sparse prior of degree 10 (the
  configuration of ``benchmarks/scaling/``: B=8, S=20, d=64, 4 heads, T=2).

``max_diff``: largest absolute difference between the two outputs (the
model's logits).  Without torch-scatter installed the rows are reported as
skipped, with the reason.
"""
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'scaling'))

import torch  # noqa: E402
import torch_geometric.typing  # noqa: E402
from torch_geometric.utils import segment, softmax  # noqa: E402

import common as C  # noqa: E402
from scaling import random_prior  # noqa: E402
from tables import scatter_table  # noqa: E402

HEADS = 4
OPS = ('segment max', 'segment sum', 'softmax', 'LaMP step')


def _with_scatter(flag: bool, fn: Callable[[], Any]) -> Callable[[], Any]:
    return C.with_settings(fn, torch_geometric.typing,
                           WITH_TORCH_SCATTER=flag)


def _ptr(L: int, degree: int) -> torch.Tensor:
    r""":obj:`ptr` of :obj:`L` destinations with :obj:`degree` edges
    each."""
    return torch.arange(0, L * degree + 1, degree)


def primitive_cases(L: int) -> Dict[str, Callable[[], torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    ptr = _ptr(L, 10)
    E = int(ptr[-1])
    score = torch.randn(E, HEADS, generator=g)
    grad = torch.randn(E, HEADS, generator=g)
    leaf = score.clone().requires_grad_()

    def soft():
        leaf.grad = None
        out = softmax(leaf, None, ptr, L)
        out.backward(grad)
        return out.detach()

    return {
        'segment max': lambda: segment(score, ptr, reduce='max'),
        'segment sum': lambda: segment(score, ptr, reduce='sum'),
        'softmax': soft,
    }


def model_case(L: int) -> Callable[[], torch.Tensor]:
    from lamp_geometric.nn import LaMP, LaMPLoss
    torch.manual_seed(0)
    B, S, d = 8, 20, 64
    model = LaMP(L, d, steps=2, heads=HEADS, dropout=0.1, label_graph='pr',
                 label_edge_index=random_prior(L, 10), path='sparse')
    z = torch.randn(B * S, d, requires_grad=True)
    batch = torch.arange(B).repeat_interleave(S)
    y = (torch.rand(B, L) < 0.01).float()
    crit = LaMPLoss(0.2)

    def step():
        # The same dropout masks under both settings: compare outputs.
        torch.manual_seed(1)
        model.zero_grad(set_to_none=True)
        out = model.forward_features(z, batch, B)
        crit(out.logits, y, out.intermediate_logits).backward()
        return out.logits.detach()

    return step


def main() -> None:
    p = C.parser(__doc__.split('\n')[0], runs=7, warmup=2)
    args = p.parse_args()
    info = C.start(args)
    try:
        import torch_scatter  # noqa: F401
        skipped = None
    except ImportError:
        skipped = ('torch-scatter is not installed (pip install '
                   '--no-build-isolation torch-scatter; it builds from '
                   'source)')
    labels = (300, ) if args.quick else (10**3, 10**4)
    rows: List[Dict[str, Any]] = []
    for L in labels:
        if skipped is not None:
            rows += [dict(op=name, L=L, edges=10 * L, skipped=skipped)
                     for name in OPS]
            continue
        cases = dict(primitive_cases(L))
        cases['LaMP step'] = model_case(L)
        for name, fn in cases.items():
            row: Dict[str, Any] = dict(op=name, L=L, edges=10 * L)
            fns = {'native': _with_scatter(False, fn),
                   'scatter': _with_scatter(True, fn)}
            diff = (fns['native']() - fns['scatter']()).abs().max().item()
            times = C.time_interleaved(fns, args.runs, args.warmup)
            row.update(native_ms=1e3 * C.median(times['native']),
                       scatter_ms=1e3 * C.median(times['scatter']),
                       speedup=C.paired_ratio(times['native'],
                                              times['scatter']),
                       max_diff=diff)
            rows.append(row)
            print(f"{name} L={L}: native {row['native_ms']:.2f} ms, "
                  f"torch-scatter {row['scatter_ms']:.2f} ms", flush=True)
    if skipped is not None:
        print(f'skipped: {skipped}')
    print(scatter_table(rows))
    C.write_json(C.out_path(args, __file__, 'scatter'),
                 dict(machine=info, heads=HEADS, skipped=skipped, rows=rows))


if __name__ == '__main__':
    main()
