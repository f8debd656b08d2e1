r"""The SIDER side-effect data set (MoleculeNet version)."""
import os
import os.path as osp
import shutil
import tempfile
from typing import Callable, Optional

from torch_geometric.data import Data, download_url, extract_gz

from lamp_geometric.data.molecule_csv import (
    MoleculeCSV,
    default_cache_dir,
    default_data_dir,
)

__all__ = ['SIDER']


class SIDER(MoleculeCSV):
    r"""The SIDER (Side Effect Resource) data set in its MoleculeNet version:
    1427 marketed drugs given as SMILES, each with 27 binary labels, one per
    system organ class of adverse drug reactions (the label names are the CSV
    header). Used as a multi-label benchmark in the LaMP paper (random
    80/10/10 split: 1141 / 143 / 143, see
    :func:`lamp_geometric.data.random_split`).

    The raw file is looked up in this order:

    1. ``<data_dir>/sider/sider.csv`` (:obj:`data_dir` defaults to
       ``$LAMP_DATA``),
    2. a previously downloaded copy in ``<root>/raw/sider.csv``, or in
       ``default_cache_dir()/sider/raw/sider.csv`` when :obj:`root` is not
       given,
    3. otherwise it is downloaded from :attr:`url` (the URL PyG's
       :class:`~torch_geometric.datasets.MoleculeNet` uses) into that
       ``raw`` directory and decompressed.

    An existing raw file is never downloaded again, so the data set works
    offline once the file is there. Molecules are featurised as described in
    :class:`~lamp_geometric.data.MoleculeCSV`.

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
        FileNotFoundError: If the raw file is neither in :obj:`data_dir` nor
            in the cache and cannot be downloaded.
    """
    url = ('https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/'
           'sider.csv.gz')
    file_name = 'sider.csv'

    def __init__(
        self,
        data_dir: Optional[str] = None,
        root: Optional[str] = None,
        transform: Optional[Callable[[Data], Data]] = None,
        force_reload: bool = False,
        verbose: bool = True,
    ) -> None:
        csv_path = self._find_or_download(data_dir, root, verbose)
        super().__init__(csv_path, root=root, smiles_column='smiles',
                         label_columns=None, transform=transform,
                         force_reload=force_reload, verbose=verbose)

    @classmethod
    def _find_or_download(cls, data_dir: Optional[str], root: Optional[str],
                          verbose: bool) -> str:
        data_dir = data_dir if data_dir is not None else default_data_dir()
        candidates = []
        if data_dir:
            path = osp.join(osp.expanduser(data_dir), 'sider', cls.file_name)
            candidates.append(path)
            if osp.isfile(path):
                return path

        if root is not None:
            raw_dir = osp.join(osp.expanduser(root), 'raw')
        else:
            raw_dir = osp.join(default_cache_dir(), 'sider', 'raw')
        path = osp.join(raw_dir, cls.file_name)
        candidates.append(path)
        if osp.isfile(path):
            return path

        try:
            os.makedirs(raw_dir, exist_ok=True)
            # Download and decompress into a temporary folder, then move the
            # file into place, so an interrupted download leaves no partial
            # `sider.csv` behind.
            tmp_dir = tempfile.mkdtemp(prefix='.download-', dir=raw_dir)
            try:
                gz_path = download_url(cls.url, tmp_dir, log=verbose)
                extract_gz(gz_path, tmp_dir, log=verbose)
                os.replace(osp.join(tmp_dir, cls.file_name), path)
            finally:
                shutil.rmtree(tmp_dir, ignore_errors=True)
        except Exception as e:
            where = ' or '.join(f"'{c}'" for c in candidates)
            raise FileNotFoundError(
                f'SIDER raw file not found (expected it at {where}; set '
                f'LAMP_DATA or pass data_dir to point at a directory holding '
                f"sider/{cls.file_name}) and downloading it from '{cls.url}' "
                f'failed: {e!r}') from e
        return path
