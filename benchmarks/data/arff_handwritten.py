r"""The hand-written ARFF reader that ``lamp_geometric.data.arff`` held
before it read files through liac-arff, kept here (unchanged but for this
docstring and its imports) as the baseline of ``arff_reader.py``.  It
returns the library's :class:`~lamp_geometric.data.arff.ArffData`.

It parses the format line by line: the header (``@relation``,
``@attribute``, ``@data``), dense rows split at commas (quote-aware only
when a row holds a quote) and sparse rows ``{index value, ...}``; every
malformed line raises :class:`ValueError` naming the file and the line.
"""
import math
from typing import Dict, List, Optional, Tuple

import numpy as np

from lamp_geometric.data.arff import ArffAttribute, ArffData, unescape

__all__ = ['read_arff']

_NUMERIC_TYPES = ('numeric', 'real', 'integer')


def _unquote(token: str) -> str:
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] and token[0] in '\'"':
        token = token[1:-1]
    return unescape(token)


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
