r"""The common representation of non-molecule multi-label data sets (bag of
words, text, dense vectors) as PyG :class:`~torch_geometric.data.Data`
objects, and the processed-file caching shared by their loaders (their raw
files are found by :func:`~lamp_geometric.data.find_or_download`).

Every sample is a set (or sequence) of *feature nodes*:

* ``x``: :obj:`[S]` long -- the id of each feature node: a word id for text
  (in reading order), the index of a present (non-zero) feature for bag of
  words, the feature index for dense vectors,
* ``value``: :obj:`[S]` float (optional) -- the value of each feature node:
  the ARFF value for Mulan sets (:obj:`1` for binary bag of words), the
  expression value for dense vectors; text has none,
* ``y``: :obj:`[1, L]` float -- the targets, ``NaN`` for a missing label,
* ``split``: :obj:`[1]` long -- :obj:`0` train, :obj:`1` validation,
  :obj:`2` test,
* ``idx``: :obj:`[1]` long -- the sample's row in the data set.

A data set exposes :attr:`label_names`, :attr:`num_labels`, :attr:`vocab`
(the name of every feature id) and :attr:`num_features`
(:obj:`len(vocab)`), and its splits as :attr:`train_idx`, :attr:`val_idx`,
:attr:`test_idx` (or :meth:`splits`).  Splits are drawn when the data set is
loaded, by :obj:`seed`, so one processed file serves every seed.

Processed files go to ``<root>/processed`` (by default a folder under
:func:`~lamp_geometric.data.default_cache_dir` named after the data set and a
hash of the raw files and options), so the raw data directory may be
read-only.  The samples are written directly in
:class:`~torch_geometric.data.InMemoryDataset`'s collated layout (one
concatenated ``x`` plus slices), which keeps processing of large sets (e.g.
Delicious, 16k samples) to seconds.
"""
import hashlib
import json
import os
import os.path as osp
from typing import (
    Any,
    Callable,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
)

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data, InMemoryDataset

from lamp_geometric.data.download import default_cache_dir
from lamp_geometric.data.splits import random_split
from lamp_geometric.io import atomic_save, atomic_save_json

__all__ = [
    'MultiLabelDataset',
    'SampleArrays',
    'TRAIN',
    'VAL',
    'TEST',
]

#: Split codes stored in ``data.split``.
TRAIN, VAL, TEST = 0, 1, 2
#: Marker for samples whose split is drawn at load time.
_UNASSIGNED = -1

# Bump when the processed format changes, so stale caches are rebuilt.
_FORMAT_VERSION = 2


