r"""Shared helpers of the benchmark scripts: argument parsing, timing,
machine description, FLOP counting, GEMM peak rates, peak memory of a
configuration in a fresh subprocess, and JSON/table output."""
import argparse
import gc
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

ROOT = Path(__file__).resolve().parent


def parser(description: str, runs: int = 5,
           warmup: int = 2) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument('--runs', type=int, default=runs,
                   help='timed repeats; the median is reported')
    p.add_argument('--warmup', type=int, default=warmup,
                   help='untimed repeats before timing')
    p.add_argument('--quick', action='store_true',
                   help='tiny sizes and few repeats (a smoke test)')
    p.add_argument('--threads', type=int, default=None,
                   help='torch.set_num_threads (default: 2, or 1 with '
                   '--quick)')
    p.add_argument('--out', type=str, default=None,
                   help='JSON file to write (default: results.json, or '
                   'results_quick.json with --quick, next to the script)')
    return p


def setup(args: argparse.Namespace) -> None:
    if args.threads is None:
        # A smoke test on a shared CI machine: one thread avoids waiting at
        # the barriers of a second, descheduled one.
        args.threads = 1 if args.quick else 2
    torch.set_num_threads(args.threads)
    if args.quick:
        args.runs = 1
        args.warmup = min(args.warmup, 1)


def out_path(args: argparse.Namespace, script: str,
             stem: str = 'results') -> Path:
    r""":obj:`--out`, or :obj:`{stem}.json` (:obj:`{stem}_quick.json` with
    :obj:`--quick`) next to :obj:`script`."""
    if args.out:
        return Path(args.out)
    name = f'{stem}_quick.json' if args.quick else f'{stem}.json'
    return Path(script).resolve().parent / name


def cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(args: Optional[argparse.Namespace] = None) -> Dict[str, Any]:
    import torch_geometric
    info = dict(
        cpu=cpu_model(),
        logical_cpus=os.cpu_count(),
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        torch_geometric=torch_geometric.__version__,
        python=platform.python_version(),
        loadavg_start=list(os.getloadavg()),
    )
    try:
        import torch_scatter  # noqa: F401
        info['torch_scatter'] = True
    except ImportError:
        info['torch_scatter'] = False  # PyG uses native scatter_reduce_
    # Settings that change how memory is allocated or threads are used.
    env = {k: v for k, v in sorted(ENV_AT_IMPORT.items())
           if k.startswith(ENV_PREFIXES)}
    if env:
        info['env'] = env
    if args is not None:
        info['argv'] = ' '.join([f'{k}={v}' for k, v in env.items()] +
                                ['python'] + _rel_argv())
    return info


#: Environment variables recorded with every run (and put in front of its
#: command line): the C allocator's and the thread pools' settings, as the
#: command was given them (some libraries set KMP_* when imported).
ENV_PREFIXES = ('MALLOC_', 'OMP_', 'MKL_', 'KMP_', 'LD_PRELOAD')
ENV_AT_IMPORT = dict(os.environ)


def _rel_argv() -> List[str]:
    argv = list(sys.argv)
    try:
        argv[0] = os.path.relpath(argv[0], ROOT.parent)
    except ValueError:
        pass
    return argv


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs)) if xs else math.nan


