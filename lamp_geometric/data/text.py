r"""Multi-label documents from plain-text files: one document per line,
its labels first.

Format (UTF-8)::

    label1,label2<TAB>text of the document
    sports<TAB>The match ended in a draw.
    <TAB>A document without any label.

* Everything before the first tab is the comma-separated list of labels
  (spaces around a label are removed; an empty list is a document without
  a label); everything after it is the text.
* The text is tokenised as Reuters-21578 and RCV1 are
  (:func:`~lamp_geometric.data.reuters.tokenize`: lowercase, runs of ASCII
  letters and digits), the first :obj:`max_length` tokens kept.
* Blank lines, lines starting with ``#`` and lines whose text holds no
  token are skipped; the skipped lines are counted and their line numbers
  kept in :obj:`stats['skipped']` (and reported when :obj:`verbose`).
* A non-blank line without a tab, or with an empty label between commas
  (``a,,b``), raises :class:`ValueError` naming the file and the line.
"""
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from torch_geometric.data import Data

from lamp_geometric.data.multilabel import (
    TEST,
    TRAIN,
    MultiLabelDataset,
    SampleArrays,
)
from lamp_geometric.data.reuters import UNK, build_vocab, encode, tokenize

__all__ = ['TextDataset', 'read_labelled_text']

#: What a skipped line was, for :obj:`stats['skipped']`.
SKIP_REASONS = {
    'blank': 'blank',
    'comment': 'comment',
    'no_words': 'no word in the text',
}


