r"""A small transcription-factor (TF) binding problem: genes as samples,
their expression profile as input, the TFs with a motif in the gene as
labels, and the TF-TF protein-protein interactions (PPI) as the known label
graph -- the shape of the LaMP paper's TFBS task with its PPI prior.

Raw layout (``<data_dir>/ppi_toy/``, the PANDA/PUMA toy data of netZooPy)::

    ToyExpressionData.txt   gene <TAB> 50 expression values (no header)
    ToyMotifData.txt        TF <TAB> gene <TAB> weight (1: a motif of the
                            TF in the gene)
    ToyPPIData.txt          TF <TAB> TF <TAB> weight (an interaction; the
                            layout of STRING edges)
"""
from functools import partial
from typing import Callable, Dict, List, Optional, Sequence

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

__all__ = ['TFPPI']

PPI_TOY_URL = ('https://raw.githubusercontent.com/netZoo/netZooPy/master/'
               'tests/puma/ToyData/')
EXPRESSION, MOTIF, PPI = ('ToyExpressionData.txt', 'ToyMotifData.txt',
                          'ToyPPIData.txt')


def _read_table(path: str, min_columns: int) -> List[List[str]]:
    rows = []
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < min_columns:
                raise ValueError(f"'{path}', line {line_no}: expected at "
                                 f"least {min_columns} columns, found "
                                 f"{len(parts)}")
            rows.append(parts)
    return rows


class TFPPI(MultiLabelDataset):
    r"""Genes labelled with the TFs that bind them, from their expression
    (see the module documentation for the raw layout).

    * samples: the genes that have both an expression profile and at least
      one TF motif (913 of the toy data).  Genes with expression but no
      motif row are dropped (87: the TFs' own genes), because the motif
      table lists the genes its scan covered, so their labels are unknown
      rather than all negative; genes with motifs but no expression (0)
      are dropped because they have no input.  Both counts are in
      :attr:`stats`.
    * input: a dense vector -- every expression value is a feature node,
      ``x`` the feature index :obj:`0..49` and ``value`` the expression,
      standardised per feature with the mean and standard deviation of
      this seed's *training* genes (:obj:`standardize=True`), in memory at
      load time.  Encode with
      :class:`~lamp_geometric.nn.feature_encoders.FeatureValueEmbedding`.
      * labels: the TFs (87), sorted by name; a motif weight above 0 is a
      positive.  :attr:`sample_names` gives the genes.
    * split: random 80/10/10 by :obj:`seed`.

    :meth:`label_edge_index` is the PPI graph among the TFs
    (:func:`lamp_geometric.graphs.ppi`): 238 interaction rows, of which 42
    are self-interactions (dropped: the model adds self loops), giving 196
    undirected TF-TF edges (392 directed).

    Args:
        data_dir (str, optional): Directory holding ``ppi_toy/``.
            (default: ``$LAMP_DATA``)
        root (str, optional): Directory of the processed files.
        seed (int, optional): Seed of the random split. (default: :obj:`0`)
        fractions (Sequence[float], optional): Split fractions.
            (default: :obj:`(0.8, 0.1, 0.1)`)
        standardize (bool, optional): Standardise expression values with
            training statistics. (default: :obj:`True`)
        min_score (float, optional): Cut-off on the PPI weight.
            (default: :obj:`None`)
        transform, force_reload, verbose: As for
            :class:`~lamp_geometric.data.Mulan`.
    """
    display_name = 'TF/PPI (toy)'
    input_type = 'vector'

    def __init__(
        self,
        data_dir: Optional[str] = None,
        root: Optional[str] = None,
        seed: int = 0,
        fractions: Sequence[float] = (0.8, 0.1, 0.1),
        standardize: bool = True,
        min_score: Optional[float] = None,
        transform: Optional[Callable[[Data], Data]] = None,
        force_reload: bool = False,
        verbose: bool = True,
    ) -> None:
        self.standardize = standardize
        self.min_score = min_score
        files = [EXPRESSION, MOTIF, PPI]
        urls = {f: PPI_TOY_URL + f for f in files}
        raw = find_or_download(
            'TF/PPI toy data', 'ppi_toy', files, data_dir, root,
            cache_name='ppi_toy',
            download=partial(download_files, urls, log=verbose),
            source=PPI_TOY_URL)
        self._setup(raw, {}, root, cache_name='ppi_toy', seed=seed,
                    fractions=fractions, transform=transform,
                    force_reload=force_reload, verbose=verbose)

    @property
    def ppi_path(self) -> str:
        r"""The path of the interaction table."""
        return self.raw_files[PPI]

    def build(self) -> SampleArrays:
        expr_rows = _read_table(self.raw_files[EXPRESSION], 2)
        width = len(expr_rows[0]) - 1
        expression: Dict[str, np.ndarray] = {}
        for k, row in enumerate(expr_rows):
            if len(row) - 1 != width:
                raise ValueError(f"'{self.raw_files[EXPRESSION]}': gene "
                                 f"{row[0]!r} has {len(row) - 1} values, "
                                 f"the first gene {width}")
            if row[0] in expression:
                raise ValueError(f"'{self.raw_files[EXPRESSION]}': gene "
                                 f"{row[0]!r} appears twice")
            try:
                expression[row[0]] = np.asarray(row[1:], dtype=np.float32)
            except ValueError:
                raise ValueError(f"'{self.raw_files[EXPRESSION]}': gene "
                                 f"{row[0]!r} has a value that is not a "
                                 f"number") from None
        motif: Dict[str, Dict[str, float]] = {}
        for row in _read_table(self.raw_files[MOTIF], 2):
            weight = float(row[2]) if len(row) > 2 else 1.0
            motif.setdefault(row[1], {})[row[0]] = weight
        tfs = sorted({tf for targets in motif.values() for tf in targets})
        genes = [g for g in expression if g in motif]
        genes.sort()
        col = {tf: j for j, tf in enumerate(tfs)}
        y = np.zeros((len(genes), len(tfs)), dtype=np.float32)
        for i, g in enumerate(genes):
            for tf, w in motif[g].items():
                if w > 0:
                    y[i, col[tf]] = 1.0
        n = len(genes)
        ids = np.tile(np.arange(width, dtype=np.int64), n)
        values = np.stack([expression[g] for g in genes]).reshape(-1)
        ptr = np.arange(n + 1, dtype=np.int64) * width
        stats = dict(
            num_genes=n, num_tfs=len(tfs), num_expression_values=width,
            genes_with_expression=len(expression),
            genes_with_motif=len(motif),
            dropped_without_motif=sum(g not in motif for g in expression),
            dropped_without_expression=sum(g not in expression
                                           for g in motif),
            labels_per_sample=float(y.sum(1).mean()),
            genes_without_positive=int((y.sum(1) == 0).sum()),
            ppi_rows=len(_read_table(self.raw_files[PPI], 2)),
        )
        if self.verbose:
            print(f"{self.display_name}: {stats}")
        return SampleArrays(ids=ids, ptr=ptr, y=y, label_names=tfs,
                            vocab=[f'expression_{j}' for j in range(width)],
                            values=values, split=None, stats=stats,
                            sample_names=genes)

    def _on_load(self) -> None:
        if self.standardize:
            self._standardize_values()

    @property
    def prior_name(self) -> str:
        return 'TF-TF protein-protein interactions'
