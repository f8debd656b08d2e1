r"""Reads ARFF files (Weka's Attribute-Relation File Format) in both the
dense and the sparse row format, as used by the Mulan multi-label data
sets, through `liac-arff <https://github.com/renatopp/liac-arff>`_ (the
reader of openml-python).

:func:`scipy.io.arff.loadarff` does not read sparse rows
(``{index value, ...}``); liac-arff does.  It parses the header
(``@relation``, ``@attribute`` with types ``numeric``, ``real``,
``integer``, ``{nominal, values}`` and ``string``) and the rows; ``?``
marks a missing value, and in a sparse row the omitted attributes take the
value :obj:`0` (for a nominal attribute: its first category), as Weka
defines it.  Reading Delicious this way took 1.07-1.09x the time of the
hand-written parser this module held before (median over repeats of the
paired ratio, on a loaded 2-core machine; within the 10% allowed for
noise), 0.8x on the dense emotions set (see ``benchmarks/README.md`` and
``benchmarks/data/arff_reader.py``).

On top of liac-arff this module

* reads ``date`` attributes (as ``string`` ones; their values are not
  kept) and ignores a trailing instance weight ``,{w}``,
* refuses a line before ``@data`` that is neither a declaration nor a
  comment, and unknown declarations (liac-arff skips both silently),
* records the line of every attribute and row (for messages downstream),
* and turns every liac-arff error into a :class:`ValueError` naming the
  file, the 1-based line and what is wrong with it: the offending line is
  examined again to say which value, index or attribute is at fault (an
  unterminated sparse row, a wrong number of values, an index out of
  range, a value that is not a number or not a category of its attribute,
  a missing ``@data`` section, an unsupported type, a name declared twice).

The first data row decides the layout: a file whose first row is sparse
must have only sparse rows (liac-arff reads one layout per file), while
sparse rows may follow dense ones.

The result is a sparse matrix in CSR form (:class:`ArffData`) whose stored
entries are the non-zero values: numbers for numeric attributes, the
category *index* for nominal attributes, and ``NaN`` for missing values.
``string`` and ``date`` attributes are read but their values are not kept
(stored as ``NaN``; see :attr:`ArffData.unsupported`).
"""
import math
import re
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import arff as liac_arff
import numpy as np

__all__ = ['ArffAttribute', 'ArffData', 'read_arff']

_NUMERIC_TYPES = ('numeric', 'real', 'integer')
_DECLARATIONS = ('@relation', '@attribute', '@data')
#: A trailing instance weight ``,{w}`` (or ``, {w}``) of a row.
_WEIGHT = re.compile(r',\s*\{[^{}]*\}\s*$')
#: ``@attribute <name> date [format]``: rewritten as a ``string`` attribute.
_DATE = re.compile(r'^(@attribute\s+(?:\'(?:\\.|[^\'\\])*\'|"(?:\\.|[^"\\])*"'
                   r'|\S+))\s+date(?:\s+(?:\'[^\']*\'|"[^"]*"|\S+))?\s*$',
                   re.IGNORECASE)


@dataclass
class ArffAttribute:
    r"""One ``@attribute`` declaration.

    Attributes:
        name (str): The attribute name, unquoted and unescaped.
        type (str): :obj:`'numeric'` (also for ``real`` / ``integer``),
            :obj:`'nominal'`, :obj:`'string'` or :obj:`'date'`.
        categories (List[str]): The categories of a nominal attribute, in
            declaration order (empty otherwise).
        line (int): The 1-based line of the declaration.
    """
    name: str
    type: str
    categories: List[str] = field(default_factory=list)
    line: int = 0

    @property
    def numeric_categories(self) -> Optional[List[float]]:
        r"""The categories as numbers if every one of them is a number (a
        ``{0,1}`` attribute), otherwise :obj:`None`."""
        if self.type != 'nominal':
            return None
        try:
            return [float(c) for c in self.categories]
        except ValueError:
            return None


