r"""Training throughput on real batches, phase by phase, and the reference.

The model users train (Emb + LaMP_fc with the library's recipe) on the
real data sets, through the library's own data path, with each training
step split into collation, forward (with the loss), backward and optimizer
step; the cost of the per-epoch evaluation; and the original design
(``benchmarks/reference.py``) timed on the same batches.

For each data set (``--datasets``: BibTeX, Reuters-21578, Delicious,
SIDER), width d (``--hidden``) and dtype (``--dtypes``):

* **Data**: ``ExperimentConfig(dataset=name, encoder='emb',
  label_graph='fc')``, ``experiment.load_data(config, seed=0)``,
  ``train.make_loaders(dataset, splits, 32, seed=0)``; the first
  ``--batches`` batches of the shuffled train loader, drawn once per data
  set (``collate_ms``: median time of ``next(iterator)``) and used for
  every width and dtype.
* **Ours**: ``experiment.build_model`` with ``TrainingConfig(hidden=d,
  feature_node_dropout=0)`` (every feature node kept, as the reference
  sees them; the library's defaults otherwise: 4 heads, T=2, dropout
  0.2), the
  readout bias at the training label log-odds, and what
  ``recipe.train_model`` builds: ``train.make_optimizer`` (fused AdamW,
  weight decay on matrices and embeddings only), the per-step
  warmup/cosine ``train.make_scheduler``, ``LaMPLoss(lambda_int)`` and
  gradient clipping at ``clip_norm``.  One step is what
  ``train.train_epoch`` does per batch: ``forward_ms`` =
  ``train.amp_outputs`` (bf16: under bfloat16 autocast, ``amp=True``) and
  the loss, ``backward_ms`` = ``loss.backward()``, ``optimizer_ms`` =
  clipping, ``optimizer.step()``, ``scheduler.step()`` and ``zero_grad``;
  ``faults_k`` and ``sys_ms`` = the minor page faults (thousands) and the
  system CPU time of the whole process during the step
  (``reference_faults_k``, ``reference_sys_ms``: the reference's).
  ``ours_ms`` = median full step on a pre-drawn batch; ``samples_per_s``
  = samples per batch / (step + collation).  After ``--warmup`` steps,
  every batch is stepped ``--runs`` times (default once); the phases are
  medians over those steps.
* **Reference**: ``ReferenceLaMP(num_tokens, L, d_model=d, heads=4,
  steps=2, dropout=0.2)`` (fully connected label graph), default
  ``torch.optim.Adam``, ``reference_loss``, on the same batches as padded
  token ids ``[B, S_max]`` (feature id + 1, 0 = padding; for molecules
  the atomic-number column of the atom features the Emb encoder embeds);
  bf16 rows under bfloat16 autocast.  It computes more than ours: the
  original's encoder layers (feed-forward plus a discarded
  self-attention) where Emb has none, and no positional encodings for
  Reuters.  ``ratio`` = median over batches of reference / ours (the two
  steps interleaved, batch by batch, in this process).
* **Evaluation**, once per row after the training steps:
  ``train.predict`` over the validation loader with the loss, as
  ``train.fit`` runs it every epoch (``eval_ms``, ``eval_ms_per_batch``);
  ``metrics.validation_score`` of the recipe's ``select`` criterion
  (``select_ms``, also every epoch); ``metrics.tune_thresholds`` on the
  same predictions (``tune_ms``: once per experiment, or every epoch with
  ``fit(..., val_metrics='all')``).  ``*_share`` = that time over one
  training epoch (steps per epoch x (step + collation)).
* **FLOPs**: ``common.count_flops`` over forward and backward of the first
  ``--flop-batches`` batches (mean: ``gflop``); ``gflops`` = ``gflop`` /
  median step; ``pct_peak`` against the best GEMM rate of the same dtype
  measured at the start of the run.

``--baseline-policy FIELD=VALUE ...`` (fields of
:class:`~lamp_geometric.nn.attention.AttentionPolicy`) and
``--baseline-dropout NAME=VALUE ...`` (settings of
:mod:`lamp_geometric.nn.dropout`) also time our step with those settings
changed, e.g. a former default, interleaved with ours on the same batches:
``baseline_ms`` and ``vs_baseline`` (median over batches of baseline /
ours).

The process keeps freed memory for reuse (``--allocator keep``, the
default: :func:`lamp_geometric.allocator.keep_freed_memory`, as
:func:`lamp_geometric.experiment.run` does) for both models;
``--allocator default`` leaves the C library's settings, under which the
large attention temporaries are mapped afresh (and page-faulted in) every
step.  ``config.allocator_kept`` says whether the setting applied and
``config.allocator_choice`` why not.

A data set whose raw files are not in the data directory (``--data-dir``,
default ``$LAMP_DATA``; SIDER ships with the package) is skipped with the
reason: a benchmark never downloads.  The reference is skipped, with the
reason in the row, where ``L * d`` exceeds ``--skip-reference-above`` or
its first step fails.  The JSON is rewritten after every data set.
"""
import argparse
import ast
import gc
import itertools
import os
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import Tensor  # noqa: E402
from torch_geometric.utils import to_dense_batch  # noqa: E402

