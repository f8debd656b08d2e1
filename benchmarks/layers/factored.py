r"""Feature-to-label attention over few sources: :class:`DenseLaMPConv`'s
plain path against its factored one
(:func:`lamp_geometric.nn.attention.factored_message`), one
layer, forward+backward, B=32, 4 heads, dropout 0.1, float32 and
bfloat16 autocast, for widths d, numbers of labels L and of sources S
around the crossover.

``cost`` is the counted ratio of multiply-adds (factored / plain,
:func:`~lamp_geometric.nn.attention.factored_costs`),
``speedup`` the measured plain / factored time (median of per-repeat
ratios; above 1: the factored path is faster), ``auto`` the path the layer
takes with the default policy's ``factored_max_cost``.  ``shared``:
destinations shared by all samples (the first LaMP step); otherwise one set
per sample.
Both paths give the same output (checked here).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import common as C  # noqa: E402
from tables import factored_table  # noqa: E402

from lamp_geometric.nn import DenseLaMPConv  # noqa: E402
from lamp_geometric.nn import attention as M  # noqa: E402

#: (d, L, S, shared destinations)
SHAPES = [(512, 983, 20, False), (512, 983, 20, True), (512, 983, 60, False),
          (512, 983, 120, False), (512, 983, 200, False),
          (512, 983, 200, True), (512, 159, 30, False), (512, 159, 60, False),
          (512, 27, 30, False),
          (256, 983, 20, False), (256, 983, 20, True), (256, 983, 40, False),
          (128, 983, 10, False), (128, 983, 10, True), (128, 983, 20, False),
          (64, 983, 5, False), (64, 983, 5, True), (64, 983, 10, False)]
QUICK = [(32, 40, 4, False), (32, 40, 4, True), (32, 12, 10, False)]


def main() -> None:
    p = C.parser(__doc__.split('\n')[0], runs=5, warmup=1)
    args = p.parse_args()
    info = C.start(args)
    B, H = (4, 4) if args.quick else (32, 4)
    default = M.get_policy().factored_max_cost
    rows = []
    for d, L, S, shared in QUICK if args.quick else SHAPES:
        torch.manual_seed(0)
        conv = DenseLaMPConv(d, d, heads=H, dropout=0.1).train()
        x_src = torch.randn(B, S, d, requires_grad=True)
        x_dst = torch.randn(1 if shared else B, L, d, requires_grad=True)
        plain, factored = M.factored_costs(L, S, d, d, H, shared)
        conv.eval()  # the same output on both paths (no dropout)
        with torch.no_grad():
            outs = [C.with_policy(conv, factored_max_cost=cost)(
                (x_src, x_dst)) for cost in (0.0, float('inf'))]
            auto = conv._use_factored(M.get_policy(), x_src, x_dst, None,
                                      None)
        conv.train()
        if not torch.allclose(outs[0], outs[1], atol=1e-4):
            raise AssertionError(f'paths differ at L={L} S={S}')
        for amp in (False, True):
            def step(amp: bool = amp):
                with torch.autocast('cpu', dtype=torch.bfloat16,
                                    enabled=amp):
                    out = conv((x_src, x_dst))
                out.float().sum().backward()

            def run(cost: float):
                return C.with_policy(step, factored_max_cost=cost)

            times = C.time_interleaved({'plain': run(0.0),
                                        'factored': run(float('inf'))},
                                       args.runs, args.warmup)
            rows.append(dict(
                d=d, L=L, S=S, shared=shared, dtype='bf16' if amp else 'fp32',
                cost=factored / plain,
                plain_ms=1e3 * C.median(times['plain']),
                factored_ms=1e3 * C.median(times['factored']),
                speedup=C.paired_ratio(times['plain'], times['factored']),
                auto='factored' if auto else 'plain'))
    print(factored_table(rows))
    C.write_json(C.out_path(args, __file__, 'factored'),
                 dict(machine=info, config=dict(B=B, heads=H,
                                                dropout=0.1,
                                                factored_max_cost=default),
                      rows=rows))


if __name__ == '__main__':
    main()