def time_interleaved(fns: Dict[str, Callable[[], Any]], runs: int,
                     warmup: int) -> Dict[str, List[float]]:
    r"""Times every function :obj:`runs` times with
    :func:`time.perf_counter`, interleaved (a, b, c, a, b, c, ...) so that
    a change of machine load hits all of them alike.  Returns the seconds of
    every repeat."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: Dict[str, List[float]] = {k: [] for k in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            gc.collect()
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return times


def with_settings(fn: Callable[..., Any], owner: Any,
                  **settings: Any) -> Callable[..., Any]:
    r""":obj:`fn`, run with the attributes :obj:`settings` of :obj:`owner`
    (e.g. a method replaced by a spy) set for the duration of each call and
    restored afterwards."""
    def run(*args: Any, **kwargs: Any) -> Any:
        old = {name: getattr(owner, name) for name in settings}
        for name, value in settings.items():
            setattr(owner, name, value)
        try:
            return fn(*args, **kwargs)
        finally:
            for name, value in old.items():
                setattr(owner, name, value)
    return run


def with_policy(fn: Callable[..., Any], **changes: Any) -> Callable[..., Any]:
    r""":obj:`fn`, run with the fields :obj:`changes` of the current
    attention policy changed for the duration of each call (e.g.
    ``factored_max_cost=0.0``; see
    :class:`~lamp_geometric.nn.attention.AttentionPolicy`)."""
    from lamp_geometric.nn.attention import attention_policy

    def run(*args: Any, **kwargs: Any) -> Any:
        with attention_policy(**changes):
            return fn(*args, **kwargs)
    return run


def paired_ratio(base: List[float], other: List[float]) -> float:
    r"""Median over repeats of :obj:`base[i] / other[i]` (paired, same
    repeat): how many times faster :obj:`other` is."""
    return median([b / o for b, o in zip(base, other)])


# FLOP counting ###############################################################

def _shape(x):
    return x.shape if isinstance(x, torch.Tensor) else x


def _sdpa_cpu_flops(q, k, v, *args, **kwargs) -> int:
    from torch.utils.flop_counter import sdpa_flop_count
    return sdpa_flop_count(_shape(q), _shape(k), _shape(v))


def _sdpa_cpu_backward_flops(grad_out, q, k, v, *args, **kwargs) -> int:
    from torch.utils.flop_counter import sdpa_backward_flop_count
    return sdpa_backward_flop_count(_shape(grad_out), _shape(q), _shape(k),
                                    _shape(v))


def count_flops(fn: Callable[[], Any]) -> int:
    r"""FLOPs of one call of :obj:`fn` as counted by
    :class:`torch.utils.flop_counter.FlopCounterMode` (matrix products and
    attention, forward and backward), with PyTorch's CPU fused attention
    kernels added.  Gathers, scatters and elementwise work are not
    counted."""
    from torch.utils.flop_counter import FlopCounterMode
    aten = torch.ops.aten
    mapping = {
        aten._scaled_dot_product_flash_attention_for_cpu:
        _sdpa_cpu_flops,
        aten._scaled_dot_product_flash_attention_for_cpu_backward:
        _sdpa_cpu_backward_flops,
    }
    with FlopCounterMode(display=False, custom_mapping=mapping) as mode:
        fn()
    return int(mode.get_total_flops())


def start(args: argparse.Namespace) -> Dict[str, Any]:
    r"""Sets up a benchmark run (:func:`setup`), prints the machine line
    and returns :func:`machine`'s description."""
    setup(args)
    info = machine(args)
    print(f"{info['cpu']}, {info['threads']} threads, torch {info['torch']},"
          f" load {info['loadavg_start']}")
    return info


def gemm_peak(quick: bool = False) -> Tuple[Dict[str, float],
                                            Dict[str, float]]:
    r"""Measures the GEMM rates (:func:`gemm_rates`), prints them and
    returns :obj:`(rates, peak)` with the best rate per dtype
    (:obj:`'fp32'`, :obj:`'bf16'`)."""
    gemm = gemm_rates(quick)
    print('GEMM GFLOP/s: ' + ', '.join(f'{k} {v:.0f}' for k, v in
                                        gemm.items()))
    peak = {dt: max(v for k, v in gemm.items() if k.startswith(dt))
            for dt in ('fp32', 'bf16')}
    return gemm, peak


def gemm_rates(quick: bool = False) -> Dict[str, float]:
    r"""Measured GEMM rates in GFLOP/s (median of repeats) for float32 and
    bfloat16 at the shape of one projection of the SIDER-shaped batch
    (864 x 512 x 512) and at 2048^3 (1024^3 with ``quick``)."""
    big = 1024 if quick else 2048
    out: Dict[str, float] = {}
    for dtype, name in ((torch.float32, 'fp32'), (torch.bfloat16, 'bf16')):
        for m, k, n in ((864, 512, 512), (big, big, big)):
            a = torch.randn(m, k).to(dtype)
            b = torch.randn(k, n).to(dtype)
            reps = 3 if quick else (20 if m < 1000 else 5)
            for _ in range(2):
                a @ b
            ts = []
            for _ in range(reps):
                t = time.perf_counter()
                a @ b
                ts.append(time.perf_counter() - t)
            out[f'{name}_{m}x{k}x{n}'] = 2 * m * k * n / median(ts) / 1e9
    return out


# Peak memory in a fresh process ##############################################

