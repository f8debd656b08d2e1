r"""Reuters-21578 (Distribution 1.0) from its original SGML files, with the
ModApte split and the 90 categories used by the LaMP paper.

Raw layout (``<data_dir>/reuters21578/``), as distributed by UCI::

    reut2-000.sgm ... reut2-021.sgm   21578 <REUTERS> documents, latin-1,
                                      with &#N; character references

Every ``<REUTERS TOPICS=... LEWISSPLIT=... NEWID=...>`` element holds the
topic codes in ``<TOPICS><D>...</D></TOPICS>`` and the text in ``<TEXT>``
(``<TITLE>`` and ``<BODY>``, or unstructured text for ``TYPE="UNPROC"``).
"""
import html
import os
import os.path as osp
import re
import shutil
import tarfile
import tempfile
from collections import Counter
from functools import partial
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from torch_geometric.data import Data

from lamp_geometric.data import download as dl
from lamp_geometric.data.download import find_or_download
from lamp_geometric.data.multilabel import (
    TEST,
    TRAIN,
    MultiLabelDataset,
    SampleArrays,
)

__all__ = ['Reuters21578', 'tokenize', 'build_vocab', 'PAD', 'UNK',
           'parse_sgml']

#: Id of the padding token (reserved; graphs need no padding).
PAD = 0
#: Id of tokens outside the vocabulary.
UNK = 1
SPECIAL_TOKENS = ['<pad>', '<unk>']

#: UCI's archive of the collection.
REUTERS_URL = ('https://archive.ics.uci.edu/ml/machine-learning-databases/'
               'reuters21578-mld/reuters21578.tar.gz')
SGML_FILES = [f'reut2-{i:03d}.sgm' for i in range(22)]

_DOC = re.compile(r'<REUTERS([^>]*)>(.*?)</REUTERS>', re.S)
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_TOPICS = re.compile(r'<TOPICS>(.*?)</TOPICS>', re.S)
_D = re.compile(r'<D>(.*?)</D>', re.S)
_TEXT = re.compile(r'<TEXT([^>]*)>(.*?)</TEXT>', re.S)
_TITLE = re.compile(r'<TITLE>(.*?)</TITLE>', re.S)
_BODY = re.compile(r'<BODY>(.*?)</BODY>', re.S)
_TAG = re.compile(r'<[^>]+>')
_TOKEN = re.compile(r'[a-z0-9]+')


def tokenize(text: str, lowercase: bool = True,
             max_length: Optional[int] = None) -> List[str]:
    r"""Splits text into alphanumeric tokens: lowercased (unless
    :obj:`lowercase=False`), maximal runs of ASCII letters and digits
    (punctuation, other characters and whitespace separate tokens), the
    first :obj:`max_length` kept."""
    if lowercase:
        tokens = _TOKEN.findall(text.lower())
    else:
        tokens = re.findall(r'[A-Za-z0-9]+', text)
    return tokens[:max_length] if max_length is not None else tokens


def build_vocab(documents: Sequence[Sequence[str]],
                min_count: int = 1) -> List[str]:
    r"""The vocabulary of tokenised documents: :obj:`'<pad>'` (id
    :obj:`PAD`), :obj:`'<unk>'` (id :obj:`UNK`), then every token seen at
    least :obj:`min_count` times, most frequent first (ties alphabetical)."""
    if min_count < 1:
        raise ValueError(f"'min_count' must be at least 1 (got {min_count})")
    counts = Counter(t for doc in documents for t in doc)
    kept = sorted((t for t, c in counts.items() if c >= min_count),
                  key=lambda t: (-counts[t], t))
    return SPECIAL_TOKENS + [t for t in kept if t not in SPECIAL_TOKENS]


def encode(documents: Sequence[Sequence[str]], vocab: Sequence[str]
           ) -> Tuple[np.ndarray, np.ndarray]:
    r"""Maps tokenised documents to :obj:`(ids, ptr)` (unknown tokens ->
    :obj:`UNK`)."""
    index = {t: i for i, t in enumerate(vocab)}
    ids = np.fromiter((index.get(t, UNK) for doc in documents for t in doc),
                      dtype=np.int64)
    ptr = np.zeros(len(documents) + 1, dtype=np.int64)
    np.cumsum([len(d) for d in documents], out=ptr[1:])
    return ids, ptr