import common as C  # noqa: E402
from reference import ReferenceLaMP, reference_loss  # noqa: E402
from tables import throughput_table  # noqa: E402

from lamp_geometric import metrics as M  # noqa: E402
from lamp_geometric.allocator import (  # noqa: E402
    allocator_choice,
    keep_freed_memory,
)
from lamp_geometric.experiment import (  # noqa: E402
    ExperimentConfig,
    ExperimentData,
    build_label_graph,
    build_model,
    label_matrix,
    load_data,
)
from lamp_geometric.nn import LaMPLoss  # noqa: E402
from lamp_geometric.nn import dropout as dropout_module  # noqa: E402
from lamp_geometric.nn.attention import AttentionPolicy  # noqa: E402
from lamp_geometric.nn.encoders import ATOM_FEATURE_SIZES  # noqa: E402
from lamp_geometric.recipe import (  # noqa: E402
    TrainingConfig,
    label_prevalence,
)
from lamp_geometric.train import (  # noqa: E402
    batch_targets,
    amp_outputs,
    make_loaders,
    make_optimizer,
    make_scheduler,
    predict,
)

DATASETS = ('bibtex', 'reuters', 'delicious', 'sider')
#: Where each data set's raw files lie under the data directory
#: (:obj:`None`: shipped with the package).
RAW_FOLDERS = {'bibtex': 'mulan/bibtex', 'delicious': 'mulan/delicious',
               'reuters': 'reuters21578', 'sider': None}
WIDTHS = (64, 128, 256, 512)
DTYPES = ('fp32', 'bf16')
BATCH_SIZE = 32
CPU = torch.device('cpu')
#: ``--quick``: what the smoke test runs.
QUICK = dict(datasets=['sider', 'bibtex'], hidden=[64], batches=3,
             limit_eval=64, flop_batches=1)

#: Seconds of (forward, backward, optimizer) of one step, then its minor
#: page faults and system CPU seconds (all threads of the process).
Phases = Tuple[float, float, float, int, float]


def _usage() -> Tuple[int, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_minflt, usage.ru_stime


# Steps #######################################################################

def ours_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
              scheduler: Any, loss_fn: LaMPLoss, clip_norm: Optional[float],
              amp: bool) -> Callable[[Any], Phases]:
    r"""One step of :func:`lamp_geometric.train.train_epoch` on a batch,
    returning the seconds of its phases.

    Args:
        model: The model, in training mode.
        optimizer: Its optimizer.
        scheduler: The per-step learning rate schedule.
        loss_fn: The loss.
        clip_norm: Gradient clipping norm (:obj:`None`: none).
        amp: Forward under bfloat16 autocast.
    """
    params = list(model.parameters())

    def step(batch: Any) -> Phases:
        faults, system = _usage()
        t0 = time.perf_counter()
        logits, inter = amp_outputs(model, batch, CPU, amp)
        loss = loss_fn(logits, batch_targets(batch), inter)
        loss.item()  # train_epoch checks every loss for NaN
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, clip_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        t3 = time.perf_counter()
        faults_after, system_after = _usage()
        return (t1 - t0, t2 - t1, t3 - t2, faults_after - faults,
                system_after - system)
    return step