def read_labelled_text(
    path: str,
    max_length: Optional[int] = None,
) -> Tuple[List[List[str]], List[List[str]], Dict[str, List[int]]]:
    r"""Reads a file of labelled documents (see the module documentation).

    Args:
        path (str): The file.
        max_length (int, optional): Tokens kept per document.
            (default: all)

    Returns:
        (labels, tokens, skipped): the labels and the tokens of every kept
        document, in file order, and the 1-based numbers of the skipped
        lines by reason (:obj:`'blank'`, :obj:`'comment'`,
        :obj:`'no_words'`).

    Raises:
        FileNotFoundError: If :obj:`path` does not exist.
        ValueError: On a line without a tab or with an empty label, naming
            the file and the line.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f"Text file not found: '{path}'")
    labels: List[List[str]] = []
    tokens: List[List[str]] = []
    skipped: Dict[str, List[int]] = {k: [] for k in SKIP_REASONS}
    with open(path, encoding='utf-8', errors='replace') as f:
        for line_no, raw in enumerate(f, start=1):
            line = raw.rstrip('\r\n')
            if not line.strip():
                skipped['blank'].append(line_no)
                continue
            if line.lstrip().startswith('#'):
                skipped['comment'].append(line_no)
                continue
            if '\t' not in line:
                raise ValueError(
                    f"'{path}', line {line_no}: expected 'label1,label2"
                    f"<TAB>text', found no tab in {line[:40]!r}")
            head, text = line.split('\t', 1)
            names = [n.strip() for n in head.split(',')] if head.strip() \
                else []
            if any(not n for n in names):
                raise ValueError(f"'{path}', line {line_no}: empty label "
                                 f"name in {head[:40]!r} (labels are "
                                 f"separated by single commas)")
            words = tokenize(text, max_length=max_length)
            if not words:
                skipped['no_words'].append(line_no)
                continue
            labels.append(list(dict.fromkeys(names)))
            tokens.append(words)
    return labels, tokens, skipped


def describe_skipped(path: str, skipped: Dict[str, List[int]],
                     shown: int = 10) -> Optional[str]:
    r"""One line reporting the skipped lines of :obj:`path` by reason with
    their count and first :obj:`shown` line numbers, or :obj:`None` when no
    line was skipped."""
    parts = []
    for reason, lines in skipped.items():
        if not lines:
            continue
        numbers = ', '.join(map(str, lines[:shown]))
        more = f', ... ({len(lines) - shown} more)' if len(lines) > shown \
            else ''
        parts.append(f"{len(lines)} {SKIP_REASONS[reason]} (line"
                     f"{'s' * (len(lines) > 1)} {numbers}{more})")
    if not parts:
        return None
    total = sum(len(v) for v in skipped.values())
    return (f"'{path}': skipped {total} line{'s' * (total > 1)}: "
            + '; '.join(parts))


class TextDataset(MultiLabelDataset):
    r"""Multi-label documents from one or two plain-text files, one
    document per line (see the module documentation for the format).

    Each token is a feature node (``x``: word ids in reading order, input
    type :obj:`'sequence'`).  The labels are those of the training file (in
    order of first appearance); labels that occur only in the test file are
    left out and listed in :obj:`stats['unseen_test_labels']`.

    Splits: with two files ``(train, test)``, the given split and
    :obj:`val_fraction` of the training documents held out for validation
    by :obj:`seed`; with one file, a random 80/10/10 split by :obj:`seed`.
    The vocabulary is that of the training documents of this split: words
    seen fewer than :obj:`min_count` times in them are mapped to
    :obj:`'<unk>'` (id 1) when the set is loaded, so validation and test
    words never get a trained embedding of their own (:attr:`vocab` lists
    every word of the files; ids of other words are unused).

    Args:
        paths (Sequence[str]): One or two text files (training, then test).
        root (str, optional): Directory of the processed files.
            (default: a folder under
            :func:`~lamp_geometric.data.default_cache_dir` named after the
            first file and a hash of the files)
        seed (int, optional): Seed of the split. (default: :obj:`0`)
        val_fraction (float, optional): Share of the training documents held
            out for validation (two files). (default: :obj:`0.1`)
        fractions (Sequence[float], optional): Random split fractions (one
            file). (default: :obj:`(0.8, 0.1, 0.1)`)
        max_length (int, optional): Tokens kept per document.
            (default: :obj:`500`)
        min_count (int, optional): Minimum training count of a word.
            (default: :obj:`1`)
        transform, force_reload, verbose: As for
            :class:`~lamp_geometric.data.Mulan`.

    Raises:
        FileNotFoundError: If a file does not exist.
        ValueError: On a malformed line (with its number), when no document
            is left, or when the training documents have no label.
    """
    input_type = 'sequence'

    def __init__(
        self,
        paths: Sequence[str],
        root: Optional[str] = None,
        seed: int = 0,
        val_fraction: float = 0.1,
        fractions: Sequence[float] = (0.8, 0.1, 0.1),
        max_length: int = 500,
        min_count: int = 1,
        transform: Optional[Callable[[Data], Data]] = None,
        force_reload: bool = False,
        verbose: bool = True,
    ) -> None:
        paths = [paths] if isinstance(paths, str) else list(paths)
        if len(paths) not in (1, 2):
            raise ValueError(f"Give one text file (split at random) or two "
                             f"(train, test); got {len(paths)}")
        if max_length < 1 or min_count < 1:
            raise ValueError("'max_length' and 'min_count' must be positive")
        for path in paths:
            if not osp.isfile(path):
                raise FileNotFoundError(f"Text file not found: '{path}'")
        self.display_name = osp.basename(paths[0])
        self.min_count = int(min_count)
        keys = ['train.txt', 'test.txt'] if len(paths) == 2 else ['data.txt']
        self._keys = keys
        stem = osp.splitext(osp.basename(paths[0]))[0]
        self._setup(dict(zip(keys, paths)), dict(max_length=max_length),
                    root, cache_name=f'text_{stem}', seed=seed,
                    val_fraction=val_fraction, fractions=fractions,
                    transform=transform, force_reload=force_reload,
                    verbose=verbose)
        if verbose:
            for key in keys:
                line = describe_skipped(self.raw_files[key],
                                        self.stats['skipped'][key])
                if line:
                    print(line)

    def build(self) -> SampleArrays:
        max_length = int(self.options['max_length'])
        parts = [read_labelled_text(self.raw_files[k], max_length)
                 for k in self._keys]
        names = list(dict.fromkeys(n for ls in parts[0][0] for n in ls))
        if not parts[0][1]:
            raise ValueError(f"'{self.raw_files[self._keys[0]]}' holds no "
                             f"document")
        if not names:
            raise ValueError(f"The documents of "
                             f"'{self.raw_files[self._keys[0]]}' have no "
                             f"label")
        col = {n: j for j, n in enumerate(names)}
        docs_labels = [ls for p in parts for ls in p[0]]
        docs_tokens = [t for p in parts for t in p[1]]
        y = np.zeros((len(docs_labels), len(names)), dtype=np.float32)
        for i, ls in enumerate(docs_labels):
            for n in ls:
                if n in col:
                    y[i, col[n]] = 1.0
        vocab = build_vocab(docs_tokens, min_count=1)
        ids, ptr = encode(docs_tokens, vocab)
        split = None
        if len(parts) == 2:
            split = np.concatenate([np.full(len(parts[0][1]), TRAIN),
                                    np.full(len(parts[1][1]), TEST)])
        unseen = sorted({n for ls in parts[-1][0] for n in ls} - set(col)) \
            if len(parts) == 2 else []
        stats = dict(
            num_documents=len(docs_labels), num_labels=len(names),
            skipped={k: p[2] for k, p in zip(self._keys, parts)},
            unseen_test_labels=unseen,
            documents_without_label=int((y.sum(1) == 0).sum()),
            labels_per_sample=float(y.sum(1).mean()),
            mean_tokens=float(np.diff(ptr).mean()), max_length=max_length)
        return SampleArrays(ids=ids, ptr=ptr, y=y, label_names=names,
                            vocab=vocab, split=split, stats=stats)

    def _on_load(self) -> None:
        self._mask_rare_tokens(self.min_count, UNK)
