r"""A small reader for ARFF files (Weka's Attribute-Relation File Format) in
both the dense and the sparse row format, as used by the Mulan multi-label
data sets.

:func:`scipy.io.arff.loadarff` does not read sparse rows
(``{index value, ...}``), so this module parses the format itself:

* header: ``@relation``, ``@attribute <name> <type>`` (names may be quoted
  with ``'`` or ``"`` and use backslash escapes; types ``numeric``,
  ``real``, ``integer``, ``{nominal, values}``, ``string`` and ``date``),
  ``@data``; comments start with ``%``,
* dense rows: one comma-separated value per attribute,
* sparse rows: ``{index value, index value, ...}`` where omitted
  attributes take the value :obj:`0` (for a nominal attribute: its first
  category), as Weka defines it,
* ``?`` marks a missing value; a trailing instance weight ``,{w}`` is
  ignored.

The result is a sparse matrix in CSR form (:class:`ArffData`) whose stored
entries are the non-zero values: numbers for numeric attributes, the
category *index* for nominal attributes, and ``NaN`` for missing values.
``string`` and ``date`` attributes are read but their values are not kept
(stored as ``NaN``; see :attr:`ArffData.unsupported`).

Every malformed line (an unterminated sparse row, a wrong number of values,
an index out of range, a value that is not a number or not a category of its
attribute, a missing ``@data`` section) raises :class:`ValueError` naming the
file and the 1-based line number.
"""
import math
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

__all__ = ['ArffAttribute', 'ArffData', 'read_arff']

_NUMERIC_TYPES = ('numeric', 'real', 'integer')


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


def read_arff(path: str) -> ArffData:
    r"""Reads a dense or sparse ARFF file.

    Args:
        path (str): The file (UTF-8; undecodable bytes are replaced).

    Returns:
        ArffData: The header and the rows as a sparse matrix.

    Raises:
        ValueError: On a malformed header or row, with the line number.
    """
    attributes: List[ArffAttribute] = []
    relation = ''
    indptr: List[int] = [0]
    indices: List[int] = []
    values: List[float] = []
    row_lines: List[int] = []
    sparse_first: Optional[bool] = None
    in_data = False
    converters: List[Optional[Dict[str, int]]] = []
    skip: List[bool] = []
    num_attrs = 0
    nan = math.nan

    with open(path, encoding='utf-8', errors='replace') as f:
        for line_no, raw in enumerate(f, start=1):
            line = raw.strip()
            if not line or line[0] == '%':
                continue
            if not in_data:
                if line[0] != '@':
                    raise ValueError(f"'{path}', line {line_no}: expected "
                                     f"an @-declaration before @data, found "
                                     f"{line[:40]!r}")
                keyword, _, rest = line.partition(' ')
                if '\t' in keyword:
                    keyword, _, more = keyword.partition('\t')
                    rest = more + ' ' + rest
                keyword = keyword.lower()
                if keyword == '@relation':
                    relation = _unquote(rest)
                elif keyword == '@attribute':
                    attributes.append(_parse_attribute(rest, path, line_no))
                elif keyword == '@data':
                    if not attributes:
                        raise ValueError(f"'{path}', line {line_no}: @data "
                                         f"before any @attribute")
                    in_data = True
                    num_attrs = len(attributes)
                    for a in attributes:
                        if a.type == 'nominal':
                            converters.append(
                                {c: i for i, c in enumerate(a.categories)})
                        else:
                            converters.append(None)
                        skip.append(a.type in ('string', 'date'))
                else:
                    raise ValueError(f"'{path}', line {line_no}: unknown "
                                     f"declaration {keyword!r}")
                continue

            # A data row.
            if line[0] == '{':
                sparse = True
                end = line.find('}')
                if end < 0:
                    raise ValueError(f"'{path}', line {line_no}: sparse row "
                                     f"not terminated by '}}' (truncated "
                                     f"file?)")
                tail = line[end + 1:].strip()
                if tail and not (tail.startswith(',') and '{' in tail):
                    raise ValueError(f"'{path}', line {line_no}: unexpected "
                                     f"text after the sparse row: "
                                     f"{tail[:40]!r}")
                body = line[1:end].strip()
                entries = (_split_values(body, path, line_no) if body
                           else [])
                row: Dict[int, float] = {}
                for entry in entries:
                    parts = entry.split(None, 1)
                    if len(parts) != 2:
                        raise ValueError(f"'{path}', line {line_no}: sparse "
                                         f"entry {entry!r} is not "
                                         f"'<index> <value>'")
                    try:
                        j = int(parts[0])
                    except ValueError:
                        raise ValueError(f"'{path}', line {line_no}: sparse "
                                         f"index {parts[0]!r} is not an "
                                         f"integer") from None
                    if j < 0 or j >= num_attrs:
                        raise ValueError(f"'{path}', line {line_no}: sparse "
                                         f"index {j} out of range (the file "
                                         f"declares {num_attrs} attributes)")
                    row[j] = _convert(parts[1], j, converters, skip,
                                      attributes, path, line_no, nan)
                items = sorted(row.items())
            else:
                sparse = False
                if line.endswith('}') and ',{' in line:  # instance weight
                    line = line[:line.rfind(',{')]
                tokens = _split_values(line, path, line_no)
                if len(tokens) != num_attrs:
                    raise ValueError(f"'{path}', line {line_no}: expected "
                                     f"{num_attrs} comma-separated values, "
                                     f"found {len(tokens)} (truncated or "
                                     f"malformed row?)")
                items = []
                for j, token in enumerate(tokens):
                    v = _convert(token, j, converters, skip, attributes,
                                 path, line_no, nan)
                    if v != 0:
                        items.append((j, v))
            if sparse_first is None:
                sparse_first = sparse
            for j, v in items:
                if v != 0:  # NaN != 0 is True: missing values are stored.
                    indices.append(j)
                    values.append(v)
            indptr.append(len(indices))
            row_lines.append(line_no)

    if not in_data:
        raise ValueError(f"'{path}': no @data section (the file has "
                         f"{len(attributes)} @attribute lines; truncated?)")
    return ArffData(
        relation=relation,
        attributes=attributes,
        indptr=np.asarray(indptr, dtype=np.int64),
        indices=np.asarray(indices, dtype=np.int64),
        values=np.asarray(values, dtype=np.float64),
        row_lines=np.asarray(row_lines, dtype=np.int64),
        sparse=bool(sparse_first),
        path=path,
    )


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