def reference_step(model: ReferenceLaMP, optimizer: torch.optim.Optimizer,
                   amp: bool) -> Callable[[Tuple[Tensor, Tensor]], Phases]:
    r"""One step of the reference on :obj:`(tokens, y)`, returning the
    seconds of its phases (as :func:`ours_step`)."""
    def step(inputs: Tuple[Tensor, Tensor]) -> Phases:
        tokens, y = inputs
        faults, system = _usage()
        t0 = time.perf_counter()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp):
            logits, inter = model(tokens)
        loss = reference_loss(logits.float(), [x.float() for x in inter], y)
        loss.item()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        optimizer.zero_grad()
        t3 = time.perf_counter()
        faults_after, system_after = _usage()
        return (t1 - t0, t2 - t1, t3 - t2, faults_after - faults,
                system_after - system)
    return step


def cycled(step: Callable[[Any], Phases], inputs: Sequence[Any],
           phases: List[Phases]) -> Callable[[], None]:
    r"""A closure running :obj:`step` on the next of :obj:`inputs` (in
    turn, from the first) and appending its phase times to
    :obj:`phases`: two closures over the same inputs, interleaved, see the
    same batch in every repeat."""
    order = itertools.cycle(inputs)

    def run() -> None:
        phases.append(step(next(order)))
    return run


def _literal(value: str) -> Any:
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def dropout_setting(text: str) -> Tuple[str, Any]:
    r"""``NAME=VALUE`` as a module setting of
    :mod:`lamp_geometric.nn.dropout` (e.g. ``KEEP_MASK_MAX_ROUNDING``)."""
    name, sep, value = text.partition('=')
    if not sep or not name.isupper() or not hasattr(dropout_module, name):
        raise argparse.ArgumentTypeError(
            f"expected NAME=VALUE with a setting of lamp_geometric.nn."
            f"dropout (got '{text}')")
    return name, _literal(value)


def policy_change(text: str) -> Tuple[str, Any]:
    r"""``FIELD=VALUE`` (a number or a word) as :obj:`(field, value)` of
    :class:`~lamp_geometric.nn.attention.AttentionPolicy`."""
    field, sep, value = text.partition('=')
    if not sep or field not in AttentionPolicy.__dataclass_fields__:
        raise argparse.ArgumentTypeError(
            f"expected FIELD=VALUE with a field of AttentionPolicy (got "
            f"'{text}')")
    return field, _literal(value)


# Data ########################################################################

def data_problem(name: str, data_dir: Optional[str]) -> Optional[str]:
    r"""Why :obj:`name` cannot be loaded without downloading, or
    :obj:`None`."""
    folder = RAW_FOLDERS[name]
    if folder is None:
        return None
    if not data_dir:
        return 'no data directory (--data-dir or $LAMP_DATA)'
    if not os.path.isdir(os.path.join(data_dir, folder)):
        return f'no {folder}/ in {data_dir} (a benchmark does not download)'
    return None


def draw_batches(loader: Any, n: int) -> Tuple[List[Any], List[float]]:
    r"""The first :obj:`n` batches of :obj:`loader` (a new epoch where one
    ends) and the seconds :obj:`next(iterator)` took for each."""
    batches: List[Any] = []
    seconds: List[float] = []
    it = iter(loader)
    while len(batches) < n:
        t = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            continue
        seconds.append(time.perf_counter() - t)
        batches.append(batch)
    return batches, seconds


def reference_vocab(data: ExperimentData) -> int:
    r"""Token ids of the reference's embedding, padding (0) included."""
    if data.input_type == 'molecule':
        return ATOM_FEATURE_SIZES[0] + 1  # atomic numbers
    return int(data.num_features) + 1


def padded_tokens(batch: Any, input_type: str) -> Tensor:
    r"""The feature tokens of a PyG batch as the reference reads them:
    :obj:`[B, S_max]` ids + 1, 0 = padding.  Molecules give the atomic
    number (first column of the atom features)."""
    ids = batch.x[:, 0] if input_type == 'molecule' else batch.x.view(-1)
    tokens, _ = to_dense_batch(ids.long() + 1, batch.batch, fill_value=0,
                               batch_size=batch.num_graphs)
    return tokens


# One row #####################################################################

