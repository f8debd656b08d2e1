r"""One training step (forward, LaMP loss, backward, Adam step) of the
paper's configuration (d=512, K=4 heads, T=2, B=32, fully connected label
graph, Adam; dropout 0.2 for SIDER and 0.1 for Delicious as in the paper's
appendix) at the SIDER shape (S=30 atoms, L=27 labels) and at
the Delicious shape (S=20 bag-of-words features, L=983 labels): the
original design (``benchmarks/reference.py``) against
:class:`lamp_geometric.nn.LaMP`, time and peak memory, in one run.

Both models compute the same function of the feature tokens: the original's
encoder discards its self-attention, so its features reach the labels
through an embedding and T post-LayerNorm feed-forward layers; ours gets an
encoder with exactly those layers (``FFNTokenEncoder``) and does not compute
the discarded attention.

Variants:
  reference        the original design, float32
  reference-bf16   the same under bfloat16 autocast (SIDER shape only)
  ours-plain       LaMP with this folder's levers switched off (separate
                   q/k/v projections, label embeddings expanded over the
                   batch before the first projection, whole-tensor attention
                   with dropout, unfactored feature-to-label attention,
                   PyTorch's dropout in the encoder and its default Adam),
                   float32
  ours             LaMP, float32, with the library's optimizer
                   (``train.make_optimizer``: Adam, fused kernel)
  ours-amp         the same under bfloat16 autocast
                   (``train.fit(..., amp=True)``)

The reference and ours-plain use ``torch.optim.Adam`` with its defaults.

Times: medians of interleaved repeats in this process; ratios are medians of
per-repeat ratios.  Peak memory: growth of the peak RSS over two steps in a
fresh subprocess per variant; the same subprocess then counts the minor
page faults (``faults_k``, thousands) and the system CPU time (``sys_ms``)
of a third step.  FLOPs: ``torch.utils.flop_counter`` (matrix
products and attention, forward and backward) over one step.
"""
import json
import sys
import types
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import Tensor, nn  # noqa: E402

import common as C  # noqa: E402
from reference import ReferenceLaMP, reference_loss  # noqa: E402
from tables import train_step_table  # noqa: E402

from lamp_geometric.nn import Dropout, LaMP, LaMPLoss  # noqa: E402
from lamp_geometric.train import make_optimizer  # noqa: E402

CONFIGS = {
    'sider': dict(B=32, S=30, L=27, d=512, heads=4, steps=2, vocab=120,
                  dropout=0.2),
    'delicious': dict(B=32, S=20, L=983, d=512, heads=4, steps=2, vocab=500,
                      dropout=0.1),
}
QUICK = {
    'sider': dict(B=8, S=12, L=27, d=64, heads=4, steps=2, vocab=120,
                  dropout=0.1),
    'delicious': dict(B=8, S=10, L=200, d=64, heads=4, steps=2, vocab=500,
                      dropout=0.1),
}
VARIANTS = ('reference', 'reference-bf16', 'ours-plain', 'ours', 'ours-amp')


class FFNTokenEncoder(nn.Module):
    r"""Token embedding followed by :obj:`num_layers` post-LayerNorm
    feed-forward sub-layers: the function the original encoder computes
    (its self-attention output is discarded).  Its dropout is the library's
    (:class:`lamp_geometric.nn.Dropout`), or PyTorch's with
    :obj:`plain_dropout` (for ours-plain)."""
    def __init__(self, vocab: int, d: int, num_layers: int, dropout: float,
                 plain_dropout: bool = False):
        super().__init__()
        self.emb = nn.Embedding(vocab, d, padding_idx=0)
        self.lin1 = nn.ModuleList([nn.Linear(d, d) for _ in range(num_layers)])
        self.lin2 = nn.ModuleList([nn.Linear(d, d) for _ in range(num_layers)])
        self.norms = nn.ModuleList([nn.LayerNorm(d)
                                    for _ in range(num_layers)])
        self.drop = nn.Dropout(dropout) if plain_dropout else Dropout(dropout)

    def forward(self, data) -> Tensor:
        x = self.emb(data.x)
        for lin1, lin2, norm in zip(self.lin1, self.lin2, self.norms):
            h = lin2(F.relu(lin1(x)))
            x = norm(x + self.drop(h))
        return x


