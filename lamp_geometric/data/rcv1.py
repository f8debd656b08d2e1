r"""A small RCV1-v2 subset with the RCV1 topic tree as the known label
graph.

Raw layout (``<data_dir>/rcv1/``)::

    rcv1_dev.json    one JSON object per line: "doc_label" (topic codes) and
                     "doc_token" (the document's tokens, in order)
    rcv1.taxonomy    the topic tree: each line is a parent followed by its
                     children, tab-separated; "Root" is the top (not a topic)

These are the files of Tencent's NeuralNLP-NeuralClassifier (2316 documents,
98 distinct topics of the 103, 3.2 topics per document).  The full RCV1
corpus needs an agreement with NIST / Reuters; use this subset for tests and
examples.
"""
import json
from functools import partial
from typing import Callable, List, Optional, Sequence

import numpy as np
from torch_geometric.data import Data

from lamp_geometric.data.download import (
    download_files,
    find_or_download,
)
from lamp_geometric.data.multilabel import (
    MultiLabelDataset,
    SampleArrays,
)
from lamp_geometric.data.priors import read_taxonomy
from lamp_geometric.data.reuters import UNK, build_vocab, encode

__all__ = ['RCV1Subset']

RCV1_URL = ('https://raw.githubusercontent.com/Tencent/'
            'NeuralNLP-NeuralClassifier/master/data/')
RCV1_FILES = ['rcv1_dev.json', 'rcv1.taxonomy']