def measure(config: ExperimentConfig, data: ExperimentData,
            loaders: Tuple[Any, Any, Any], batches: List[Any],
            collate_s: List[float], ref_inputs: List[Tuple[Tensor, Tensor]],
            d: int, dtype: str, peak: Dict[str, float],
            args: Any) -> Dict[str, Any]:
    r"""Times one data set x width x dtype and returns its row."""
    train_loader, val_loader, _ = loaders
    amp = dtype == 'bf16'
    # Every feature node kept, as the reference sees them (the recipe
    # leaves half of them out of each training step, which would halve
    # the feature-to-label work of ours alone).
    training = TrainingConfig(hidden=d, amp=amp, feature_node_dropout=0.0)
    L = len(data.label_names)
    label_edge_index, _ = build_label_graph(data, config.label_graph)

    torch.manual_seed(training.seed)
    model, _ = build_model(config, training, data.input_type, L,
                           data.num_features, label_edge_index)
    model.set_label_prior(label_prevalence(
        label_matrix(data.dataset)[data.splits[0]]))
    model.train()
    # As recipe.train_model builds them.
    optimizer = make_optimizer(model, training.lr,
                               betas=tuple(training.betas),
                               weight_decay=training.weight_decay)
    total = max(1, training.epochs * len(train_loader))
    scheduler = make_scheduler(optimizer, total,
                               warmup_steps=int(training.warmup * total),
                               schedule=training.schedule)
    loss_fn = LaMPLoss(lambda_int=training.lambda_int)
    ours = ours_step(model, optimizer, scheduler, loss_fn,
                     training.clip_norm or None, amp)

    phases: Dict[str, List[Phases]] = {'ours': [], 'reference': [],
                                       'baseline': []}
    fns = {'ours': cycled(ours, batches, phases['ours'])}
    if args.baseline_policy or args.baseline_dropout:
        # The same step under another attention policy or dropout setting
        # (e.g. a former default), interleaved with ours on the same
        # batches.
        baseline = C.with_settings(
            C.with_policy(ours, **args.baseline_policy), dropout_module,
            **args.baseline_dropout)
        fns['baseline'] = cycled(baseline, batches, phases['baseline'])
    skipped = None
    if args.no_reference:
        skipped = 'skipped: --no-reference'
    elif (args.skip_reference_above is not None
          and L * d > args.skip_reference_above):
        skipped = (f'skipped: L*d = {L * d} > --skip-reference-above '
                   f'{args.skip_reference_above}')
    if skipped is None:
        try:
            torch.manual_seed(training.seed)
            ref = ReferenceLaMP(reference_vocab(data), L, d_model=d,
                                heads=training.heads, steps=training.steps,
                                dropout=training.dropout).train()
            ref_opt = torch.optim.Adam(ref.parameters(), lr=training.lr)
            reference = reference_step(ref, ref_opt, amp)
            reference(ref_inputs[0])  # first step, allocates Adam's state
            fns['reference'] = cycled(reference, ref_inputs,
                                      phases['reference'])
        except Exception as e:  # noqa: BLE001 (reported in the row)
            skipped = f'failed: {type(e).__name__}: {e}'
            ref = ref_opt = None
            gc.collect()

    times = C.time_interleaved(fns, args.runs * len(batches), args.warmup)
    timed = {k: v[args.warmup:] for k, v in phases.items()}
    step_s = C.median(times['ours'])
    collate = C.median(collate_s)
    samples = statistics.mean(b.num_graphs for b in batches)

    def phase_ms(name: str, i: int, scale: float = 1e3) -> Optional[float]:
        xs = [p[i] for p in timed[name]]
        return scale * C.median(xs) if xs else None

    def forward_backward(batch: Any) -> None:
        model.zero_grad(set_to_none=True)
        logits, inter = amp_outputs(model, batch, CPU, amp)
        loss_fn(logits, batch_targets(batch), inter).backward()

    flops = [C.count_flops(lambda b=b: forward_backward(b))
             for b in batches[:max(1, args.flop_batches)]]
    model.zero_grad(set_to_none=True)
    gflop = statistics.mean(flops) / 1e9

    # Evaluation: one batch to warm up the eval-mode path, then the loader.
    predict(model, [next(iter(val_loader))], CPU, loss_fn, amp=amp)
    t = time.perf_counter()
    y_val, p_val, _ = predict(model, val_loader, CPU, loss_fn, amp=amp)
    eval_s = time.perf_counter() - t
    with warnings.catch_warnings():  # e.g. labels ROC-AUC skips
        warnings.simplefilter('ignore')
        t = time.perf_counter()
        M.validation_score(y_val, p_val, training.select)
        select_s = time.perf_counter() - t
        t = time.perf_counter()
        M.tune_thresholds(y_val, p_val)
        tune_s = time.perf_counter() - t

    steps_per_epoch = len(train_loader)
    epoch_s = steps_per_epoch * (step_s + collate)
    has_ref = 'reference' in times
    ref_s = C.median(times['reference']) if has_ref else None
    row = dict(
        dataset=config.dataset, hidden=d, dtype=dtype, L=L,
        batches=len(batches), samples=samples,
        s_max=C.median([float(tok.size(1)) for tok, _ in ref_inputs]),
        ours_ms=1e3 * step_s,
        reference_ms=None if ref_s is None else 1e3 * ref_s,
        ratio=(C.paired_ratio(times['reference'], times['ours'])
               if has_ref else None),
        ratio_best=(min(times['reference']) / min(times['ours'])
                    if has_ref else None),
        baseline_policy=args.baseline_policy or None,
        baseline_dropout=args.baseline_dropout or None,
        baseline_ms=(1e3 * C.median(times['baseline'])
                     if 'baseline' in times else None),
        vs_baseline=(C.paired_ratio(times['baseline'], times['ours'])
                     if 'baseline' in times else None),
        samples_per_s=samples / (step_s + collate),
        collate_ms=1e3 * collate,
        forward_ms=phase_ms('ours', 0), backward_ms=phase_ms('ours', 1),
        optimizer_ms=phase_ms('ours', 2),
        faults_k=phase_ms('ours', 3, 1e-3), sys_ms=phase_ms('ours', 4),
        reference_faults_k=phase_ms('reference', 3, 1e-3),
        reference_sys_ms=phase_ms('reference', 4),
        reference_forward_ms=phase_ms('reference', 0),
        reference_backward_ms=phase_ms('reference', 1),
        reference_optimizer_ms=phase_ms('reference', 2),
        steps_per_epoch=steps_per_epoch, epoch_s=epoch_s,
        val_batches=len(val_loader), eval_ms=1e3 * eval_s,
        eval_ms_per_batch=1e3 * eval_s / max(1, len(val_loader)),
        eval_share=eval_s / epoch_s,
        select=training.select, select_ms=1e3 * select_s,
        select_share=select_s / epoch_s,
        tune_ms=1e3 * tune_s, tune_share=tune_s / epoch_s,
        gflop=gflop, flop_batches=len(flops), gflops=gflop / step_s,
        pct_peak=100 * gflop / step_s / peak[dtype],
        reference_skipped=skipped,
        times_s=times, collate_s=collate_s,
    )
    ref_txt = ('reference ' + (skipped or '') if ref_s is None else
               f"reference {1e3 * ref_s:.0f} ms ({row['ratio']:.2f}x)")
    print(f"{config.dataset} d={d} {dtype}: step {row['ours_ms']:.0f} ms "
          f"(forward {row['forward_ms']:.0f}, backward "
          f"{row['backward_ms']:.0f}, optimizer {row['optimizer_ms']:.0f}, "
          f"collate {row['collate_ms']:.1f}), {ref_txt}; eval "
          f"{row['eval_ms']:.0f} ms, tune {row['tune_ms']:.0f} ms",
          flush=True)
    return row


