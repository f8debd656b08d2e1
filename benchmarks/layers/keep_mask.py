r"""Drawing dropout masks: the library's :func:`lamp_geometric.nn.dropout.
keep_mask` against the two ways PyTorch offers, for the masks a LaMP
training step draws:

* ``bernoulli``: ``torch.empty(shape).bernoulli_(1 - p)`` (a float mask, as
  :func:`torch.nn.functional.dropout` draws it);
* ``rand``: ``torch.rand(shape) >= p`` (a boolean mask from uniform floats);
* ``float_blocks``: the library's method before its integer thresholds,
  kept here as the baseline: uniform floats in blocks of
  :obj:`KEEP_MASK_BLOCK`, compared with :obj:`p`, on the same worker threads;
* ``int32``: the library's method before 16-bit thresholds, kept here as
  the second baseline: :func:`keep_mask` with
  :obj:`KEEP_MASK_MAX_ROUNDING` at 0, i.e. uniform 32-bit integers (two per
  64-bit random word) against an integer threshold;
* ``keep_mask``: uniform 16-bit integers (four per word) against an integer
  threshold (:obj:`p` rounded to a multiple of :math:`2^{-16}`), in
  blocks, on :func:`torch.get_num_threads` worker threads for large masks.

Shapes: the activations of a SIDER-shaped batch (864 x 512), one chunk of
attention weights at the Delicious shape (2 x 4 x 983 x 983), and the
whole attention of one Delicious-shaped layer (32 x 4 x 983 x 983), which a
training step draws three times.  ``keep_rate`` is the fraction the
library's mask keeps (expected ``1 - p``); the table gives median
milliseconds per mask and the speed-up of ``keep_mask`` over
``bernoulli`` and over its own former methods (``float_blocks``,
``int32``).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import common as C  # noqa: E402
from tables import keep_mask_table  # noqa: E402

from lamp_geometric.nn import dropout as dropout_module  # noqa: E402
from lamp_geometric.nn.dropout import (  # noqa: E402
    KEEP_MASK_BLOCK,
    KEEP_MASK_PARALLEL,
    _workers,
    keep_mask,
)

P = 0.1
SHAPES = {'activations': (864, 512), 'attention chunk': (2, 4, 983, 983),
          'attention layer': (32, 4, 983, 983)}
QUICK = {'activations': (64, 64), 'attention chunk': (2, 4, 64, 64)}


def float_blocks(shape, p: float) -> torch.Tensor:
    r"""The library's :func:`keep_mask` before integer thresholds."""
    out = torch.empty(shape, dtype=torch.bool).view(-1)

    def fill(block_out, generator):
        buf = torch.empty(min(block_out.numel(), KEEP_MASK_BLOCK))
        for start in range(0, block_out.numel(), KEEP_MASK_BLOCK):
            block = block_out[start:start + KEEP_MASK_BLOCK]
            rand = buf[:block.numel()].uniform_(generator=generator)
            torch.ge(rand, p, out=block)

    n = torch.get_num_threads()
    if n > 1 and out.numel() >= KEEP_MASK_PARALLEL:
        seeds = torch.randint(0, 2**62, (n, )).tolist()
        size = -(-out.numel() // n)
        list(_workers(n).map(
            lambda i: fill(out[i * size:(i + 1) * size],
                           torch.Generator().manual_seed(seeds[i])),
            range(n)))
    else:
        fill(out, None)
    return out.view(shape)


def main() -> None:
    p = C.parser(__doc__.split('\n')[0], runs=7, warmup=2)
    args = p.parse_args()
    info = C.start(args)
    rows = []
    for name, shape in (QUICK if args.quick else SHAPES).items():
        numel = torch.Size(shape).numel()
        keep = keep_mask(shape, P)
        rate = keep.float().mean().item()
        # 6 standard deviations of a Binomial(numel, 1 - p) proportion.
        if abs(rate - (1 - P)) > 6 * (P * (1 - P) / numel)**0.5:
            raise AssertionError(f'keep_mask kept {rate:.5f}, not {1 - P}')
        del keep
        times = C.time_interleaved({
            'bernoulli': lambda: torch.empty(shape).bernoulli_(1 - P),
            'rand': lambda: torch.rand(shape) >= P,
            'float_blocks': lambda: float_blocks(shape, P),
            'int32': C.with_settings(lambda: keep_mask(shape, P),
                                     dropout_module,
                                     KEEP_MASK_MAX_ROUNDING=0.0),
            'keep_mask': lambda: keep_mask(shape, P),
        }, args.runs, args.warmup)
        rows.append(dict(
            mask=name, shape=list(shape), elements=numel, keep_rate=rate,
            bernoulli_ms=1e3 * C.median(times['bernoulli']),
            rand_ms=1e3 * C.median(times['rand']),
            float_blocks_ms=1e3 * C.median(times['float_blocks']),
            int32_ms=1e3 * C.median(times['int32']),
            keep_mask_ms=1e3 * C.median(times['keep_mask']),
            vs_bernoulli=C.paired_ratio(times['bernoulli'],
                                        times['keep_mask']),
            vs_float_blocks=C.paired_ratio(times['float_blocks'],
                                           times['keep_mask']),
            vs_int32=C.paired_ratio(times['int32'], times['keep_mask'])))
    print(keep_mask_table(rows))
    C.write_json(C.out_path(args, __file__, 'keep_mask'),
                 dict(machine=info, p=P, rows=rows))


if __name__ == '__main__':
    main()