class RCV1Subset(MultiLabelDataset):
    r"""The RCV1 subset ``rcv1_dev.json`` with its topic tree
    ``rcv1.taxonomy`` (see the module documentation for the raw layout).

    Each token is a feature node (``x``: word ids in reading order, the
    first :obj:`max_length` tokens, lowercased unless
    :obj:`lowercase=False`).  There is no given split: a random 80/10/10
    split is drawn by :obj:`seed`, and the vocabulary is that of the
    *training* split of this seed: words seen fewer than :obj:`min_count`
    times in training documents are mapped to :obj:`'<unk>'` (id 1) in
    memory when the set is loaded, so validation and test words never get
    their own trained embedding.  (:attr:`vocab` lists every word of the
    file; ids of non-training words are simply unused.)

    Labels: the topics that occur in the file (:obj:`labels='observed'`,
    98) or all 103 topics of the taxonomy (:obj:`labels='taxonomy'`; 5 of
    them then never occur).  :meth:`label_edge_index` is the topic tree
    (:func:`lamp_geometric.graphs.tree`): parent-child edges between labels,
    plus every ancestor with :obj:`ancestors=True`; taxonomy topics that are
    not labels are ignored and listed in :attr:`ignored_topics`.

    Args:
        data_dir (str, optional): Directory holding ``rcv1/``.
            (default: ``$LAMP_DATA``)
        root (str, optional): Directory of the processed files.
        seed (int, optional): Seed of the random split. (default: :obj:`0`)
        fractions (Sequence[float], optional): Train / validation / test
            fractions. (default: :obj:`(0.8, 0.1, 0.1)`)
        labels (str, optional): :obj:`'observed'` or :obj:`'taxonomy'`.
            (default: :obj:`'observed'`)
        max_length (int, optional): Tokens kept per document.
            (default: :obj:`500`)
        min_count (int, optional): Minimum training count of a word.
            (default: :obj:`1`)
        lowercase (bool, optional): Lowercase tokens. (default: :obj:`True`)
        ancestors (bool, optional): The tree prior also links every topic
            to its ancestors. (default: :obj:`False`)
        transform, force_reload, verbose: As for
            :class:`~lamp_geometric.data.Mulan`.
    """
    display_name = 'RCV1 subset'
    input_type = 'sequence'

    def __init__(
        self,
        data_dir: Optional[str] = None,
        root: Optional[str] = None,
        seed: int = 0,
        fractions: Sequence[float] = (0.8, 0.1, 0.1),
        labels: str = 'observed',
        max_length: int = 500,
        min_count: int = 1,
        lowercase: bool = True,
        ancestors: bool = False,
        transform: Optional[Callable[[Data], Data]] = None,
        force_reload: bool = False,
        verbose: bool = True,
    ) -> None:
        if labels not in ('observed', 'taxonomy'):
            raise ValueError(f"'labels' must be 'observed' or 'taxonomy' "
                             f"(got '{labels}')")
        if max_length < 1 or min_count < 1:
            raise ValueError("'max_length' and 'min_count' must be positive")
        self.ancestors = ancestors
        self.min_count = int(min_count)
        urls = {f: RCV1_URL + f for f in RCV1_FILES}
        raw = find_or_download(
            'RCV1 subset', 'rcv1', RCV1_FILES, data_dir, root,
            cache_name='rcv1',
            download=partial(download_files, urls, log=verbose),
            source=RCV1_URL)
        options = dict(labels=labels, max_length=max_length,
                       lowercase=lowercase)
        self._setup(raw, options, root, cache_name='rcv1', seed=seed,
                    fractions=fractions, transform=transform,
                    force_reload=force_reload, verbose=verbose)

    @property
    def taxonomy_path(self) -> str:
        r"""The path of ``rcv1.taxonomy``."""
        return self.raw_files['rcv1.taxonomy']

    def build(self) -> SampleArrays:
        path = self.raw_files['rcv1_dev.json']
        max_length = int(self.options['max_length'])
        lower = bool(self.options['lowercase'])
        docs_labels: List[List[str]] = []
        docs_tokens: List[List[str]] = []
        with open(path, encoding='utf-8') as f:
            for line_no, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    doc = json.loads(line)
                    labels = [str(t) for t in doc['doc_label']]
                    tokens = [str(t) for t in doc['doc_token']]
                except (ValueError, KeyError, TypeError) as e:
                    raise ValueError(f"'{path}', line {line_no}: expected a "
                                     f"JSON object with 'doc_label' and "
                                     f"'doc_token' lists ({e!r})") from None
                if lower:
                    tokens = [t.lower() for t in tokens]
                docs_labels.append(labels)
                docs_tokens.append(tokens[:max_length])
        pairs = read_taxonomy(self.raw_files['rcv1.taxonomy'])
        topics = sorted({n for pair in pairs for n in pair})
        observed = sorted({t for ls in docs_labels for t in ls})
        outside = sorted(set(observed) - set(topics))
        names = (observed if self.options['labels'] == 'observed' else
                 sorted(set(topics) | set(observed)))
        col = {t: j for j, t in enumerate(names)}
        y = np.zeros((len(docs_labels), len(names)), dtype=np.float32)
        for i, ls in enumerate(docs_labels):
            for t in ls:
                y[i, col[t]] = 1.0
        vocab = build_vocab(docs_tokens, min_count=1)
        ids, ptr = encode(docs_tokens, vocab)
        stats = dict(num_documents=len(docs_labels),
                     num_labels=len(names),
                     observed_topics=len(observed),
                     taxonomy_topics=len(topics),
                     topics_outside_taxonomy=outside,
                     labels_per_sample=float(y.sum(1).mean()),
                     documents_without_label=int((y.sum(1) == 0).sum()),
                     mean_tokens=float(np.diff(ptr).mean()),
                     max_length=max_length)
        if self.verbose:
            print(f"{self.display_name}: {stats}")
        return SampleArrays(ids=ids, ptr=ptr, y=y, label_names=names,
                            vocab=vocab, split=None, stats=stats)

    def _on_load(self) -> None:
        self._mask_rare_tokens(self.min_count, UNK)

    @property
    def ignored_topics(self) -> List[str]:
        r"""Taxonomy topics that are not labels (ignored by the tree)."""
        labels = set(self.label_names)
        pairs = read_taxonomy(self.taxonomy_path)
        return sorted({n for pair in pairs for n in pair} - labels)

    @property
    def prior_name(self) -> str:
        return ('RCV1 topic tree' +
                (' with ancestor edges' if self.ancestors else ''))
