r"""A generic loader for MoleculeNet-style CSV files (one SMILES column plus
binary label columns) as a :class:`torch_geometric.data.InMemoryDataset`."""
import csv
import gzip
import hashlib
import json
import os
import os.path as osp
import warnings
import zlib
from typing import (IO, Any, Callable, Dict, Iterator, List, Optional,
                    Sequence, Tuple)

import torch
from torch_geometric.data import Data, InMemoryDataset

from lamp_geometric.data.download import default_cache_dir
from lamp_geometric.data.smiles import SmilesError, featurize_smiles
from lamp_geometric.io import atomic_save, atomic_save_json

__all__ = ['MoleculeCSV', 'read_csv_rows']

# Bump when the processed format changes, so stale caches are rebuilt.
_FORMAT_VERSION = 1

# Number of skipped rows listed in the one-line summary before "... and N
# more".
_MAX_LISTED = 10


def _open_text(path: str) -> IO[str]:
    r"""Opens a CSV file as text, decompressing it if its name ends in
    ``.gz``."""
    if path.endswith('.gz'):
        return gzip.open(path, 'rt', newline='', encoding='utf-8-sig')
    return open(path, newline='', encoding='utf-8-sig')


def read_csv_rows(path: str) -> Iterator[Tuple[int, int, List[str]]]:
    r"""Yields :obj:`(first_line, last_line, fields)` for every record of a
    CSV file (1-based line numbers; a quoted field may span lines; a name
    ending in ``.gz`` is decompressed).

    Raises:
        ValueError: Naming the line, if the file is not UTF-8 text or is not
            valid CSV, or naming the file if it is not a valid gzip file.
    """
    with _open_text(path) as f:
        reader = csv.reader(f)
        last = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as e:
                raise ValueError(_decode_error(path, e)) from e
            except csv.Error as e:
                raise ValueError(f"'{path}', line {reader.line_num}: "
                                 f"malformed CSV ({e})") from e
            except (gzip.BadGzipFile, EOFError, zlib.error) as e:
                raise ValueError(f"'{path}': not a valid gzip file "
                                 f"({e})") from e
            yield last + 1, reader.line_num, row
            last = reader.line_num


def _decode_error(path: str, error: UnicodeDecodeError) -> str:
    r"""Locates the first byte that is not UTF-8 in :obj:`path`."""
    with (gzip.open if path.endswith('.gz') else open)(path, 'rb') as f:
        raw = f.read()
    try:
        raw.decode('utf-8')
    except UnicodeDecodeError as e:
        line = raw.count(b'\n', 0, e.start) + 1
        return (f"'{path}', line {line}: not UTF-8 text (byte "
                f"0x{raw[e.start]:02x}: {e.reason}); save the file as UTF-8")
    return f"'{path}': not UTF-8 text ({error.reason})"


def _parse_label(value: str, line: int, column: str, path: str) -> float:
    value = value.strip()
    if value == '':
        return float('nan')
    try:
        number = float(value)
    except ValueError:
        number = float('nan')
    if number not in (0.0, 1.0):
        raise ValueError(
            f"Invalid label value {value!r} in '{path}', line {line}, "
            f"column {column!r}: labels must be 0, 1 or empty (missing)")
    return number


def _format_skipped(skipped: Sequence[Tuple[int, str, str]],
                    num_rows: int) -> str:
    parts = [
        f'row {line} {smiles!r} ({reason})'
        for line, smiles, reason in skipped[:_MAX_LISTED]
    ]
    if len(skipped) > _MAX_LISTED:
        parts.append(f'... and {len(skipped) - _MAX_LISTED} more')
    return f"skipped {len(skipped)} of {num_rows} rows: {', '.join(parts)}"


