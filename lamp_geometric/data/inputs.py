r"""New inputs for a trained model, featurised as its training data was.

A :class:`FeatureSpec` records how a data set turns raw inputs into the
samples a model sees (the sample layout of
:mod:`lamp_geometric.data.multilabel`, or molecular graphs), so that a
checkpoint can featurise new inputs in the same way:

* molecules (:obj:`'molecule'`): SMILES strings, featurised by
  :func:`~lamp_geometric.data.featurize_smiles`;
* bag of words (:obj:`'bow'`) and numeric vectors (:obj:`'vector'`): the
  values of the named features of the training data (:attr:`vocab`); every
  non-zero value is a feature node, and the numeric features of a vector
  set are a node of every row, standardised with the training mean and
  standard deviation (a missing value becomes the training mean, i.e. 0);
* texts (:obj:`'sequence'`): raw text tokenised as in training
  (:func:`~lamp_geometric.data.reuters.tokenize`: lowercase unless the
  data set kept case, runs of ASCII letters and digits, the first
  :obj:`max_length` tokens); words outside the training vocabulary become
  :obj:`'<unk>'`.

:func:`read_inputs` reads a file of new inputs, one :class:`InputRow` per
input, by its extension:

========= ================================= ===============================
file      molecules, texts                  bag of words, vectors
========= ================================= ===============================
``.csv``  a SMILES (or text) column         one column per feature, named
                                            as in training
``.arff`` --                                the training attributes (dense
                                            or sparse rows)
``.txt``  one SMILES (or document) per line --
========= ================================= ===============================

Label columns or attributes (named as the labels) are ignored, and so are
other columns that are not features (reported in the notes).  A feature of
the training data missing from the file is an error naming it; an input
that cannot be read (an invalid SMILES, a text without a word, a cell that
is not a number, a row with too few fields) keeps its place with an
:obj:`error` naming its line.
"""
import math
import os.path as osp
from dataclasses import dataclass
from typing import (
    Any,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

import numpy as np
import torch
from torch_geometric.data import Data

from lamp_geometric.data.arff import read_arff
from lamp_geometric.data.molecule_csv import read_csv_rows
from lamp_geometric.data.reuters import UNK, tokenize
from lamp_geometric.data.smiles import featurize_smiles

__all__ = ['FeatureSpec', 'InputRow', 'read_inputs', 'INPUT_FILE_TYPES',
           'INPUT_KINDS']

#: The input types a :class:`FeatureSpec` knows.
SPEC_TYPES = ('molecule', 'bow', 'sequence', 'vector')
#: The extensions :func:`read_inputs` reads, per input type.
INPUT_FILE_TYPES: Dict[str, Tuple[str, ...]] = dict(
    molecule=('.csv', '.txt'), sequence=('.csv', '.txt'),
    bow=('.csv', '.arff'), vector=('.csv', '.arff'))
#: What the inputs of each type are, in words (for messages).
INPUT_KINDS: Dict[str, str] = dict(molecule='molecules', sequence='texts',
                                   bow='bag-of-words rows',
                                   vector='numeric rows')
#: Cell values read as a missing value in a CSV file.
MISSING = ('', '?', 'nan', 'NaN', 'NA')
#: Numbers of skipped lines listed in a note before '...'.
_SHOWN = 10


@dataclass
class InputRow:
    r"""One new input, read and featurised.

    Attributes:
        id (str): Where it came from: its 1-based line in the file (the
            last line of a CSV record), or its 1-based position in a list.
        text (str, optional): The raw input (SMILES or text); :obj:`None`
            for rows of features.
        data (Data, optional): The featurised sample (:obj:`None` when the
            input could not be read).
        feature_names (list of str, optional): The name of each feature
            node of :obj:`data` (the words of a text, as read; the feature
            names of a row); :obj:`None` for molecules.
        error (str, optional): Why the input could not be read.
    """
    id: str
    text: Optional[str] = None
    data: Optional[Data] = None
    feature_names: Optional[List[str]] = None
    error: Optional[str] = None


@dataclass
class FeatureSpec:
    r"""How a data set featurises its inputs (see the module
    documentation).

    Attributes:
        input_type (str): :obj:`'molecule'`, :obj:`'bow'`,
            :obj:`'sequence'` or :obj:`'vector'`.
        vocab (list of str, optional): The name of every feature id (a word,
            a feature name); :obj:`None` entries are ids a text never holds
            after training (words unseen in the training split).
            :obj:`None` for molecules.
        lowercase (bool): Texts: lowercase before tokenising.
        max_length (int, optional): Texts: tokens kept per document.
        scaling (dict, optional): Vectors: :obj:`{'ids', 'mean', 'std'}`,
            the training statistics of the standardised features (each a
            node of every row).
        smiles_column (str): Molecules: the SMILES column of the training
            file (the default column of a CSV of new molecules).
    """
    input_type: str
    vocab: Optional[List[Optional[str]]] = None
    lowercase: bool = True
    max_length: Optional[int] = None
    scaling: Optional[Dict[str, List[float]]] = None
    smiles_column: str = 'smiles'

    def __post_init__(self) -> None:
        if self.input_type not in SPEC_TYPES:
            raise ValueError(f"Unknown input type '{self.input_type}' "
                             f"(choose from {SPEC_TYPES})")
        if self.input_type != 'molecule' and self.vocab is None:
            raise ValueError(f"Inputs of type '{self.input_type}' need the "
                             f"names of their features ('vocab')")
        self._index: Optional[Dict[str, int]] = None
        self._dense: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]] = \
            None

    # Construction ############################################################

    @classmethod
    def from_dataset(cls, dataset: Any,
                     input_type: Optional[str] = None) -> 'FeatureSpec':
        r"""The featurisation of :obj:`dataset`: a molecule data set (with
        :obj:`smiles_column`, e.g.
        :class:`~lamp_geometric.data.MoleculeCSV`) or a
        :class:`~lamp_geometric.data.MultiLabelDataset` after loading (its
        :attr:`vocab`, :attr:`known_ids`, :attr:`feature_scaling` and
        tokeniser options).

        Args:
            dataset: The data set.
            input_type (str, optional): Its input type. (default: its
                :obj:`input_type` attribute, else :obj:`'molecule'`)
        """
        kind = input_type or getattr(dataset, 'input_type', 'molecule')
        if kind == 'molecule':
            return cls('molecule', smiles_column=str(getattr(
                dataset, 'smiles_column', None) or 'smiles'))
        vocab: List[Optional[str]] = list(dataset.vocab)
        known = getattr(dataset, 'known_ids', None)
        if known is not None:
            keep = set(int(i) for i in known)
            vocab = [v if i in keep else None for i, v in enumerate(vocab)]
        options = dict(getattr(dataset, 'options', {}) or {})
        scaling = getattr(dataset, 'feature_scaling', None)
        return cls(kind, vocab=vocab,
                   lowercase=bool(options.get('lowercase', True)),
                   max_length=(None if options.get('max_length') is None
                               else int(options['max_length'])),
                   scaling=dict(scaling) if scaling else None)

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> 'FeatureSpec':
        r"""The specification :meth:`to_dict` wrote (other keys, such as
        those of a molecule featuriser, are ignored; without
        :obj:`input_type` it describes molecules)."""
        return cls(str(obj.get('input_type') or 'molecule'),
                   vocab=(None if obj.get('vocab') is None else
                          list(obj['vocab'])),
                   lowercase=bool(obj.get('lowercase', True)),
                   max_length=obj.get('max_length'),
                   scaling=(dict(obj['scaling']) if obj.get('scaling')
                            else None),
                   smiles_column=str(obj.get('smiles_column') or 'smiles'))

    def to_dict(self) -> Dict[str, Any]:
        r"""The specification as plain types (for a checkpoint)."""
        if self.input_type == 'molecule':
            return dict(input_type='molecule',
                        smiles_column=self.smiles_column)
        out: Dict[str, Any] = dict(input_type=self.input_type,
                                   vocab=list(self.vocab or []))
        if self.input_type == 'sequence':
            out.update(tokenizer='alphanumeric', lowercase=self.lowercase,
                       max_length=self.max_length, unknown='<unk>')
        if self.scaling:
            out['scaling'] = dict(self.scaling)
        return out

    # Properties ##############################################################

    @property
    def num_features(self) -> Optional[int]:
        r"""The number of feature ids (:obj:`None` for molecules)."""
        return None if self.vocab is None else len(self.vocab)

    @property
    def index(self) -> Dict[str, int]:
        r"""Feature name (word) -> feature id, for the ids in use."""
        if self._index is None:
            self._index = {name: i for i, name in enumerate(self.vocab or [])
                           if name is not None}
        return self._index

    def names_of(self, ids: Iterable[int]) -> List[str]:
        r"""The names of feature ids (:obj:`'<unk>'` for a word unseen in
        training)."""
        vocab = self.vocab or []
        return [str(vocab[i]) if 0 <= i < len(vocab) and vocab[i] is not None
                else '<unk>' for i in ids]

    def feature_names(self, data: Data) -> Optional[List[str]]:
        r"""The names of the feature nodes of a sample of the training data
        (:obj:`None` for molecules, whose nodes are atoms)."""
        if self.input_type == 'molecule':
            return None
        return self.names_of(data.x.view(-1).tolist())

    # Featurisation ###########################################################

    def encode_smiles(self, smiles: str) -> Data:
        r"""A molecule's graph (:func:`~lamp_geometric.data.
        featurize_smiles`; raises :class:`ValueError` for an invalid
        SMILES string)."""
        self._expect('molecule', 'SMILES strings')
        return featurize_smiles(smiles)

    def encode_text(self, text: str) -> Tuple[Data, List[str]]:
        r"""A text as a sequence of word ids, and the words as read (a word
        unseen in training shown as :obj:`'word (unk)'`).

        Raises:
            ValueError: If the text holds no word.
        """
        self._expect('sequence', 'texts')
        tokens = tokenize(str(text), lowercase=self.lowercase,
                          max_length=self.max_length)
        if not tokens:
            raise ValueError('no word in the text')
        index = self.index
        ids = [index.get(t, UNK) for t in tokens]
        names = [t if i != UNK else f'{t} (unk)' for t, i in zip(tokens, ids)]
        return Data(x=torch.tensor(ids, dtype=torch.long)), names

    def encode_values(self, values: Mapping[int, float]
                      ) -> Tuple[Data, List[str]]:
        r"""A row of features as feature nodes: every non-zero, non-missing
        value, and every standardised feature of a vector set.

        Args:
            values (dict): Feature id -> raw value (NaN: missing; absent:
                0).

        Returns:
            (Data, list of str): The sample (:obj:`x` the feature ids in
            increasing order, :obj:`value` their values) and the names of
            its feature nodes.
        """
        if self.input_type not in ('bow', 'vector'):
            raise ValueError(f"Rows of feature values are the inputs of bag-"
                             f"of-words and vector models, not of "
                             f"'{self.input_type}' ones")
        ids_d, mean, std = self._dense_features()
        out: Dict[int, float] = {}
        for fid, v in values.items():
            v = float(v)
            if not math.isnan(v) and v != 0:
                out[int(fid)] = v
        for k, fid in enumerate(ids_d.tolist()):
            v = float(values.get(fid, 0.0))
            z = (v - mean[k]) / std[k]
            out[fid] = 0.0 if math.isnan(z) else z
        ids = sorted(out)
        data = Data(x=torch.tensor(ids, dtype=torch.long),
                    value=torch.tensor([out[i] for i in ids],
                                       dtype=torch.float))
        return data, self.names_of(ids)

    def _dense_features(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._dense is None:
            s = self.scaling or {}
            self._dense = (np.asarray(s.get('ids', []), dtype=np.int64),
                           np.asarray(s.get('mean', []), dtype=np.float64),
                           np.asarray(s.get('std', []), dtype=np.float64))
        return self._dense

    def _expect(self, kind: str, what: str) -> None:
        if self.input_type != kind:
            raise ValueError(f"{what[0].upper() + what[1:]} are the inputs "
                             f"of '{kind}' models; this one reads "
                             f"'{self.input_type}' inputs")


# Reading files ###############################################################

def read_inputs(
    path: str,
    spec: FeatureSpec,
    label_names: Sequence[str] = (),
    smiles_column: Optional[str] = None,
    text_column: str = 'text',
) -> Tuple[List[InputRow], List[str]]:
    r"""Reads and featurises a file of new inputs (see the module
    documentation for the formats).

    Args:
        path (str): A :obj:`.csv` (or :obj:`.csv.gz`), :obj:`.arff` or
            :obj:`.txt` file.
        spec (FeatureSpec): How the model's training data was featurised.
        label_names (list of str, optional): The labels; columns or
            attributes of these names are ignored.
        smiles_column (str, optional): The SMILES column of a CSV file of
            molecules. (default: :obj:`spec.smiles_column`)
        text_column (str, optional): The text column of a CSV file of
            texts. (default: :obj:`'text'`)

    Returns:
        (rows, notes): One :class:`InputRow` per input in file order, and
        one line per thing left out (blank lines, ignored columns).

    Raises:
        FileNotFoundError: If :obj:`path` does not exist.
        ValueError: For a file type the model does not read, a malformed
            file (naming the line), a missing column or a feature of the
            training data that the file lacks.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f"Input file not found: '{path}'")
    lower = path.lower()
    ext = ('.csv' if lower.endswith('.csv.gz') else
           osp.splitext(lower)[1])
    allowed = INPUT_FILE_TYPES[spec.input_type]
    if ext not in allowed:
        raise ValueError(f"'{path}': a model of "
                         f"{INPUT_KINDS[spec.input_type]} "
                         f"reads {' or '.join(allowed)} files, not "
                         f"'{ext or 'no extension'}'")
    if ext == '.txt':
        return _read_lines(path, spec)
    if ext == '.arff':
        return _read_arff_rows(path, spec, label_names)
    if spec.input_type in ('molecule', 'sequence'):
        column = (smiles_column or spec.smiles_column
                  if spec.input_type == 'molecule' else text_column)
        return _read_csv_column(path, spec, column)
    return _read_csv_rows(path, spec, label_names)


def _encode(spec: FeatureSpec, row_id: str, text: str) -> InputRow:
    row = InputRow(id=row_id, text=text)
    try:
        if spec.input_type == 'molecule':
            row.data = spec.encode_smiles(text)
        else:
            row.data, row.feature_names = spec.encode_text(text)
    except ValueError as e:
        row.error = str(e)
    return row


def _skipped_note(path: str, what: str, lines: List[int]) -> List[str]:
    if not lines:
        return []
    shown = ', '.join(map(str, lines[:_SHOWN]))
    more = f', ... ({len(lines) - _SHOWN} more)' if len(lines) > _SHOWN \
        else ''
    s = 's' * (len(lines) > 1)
    return [f"'{path}': skipped {len(lines)} {what} line{s} (line{s} "
            f"{shown}{more})"]


def _read_lines(path: str, spec: FeatureSpec
                ) -> Tuple[List[InputRow], List[str]]:
    r"""One SMILES string or document per line; for texts, a line with a
    tab is read as the training format (labels, a tab, the text) and its
    labels are ignored."""
    rows: List[InputRow] = []
    blank: List[int] = []
    with open(path, encoding='utf-8', errors='replace') as f:
        for line_no, raw in enumerate(f, start=1):
            line = raw.rstrip('\r\n')
            if not line.strip():
                blank.append(line_no)
                continue
            if spec.input_type == 'sequence' and '\t' in line:
                line = line.split('\t', 1)[1]
            rows.append(_encode(spec, str(line_no), line.strip()))
    return rows, _skipped_note(path, 'blank', blank)


def _csv_records(path: str) -> Tuple[List[str], List[Tuple[int, int,
                                                              List[str]]],
                                      List[int]]:
    r"""The header, the records :obj:`(first_line, last_line, fields)`
    and the blank lines of a CSV file."""
    header: Optional[List[str]] = None
    records, blank = [], []
    for first, last, fields in read_csv_rows(path):
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            if header is not None:
                blank.append(last)
            continue
        if header is None:
            header = [c.strip() for c in fields]
            continue
        records.append((first, last, fields))
    if header is None:
        raise ValueError(f"CSV file '{path}' is empty")
    return header, records, blank


def _field_count_error(header: List[str], first: int, last: int,
                       fields: List[str]) -> str:
    where = f'line {last}' if first == last else f'lines {first}-{last}'
    return (f"{where}: expected {len(header)} fields, found "
            f"{len(fields)}")


def _read_csv_column(path: str, spec: FeatureSpec, column: str
                     ) -> Tuple[List[InputRow], List[str]]:
    header, records, blank = _csv_records(path)
    if column not in header:
        option = ('--smiles-column' if spec.input_type == 'molecule' else
                  '--text-column')
        raise ValueError(f"Column '{column}' not found in '{path}'; the "
                         f"columns are: {header} (choose one with "
                         f"{option})")
    j = header.index(column)
    rows = []
    for first, last, fields in records:
        if len(fields) != len(header):
            rows.append(InputRow(id=str(last), error=_field_count_error(
                header, first, last, fields)))
            continue
        rows.append(_encode(spec, str(last), fields[j].strip()))
    return rows, _skipped_note(path, 'blank', blank)


def _parse_number(cell: str) -> float:
    cell = cell.strip()
    if cell in MISSING:
        return math.nan
    return float(cell)


def _read_csv_rows(path: str, spec: FeatureSpec, label_names: Sequence[str]
                   ) -> Tuple[List[InputRow], List[str]]:
    r"""One column per feature: numeric features by their name, the
    one-hot features of a nominal attribute (:obj:`'name=category'`) as one
    column :obj:`name` holding the category."""
    header, records, blank = _csv_records(path)
    index = spec.index
    categories: Dict[str, Dict[str, int]] = {}
    for name, fid in index.items():
        base, eq, cat = name.partition('=')
        if eq and base not in index:
            categories.setdefault(base, {})[cat] = fid
    labels = set(label_names)
    numeric: List[Tuple[int, int]] = []  # (column, feature id)
    nominal: List[Tuple[int, Dict[str, int]]] = []
    covered, ignored = set(), []
    for j, name in enumerate(header):
        if name in index:
            numeric.append((j, index[name]))
            covered.add(index[name])
        elif name in categories:
            nominal.append((j, categories[name]))
            covered.update(categories[name].values())
        elif name not in labels:
            ignored.append(name)
    _check_covered(path, spec, covered, 'column')
    rows = []
    for first, last, fields in records:
        row = InputRow(id=str(last))
        rows.append(row)
        if len(fields) != len(header):
            row.error = _field_count_error(header, first, last, fields)
            continue
        values: Dict[int, float] = {}
        try:
            for j, fid in numeric:
                try:
                    values[fid] = _parse_number(fields[j])
                except ValueError:
                    raise ValueError(f"line {last}: value "
                                     f"{fields[j].strip()!r} of column "
                                     f"{header[j]!r} is not a number") \
                        from None
            for j, cats in nominal:
                cell = fields[j].strip()
                if cell in MISSING:
                    continue
                if cell not in cats:
                    raise ValueError(f"line {last}: value {cell!r} of column "
                                     f"{header[j]!r} is not one of its "
                                     f"training categories {sorted(cats)}")
                values[cats[cell]] = 1.0
        except ValueError as e:
            row.error = str(e)
            continue
        row.data, row.feature_names = spec.encode_values(values)
    notes = _skipped_note(path, 'blank', blank)
    if ignored:
        notes.append(f"'{path}': ignored {len(ignored)} column(s) that are "
                     f"neither features nor labels: {ignored[:_SHOWN]}")
    return rows, notes


def _check_covered(path: str, spec: FeatureSpec, covered: set,
                   what: str) -> None:
    missing = [name for name, fid in spec.index.items()
               if fid not in covered]
    if missing:
        raise ValueError(f"'{path}' lacks {len(missing)} feature {what}(s) "
                         f"of the model's training data: "
                         f"{missing[:_SHOWN]}"
                         f"{' ...' if len(missing) > _SHOWN else ''}")


def _read_arff_rows(path: str, spec: FeatureSpec, label_names: Sequence[str]
                    ) -> Tuple[List[InputRow], List[str]]:
    r"""The rows of an ARFF file as the training ARFF files were read
    (:class:`~lamp_geometric.data.Mulan`): numeric attributes and those
    with numeric categories (e.g. ``{0,1}``) by name, other nominal
    attributes as one feature per category (:obj:`'name=category'`)."""
    arff = read_arff(path)
    index = spec.index
    labels = set(label_names)
    plan: Dict[int, Tuple[Optional[int], Any]] = {}
    defaults: Dict[int, float] = {}
    covered, ignored = set(), []
    for j, a in enumerate(arff.attributes):
        if a.name in labels:
            continue
        cats = a.numeric_categories
        if a.type == 'numeric' or cats is not None:
            fid = index.get(a.name)
            if fid is None:
                ignored.append(a.name)
                continue
            plan[j] = (fid, None if cats is None else np.asarray(cats))
            covered.add(fid)
            if cats and cats[0] != 0:  # an absent entry is category 0
                defaults[fid] = float(cats[0])
        elif a.type == 'nominal':
            fids = [index.get(f'{a.name}={c}', -1) for c in a.categories]
            if all(f < 0 for f in fids):
                ignored.append(a.name)
                continue
            plan[j] = (None, fids)
            covered.update(f for f in fids if f >= 0)
            if fids and fids[0] >= 0:
                defaults[fids[0]] = 1.0
        else:
            ignored.append(a.name)
    _check_covered(path, spec, covered, 'attribute')
    rows = []
    indptr, indices, values = arff.indptr, arff.indices, arff.values
    for i in range(arff.num_rows):
        row_values = dict(defaults)
        for k in range(int(indptr[i]), int(indptr[i + 1])):
            step = plan.get(int(indices[k]))
            if step is None:
                continue
            fid, extra = step
            v = float(values[k])
            if fid is not None:
                row_values[fid] = (extra[int(v)] if extra is not None
                                   and not math.isnan(v) else v)
                continue
            for f in extra:  # one-hot: the row's category replaces the 0th
                row_values.pop(f, None)
            if not math.isnan(v) and extra[int(v)] >= 0:
                row_values[extra[int(v)]] = 1.0
        data, names = spec.encode_values(row_values)
        rows.append(InputRow(id=str(int(arff.row_lines[i])), data=data,
                             feature_names=names))
    notes = []
    if ignored:
        notes.append(f"'{path}': ignored {len(ignored)} attribute(s) that "
                     f"are neither features nor labels: "
                     f"{ignored[:_SHOWN]}")
    return rows, notes