# Main ########################################################################

def main() -> None:
    p = C.parser(__doc__.split('\n')[0], runs=1, warmup=2)
    p.add_argument('--datasets', nargs='+', default=None, choices=DATASETS,
                   help=f"default: {' '.join(DATASETS)} (sider bibtex with "
                   f"--quick)")
    p.add_argument('--hidden', nargs='+', type=int, default=None,
                   help=f"widths d (default: {' '.join(map(str, WIDTHS))}; "
                   f"64 with --quick)")
    p.add_argument('--dtypes', nargs='+', default=list(DTYPES),
                   choices=DTYPES, help='bf16: bfloat16 autocast (amp=True)')
    p.add_argument('--batches', type=int, default=None,
                   help='training batches drawn and timed per row, each '
                   '--runs times (default: 20; 3 with --quick)')
    p.add_argument('--flop-batches', type=int, default=None,
                   help='batches whose FLOPs are counted (default: 3; 1 '
                   'with --quick)')
    p.add_argument('--limit-eval', type=int, default=None,
                   help='validation samples to evaluate (default: all; 64 '
                   'with --quick)')
    p.add_argument('--skip-reference-above', type=int, default=None,
                   metavar='LD', help='skip the reference where labels x '
                   'width L*d exceeds this (e.g. 300000 skips Delicious '
                   'at d=512, L*d = 503296)')
    p.add_argument('--no-reference', action='store_true',
                   help='time ours only')
    p.add_argument('--baseline-policy', nargs='+', default=[],
                   metavar='FIELD=VALUE', type=policy_change,
                   help='also time our step with these fields of the '
                   'attention policy changed (e.g. '
                   'saved_weights_max_bytes=0, the former default), '
                   'interleaved: baseline_ms and vs_baseline = baseline / '
                   'ours')
    p.add_argument('--baseline-dropout', nargs='+', default=[],
                   metavar='NAME=VALUE', type=dropout_setting,
                   help='... and/or with these module settings of '
                   'lamp_geometric.nn.dropout changed (e.g. '
                   'KEEP_MASK_MAX_ROUNDING=0, 32-bit dropout thresholds)')
    p.add_argument('--allocator', choices=('keep', 'default'),
                   default='keep',
                   help="keep: keep freed memory for reuse "
                   "(lamp_geometric.allocator.keep_freed_memory, what "
                   "experiment.run does unless --no-keep-memory), for both "
                   "models; default: the C library's own settings")
    p.add_argument('--data-dir', default=os.environ.get('LAMP_DATA'))
    p.add_argument('--cache-dir', default=os.environ.get('LAMP_CACHE'))
    args = p.parse_args()
    kept = args.allocator == 'keep' and keep_freed_memory()
    args.baseline_policy = dict(args.baseline_policy)
    args.baseline_dropout = dict(args.baseline_dropout)
    quick = QUICK if args.quick else {}
    datasets = args.datasets or quick.get('datasets', list(DATASETS))
    widths = args.hidden or quick.get('hidden', list(WIDTHS))
    n = args.batches or quick.get('batches', 20)
    args.flop_batches = args.flop_batches or quick.get('flop_batches', 3)
    limit_eval = args.limit_eval or quick.get('limit_eval')
    info = C.start(args)
    gemm, peak = C.gemm_peak(args.quick)
    out = C.out_path(args, __file__)
    results: Dict[str, Any] = dict(
        machine=info, gemm_gflops=gemm,
        config=dict(datasets=datasets, hidden=widths, dtypes=args.dtypes,
                    batches=n, runs=args.runs, warmup=args.warmup,
                    batch_size=BATCH_SIZE, limit_eval=limit_eval,
                    flop_batches=args.flop_batches,
                    skip_reference_above=args.skip_reference_above,
                    encoder='emb', label_graph='fc',
                    allocator=args.allocator, allocator_kept=kept,
                    allocator_choice=allocator_choice()),
        rows=[], skipped={})
    for name in datasets:
        problem = data_problem(name, args.data_dir)
        config = ExperimentConfig(dataset=name, encoder='emb',
                                  label_graph='fc', data_dir=args.data_dir,
                                  cache_dir=args.cache_dir,
                                  limit_eval=limit_eval)
        if problem is None:
            try:
                data = load_data(config, seed=0, verbose=False)
            except Exception as e:  # noqa: BLE001 (reported, not hidden)
                problem = f'{type(e).__name__}: {e}'
        if problem is not None:
            results['skipped'][name] = problem
            print(f'{name}: skipped ({problem})')
            continue
        loaders = make_loaders(data.dataset, data.splits, BATCH_SIZE, seed=0)
        batches, collate_s = draw_batches(loaders[0], n)
        ref_inputs = [(padded_tokens(b, data.input_type),
                       batch_targets(b).nan_to_num(0.0)) for b in batches]
        print(f'\n## {name}: L={len(data.label_names)}, '
              f'{data.input_type}, {len(loaders[0])} steps per epoch, '
              f'{len(batches)} batches', flush=True)
        rows = [measure(config, data, loaders, batches, collate_s,
                        ref_inputs, d, dtype, peak, args)
                for d in widths for dtype in args.dtypes]
        print(throughput_table(rows))
        results['rows'] += rows
        if name != datasets[-1]:
            C.write_json(out, results)  # what is done so far
        del data, loaders, batches, ref_inputs
        gc.collect()
    C.write_json(out, results)


if __name__ == '__main__':
    main()