class MoleculeCSV(InMemoryDataset):
    r"""A molecule data set read from a MoleculeNet-style CSV file: one column
    of SMILES strings and one column per (binary) label.

    Every molecule is featurised by
    :func:`~lamp_geometric.data.featurize_smiles` (the featurisation of
    :func:`torch_geometric.utils.from_smiles`, see
    :obj:`torch_geometric.utils.smiles.x_map` and
    :obj:`~torch_geometric.utils.smiles.e_map`). Each graph holds:

    * ``x``: :obj:`[num_atoms, 9]` long atom features (atomic number,
      chirality, degree, formal charge, number of hydrogens, number of
      radical electrons, hybridisation, aromaticity, ring membership),
    * ``edge_index``: :obj:`[2, num_edges]` (both directions of each bond),
    * ``edge_attr``: :obj:`[num_edges, 3]` long bond features (bond type,
      stereo, conjugation),
    * ``y``: :obj:`[1, num_labels]` float labels; empty cells (missing labels)
      are kept as ``NaN``,
    * ``smiles``: the SMILES string as written in the file,
    * ``idx``: :obj:`[1]` long, the 0-based index of the row among the data
      rows of the CSV file (the header and blank lines do not count).

    Rows whose SMILES is empty, cannot be parsed by RDKit, gives a molecule
    without atoms, or cannot be featurised, are skipped and reported: they are
    listed in :attr:`skipped` and (when :obj:`verbose`) summarised in a
    warning. The list survives reloading from the processed cache.

    The raw CSV file is only read, so it may live in a read-only directory;
    processed files are written under :obj:`root`.

    Args:
        csv_path (str): Path to the CSV file (read through gzip if its name
            ends in ``.gz``).
        root (str, optional): Directory for the processed files (written to
            ``<root>/processed``). Defaults to
            ``default_cache_dir()/<csv stem>_<hash>``, where the hash covers
            the absolute path of the CSV file, the selected columns, and the
            file's size and modification time. (default: :obj:`None`)
        smiles_column (str, optional): Name of the SMILES column.
            (default: :obj:`'smiles'`)
        label_columns (List[str], optional): Names of the label columns, in
            the order wanted. :obj:`None` selects every column except the
            SMILES column, in file order. (default: :obj:`None`)
        transform (callable, optional): Transform applied to each graph on
            access. (default: :obj:`None`)
        pre_transform (callable, optional): Transform applied to each graph
            before saving it to disk. (default: :obj:`None`)
        force_reload (bool, optional): Re-process the data set even if a
            processed version exists. (default: :obj:`False`)
        verbose (bool, optional): Print progress and warn about skipped rows.
            (default: :obj:`True`)

    Attributes:
        skipped (List[Tuple[int, str, str]]): One ``(line, smiles, reason)``
            tuple per skipped row. ``line`` is the row's line number in the
            file, 1-based and counting the header as line 1 (so the first data
            row is line 2); for a record spanning several lines (quoted
            newlines) it is the line where the record ends.
        csv_path (str): Absolute path of the raw CSV file.
        smiles_column (str): Name of the SMILES column.

    Raises:
        FileNotFoundError: If :obj:`csv_path` does not exist.
        ValueError: If the SMILES column or a label column is missing, if a
            label cell holds anything other than ``0``, ``1`` or nothing, or
            if no row gives a valid molecule.
    """
    def __init__(
        self,
        csv_path: str,
        root: Optional[str] = None,
        smiles_column: str = 'smiles',
        label_columns: Optional[Sequence[str]] = None,
        transform: Optional[Callable[[Data], Data]] = None,
        pre_transform: Optional[Callable[[Data], Data]] = None,
        force_reload: bool = False,
        verbose: bool = True,
    ) -> None:
        csv_path = osp.abspath(osp.expanduser(csv_path))
        if not osp.isfile(csv_path):
            raise FileNotFoundError(
                f"CSV file not found: expected it at '{csv_path}'")
        self.csv_path = csv_path
        self.smiles_column = smiles_column
        self.verbose = verbose

        header = self._read_header()
        missing = [smiles_column] if smiles_column not in header else []
        if label_columns is None:
            labels = [c for c in header if c != smiles_column]
        else:
            labels = list(label_columns)
            missing += [c for c in labels if c not in header]
        if missing:
            raise ValueError(
                f"Column(s) {missing} not found in '{csv_path}'; the columns "
                f"are: {header}")
        if not labels:
            raise ValueError(
                f"No label columns in '{csv_path}' (columns: {header})")
        if len(set(labels)) != len(labels) or smiles_column in labels:
            raise ValueError(
                f'Label columns must be distinct and must not include the '
                f'SMILES column {smiles_column!r} (got {labels})')
        self._label_names: List[str] = labels

        self._key = self._cache_key()
        if root is None:
            name = osp.basename(csv_path)
            name = name[:-3] if name.endswith('.gz') else name
            stem = osp.splitext(name)[0]
            root = osp.join(default_cache_dir(), f'{stem}_{self._key[:10]}')

        # Rebuild a processed cache made from another file / other columns.
        meta_path = osp.join(osp.expanduser(root), 'processed', 'meta.json')
        if not force_reload and osp.isfile(meta_path):
            if self._read_meta(meta_path).get('key') != self._key:
                force_reload = True

        self.skipped: List[Tuple[int, str, str]] = []
        self.num_rows = 0
        super().__init__(root, transform, pre_transform, log=verbose,
                         force_reload=force_reload)
        self.load(self.processed_paths[0])
        meta = self._read_meta(self.processed_paths[1])
        self.skipped = [(int(line), str(smiles), str(reason))
                        for line, smiles, reason in meta['skipped']]
        self.num_rows = int(meta['num_rows'])
        if self.skipped and verbose:
            warnings.warn(_format_skipped(self.skipped, self.num_rows),
                          stacklevel=2)

    # Paths ###################################################################

    @property
    def raw_dir(self) -> str:
        return osp.dirname(self.csv_path)

    @property
    def raw_file_names(self) -> List[str]:
        return [osp.basename(self.csv_path)]

    @property
    def processed_file_names(self) -> List[str]:
        return ['data.pt', 'meta.json']

    # Public properties #######################################################

    @property
    def label_names(self) -> List[str]:
        r"""The names of the label columns, in the order of ``y``."""
        return list(self._label_names)

    @property
    def num_labels(self) -> int:
        r"""The number of labels (columns of ``y``)."""
        return len(self._label_names)

    # Helpers #################################################################

    def _read_header(self) -> List[str]:
        for _, _, row in read_csv_rows(self.csv_path):
            if row:
                return [c.strip() for c in row]
        raise ValueError(f"CSV file '{self.csv_path}' is empty")

    def _cache_key(self) -> str:
        stat = os.stat(self.csv_path)
        payload = json.dumps([
            _FORMAT_VERSION, self.csv_path, self.smiles_column,
            self._label_names, stat.st_size, stat.st_mtime_ns
        ])
        return hashlib.sha256(payload.encode()).hexdigest()

    @staticmethod
    def _read_meta(path: str) -> Dict[str, Any]:
        try:
            with open(path, encoding='utf-8') as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    # Processing ##############################################################

    def process(self) -> None:
        path = self.csv_path
        data_list: List[Data] = []
        skipped: List[Tuple[int, str, str]] = []
        num_rows = 0
        header: Optional[List[str]] = None
        for first, line, row in read_csv_rows(path):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # Blank line.
            if header is None:
                header = [c.strip() for c in row]
                smiles_col = header.index(self.smiles_column)
                label_cols = [header.index(c) for c in self._label_names]
                continue
            if len(row) != len(header):
                where = f'line {line}'
                hint = ''
                if first != line:  # A quoted field spans lines.
                    where = f'lines {first}-{line}'
                    hint = ' (is a quote left open?)'
                raise ValueError(
                    f"'{path}', {where}: expected {len(header)} "
                    f"fields, found {len(row)}{hint}")
            idx = num_rows
            num_rows += 1
            ys = [
                _parse_label(row[i], line, header[i], path)
                for i in label_cols
            ]
            smiles = row[smiles_col].strip()
            try:
                data = featurize_smiles(smiles)
            except SmilesError as e:
                skipped.append((line, smiles, e.reason))
                continue
            data.y = torch.tensor(ys, dtype=torch.float).view(1, -1)
            data.idx = torch.tensor([idx], dtype=torch.long)
            if self.pre_transform is not None:
                data = self.pre_transform(data)
            data_list.append(data)

        if not data_list:
            summary = (_format_skipped(skipped, num_rows)
                       if skipped else 'the file has no data rows')
            raise ValueError(
                f"No valid molecule in '{path}' ({summary})")

        # Atomic writes: several processes may build one cache at once.
        data, slices = self.collate(data_list)
        atomic_save((data.to_dict(), slices, data.__class__),
                    self.processed_paths[0])
        meta = {
            'format_version': _FORMAT_VERSION,
            'key': self._key,
            'csv_path': path,
            'smiles_column': self.smiles_column,
            'label_names': self._label_names,
            'num_rows': num_rows,
            'skipped': [list(s) for s in skipped],
        }
        atomic_save_json(meta, self.processed_paths[1], indent=1)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({len(self)})'
