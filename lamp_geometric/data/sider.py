r"""The SIDER side-effect data set (MoleculeNet version)."""
import os.path as osp
from functools import partial
from typing import Callable, Optional

from torch_geometric.data import Data

from lamp_geometric.data.download import (
    PackagedFile,
    download_files,
    find_or_download,
)
from lamp_geometric.data.molecule_csv import MoleculeCSV

__all__ = ['SIDER']


class SIDER(MoleculeCSV):
    r"""The SIDER (Side Effect Resource) data set in its MoleculeNet version:
    1427 marketed drugs given as SMILES, each with 27 binary labels, one per
    system organ class of adverse drug reactions (the label names are the CSV
    header). Used as a multi-label benchmark in the LaMP paper (random
    80/10/10 split: 1141 / 143 / 143, see
    :func:`lamp_geometric.data.random_split`).

    The package ships the raw file (gzipped, with its SHA-256 checksum,
    source and licence in ``lamp_geometric/data/raw/README.md``: chemprop's
    ``data/sider.csv``, from the SIDER database of Kuhn et al.; CC BY-NC-SA,
    research use), so the data set loads without a network. The raw file is
    looked up in this order:

    1. ``<data_dir>/sider/sider.csv`` (:obj:`data_dir` defaults to
       ``$LAMP_DATA``), when that file exists,
    2. the copy shipped with the package (:attr:`packaged_file`), read as it
       is (gzipped) after checking that its content has the SHA-256
       :attr:`sha256`,
    3. a previously downloaded copy in ``<root>/raw/sider.csv``, or in
       ``default_cache_dir()/sider/raw/sider.csv`` when :obj:`root` is not
       given,
    4. otherwise it is downloaded from :attr:`url` (the URL PyG's
       :class:`~torch_geometric.datasets.MoleculeNet` uses) into that
       ``raw`` directory and decompressed.

    An existing raw file is never downloaded again. Molecules are featurised
    as described in :class:`~lamp_geometric.data.MoleculeCSV`.

    Args:
        data_dir (str, optional): Directory holding ``sider/sider.csv``.
            (default: ``$LAMP_DATA``)
        root (str, optional): Directory for the processed files (and for a
            downloaded raw file). (default: a directory under
            :func:`~lamp_geometric.data.default_cache_dir`)
        transform (callable, optional): Transform applied to each graph on
            access. (default: :obj:`None`)
        force_reload (bool, optional): Re-process the data set even if a
            processed version exists. (default: :obj:`False`)
        verbose (bool, optional): Print progress and warn about skipped rows.
            (default: :obj:`True`)

    Raises:
        ~lamp_geometric.data.ChecksumError: If the packaged copy does not
            match :attr:`sha256`.
        FileNotFoundError: If the raw file is neither in :obj:`data_dir`,
            nor in the package, nor in the cache and cannot be downloaded.
    """
    #: Where the raw file is downloaded from when it is nowhere else.
    url = ('https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/'
           'sider.csv.gz')
    #: The raw file's name.
    file_name = 'sider.csv'
    #: The copy shipped with the package (gzipped); :obj:`None` skips it.
    packaged_file: Optional[str] = osp.join(
        osp.dirname(osp.abspath(__file__)), 'raw', 'sider.csv.gz')
    #: SHA-256 of the uncompressed packaged copy (chemprop's
    #: ``data/sider.csv``: 1427 rows, 27 labels).
    sha256 = '71efc6ac4ca82d6545bc512509863281be0f17234afd7adaf71a71899988302e'

    def __init__(
        self,
        data_dir: Optional[str] = None,
        root: Optional[str] = None,
        transform: Optional[Callable[[Data], Data]] = None,
        force_reload: bool = False,
        verbose: bool = True,
    ) -> None:
        packaged = None
        if self.packaged_file is not None:
            packaged = {
                self.file_name: PackagedFile(self.packaged_file, self.sha256)
            }
        raw = find_or_download(
            'SIDER', 'sider', [self.file_name], data_dir, root,
            cache_name='sider',
            download=partial(download_files, {self.file_name: self.url},
                             log=verbose, gunzip=True),
            source=f"'{self.url}'", packaged=packaged)
        super().__init__(raw[self.file_name], root=root,
                         smiles_column='smiles', label_columns=None,
                         transform=transform, force_reload=force_reload,
                         verbose=verbose)
