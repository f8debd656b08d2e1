r"""Mulan multi-label data sets (ARFF + XML label list), e.g. BibTeX and
Delicious.

Raw layout (``<data_dir>/mulan/<name>/``), as distributed by Mulan::

    <name>-train.arff   training rows (dense or sparse ARFF)
    <name>-test.arff    test rows (same attributes, same order)
    <name>.xml          <labels><label name="..."/>...</labels>

or, for sets distributed without a split, a single ``<name>.arff`` (a random
80/10/10 split by seed is then drawn).  The labels are the attributes named
in the XML file (nested ``<label>`` elements of hierarchical sets included),
wherever they stand in the attribute list; every other attribute is an input
feature.
"""
import os.path as osp
import warnings
import xml.etree.ElementTree as ET
from functools import partial
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from torch_geometric.data import Data

from lamp_geometric.data.arff import ArffAttribute, ArffData, read_arff
from lamp_geometric.data.arff import unescape as _unescape
from lamp_geometric.data.download import (
    default_data_dir,
    download_files,
    find_or_download,
)
from lamp_geometric.data.multilabel import (
    TEST,
    TRAIN,
    MultiLabelDataset,
    SampleArrays,
)

__all__ = ['Mulan', 'ArffFiles', 'BibTeX', 'Delicious', 'read_mulan_labels']

#: Where Mulan's data sets are published (``{name}/{file}`` appended).
MULAN_URL = ('https://raw.githubusercontent.com/tsoumakas/mulan/master/'
             'data/multi-label/')


#: Numeric, non-binary features make a "vector" data set when more than
#: this share of their entries are non-zero (see :class:`Mulan`).
DENSE_SHARE = 0.5


def read_mulan_labels(path: str) -> List[str]:
    r"""Reads the label names of a Mulan XML label file, in document order
    (nested labels of hierarchical sets included).

    Raises:
        ValueError: If the file is not valid XML or names no label.
    """
    try:
        tree = ET.parse(path)
    except ET.ParseError as e:
        raise ValueError(f"'{path}' is not a valid Mulan XML label file: "
                         f"{e}") from e
    names = [el.attrib['name'] for el in tree.iter()
             if el.tag.rsplit('}', 1)[-1] == 'label' and 'name' in el.attrib]
    if not names:
        raise ValueError(f"'{path}' names no <label name=...> element")
    return names


def _match_labels(attributes: Sequence[ArffAttribute], labels: Sequence[str],
                  path: str) -> List[int]:
    r"""Index of every XML label among the attributes. Names are compared
    as written, then with ARFF backslash escapes removed (Mulan writes e.g.
    ``TAG_m\'usica`` in both files)."""
    exact = {a.name: j for j, a in enumerate(attributes)}
    loose = {_unescape(a.name): j for j, a in enumerate(attributes)}
    out, missing = [], []
    for name in labels:
        j = exact.get(name, loose.get(_unescape(name)))
        if j is None:
            missing.append(name)
        else:
            out.append(j)
    if missing:
        raise ValueError(f"{len(missing)} label(s) of the XML file are not "
                         f"attributes of '{path}': {missing[:10]}")
    if len(set(out)) != len(out):
        raise ValueError(f"The XML file names an attribute of '{path}' "
                         f"twice")
    return out