def rss_bytes() -> int:
    r"""Current resident set size of this process."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def max_rss_bytes() -> int:
    r"""Peak resident set size of this process (``VmHWM``, which starts
    afresh at ``exec`` and at :func:`reset_peak_rss`; ``ru_maxrss`` would
    carry over a parent's peak through ``fork``/``exec``)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_rss() -> bool:
    r"""Resets this process's peak RSS to its current RSS (Linux
    ``/proc/self/clear_refs``); returns whether that worked."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def run_child(script: str, config: Dict[str, Any],
              fn: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None,
              inprocess: bool = False, timeout: float = 3600
              ) -> Dict[str, Any]:
    r"""Runs :obj:`script --child '<json>'` in a fresh Python process and
    returns the JSON object it prints on its last line of stdout (or the
    error).  With :obj:`inprocess` (``--quick``), calls :obj:`fn(config)`
    here instead: no process start-up, but its memory numbers then share
    this process's peak and mean little."""
    if inprocess and fn is not None:
        try:
            return fn(config)
        except Exception as e:  # noqa: BLE001
            return dict(error=f'{type(e).__name__}: {e}')
    cmd = [sys.executable, script, '--child', json.dumps(config)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(error=f'timeout after {timeout:.0f}s')
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith('{')]
    if res.returncode != 0 or not lines:
        tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
        return dict(error=f'exit {res.returncode}: ' + ' | '.join(tail))
    return json.loads(lines[-1])


def measure_peak(step: Callable[[], Any], steps: int = 2,
                 faults: bool = False) -> Dict[str, Any]:
    r"""To be called in a fresh child process after building the model and
    inputs: resets the peak RSS, runs :obj:`step` :obj:`steps` times and
    returns the growth of the peak RSS over the RSS before the first step
    and the time of each step.  With :obj:`faults`, then runs one more step
    and returns its minor page faults and system CPU time: memory that the
    C allocator handed back to the system and takes again, in a step that
    keeps nothing new."""
    gc.collect()
    reset = reset_peak_rss()
    before = rss_bytes()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    peak = max_rss_bytes()
    res = dict(peak_rss_growth_bytes=max(0, peak - before),
               peak_rss_bytes=peak, rss_before_bytes=before,
               peak_reset=reset, child_step_seconds=times)
    if faults:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        step()
        after = resource.getrusage(resource.RUSAGE_SELF)
        res.update(minor_faults_per_step=after.ru_minflt - usage.ru_minflt,
                   system_seconds_per_step=after.ru_stime - usage.ru_stime)
    return res


def allocated_peak(step: Callable[[], Any]) -> Optional[int]:
    r"""Peak of the bytes allocated by PyTorch during one call of
    :obj:`step` (run under :class:`torch.profiler.profile` with memory
    profiling; tensors alive before the call, such as parameters and
    optimizer state, are not counted).  Unlike the RSS it excludes memory
    the C allocator keeps after ``free``.  :obj:`None` if the (private)
    memory-timeline API is unavailable."""
    try:
        import numpy as np
        from torch.profiler import profile
        from torch.profiler._memory_profiler import MemoryProfileTimeline
        with profile(profile_memory=True, record_shapes=True,
                     with_stack=True) as prof:
            step()
        timeline = MemoryProfileTimeline(prof._memory_profile())
        _, sizes = timeline._coalesce_timeline('cpu')
        sizes = np.asarray(sizes)
        total = sizes.sum(axis=1) if sizes.ndim == 2 else sizes
        return int(total.max())
    except Exception:  # noqa: BLE001
        return None


# Output ######################################################################

def write_json(path: Path, payload: Dict[str, Any]) -> None:
    payload.setdefault('machine', {})['loadavg_end'] = list(os.getloadavg())
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(payload, f, indent=1, default=_jsonable)
        f.write('\n')
    print(f'wrote {os.path.relpath(path)}')


def _jsonable(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, Path):
        return str(x)
    return str(x)


def table(rows: List[Dict[str, Any]], columns: Sequence[str]) -> str:
    r"""A Markdown table of :obj:`rows` restricted to :obj:`columns`."""
    def fmt(v: Any) -> str:
        if v is None:
            return '-'
        if isinstance(v, float):
            if not math.isfinite(v):
                return '-'
            if abs(v) >= 100:
                return f'{v:.0f}'
            if abs(v) >= 10:
                return f'{v:.1f}'
            return f'{v:.2f}'
        return str(v)
    lines = ['| ' + ' | '.join(columns) + ' |',
             '|' + '|'.join('---' for _ in columns) + '|']
    for r in rows:
        lines.append('| ' + ' | '.join(fmt(r.get(c)) for c in columns) +
                     ' |')
    return '\n'.join(lines)


def gib(x: Optional[float]) -> Optional[float]:
    return None if x is None else x / 2**30


def mib(x: Optional[float]) -> Optional[float]:
    return None if x is None else x / 2**20
