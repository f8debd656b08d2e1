r"""Dropout-mask products: :obj:`x * keep` with the boolean mask as it is
and viewed as :obj:`torch.uint8` (:func:`lamp_geometric.nn.dropout.
as_factor`), for the tensors a LaMP training step multiplies by a mask:

* ``attention``: one chunk of attention weights at the Delicious shape
  (2 samples, 4 heads, 983 x 983 labels), float32 and bfloat16;
* ``activations``: the label states of a Delicious-shaped batch
  (32 x 983 x 512), float32 and bfloat16.

Both forms give the same values (checked here); the table gives median
milliseconds per product and the speed-up of the uint8 view.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import common as C  # noqa: E402

from lamp_geometric.nn.dropout import as_factor  # noqa: E402

SHAPES = {'attention': (2, 4, 983, 983), 'activations': (32, 983, 512)}
QUICK = {'attention': (2, 4, 64, 64), 'activations': (4, 64, 64)}


def main() -> None:
    p = C.parser(__doc__.split('\n')[0], runs=7, warmup=2)
    args = p.parse_args()
    info = C.start(args)
    rows = []
    for name, shape in (QUICK if args.quick else SHAPES).items():
        g = torch.Generator().manual_seed(0)
        keep = torch.rand(shape, generator=g) >= 0.1
        for dtype in (torch.float32, torch.bfloat16):
            x = torch.randn(shape, generator=g).to(dtype)
            factor = as_factor(keep)
            if not torch.equal(x * keep, x * factor):
                raise AssertionError('the uint8 view changed the product')
            times = C.time_interleaved({'bool': lambda: x * keep,
                                        'uint8': lambda: x * factor},
                                       args.runs, args.warmup)
            rows.append(dict(
                tensor=name, shape=list(shape), dtype=str(dtype)[6:],
                bool_ms=1e3 * C.median(times['bool']),
                uint8_ms=1e3 * C.median(times['uint8']),
                speedup=C.paired_ratio(times['bool'], times['uint8'])))
    print(C.table(rows, ['tensor', 'dtype', 'bool_ms', 'uint8_ms',
                         'speedup']))
    C.write_json(C.out_path(args, __file__, 'mask_product'),
                 dict(machine=info, rows=rows))


if __name__ == '__main__':
    main()