def parse_sgml(path: str) -> List[Dict[str, object]]:
    r"""Reads one ``reut2-*.sgm`` file (latin-1) into a list of documents
    with keys :obj:`newid` (int), :obj:`topics_attr` (the ``TOPICS``
    attribute), :obj:`lewissplit`, :obj:`topics` (list of codes),
    :obj:`title` and :obj:`text` (title and body; unstructured text for
    ``TYPE="UNPROC"``), character references such as ``&#3;`` resolved.

    Raises:
        ValueError: If the file holds no ``<REUTERS>`` document.
    """
    with open(path, encoding='latin-1') as f:
        raw = f.read()
    docs = []
    for m in _DOC.finditer(raw):
        attrs = dict(_ATTR.findall(m.group(1)))
        body = m.group(2)
        tm = _TOPICS.search(body)
        topics = ([html.unescape(t).strip() for t in _D.findall(tm.group(1))]
                  if tm else [])
        title, text = '', ''
        xm = _TEXT.search(body)
        if xm is not None:
            inner = xm.group(2)
            t = _TITLE.search(inner)
            b = _BODY.search(inner)
            title = t.group(1) if t else ''
            if 'UNPROC' in xm.group(1) or (t is None and b is None):
                text = _TAG.sub(' ', inner)
            else:
                text = title + '\n' + (b.group(1) if b else '')
        docs.append(dict(
            newid=int(attrs.get('NEWID', -1)),
            topics_attr=attrs.get('TOPICS', ''),
            lewissplit=attrs.get('LEWISSPLIT', ''),
            topics=[t for t in topics if t],
            title=html.unescape(title).strip(),
            text=html.unescape(text),
        ))
    if not docs:
        raise ValueError(f"'{path}' holds no <REUTERS> document (not a "
                         f"Reuters-21578 SGML file?)")
    return docs