class _FeatureMap:
    r"""Maps the non-label attributes to feature ids: one id per numeric
    attribute (and per nominal attribute whose categories are numbers, such
    as ``{0,1}``), one id per category of any other nominal attribute."""
    def __init__(self, attributes: Sequence[ArffAttribute],
                 label_cols: Sequence[int]):
        self.numeric: Dict[int, Tuple[int, Optional[np.ndarray]]] = {}
        self.onehot: Dict[int, int] = {}  # column -> first id
        self.ignored: List[str] = []
        self.vocab: List[str] = []
        labels = set(label_cols)
        for j, a in enumerate(attributes):
            if j in labels:
                continue
            if a.type == 'numeric':
                self.numeric[j] = (len(self.vocab), None)
                self.vocab.append(a.name)
            elif a.type == 'nominal':
                cats = a.numeric_categories
                if cats is not None:
                    self.numeric[j] = (len(self.vocab), np.asarray(cats))
                    self.vocab.append(a.name)
                else:
                    self.onehot[j] = len(self.vocab)
                    self.vocab += [f'{a.name}={c}' for c in a.categories]
            else:
                self.ignored.append(a.name)

    def convert(self, arff: ArffData,
                dense_ids: Optional[np.ndarray] = None
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""Returns :obj:`(ids, values, ptr)` of the feature nodes: every
        non-zero, non-missing feature value is a node, and every feature of
        :obj:`dense_ids` is a node of every row (value :obj:`0` when absent,
        NaN when missing)."""
        n = arff.num_rows
        rows = np.repeat(np.arange(n), np.diff(arff.indptr))
        cols, vals = arff.indices, arff.values
        num_cols = len(arff.attributes)
        id_of = np.full(num_cols, -1, dtype=np.int64)
        for j, (fid, _) in self.numeric.items():
            id_of[j] = fid
        keep = id_of[cols] >= 0
        r, c, v = rows[keep], cols[keep], vals[keep]
        ids, values = id_of[c], v.astype(np.float64)
        extra_r, extra_id, extra_v = [], [], []
        # Nominal attributes with numeric categories store a category index:
        # map it to the category's number.  When category 0 is not the
        # number 0, absent entries are not zero: densify that column.
        for j, (fid, cats) in self.numeric.items():
            if cats is None:
                continue
            sel = c == j
            finite = sel & ~np.isnan(v)
            values[finite] = cats[v[finite].astype(np.int64)]
            if cats.size and cats[0] != 0:
                present = np.zeros(n, dtype=bool)
                present[r[sel]] = True
                absent = np.flatnonzero(~present)
                extra_r.append(absent)
                extra_id.append(np.full(absent.size, fid))
                extra_v.append(np.full(absent.size, cats[0]))
        for j, first in self.onehot.items():
            col = arff.column(j)
            ok = ~np.isnan(col)
            extra_r.append(np.flatnonzero(ok))
            extra_id.append(first + col[ok].astype(np.int64))
            extra_v.append(np.ones(int(ok.sum())))
        if extra_r:
            r = np.concatenate([r] + extra_r)
            ids = np.concatenate([ids] + extra_id)
            values = np.concatenate([values] + extra_v)
        is_dense = np.zeros(len(self.vocab), dtype=bool)
        if dense_ids is not None and dense_ids.size:
            is_dense[dense_ids] = True
            col = np.full(len(self.vocab), -1, dtype=np.int64)
            col[dense_ids] = np.arange(dense_ids.size)
            table = np.zeros((n, dense_ids.size))
            d = is_dense[ids]
            table[r[d], col[ids[d]]] = values[d]
            r = np.concatenate([r[~d], np.repeat(np.arange(n),
                                                 dense_ids.size)])
            ids = np.concatenate([ids[~d], np.tile(dense_ids, n)])
            values = np.concatenate([values[~d], table.reshape(-1)])
        node = (~np.isnan(values) & (values != 0)) | is_dense[ids]
        r, ids, values = r[node], ids[node], values[node]
        order = np.lexsort((ids, r))
        r, ids, values = r[order], ids[order], values[order]
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(r, minlength=n), out=ptr[1:])
        return ids, values.astype(np.float32), ptr


def _labels(arff: ArffData, label_cols: Sequence[int]) -> np.ndarray:
    r"""The label matrix :obj:`[N, L]` in {0, 1, NaN}."""
    y = np.zeros((arff.num_rows, len(label_cols)), dtype=np.float64)
    rows = np.repeat(np.arange(arff.num_rows), np.diff(arff.indptr))
    pos = np.full(len(arff.attributes), -1, dtype=np.int64)
    pos[list(label_cols)] = np.arange(len(label_cols))
    sel = pos[arff.indices] >= 0
    y[rows[sel], pos[arff.indices[sel]]] = arff.values[sel]
    for k, j in enumerate(label_cols):
        a = arff.attributes[j]
        cats = a.numeric_categories
        if a.type == 'nominal':
            if cats is None:
                raise ValueError(f"Label {a.name!r} of '{arff.path}' is "
                                 f"nominal with categories {a.categories}; "
                                 f"expected {{0,1}}")
            col = y[:, k]
            ok = ~np.isnan(col)
            col[ok] = np.asarray(cats)[col[ok].astype(np.int64)]
        elif a.type != 'numeric':
            raise ValueError(f"Label {a.name!r} of '{arff.path}' has type "
                             f"{a.type}; expected {{0,1}} or numeric")
    bad = ~(np.isnan(y) | (y == 0) | (y == 1))
    if bad.any():
        i, k = np.argwhere(bad)[0]
        raise ValueError(f"'{arff.path}', line {arff.row_lines[i]}: label "
                         f"{arff.attributes[label_cols[k]].name!r} has value "
                         f"{y[i, k]}; labels must be 0, 1 or ? (missing)")
    return y.astype(np.float32)


def _non_binary_ids(converted: Sequence[Tuple[np.ndarray, np.ndarray,
                                             np.ndarray]],
                    num_features: int) -> np.ndarray:
    r"""The feature ids with a value other than 0 and 1 in any part."""
    flag = np.zeros(num_features, dtype=bool)
    for ids, values, _ in converted:
        bad = ~np.isnan(values) & (values != 0) & (values != 1)
        flag[ids[bad]] = True
    return np.flatnonzero(flag)


class Mulan(MultiLabelDataset):
    r"""Any Mulan multi-label data set: ARFF rows (dense or sparse) plus the
    XML file listing the label attributes (see the module documentation for
    the raw layout).

    Every non-zero, non-missing feature value of a row is a feature node
    (bag of words: each present word).  ``x`` holds the feature ids
    (numeric attributes and ``{0,1}`` attributes: one id each; other nominal
    attributes: one id per category, the node present for the row's
    category), ``value`` the values (:obj:`1` for binary features).  ``y``
    holds the label attributes (``?`` gives ``NaN``).  Rows without any
    positive label are kept and counted in
    :obj:`stats['rows_without_label']`.

    Input type: a set whose features are all binary, or mostly zero, is a
    bag of words (:attr:`input_type` :obj:`'bow'`).  When numeric features
    take values other than 0 and 1 and more than :obj:`DENSE_SHARE` of
    their entries are non-zero (e.g. emotions, yeast), the set is a dense
    vector
    (:obj:`'vector'`): every such feature is a node of every row, and its
    values are standardised at load time with the mean and standard
    deviation of this seed's *training* rows (missing values become the
    training mean); :attr:`feature_scaling` keeps those statistics.

    Splits: the given train/test files, with :obj:`val_fraction` of the
    training rows held out for validation at random by :obj:`seed` (the LaMP
    paper holds out 10%); a single ``<name>.arff`` is split 80/10/10 at
    random by :obj:`seed`.

    The raw files are looked up in ``<data_dir>/mulan/<name>/``, then in
    ``<root>/raw/`` (or ``default_cache_dir()/mulan_<name>/raw/``), and
    otherwise downloaded from :obj:`base_url` (Mulan's repository), which
    holds the given-split layout.

    Args:
        name (str): The data set, e.g. :obj:`'bibtex'`, :obj:`'delicious'`.
        data_dir (str, optional): Directory holding ``mulan/<name>/``.
            (default: ``$LAMP_DATA``)
        root (str, optional): Directory of the processed files (and of
            downloaded raw files). (default: under
            :func:`~lamp_geometric.data.default_cache_dir`)
        seed (int, optional): Seed of the validation (or random) split.
            (default: :obj:`0`)
        val_fraction (float, optional): Share of the training rows held out
            for validation. (default: :obj:`0.1`)
        fractions (Sequence[float], optional): Random split fractions when
            there is no given split. (default: :obj:`(0.8, 0.1, 0.1)`)
        files (Sequence[str], optional): The raw file names inside the
            folder: :obj:`(train, test, xml)` or :obj:`(arff, xml)`.
            (default: the Mulan names above, given split first)
        base_url (str, optional): Download location, ``{name}/`` appended.
            (default: :obj:`MULAN_URL`)
        transform (callable, optional): Transform applied on access.
        force_reload (bool, optional): Re-process even if processed files
            exist. (default: :obj:`False`)
        verbose (bool, optional): Print progress. (default: :obj:`True`)

    Raises:
        FileNotFoundError: If the raw files are missing and cannot be
            downloaded.
        ValueError: On a malformed ARFF file (with the line number), XML
            labels missing from the attributes, train and test files with
            different attributes, or label values other than 0, 1 and ?.
    """
    def __init__(
        self,
        name: str,
        data_dir: Optional[str] = None,
        root: Optional[str] = None,
        seed: int = 0,
        val_fraction: float = 0.1,
        fractions: Sequence[float] = (0.8, 0.1, 0.1),
        files: Optional[Sequence[str]] = None,
        base_url: str = MULAN_URL,
        transform: Optional[Callable[[Data], Data]] = None,
        force_reload: bool = False,
        verbose: bool = True,
    ) -> None:
        self.name = name
        self.display_name = f'Mulan {name}'
        folder = osp.join('mulan', name)
        if files is None:
            given = [f'{name}-train.arff', f'{name}-test.arff', f'{name}.xml']
            single = [f'{name}.arff', f'{name}.xml']
            files = given
            data_dir_ = (data_dir if data_dir is not None else
                         default_data_dir())
            if data_dir_ and not all(
                    osp.isfile(osp.join(data_dir_, folder, f))
                    for f in given) and all(
                        osp.isfile(osp.join(data_dir_, folder, f))
                        for f in single):
                files = single
        files = list(files)
        if len(files) not in (2, 3) or not files[-1].endswith('.xml'):
            raise ValueError(f"'files' must be (train.arff, test.arff, "
                             f"labels.xml) or (data.arff, labels.xml) (got "
                             f"{files})")
        urls = {f: f'{base_url.rstrip("/")}/{name}/{f}' for f in files}
        raw = find_or_download(
            self.display_name, folder, files, data_dir, root,
            cache_name=f'mulan_{name}',
            download=partial(download_files, urls, log=verbose),
            source=f'{base_url}{name}/')
        self._files = files
        self._setup({f: raw[f] for f in files}, dict(files=files), root,
                    cache_name=f'mulan_{name}', seed=seed,
                    val_fraction=val_fraction, fractions=fractions,
                    transform=transform, force_reload=force_reload,
                    verbose=verbose)
        if verbose:
            self._warn_ignored()

    def _warn_ignored(self) -> None:
        ignored = self.stats.get('ignored_attributes')
        if ignored:
            warnings.warn(f"{self.display_name}: ignored {len(ignored)} "
                          f"string/date attribute(s) {ignored[:5]}",
                          stacklevel=3)

    def _on_load(self) -> None:
        self.input_type = self.stats.get('input_type', 'bow')
        if self.input_type == 'vector':
            self._standardize_values(self.stats['numeric_features'])

    def build(self) -> SampleArrays:
        files = self._files
        xml = self.raw_files[files[-1]]
        labels = read_mulan_labels(xml)
        parts = [read_arff(self.raw_files[f]) for f in files[:-1]]
        first = parts[0]
        for other in parts[1:]:
            if other.names != first.names:
                diff = next(i for i, (a, b) in enumerate(
                    zip(first.names + [None], other.names + [None]))
                            if a != b)
                raise ValueError(
                    f"'{other.path}' and '{first.path}' declare different "
                    f"attributes (first difference at attribute {diff + 1})")
        label_cols = _match_labels(first.attributes, labels, first.path)
        fmap = _FeatureMap(first.attributes, label_cols)

        # Numeric features with values other than 0 and 1 that are mostly
        # non-zero make a "vector" data set: each is then a node of every
        # row, standardised at load time; binary features stay bag-of-words
        # nodes (present or not).  Mostly-zero values (counts or tf-idf
        # weights of a bag of words) keep one node per non-zero value.
        converted = [fmap.convert(arff) for arff in parts]
        dense_ids = _non_binary_ids(converted, len(fmap.vocab))
        rows = sum(arff.num_rows for arff in parts)
        present = sum(int(np.isin(i, dense_ids).sum()) for i, _, _ in
                      converted)
        if dense_ids.size and present <= DENSE_SHARE * rows * dense_ids.size:
            dense_ids = dense_ids[:0]
        if dense_ids.size:
            converted = [fmap.convert(arff, dense_ids) for arff in parts]
        ids, values, ptrs, ys, splits = [], [], [], [], []
        offset = 0
        stats = dict(relation=first.relation, sparse=first.sparse,
                     num_features=len(fmap.vocab), num_labels=len(labels),
                     input_type='vector' if dense_ids.size else 'bow',
                     numeric_features=dense_ids.tolist(),
                     ignored_attributes=fmap.ignored,
                     rows_without_label={})
        for k, arff in enumerate(parts):
            part = ('train', 'test')[k] if len(parts) == 2 else 'all'
            i, v, p = converted[k]
            stats.setdefault('missing_values', {})[part] = int(
                np.isnan(v).sum())
            y = _labels(arff, label_cols)
            ids.append(i)
            values.append(v)
            ptrs.append(p[1:] + offset if ptrs else p + offset)
            offset += i.size
            ys.append(y)
            if len(parts) == 2:
                splits.append(np.full(arff.num_rows, (TRAIN, TEST)[k]))
            stats[f'num_{part}'] = arff.num_rows
            no_label = ~(y == 1).any(axis=1)
            stats['rows_without_label'][part] = int(no_label.sum())
        y_all = np.concatenate(ys)
        stats['labels_per_sample'] = float(np.nansum(y_all) / len(y_all))
        if self.verbose:
            print(f"{self.display_name}: {stats}")
        return SampleArrays(
            ids=np.concatenate(ids), ptr=np.concatenate(ptrs), y=y_all,
            label_names=labels, vocab=fmap.vocab,
            values=np.concatenate(values),
            split=np.concatenate(splits) if splits else None, stats=stats)


class ArffFiles(Mulan):
    r"""A multi-label data set from ARFF files anywhere on disk (dense or
    sparse rows) and a Mulan XML file naming the label attributes: the
    user's own data in Mulan's format.

    It reads the files as :class:`Mulan` does (feature nodes, the input
    type found from the values, standardisation of dense vectors with the
    training statistics, the split) but takes their paths instead of a
    folder name:

    * :obj:`arff` with two paths ``(train, test)``: the given split, with
      :obj:`val_fraction` of the training rows held out for validation by
      :obj:`seed`;
    * one path: a random 80/10/10 split by :obj:`seed`.

    .. code-block:: python

        from lamp_geometric.data import ArffFiles

        dataset = ArffFiles(['scene-train.arff', 'scene-test.arff'],
                            xml='scene.xml')

    Args:
        arff (Sequence[str]): One or two ARFF files (training, then test).
        xml (str): The Mulan XML label file
            (``<labels><label name="..."/>...</labels>``).
        root (str, optional): Directory of the processed files.
            (default: a folder under
            :func:`~lamp_geometric.data.default_cache_dir` named after the
            first file and a hash of the files)
        seed, val_fraction, fractions, transform, force_reload, verbose:
            As for :class:`Mulan`.

    Raises:
        FileNotFoundError: If a file does not exist.
        ValueError: As :class:`Mulan` (malformed ARFF with the line number,
            labels missing from the attributes, ...), and for a number of
            ARFF files other than one or two.
    """
    def __init__(
        self,
        arff: Sequence[str],
        xml: str,
        root: Optional[str] = None,
        seed: int = 0,
        val_fraction: float = 0.1,
        fractions: Sequence[float] = (0.8, 0.1, 0.1),
        transform: Optional[Callable[[Data], Data]] = None,
        force_reload: bool = False,
        verbose: bool = True,
    ) -> None:
        paths = [arff] if isinstance(arff, str) else list(arff)
        if len(paths) not in (1, 2):
            raise ValueError(f"Give one ARFF file (split at random) or two "
                             f"(train, test); got {len(paths)}")
        if not xml:
            raise ValueError("ARFF files need the XML file naming their "
                             "label attributes (Mulan's format): pass --xml "
                             "LABELS.xml")
        for path in paths + [xml]:
            if not osp.isfile(path):
                raise FileNotFoundError(f"File not found: '{path}'")
        stem = osp.splitext(osp.basename(paths[0]))[0]
        self.name = stem
        self.display_name = osp.basename(paths[0])
        keys = (['train.arff', 'test.arff'] if len(paths) == 2 else
                ['data.arff']) + ['labels.xml']
        self._files = keys
        self._setup(dict(zip(keys, paths + [xml])), dict(files=keys), root,
                    cache_name=f'arff_{stem}', seed=seed,
                    val_fraction=val_fraction, fractions=fractions,
                    transform=transform, force_reload=force_reload,
                    verbose=verbose)
        if verbose:
            self._warn_ignored()


class BibTeX(Mulan):
    r"""The Mulan BibTeX data set (Katakis et al., 2008): 7395 BibSonomy
    entries, 1836 binary bag-of-words features, 159 tags; given split 4880
    train / 2515 test.  See :class:`Mulan` for the arguments (all but
    :obj:`name`)."""
    def __init__(self, data_dir: Optional[str] = None, **kwargs) -> None:
        super().__init__('bibtex', data_dir, **kwargs)


class Delicious(Mulan):
    r"""The Mulan Delicious data set (Tsoumakas et al., 2008): 16105
    bookmarked pages, 500 binary bag-of-words features, 983 tags; given
    split 12920 train / 3185 test (10 train and 4 test rows have no tag).
    See :class:`Mulan` for the arguments (all but :obj:`name`)."""
    def __init__(self, data_dir: Optional[str] = None, **kwargs) -> None:
        super().__init__('delicious', data_dir, **kwargs)