class SampleArrays:
    r"""The processed content of a data set before it is written: flat
    NumPy arrays, one entry per feature node or per sample.

    Args:
        ids (numpy.ndarray): Feature ids of all samples, concatenated
            (int64, :obj:`[total_nodes]`).
        ptr (numpy.ndarray): Start of every sample in :obj:`ids`
            (int64, :obj:`[num_samples + 1]`).
        y (numpy.ndarray): Targets (float32, :obj:`[num_samples, L]`).
        label_names (List[str]): The label names.
        vocab (List[str]): The name of every feature id.
        values (numpy.ndarray, optional): Value of every feature node
            (float32, :obj:`[total_nodes]`).
        split (numpy.ndarray, optional): Given split per sample
            (:obj:`TRAIN` or :obj:`TEST`); :obj:`None` when the data set has
            no given split (a random split is drawn at load time).
        stats (dict, optional): Counts to report (JSON-serialisable).
        sample_names (List[str], optional): A name per sample (e.g. the
            gene), kept in the processed metadata.
    """
    def __init__(self, ids: np.ndarray, ptr: np.ndarray, y: np.ndarray,
                 label_names: Sequence[str], vocab: Sequence[str],
                 values: Optional[np.ndarray] = None,
                 split: Optional[np.ndarray] = None,
                 stats: Optional[Dict[str, Any]] = None,
                 sample_names: Optional[Sequence[str]] = None):
        self.ids = np.asarray(ids, dtype=np.int64)
        self.ptr = np.asarray(ptr, dtype=np.int64)
        self.y = np.asarray(y, dtype=np.float32)
        self.label_names = [str(n) for n in label_names]
        self.vocab = [str(v) for v in vocab]
        self.values = (None if values is None else np.asarray(
            values, dtype=np.float32))
        self.split = None if split is None else np.asarray(split, np.int64)
        self.stats = dict(stats or {})
        self.sample_names = (None if sample_names is None else
                             [str(s) for s in sample_names])
        n = self.ptr.shape[0] - 1
        if self.sample_names is not None and len(self.sample_names) != n:
            raise ValueError(f"'sample_names' must have {n} entries")
        if self.y.ndim != 2 or self.y.shape[0] != n:
            raise ValueError(f"'y' must have shape [{n}, num_labels] (got "
                             f"{list(self.y.shape)})")
        if self.y.shape[1] != len(self.label_names):
            raise ValueError(f"'y' has {self.y.shape[1]} columns but there "
                             f"are {len(self.label_names)} label names")
        if self.ptr[0] != 0 or self.ptr[-1] != self.ids.shape[0]:
            raise ValueError("'ptr' must start at 0 and end at len(ids)")
        if self.values is not None and self.values.shape != self.ids.shape:
            raise ValueError("'values' must have the shape of 'ids'")
        if self.ids.size and (self.ids.min() < 0
                              or self.ids.max() >= len(self.vocab)):
            raise ValueError(f"feature ids must lie in [0, "
                             f"{len(self.vocab) - 1}]")

    @property
    def num_samples(self) -> int:
        return int(self.ptr.shape[0] - 1)


def _collated(arrays: SampleArrays) -> Tuple[Dict[str, Tensor],
                                              Dict[str, Tensor]]:
    r"""The :class:`InMemoryDataset` storage of :obj:`arrays`."""
    n = arrays.num_samples
    per_sample = torch.arange(n + 1, dtype=torch.long)
    ptr = torch.from_numpy(arrays.ptr)
    split = (np.full(n, _UNASSIGNED, dtype=np.int64)
             if arrays.split is None else arrays.split)
    data = dict(
        x=torch.from_numpy(arrays.ids),
        y=torch.from_numpy(arrays.y),
        split=torch.from_numpy(split.copy()),
        idx=torch.arange(n, dtype=torch.long),
    )
    slices = dict(x=ptr, y=per_sample, split=per_sample.clone(),
                  idx=per_sample.clone())
    if arrays.values is not None:
        data['value'] = torch.from_numpy(arrays.values)
        slices['value'] = ptr.clone()
    return data, slices