def make_inputs(cfg: Dict[str, Any], seed: int = 0):
    from torch_geometric.data import Batch, Data
    g = torch.Generator().manual_seed(seed)
    B, S, L, V = cfg['B'], cfg['S'], cfg['L'], cfg['vocab']
    tokens = torch.randint(1, V, (B, S), generator=g)
    y = (torch.rand(B, L, generator=g) < 0.1).float()
    data = Batch.from_data_list([Data(x=tokens[b], num_nodes=S)
                                 for b in range(B)])
    return tokens, data, y


def make_plain(model: LaMP) -> None:
    r"""Switches this folder's levers off on :obj:`model` (for ours-plain)."""
    def project(self, x_src, x_dst, shared):
        return (self.lin_query(x_dst), self.lin_key(x_src),
                self.lin_value(x_src))

    for conv in list(model.xy_convs) + list(model.yy_convs):
        conv._project = types.MethodType(project, conv)
    first = model.xy_convs[0]
    dense_forward = first.forward

    def expanded(x, *args, **kwargs):
        x_src, x_dst = x
        return dense_forward((x_src, x_dst.expand(x_src.size(0), -1, -1)),
                             *args, **kwargs)

    first.forward = expanded


def build(variant: str, cfg: Dict[str, Any]) -> Tuple[Callable, Callable]:
    r"""Returns :obj:`(step, forward_backward)` closures of a variant."""
    torch.manual_seed(0)
    tokens, data, y = make_inputs(cfg)
    d, T, H, p = cfg['d'], cfg['steps'], cfg['heads'], cfg['dropout']
    if variant.startswith('reference'):
        model = ReferenceLaMP(cfg['vocab'], cfg['L'], d, H, T, d_inner=d,
                              dropout=p)
        amp = variant.endswith('bf16')

        def loss_fn():
            with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp):
                logits, inter = model(tokens)
            return reference_loss(logits.float(), [x.float() for x in inter],
                                  y)
    else:
        enc = FFNTokenEncoder(cfg['vocab'], d, T, p,
                              plain_dropout=variant == 'ours-plain')
        model = LaMP(cfg['L'], d, encoder=enc, steps=T, heads=H, dropout=p,
                     label_graph='fc')
        if variant == 'ours-plain':
            make_plain(model)
        amp = variant == 'ours-amp'
        crit = LaMPLoss(0.2)

        def loss_fn():
            with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp):
                out = model(data)
            return crit(out.logits.float(), y,
                        [x.float() for x in out.intermediate_logits])

    model.train()
    plain = variant == 'ours-plain'
    if variant.startswith('reference') or plain:
        opt = torch.optim.Adam(model.parameters(), lr=2e-4)
    else:
        opt = make_optimizer(model, 2e-4)

    # ours-plain: the segment backend of sparse layers, dense attention
    # with dropout in one chunk, no factored attention.
    levers = (dict(backend='segment', attention_chunk_bytes=2**62,
                   factored_max_cost=0.0) if plain else {})

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()

    def forward_backward():
        model.zero_grad(set_to_none=True)
        loss_fn().backward()

    return (C.with_policy(step, **levers),
            C.with_policy(forward_backward, **levers))


def child(config: Dict[str, Any]) -> Dict[str, Any]:
    torch.set_num_threads(config['threads'])
    step, _ = build(config['variant'], config['cfg'])
    res = C.measure_peak(step, steps=2, faults=True)
    res['allocated_peak_bytes'] = C.allocated_peak(step)
    return res