@dataclass
class ArffData:
    r"""The content of an ARFF file as a sparse row matrix.

    Attributes:
        relation (str): The ``@relation`` name.
        attributes (List[ArffAttribute]): The attributes, in file order.
        indptr (numpy.ndarray): CSR row pointer :obj:`[num_rows + 1]`.
        indices (numpy.ndarray): Attribute index of every stored entry.
        values (numpy.ndarray): Value of every stored entry (float64):
            the number for numeric attributes, the category index for
            nominal ones, ``NaN`` for a missing value.  Entries not stored
            are :obj:`0` (category :obj:`0` for nominal attributes).
        row_lines (numpy.ndarray): The 1-based line number of every row.
        sparse (bool): Whether the rows were written in the sparse format
            (the first data row decides; both formats may be mixed).
        path (str): The file read.
    """
    relation: str
    attributes: List[ArffAttribute]
    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    row_lines: np.ndarray
    sparse: bool
    path: str = ''

    @property
    def num_rows(self) -> int:
        return int(self.indptr.shape[0] - 1)

    @property
    def names(self) -> List[str]:
        return [a.name for a in self.attributes]

    @property
    def unsupported(self) -> List[str]:
        r"""Names of ``string`` / ``date`` attributes (values not kept)."""
        return [a.name for a in self.attributes
                if a.type in ('string', 'date')]

    def column(self, j: int) -> np.ndarray:
        r"""The dense column :obj:`j` (float64, :obj:`[num_rows]`)."""
        out = np.zeros(self.num_rows, dtype=np.float64)
        mask = self.indices == j
        rows = np.searchsorted(self.indptr, np.flatnonzero(mask),
                               side='right') - 1
        out[rows] = self.values[mask]
        return out

    def to_dense(self) -> np.ndarray:
        r"""The dense matrix :obj:`[num_rows, num_attributes]` (float64)."""
        out = np.zeros((self.num_rows, len(self.attributes)))
        rows = np.repeat(np.arange(self.num_rows), np.diff(self.indptr))
        out[rows, self.indices] = self.values
        return out


def _unquote(token: str) -> str:
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] and token[0] in '\'"':
        token = token[1:-1]
    return unescape(token)


def unescape(text: str) -> str:
    r"""Removes ARFF backslash escapes (``\'`` -> ``'``, ``\\`` -> ``\``,
    ``\n`` / ``\t`` -> newline / tab)."""
    if '\\' not in text:
        return text
    mapping = {'n': '\n', 't': '\t', 'r': '\r'}
    return re.sub(r'\\(.)', lambda m: mapping.get(m.group(1), m.group(1)),
                  text)


def _split_name(rest: str, path: str, line: int) -> Tuple[str, str]:
    r"""Splits ``<name> <type...>`` where the name may be quoted."""
    rest = rest.strip()
    if not rest:
        raise ValueError(f"'{path}', line {line}: @attribute without a name")
    if rest[0] in '\'"':
        quote = rest[0]
        i = 1
        while i < len(rest):
            if rest[i] == '\\':
                i += 2
                continue
            if rest[i] == quote:
                break
            i += 1
        if i >= len(rest):
            raise ValueError(f"'{path}', line {line}: unterminated quoted "
                             f"attribute name")
        return unescape(rest[1:i]), rest[i + 1:].strip()
    parts = rest.split(None, 1)
    if len(parts) < 2:
        raise ValueError(f"'{path}', line {line}: @attribute {parts[0]!r} "
                         f"has no type")
    return unescape(parts[0]), parts[1].strip()