class MultiLabelDataset(InMemoryDataset):
    r"""Base class of the non-molecule multi-label data sets (see the module
    documentation for the sample layout).

    Subclasses find their raw files, then call :meth:`_setup` from their
    :obj:`__init__` and implement :meth:`build` (raw files ->
    :class:`SampleArrays`).  They may override :meth:`_on_load` (per-seed,
    in-memory adjustments such as a training-split vocabulary).  Their prior
    label graph of LaMP\ :sub:`pr` is built by
    :func:`lamp_geometric.graphs.dataset_prior` (co-occurrence on the
    training split unless the data set has a known graph).

    Setup Args:
        raw_files (Dict[str, str]): File name -> path of every raw file.
        options (dict): Processing options (part of the cache key).
        root (str, optional): Directory of the processed files.
        cache_name (str): Prefix of the default root folder.
        seed (int): Seed of the split.
        val_fraction (float): Share of the given training split held out
            for validation (data sets with a given train/test split).
        fractions (Sequence[float]): Train/validation/test fractions of the
            random split (data sets without a given split).
    """
    #: Human-readable name for messages.
    display_name: str = 'data set'
    #: The kind of input (:obj:`'bow'`, :obj:`'sequence'` or
    #: :obj:`'vector'`, see
    #: :data:`lamp_geometric.nn.feature_encoders.INPUT_TYPES`); it picks
    #: the feature encoder and the linear baseline's input.
    input_type: str = 'bow'
    #: Per-feature standardisation applied at load time, or :obj:`None`:
    #: :obj:`{'ids': [...], 'mean': [...], 'std': [...]}` (JSON-ready, so a
    #: checkpoint can apply the same scaling to new samples).
    feature_scaling: Optional[Dict[str, List[float]]] = None
    #: Texts whose vocabulary is that of the training split: the feature
    #: ids a sample may hold after rare and unseen words became
    #: :obj:`'<unk>'` (sorted), or :obj:`None` when every id of
    #: :attr:`vocab` is in use.
    known_ids: Optional[List[int]] = None

    # Set up ##################################################################

    def _setup(
        self,
        raw_files: Dict[str, str],
        options: Dict[str, Any],
        root: Optional[str],
        cache_name: str,
        seed: int = 0,
        val_fraction: float = 0.1,
        fractions: Sequence[float] = (0.8, 0.1, 0.1),
        transform: Optional[Callable[[Data], Data]] = None,
        force_reload: bool = False,
        verbose: bool = True,
    ) -> None:
        if not 0.0 <= float(val_fraction) < 1.0:
            raise ValueError(f"'val_fraction' must be in [0, 1) (got "
                             f"{val_fraction})")
        self.raw_files = {k: osp.abspath(v) for k, v in raw_files.items()}
        self.options = dict(options)
        self.seed = int(seed)
        self.val_fraction = float(val_fraction)
        self.fractions = tuple(float(f) for f in fractions)
        self.verbose = verbose
        self._key = self._cache_key()
        if root is None:
            root = osp.join(default_cache_dir(),
                            f'{cache_name}_{self._key[:10]}')
        meta_path = osp.join(osp.expanduser(root), 'processed', 'meta.json')
        if not force_reload and osp.isfile(meta_path):
            if _read_json(meta_path).get('key') != self._key:
                force_reload = True
        super().__init__(root, transform, None, log=verbose,
                         force_reload=force_reload)
        self.load(self.processed_paths[0])
        self._meta = _read_json(self.processed_paths[1])
        self._label_names: List[str] = list(self._meta['label_names'])
        self._vocab: List[str] = list(self._meta['vocab'])
        self.stats: Dict[str, Any] = dict(self._meta.get('stats', {}))
        self._assign_splits()
        self._on_load()

    def _cache_key(self) -> str:
        files = []
        for name in sorted(self.raw_files):
            path = self.raw_files[name]
            stat = os.stat(path)
            files.append([name, path, stat.st_size, stat.st_mtime_ns])
        payload = json.dumps([_FORMAT_VERSION, type(self).__name__, files,
                              self.options], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()

    # InMemoryDataset plumbing ################################################

    @property
    def raw_dir(self) -> str:
        first = next(iter(self.raw_files.values()))
        return osp.dirname(first)

    @property
    def raw_file_names(self) -> List[str]:
        return [osp.relpath(p, self.raw_dir) for p in self.raw_files.values()]

    @property
    def processed_file_names(self) -> List[str]:
        return ['data.pt', 'meta.json']

    def download(self) -> None:  # pragma: no cover - files found in __init__
        raise FileNotFoundError(f'{self.display_name}: raw files missing')

    def process(self) -> None:
        arrays = self.build()
        data, slices = _collated(arrays)
        # Atomic writes: several processes may build one cache at once.
        atomic_save((data, slices, Data), self.processed_paths[0])
        meta = dict(format_version=_FORMAT_VERSION, key=self._key,
                    raw_files=self.raw_files, options=self.options,
                    label_names=arrays.label_names, vocab=arrays.vocab,
                    given_split=arrays.split is not None, stats=arrays.stats,
                    sample_names=arrays.sample_names)
        atomic_save_json(meta, self.processed_paths[1])

    def build(self) -> SampleArrays:
        r"""Reads the raw files (:attr:`raw_files`) into flat arrays."""
        raise NotImplementedError

    # Splits ##################################################################

    def _assign_splits(self) -> None:
        split = self._data.split
        n = split.numel()
        if bool(self._meta.get('given_split')):
            given = split.clone()
            given[given == VAL] = TRAIN  # a previous seed's assignment
            train = (given == TRAIN).nonzero().view(-1)
            num_val = int(np.floor(self.val_fraction * train.numel() + 0.5))
            gen = torch.Generator().manual_seed(self.seed)
            perm = train[torch.randperm(train.numel(), generator=gen)]
            given[perm[:num_val]] = VAL
            split.copy_(given)
        else:
            train, val, test = random_split(n, self.fractions, seed=self.seed)
            split[train], split[val], split[test] = TRAIN, VAL, TEST

    def _on_load(self) -> None:
        r"""Hook for per-seed, in-memory adjustments after the split."""

    def _mask_rare_tokens(self, min_count: int, unk: int) -> None:
        r"""Training-split vocabulary for text: token ids seen fewer than
        :obj:`min_count` times in this seed's training samples become
        :obj:`unk` (ids 0 and 1, padding and unknown, are always kept);
        keeps the ids left in :attr:`known_ids` and records
        :obj:`train_vocab_size` and :obj:`unk_tokens` in :obj:`stats`."""
        x = self._data.x
        counts = torch.diff(self.slices['x'])
        sample = torch.repeat_interleave(torch.arange(counts.numel()),
                                         counts)
        in_train = (self._data.split == TRAIN)[sample]
        freq = torch.bincount(x[in_train], minlength=self.num_features)
        known = freq >= min_count
        known[:2] = True  # <pad>, <unk>
        unknown = ~known[x]
        x[unknown] = unk
        self.known_ids = known.nonzero().view(-1).tolist()
        self.stats['train_vocab_size'] = int(known.sum())
        self.stats['unk_tokens'] = int(unknown.sum())

    def _standardize_values(self, feature_ids: Optional[Sequence[int]] = None
                            ) -> None:
        r"""Standardises :obj:`value` in place, per feature id, with the mean
        and standard deviation of the *training* samples of this split
        (missing values, NaN, are ignored by the statistics and then set to
        the training mean, i.e. 0).  Only the ids in :obj:`feature_ids`
        (default: all) are touched; a feature that is constant in training
        keeps a standard deviation of 1.  The statistics are kept in
        :attr:`feature_scaling`."""
        data = self._data
        value: Tensor = data.value
        ids = data.x.view(-1)
        num = self.num_features
        chosen = torch.zeros(num, dtype=torch.bool)
        if feature_ids is None:
            chosen[:] = True
        else:
            chosen[torch.as_tensor(list(feature_ids), dtype=torch.long)] = True
        counts = self.slices['x'].diff()
        sample = torch.repeat_interleave(torch.arange(counts.numel()), counts)
        v = value.double()
        ok = (data.split[sample] == TRAIN) & ~v.isnan()
        cnt = torch.bincount(ids[ok], minlength=num).double()
        s1 = torch.bincount(ids[ok], weights=v[ok], minlength=num)
        s2 = torch.bincount(ids[ok], weights=v[ok] ** 2, minlength=num)
        mean = torch.where(cnt > 0, s1 / cnt.clamp(min=1), 0.)
        var = (s2 - cnt * mean ** 2).clamp(min=0) / (cnt - 1).clamp(min=1)
        std = var.sqrt()
        std = torch.where(std > 1e-6, std, torch.ones_like(std))
        node = chosen[ids]
        f = ids[node]
        out = (v[node] - mean[f]) / std[f]
        value[node] = torch.nan_to_num(out, nan=0.0).to(value.dtype)
        keep = chosen.nonzero().view(-1)
        self.feature_scaling = dict(ids=keep.tolist(),
                                    mean=mean[keep].tolist(),
                                    std=std[keep].tolist())
        self.stats['standardized_with'] = (
            f'training mean/std of {keep.numel()} feature(s)')

    def feature_matrix(self, index: Optional[Tensor] = None) -> Any:
        r"""The samples as a sparse matrix :obj:`[N, num_features]`
        (:class:`scipy.sparse.csr_matrix`, float64), the input of linear
        models: entry :math:`(i, f)` sums the values of sample :math:`i`'s
        feature nodes with id :math:`f` -- bag-of-words counts (binary
        features give 1), standardised values of vectors (as the network
        sees them), token counts of texts (which carry no values).

        Args:
            index (torch.Tensor, optional): The samples to take, in order.
                (default: all)
        """
        from scipy.sparse import csr_matrix

        counts = self.slices['x'].diff()
        ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        ids = self._data.x.view(-1)
        value = getattr(self._data, 'value', None)
        vals = (torch.ones(ids.numel(), dtype=torch.float64)
                if value is None or self.input_type == 'sequence'
                else value.double())
        full = csr_matrix((vals.numpy(), ids.numpy(), ptr.numpy()),
                          shape=(counts.numel(), self.num_features))
        full.sum_duplicates()
        if index is None:
            return full
        return full[torch.as_tensor(index, dtype=torch.long).numpy()]

    def _split_indices(self, code: int) -> Tensor:
        return (self._data.split == code).nonzero().view(-1)

    @property
    def train_idx(self) -> Tensor:
        r"""Sorted indices of the training samples."""
        return self._split_indices(TRAIN)

    @property
    def val_idx(self) -> Tensor:
        r"""Sorted indices of the validation samples."""
        return self._split_indices(VAL)

    @property
    def test_idx(self) -> Tensor:
        r"""Sorted indices of the test samples."""
        return self._split_indices(TEST)

    def splits(self) -> Tuple[Tensor, Tensor, Tensor]:
        r"""Returns :obj:`(train_idx, val_idx, test_idx)`."""
        return self.train_idx, self.val_idx, self.test_idx

    @property
    def has_given_split(self) -> bool:
        r"""Whether the test split is given by the data set (otherwise all
        three splits are random by :obj:`seed`)."""
        return bool(self._meta.get('given_split'))

    # Public properties #######################################################

    @property
    def label_names(self) -> List[str]:
        r"""The label names, in the order of the columns of ``y``."""
        return list(self._label_names)

    @property
    def num_labels(self) -> int:
        r"""The number of labels :math:`L`."""
        return len(self._label_names)

    @property
    def vocab(self) -> List[str]:
        r"""The name of every feature id (a word, a feature name)."""
        return list(self._vocab)

    @property
    def num_features(self) -> int:
        r"""The number of feature ids (:obj:`len(vocab)`), i.e. the size of
        the embedding table an encoder needs."""
        return len(self._vocab)

    @property
    def sample_names(self) -> Optional[List[str]]:
        r"""A name per sample (row order) when the data set has them (e.g.
        the genes of :class:`~lamp_geometric.data.TFPPI`), else
        :obj:`None`."""
        names = self._meta.get('sample_names')
        return list(names) if names is not None else None

    @property
    def label_matrix(self) -> Tensor:
        r"""The targets of all samples :obj:`[N, L]` (``NaN``: missing)."""
        return self._data.y

    @property
    def prior_name(self) -> str:
        r"""What :func:`lamp_geometric.graphs.dataset_prior` builds for
        this data set, for messages."""
        return 'co-occurrence in the training split'

    def summary(self) -> str:
        r"""A one-line description with the split sizes."""
        return (f"{self.display_name}: {len(self)} samples, "
                f"{self.num_labels} labels, {self.num_features} feature ids; "
                f"split {self.train_idx.numel()}/{self.val_idx.numel()}/"
                f"{self.test_idx.numel()} (seed {self.seed})")

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({len(self)}, '
                f'num_labels={self.num_labels}, '
                f'num_features={self.num_features})')


def _read_json(path: str) -> Dict[str, Any]:
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
