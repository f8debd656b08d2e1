r"""Readers of the files that hold known label relations: a taxonomy (the
RCV1 topic tree) and a protein-protein interaction table (STRING layout).

They only read: the label graphs are built from what they return by
:func:`lamp_geometric.graphs.tree` and :func:`lamp_geometric.graphs.ppi`.
"""
import math
from typing import List, Optional, Tuple, Union

__all__ = ['read_taxonomy', 'read_interactions']


def read_taxonomy(path: str, root: Optional[str] = 'Root'
                  ) -> List[Tuple[str, str]]:
    r"""Reads a taxonomy file where every line is a parent followed by its
    children, tab-separated (the RCV1 ``rcv1.taxonomy`` layout)::

        Root    CCAT    ECAT    GCAT    MCAT
        CCAT    C11     C12     ...

    Args:
        path (str): The file.
        root (str, optional): Name of the top node, which is not a topic;
            its edges are dropped. :obj:`None` keeps every edge.
            (default: :obj:`'Root'`)

    Returns:
        List[Tuple[str, str]]: The :obj:`(parent, child)` pairs in file
        order.

    Raises:
        ValueError: If a line has a parent but no child.
    """
    pairs: List[Tuple[str, str]] = []
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, start=1):
            parts = [p.strip() for p in line.rstrip('\n').split('\t')]
            parts = [p for p in parts if p]
            if not parts:
                continue
            if len(parts) < 2:
                raise ValueError(f"'{path}', line {line_no}: parent "
                                 f"{parts[0]!r} without children (expected "
                                 f"'parent<TAB>child<TAB>...')")
            parent = parts[0]
            if root is not None and parent == root:
                continue
            pairs += [(parent, child) for child in parts[1:]]
    return pairs


def read_interactions(
    path: str,
    min_score: Optional[float] = None,
    score_column: Optional[Union[int, str]] = None,
) -> Tuple[List[Tuple[str, str, float]], int]:
    r"""Reads a protein-protein interaction table in the STRING layout:
    one interaction per line, ``protein1 protein2 [score ...]``, separated
    by tabs or spaces, with or without a header line (detected when its
    score column is not a number, e.g. ``protein1 protein2
    combined_score``).  Lines starting with ``#`` are comments.

    Args:
        path (str): The file.
        min_score (float, optional): Keep interactions whose score is at
            least this (STRING's ``combined_score`` runs 0-1000; 400 is its
            "medium confidence"). Rows without a score are kept.
            (default: :obj:`None`, keep all)
        score_column (int or str, optional): The score column (0-based, or
            its header name). (default: the header's ``combined_score`` if
            present, else the third column)

    Returns:
        (List[Tuple[str, str, float]], int): The kept interactions
        (score ``NaN`` when there is none) and the number of rows dropped
        by :obj:`min_score`.

    Raises:
        ValueError: On a line with fewer than two names or a score that is
            not a number, with the line number.
    """
    rows: List[Tuple[str, str, float]] = []
    dropped = 0
    column: Optional[int] = score_column if isinstance(score_column,
                                                       int) else None
    first = True
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, start=1):
            parts = line.split()
            if not parts or parts[0].startswith('#'):
                continue
            if first:
                first = False
                col = column if column is not None else 2
                is_header = (len(parts) > col and not _is_number(parts[col])
                             ) or parts[0].lower() in ('protein1', 'node1')
                if is_header:
                    header = [p.lower() for p in parts]
                    if isinstance(score_column, str):
                        if score_column.lower() not in header:
                            raise ValueError(f"'{path}': no column "
                                             f"{score_column!r} in the "
                                             f"header {parts}")
                        column = header.index(score_column.lower())
                    elif column is None and 'combined_score' in header:
                        column = header.index('combined_score')
                    continue
                if isinstance(score_column, str):
                    raise ValueError(f"'{path}' has no header line, so the "
                                     f"score column cannot be named "
                                     f"{score_column!r}")
            if len(parts) < 2:
                raise ValueError(f"'{path}', line {line_no}: expected "
                                 f"'protein1 protein2 [score]', found "
                                 f"{line.strip()!r}")
            col = column if column is not None else 2
            score = math.nan
            if len(parts) > col:
                try:
                    score = float(parts[col])
                except ValueError:
                    raise ValueError(f"'{path}', line {line_no}: score "
                                     f"{parts[col]!r} is not a number"
                                     ) from None
            if (min_score is not None and not math.isnan(score)
                    and score < min_score):
                dropped += 1
                continue
            rows.append((parts[0], parts[1], score))
    return rows, dropped


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