def _split_values(text: str, path: str = '', line: int = 0) -> List[str]:
    r"""Splits a comma-separated list where values may be quoted (quotes
    are kept; see :func:`_unquote`)."""
    if '\'' not in text and '"' not in text:
        return [t.strip() for t in text.split(',')]
    out: List[str] = []
    cur: List[str] = []
    quote = ''
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            cur.append(ch)
            if ch == '\\' and i + 1 < len(text):
                cur.append(text[i + 1])
                i += 2
                continue
            if ch == quote:
                quote = ''
        elif ch in '\'"':
            quote = ch
            cur.append(ch)
        elif ch == ',':
            out.append(''.join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    if quote:
        raise ValueError(f"'{path}', line {line}: unterminated quoted value "
                         f"(truncated or malformed row?)")
    out.append(''.join(cur).strip())
    return out


def _parse_attribute(rest: str, path: str, line: int) -> ArffAttribute:
    name, type_ = _split_name(rest, path, line)
    lower = type_.lower()
    if type_.startswith('{'):
        if not type_.rstrip().endswith('}'):
            raise ValueError(f"'{path}', line {line}: nominal attribute "
                             f"{name!r} lacks its closing '}}'")
        cats = [_unquote(c) for c in _split_values(type_.strip()[1:-1], path,
                                                     line)]
        cats = [c for c in cats if c != '']
        return ArffAttribute(name, 'nominal', cats, line)
    if lower in _NUMERIC_TYPES:
        return ArffAttribute(name, 'numeric', [], line)
    if lower == 'string':
        return ArffAttribute(name, 'string', [], line)
    if lower.startswith('date'):
        return ArffAttribute(name, 'date', [], line)
    raise ValueError(f"'{path}', line {line}: unsupported type {type_!r} of "
                     f"attribute {name!r} (expected numeric, real, integer, "
                     f"{{nominal values}}, string or date)")


class _Lines:
    r"""The lines of a file handed to liac-arff one at a time, counted, so
    that :attr:`number` is the 1-based line liac-arff last took: the line
    of the row it has just decoded, or of the line it failed on.

    Args:
        lines (Sequence[str]): The file's lines.
        data_line (int): The 1-based line of ``@data``.
        replace (Dict[int, str]): Lines (1-based) to hand over in place of
            the file's (``date`` declarations as ``string``).
    """

    def __init__(self, lines: Sequence[str], data_line: int,
                 replace: Dict[int, str]):
        self.lines = lines
        self.data_line = data_line
        self.replace = replace
        self.number = 0

    def __iter__(self) -> Iterator[str]:
        lines = self.lines
        for number in range(1, self.data_line + 1):
            self.number = number
            yield self.replace.get(number, lines[number - 1])
        for number in range(self.data_line + 1, len(lines) + 1):
            self.number = number
            line = lines[number - 1]
            # More than the row's own brace: a trailing weight ',{w}'.
            if line.count('{') > (1 if line.lstrip()[:1] == '{' else 0):
                line = _WEIGHT.sub('', line.rstrip())
            yield line


@dataclass
class _Header:
    r"""What :func:`_scan_header` finds before liac-arff decodes."""
    data_line: int
    attribute_lines: List[int]
    dates: List[int]
    replace: Dict[int, str]
    sparse: bool


def _scan_header(lines: Sequence[str], path: str) -> _Header:
    r"""Finds ``@data``, the line of every ``@attribute`` and the layout of
    the first data row; refuses lines that are neither declarations nor
    comments before ``@data``; rewrites ``date`` attributes as ``string``
    ones (liac-arff does not read dates)."""
    attribute_lines: List[int] = []
    dates: List[int] = []
    replace: Dict[int, str] = {}
    data_line = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line[0] == '%':
            continue
        if line[0] != '@':
            raise ValueError(f"'{path}', line {number}: expected an "
                             f"@-declaration before @data, found "
                             f"{line[:40]!r}")
        keyword = line.split(None, 1)[0].lower()
        if keyword not in _DECLARATIONS:
            raise ValueError(f"'{path}', line {number}: unknown declaration "
                             f"{keyword!r}")
        if keyword == '@attribute':
            if 'date' in line.lower():
                match = _DATE.match(line)
                if match:
                    dates.append(len(attribute_lines))
                    replace[number] = match.group(1) + ' string'
            attribute_lines.append(number)
        elif keyword == '@data':
            if not attribute_lines:
                raise ValueError(f"'{path}', line {number}: @data before "
                                 f"any @attribute")
            data_line = number
            break
    if not data_line:
        raise ValueError(f"'{path}': no @data section (the file has "
                         f"{len(attribute_lines)} @attribute lines; "
                         f"truncated?)")
    sparse = False
    for raw in lines[data_line:]:
        line = raw.strip()
        if line and line[0] != '%':
            sparse = line[0] == '{'
            break
    return _Header(data_line, attribute_lines, dates, replace, sparse)


def _attributes(declared: List[Tuple[str, object]],
                header: _Header) -> List[ArffAttribute]:
    r"""liac-arff's ``(name, type or categories)`` pairs as
    :class:`ArffAttribute` (names unescaped, as the hand-written reader
    had them)."""
    out = []
    for j, (name, type_) in enumerate(declared):
        line = header.attribute_lines[j]
        if isinstance(type_, (list, tuple)):
            cats = [c for c in type_ if c not in (None, '')]
            out.append(ArffAttribute(unescape(name), 'nominal', cats, line))
        elif j in header.dates:
            out.append(ArffAttribute(unescape(name), 'date', [], line))
        elif type_ == 'STRING':
            out.append(ArffAttribute(unescape(name), 'string', [], line))
        else:
            out.append(ArffAttribute(unescape(name), 'numeric', [], line))
    return out


def read_arff(path: str) -> ArffData:
    r"""Reads a dense or sparse ARFF file with liac-arff.

    Args:
        path (str): The file (UTF-8; undecodable bytes are replaced).

    Returns:
        ArffData: The header and the rows as a sparse matrix.

    Raises:
        ValueError: On a malformed header or row, naming the file and the
            line and what is wrong with it.
    """
    with open(path, encoding='utf-8', errors='replace') as f:
        lines = f.read().split('\n')
    header = _scan_header(lines, path)
    source = _Lines(lines, header.data_line, header.replace)
    attributes: Optional[List[ArffAttribute]] = None
    row_lines: List[int] = []
    try:
        decoded = liac_arff.ArffDecoder().decode(
            source, encode_nominal=True,
            return_type=liac_arff.LOD_GEN if header.sparse else
            liac_arff.DENSE_GEN)
        attributes = _attributes(decoded['attributes'], header)
        skip = [j for j, a in enumerate(attributes)
                if a.type in ('string', 'date')]
        if header.sparse:
            indptr, indices, values = _read_sparse(decoded['data'], source,
                                                   row_lines, skip)
        else:
            indptr, indices, values = _read_dense(decoded['data'], source,
                                                  row_lines, skip,
                                                  len(attributes))
    except (liac_arff.ArffException, ValueError, IndexError,
            KeyError) as exc:
        raise _explain(exc, lines, source.number, header, attributes,
                       path) from None
    return ArffData(
        relation=unescape(decoded['relation']),
        attributes=attributes,
        indptr=indptr,
        indices=indices,
        values=values,
        row_lines=np.asarray(row_lines, dtype=np.int64),
        sparse=header.sparse,
        path=path,
    )


def _read_sparse(rows: Iterator[Dict[int, object]], source: _Lines,
                 row_lines: List[int], skip: List[int]
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""CSR arrays from liac-arff's rows as ``{index: value}``."""
    sizes: List[int] = []
    indices: List[int] = []
    values: List[object] = []
    for row in rows:
        row_lines.append(source.number)
        if skip:
            row = {j: (math.nan if j in skip else v) for j, v in row.items()}
        indices.extend(row)
        values.extend(row.values())
        sizes.append(len(row))
    sizes_ = np.asarray(sizes, dtype=np.int64)
    cols = np.asarray(indices, dtype=np.int64)
    vals = np.asarray(values, dtype=np.float64)  # None (missing) -> NaN
    # Rows are written in index order as a rule; sort those that are not.
    row_of = np.repeat(np.arange(sizes_.shape[0]), sizes_)
    step = np.diff(cols)
    if (step[row_of[1:] == row_of[:-1]] <= 0).any():
        order = np.lexsort((cols, row_of))
        cols, vals = cols[order], vals[order]
    return _drop_zeros(sizes_, cols, vals)


def _read_dense(rows: Iterator[List[object]], source: _Lines,
                row_lines: List[int], skip: List[int], num_attributes: int
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""CSR arrays from liac-arff's rows as lists of values."""
    table: List[List[object]] = []
    for row in rows:
        row_lines.append(source.number)
        if skip:
            for j in skip:
                row[j] = math.nan
        table.append(row)
    dense = np.asarray(table, dtype=np.float64).reshape(-1, num_attributes)
    keep = dense != 0  # NaN != 0: missing values are stored.
    rows_of, indices = np.nonzero(keep)
    sizes = np.bincount(rows_of, minlength=dense.shape[0])
    indptr = np.zeros(dense.shape[0] + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    return indptr, indices.astype(np.int64), dense[keep]


def _drop_zeros(sizes: np.ndarray, indices: np.ndarray, values: np.ndarray
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""CSR arrays without the entries written as :obj:`0` (category
    :obj:`0` for nominal attributes), which are not stored."""
    keep = values != 0  # NaN != 0: missing values are stored.
    row_of = np.repeat(np.arange(sizes.shape[0]), sizes)
    kept = np.bincount(row_of[keep], minlength=sizes.shape[0])
    indptr = np.zeros(sizes.shape[0] + 1, dtype=np.int64)
    np.cumsum(kept, out=indptr[1:])
    return indptr, indices[keep], values[keep]


# Error messages ##############################################################

def _explain(exc: Exception, lines: Sequence[str], number: int,
             header: _Header, attributes: Optional[List[ArffAttribute]],
             path: str) -> ValueError:
    r"""The :class:`ValueError` for an error liac-arff raised at line
    :obj:`number`: that line is examined again with the checks of the
    hand-written reader this module held before, which say what is wrong
    (the value, the index, the attribute); liac-arff's own message is the
    fallback."""
    if isinstance(exc, liac_arff.ArffException):
        exc.line = number  # rows are decoded lazily: liac-arff's is -1
    text = lines[number - 1].strip() if 0 < number <= len(lines) else ''
    where = f"'{path}', line {number}"
    if number > header.data_line and attributes is not None:
        try:
            _check_row(text, attributes, path, number)
        except ValueError as e:
            return e
        if header.sparse and text[:1] != '{':
            return ValueError(f"{where}: a dense row in a file whose first "
                              f"data row is sparse (write every row in one "
                              f"layout)")
        return ValueError(f"{where}: malformed row ({exc})")
    keyword, _, rest = text.partition(' ')
    keyword = keyword.lower()
    if isinstance(exc, liac_arff.BadAttributeName):
        first = re.search(r'in use in line (\d+)', str(exc))
        name = _split_name(rest, path, number)[0]
        return ValueError(f"{where}: attribute {name!r} is declared twice"
                          + (f" (first at line {first.group(1)})"
                             if first else ''))
    if keyword == '@attribute':
        _parse_attribute(rest, path, number)  # raises with the reason
    if isinstance(exc, liac_arff.BadRelationFormat):
        return ValueError(f"{where}: malformed @relation name "
                          f"{rest.strip()[:40]!r} (quote a name with "
                          f"spaces)")
    if isinstance(exc, liac_arff.BadLayout):
        return ValueError(f"{where}: {keyword} out of order (an ARFF "
                          f"header is @relation, then the @attribute "
                          f"lines, then @data)")
    return ValueError(f"{where}: malformed {keyword or 'line'} ({exc})")


def _check_row(line: str, attributes: List[ArffAttribute], path: str,
               line_no: int) -> None:
    r"""Raises :class:`ValueError` saying what is wrong with the data row
    :obj:`line`, if the hand-written reader's checks find anything."""
    num_attrs = len(attributes)
    converters: List[Optional[Dict[str, int]]] = [
        {c: i for i, c in enumerate(a.categories)} if a.type == 'nominal'
        else None for a in attributes]
    skip = [a.type in ('string', 'date') for a in attributes]
    nan = math.nan
    if line[:1] == '{':
        end = line.find('}')
        if end < 0:
            raise ValueError(f"'{path}', line {line_no}: sparse row not "
                             f"terminated by '}}' (truncated file?)")
        tail = line[end + 1:].strip()
        if tail and not (tail.startswith(',') and '{' in tail):
            raise ValueError(f"'{path}', line {line_no}: unexpected text "
                             f"after the sparse row: {tail[:40]!r}")
        body = line[1:end].strip()
        for entry in (_split_values(body, path, line_no) if body else []):
            parts = entry.split(None, 1)
            if len(parts) != 2:
                raise ValueError(f"'{path}', line {line_no}: sparse entry "
                                 f"{entry!r} is not '<index> <value>'")
            try:
                j = int(parts[0])
            except ValueError:
                raise ValueError(f"'{path}', line {line_no}: sparse index "
                                 f"{parts[0]!r} is not an integer") from None
            if j < 0 or j >= num_attrs:
                raise ValueError(f"'{path}', line {line_no}: sparse index "
                                 f"{j} out of range (the file declares "
                                 f"{num_attrs} attributes)")
            _convert(parts[1], j, converters, skip, attributes, path,
                     line_no, nan)
        return
    if line.endswith('}') and ',{' in line:  # instance weight
        line = line[:line.rfind(',{')]
    tokens = _split_values(line, path, line_no)
    if len(tokens) != num_attrs:
        raise ValueError(f"'{path}', line {line_no}: expected {num_attrs} "
                         f"comma-separated values, found {len(tokens)} "
                         f"(truncated or malformed row?)")
    for j, token in enumerate(tokens):
        _convert(token, j, converters, skip, attributes, path, line_no, nan)


def _convert(token: str, j: int, converters: List[Optional[Dict[str, int]]],
             skip: List[bool], attributes: List[ArffAttribute], path: str,
             line: int, nan: float) -> float:
    token = token.strip()
    if token == '?':
        return nan
    if skip[j]:
        return nan
    if token and token[0] in '\'"':
        token = _unquote(token)
    conv = converters[j]
    if conv is None:
        try:
            return float(token)
        except ValueError:
            raise ValueError(f"'{path}', line {line}: value {token!r} of "
                             f"numeric attribute {attributes[j].name!r} is "
                             f"not a number") from None
    index = conv.get(token)
    if index is None:
        raise ValueError(f"'{path}', line {line}: value {token!r} is not a "
                         f"category of nominal attribute "
                         f"{attributes[j].name!r} "
                         f"{attributes[j].categories[:10]}")
    return float(index)