def _download_reuters(raw_dir: str, log: bool = True) -> None:
    tmp = tempfile.mkdtemp(prefix='.download-', dir=raw_dir)
    try:
        archive = dl.download_url(REUTERS_URL, tmp, log=log)
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                name = osp.basename(member.name)
                if name in SGML_FILES and member.isfile():
                    src = tar.extractfile(member)
                    assert src is not None
                    with open(osp.join(tmp, name), 'wb') as out:
                        out.write(src.read())
        for name in SGML_FILES:
            if osp.isfile(osp.join(tmp, name)):
                os.replace(osp.join(tmp, name), osp.join(raw_dir, name))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class Reuters21578(MultiLabelDataset):
    r"""Reuters-21578 news articles with the ModApte split: documents with
    ``LEWISSPLIT="TRAIN"`` (train) or ``"TEST"`` (test) and
    ``TOPICS="YES"``; the labels are the 90 topic categories with at least
    one training and one test document; documents with none of them are
    dropped (:obj:`stats['dropped']`).  This gives 7770 train / 3019 test
    documents, checked when the set is processed; :obj:`val_fraction` of the
    training documents are held out for validation by :obj:`seed` (the
    paper: 6993 / 777 / 3019).

    Text: the title followed by the body (unstructured text for
    ``TYPE="UNPROC"``), tokenised by :func:`tokenize` (lowercase, ASCII
    alphanumeric runs) and cut to the first :obj:`max_length` tokens.  Each
    token is a feature node: ``x`` holds its word id in reading order
    (positions are implicit), ids from a vocabulary built on the ModApte
    training documents (tokens seen at least :obj:`min_count` times;
    :obj:`'<pad>'` is id 0, :obj:`'<unk>'` id 1 for other tokens).  The
    vocabulary sees the inputs of the documents later held out for
    validation, never labels.

    The raw files are looked up in ``<data_dir>/reuters21578/``, then in
    ``<root>/raw/`` (or ``default_cache_dir()/reuters21578/raw/``), and
    otherwise downloaded from UCI (:obj:`REUTERS_URL`).

    Args:
        data_dir (str, optional): Directory holding ``reuters21578/``.
            (default: ``$LAMP_DATA``)
        root (str, optional): Directory of the processed files.
        seed (int, optional): Seed of the validation split.
            (default: :obj:`0`)
        val_fraction (float, optional): Share of training documents held
            out for validation. (default: :obj:`0.1`)
        max_length (int, optional): Tokens kept per document.
            (default: :obj:`500`)
        min_count (int, optional): Minimum training count of a word.
            (default: :obj:`1`)
        check_counts (bool, optional): Assert the 7770 / 3019 / 90 counts of
            the full collection. (default: :obj:`True`)
        transform, force_reload, verbose: As for
            :class:`~lamp_geometric.data.Mulan`.
    """
    display_name = 'Reuters-21578 (ModApte)'
    input_type = 'sequence'
    #: The counts of the ModApte split with the 90 categories.
    EXPECTED = dict(num_train=7770, num_test=3019, num_labels=90)

    def __init__(
        self,
        data_dir: Optional[str] = None,
        root: Optional[str] = None,
        seed: int = 0,
        val_fraction: float = 0.1,
        max_length: int = 500,
        min_count: int = 1,
        check_counts: bool = True,
        transform: Optional[Callable[[Data], Data]] = None,
        force_reload: bool = False,
        verbose: bool = True,
    ) -> None:
        if max_length < 1:
            raise ValueError(f"'max_length' must be positive (got "
                             f"{max_length})")
        raw = find_or_download(
            'Reuters-21578', 'reuters21578', SGML_FILES, data_dir, root,
            cache_name='reuters21578',
            download=partial(_download_reuters, log=verbose),
            source=REUTERS_URL)
        options = dict(max_length=max_length, min_count=min_count,
                       check_counts=check_counts)
        self._setup(raw, options, root, cache_name='reuters21578',
                    seed=seed, val_fraction=val_fraction,
                    transform=transform, force_reload=force_reload,
                    verbose=verbose)

    def build(self) -> SampleArrays:
        max_length = int(self.options['max_length'])
        docs = []
        for name in SGML_FILES:
            docs += parse_sgml(self.raw_files[name])
        modapte = [d for d in docs if d['topics_attr'] == 'YES'
                   and d['lewissplit'] in ('TRAIN', 'TEST')]
        train_topics = Counter(t for d in modapte
                               if d['lewissplit'] == 'TRAIN'
                               for t in set(d['topics']))
        test_topics = Counter(t for d in modapte if d['lewissplit'] == 'TEST'
                              for t in set(d['topics']))
        labels = sorted(set(train_topics) & set(test_topics))
        label_set = set(labels)
        kept = [d for d in modapte if label_set & set(d['topics'])]
        kept.sort(key=lambda d: (d['lewissplit'] != 'TRAIN', d['newid']))
        split = np.array([TRAIN if d['lewissplit'] == 'TRAIN' else TEST
                          for d in kept])
        stats = dict(
            num_documents=len(docs),
            num_modapte=dict(train=sum(d['lewissplit'] == 'TRAIN'
                                       for d in modapte),
                             test=sum(d['lewissplit'] == 'TEST'
                                      for d in modapte)),
            num_train=int((split == TRAIN).sum()),
            num_test=int((split == TEST).sum()),
            num_labels=len(labels),
        )
        stats['dropped'] = dict(
            train=stats['num_modapte']['train'] - stats['num_train'],
            test=stats['num_modapte']['test'] - stats['num_test'])
        if self.options.get('check_counts', True):
            got = {k: stats[k] for k in self.EXPECTED}
            if got != self.EXPECTED:
                raise ValueError(f"Reuters-21578 ModApte counts {got} differ "
                                 f"from the expected {self.EXPECTED}: are "
                                 f"all 22 SGML files complete? (pass "
                                 f"check_counts=False for a partial "
                                 f"collection)")
        tokens = [tokenize(d['text'], max_length=max_length) for d in kept]
        vocab = build_vocab([t for t, s in zip(tokens, split) if s == TRAIN],
                            min_count=int(self.options['min_count']))
        ids, ptr = encode(tokens, vocab)
        col = {t: j for j, t in enumerate(labels)}
        y = np.zeros((len(kept), len(labels)), dtype=np.float32)
        for i, d in enumerate(kept):
            for t in d['topics']:
                if t in col:
                    y[i, col[t]] = 1.0
        lengths = np.diff(ptr)
        stats.update(
            vocab_size=len(vocab), max_length=max_length,
            empty_documents=int((lengths == 0).sum()),
            truncated_documents=int(sum(
                len(tokenize(d['text'])) > max_length for d in kept)),
            mean_tokens=float(lengths.mean()),
            labels_per_sample=float(y.sum(1).mean()),
            unk_rate_test=float((ids[np.repeat(split, lengths) == TEST] ==
                                 UNK).mean()) if ids.size else 0.0,
        )
        if self.verbose:
            print(f"{self.display_name}: {stats}")
        return SampleArrays(ids=ids, ptr=ptr, y=y, label_names=labels,
                            vocab=vocab, split=split, stats=stats)