def main() -> None:
    p = C.parser(__doc__.split('\n')[0], runs=3, warmup=1)
    p.add_argument('--configs', nargs='+', default=list(CONFIGS),
                   choices=list(CONFIGS))
    p.add_argument('--no-memory', action='store_true',
                   help='skip the peak-memory subprocesses')
    p.add_argument('--dropout', type=float, default=None,
                   help='override the configurations\' dropout')
    p.add_argument('--profile', type=str, default=None, choices=VARIANTS,
                   help='instead of the table: profile this variant\'s step '
                   '(torch.profiler, --runs steps after --warmup) and print '
                   'where its time goes')
    p.add_argument('--child', type=str, default=None, help=argparse_hidden())
    args = p.parse_args()
    if args.child is not None:
        print(json.dumps(child(json.loads(args.child))))
        return
    info = C.start(args)
    if args.profile is not None:
        for name in args.configs:
            profile(args.profile, dict((QUICK if args.quick else
                                        CONFIGS)[name]), name, args)
        return
    gemm, peak = C.gemm_peak(args.quick)
    results = dict(machine=info, gemm_gflops=gemm, configs={})
    for name in args.configs:
        cfg = dict((QUICK if args.quick else CONFIGS)[name])
        if args.dropout is not None:
            cfg['dropout'] = args.dropout
        variants = [v for v in VARIANTS
                    if not (v == 'reference-bf16' and name != 'sider')]
        print(f'\n## {name}: {cfg}')
        steps, fbs = {}, {}
        for v in variants:
            steps[v], fbs[v] = build(v, cfg)
        flops = {v: C.count_flops(fbs[v]) for v in variants}
        # The SIDER-shaped step is short: more repeats for the same time.
        runs = args.runs * (3 if name == 'sider' and not args.quick else 1)
        times = C.time_interleaved(steps, runs, args.warmup)
        mem: Dict[str, Dict[str, Any]] = {}
        if not args.no_memory:
            for v in variants:
                if v == 'reference-bf16':
                    continue
                mem[v] = C.run_child(__file__, dict(variant=v, cfg=cfg,
                                                    threads=args.threads),
                                     child, inprocess=args.quick)
        rows = []
        ref_t = times['reference']
        ref_mem = mem.get('reference', {}).get('peak_rss_growth_bytes')
        for v in variants:
            t = C.median(times[v])
            dtype = 'bf16' if v.endswith(('bf16', 'amp')) else 'fp32'
            growth = mem.get(v, {}).get('peak_rss_growth_bytes')
            alloc = mem.get(v, {}).get('allocated_peak_bytes')
            ref_alloc = mem.get('reference', {}).get('allocated_peak_bytes')
            row = dict(
                variant=v, ms=1e3 * t, times_s=times[v],
                speedup=C.paired_ratio(ref_t, times[v]),
                speedup_best=min(ref_t) / min(times[v]),
                gflop=flops[v] / 1e9, gflops=flops[v] / t / 1e9,
                pct_peak=100 * flops[v] / t / 1e9 / peak[dtype],
                peak_mib=C.mib(growth),
                mem_vs_ref=(growth / ref_mem if growth and ref_mem else None),
                alloc_mib=C.mib(alloc),
                alloc_vs_ref=(alloc / ref_alloc if alloc and ref_alloc
                              else None),
                faults_k=_scaled(mem.get(v, {}).get(
                    'minor_faults_per_step'), 1e-3),
                sys_ms=_scaled(mem.get(v, {}).get(
                    'system_seconds_per_step'), 1e3),
                memory=mem.get(v),
            )
            rows.append(row)
        print(train_step_table(rows))
        results['configs'][name] = dict(config=cfg, rows=rows)
    C.write_json(C.out_path(args, __file__), results)


def _scaled(x: Optional[float], factor: float) -> Optional[float]:
    return None if x is None else x * factor


#: The operators counted as matrix products by :func:`profile`.
MATMUL_OPS = ('aten::mm', 'aten::addmm', 'aten::bmm', 'aten::baddbmm')


def profile(variant: str, cfg: Dict[str, Any], name: str,
            args: Any) -> None:
    r"""Prints the operators of :obj:`variant`'s training step by self CPU
    time (per step), and the share of the matrix products."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    step, _ = build(variant, cfg)
    times = C.time_interleaved({variant: step}, args.runs, args.warmup)
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.runs):
            step()
    events = prof.key_averages()
    per_step = {e.key: e.self_cpu_time_total / 1e3 / args.runs
                for e in events}
    calls = {e.key: e.count / args.runs for e in events}
    total = sum(per_step.values())
    matmul = sum(per_step.get(k, 0.0) for k in MATMUL_OPS)
    top = sorted(per_step, key=per_step.get, reverse=True)[:20]
    print(f'\n## {name}: {variant} {cfg}')
    print(f'wall {1e3 * C.median(times[variant]):.1f} ms per step '
          f'(median of {args.runs}); profiled operators {total:.1f} ms of '
          f'self CPU time per step, matrix products {matmul:.1f} ms '
          f'({", ".join(MATMUL_OPS)})')
    print(C.table([dict(op=k, ms=per_step[k], calls=calls[k],
                        share=100 * per_step[k] / total) for k in top],
                  ['op', 'ms', 'calls', 'share']))


def argparse_hidden():
    import argparse
    return argparse.SUPPRESS


if __name__ == '__main__':
    main()
