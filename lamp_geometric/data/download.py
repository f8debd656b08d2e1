r"""Where the raw files of a data set come from: the data directory, a copy
shipped with the package, the cache, or a download.

:func:`find_or_download` looks for a data set's raw files in that order and
downloads them only when they are nowhere else; :func:`download_files`
fetches files without ever leaving a partial one behind.  The directories
involved are :func:`default_data_dir` (``$LAMP_DATA``) and
:func:`default_cache_dir` (``$LAMP_CACHE``).
"""
import gzip
import hashlib
import os
import os.path as osp
import shutil
import tempfile
from typing import (
    Callable,
    Dict,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
)

from torch_geometric.data import download_url, extract_gz

__all__ = [
    'ChecksumError',
    'PackagedFile',
    'default_cache_dir',
    'default_data_dir',
    'download_files',
    'find_or_download',
    'sha256_of',
]


def default_cache_dir() -> str:
    r"""Returns the directory where processed datasets (and downloaded raw
    files) are cached.

    Returns:
        str: ``$LAMP_CACHE`` if that environment variable is set and not
        empty, otherwise ``~/.cache/lamp_geometric`` (with ``~`` expanded).
    """
    path = os.environ.get('LAMP_CACHE')
    if not path:
        path = osp.join('~', '.cache', 'lamp_geometric')
    return osp.expanduser(path)


def default_data_dir() -> Optional[str]:
    r"""Returns the directory holding the raw data sets.

    Returns:
        str or None: ``$LAMP_DATA`` if that environment variable is set and
        not empty, otherwise :obj:`None`.
    """
    path = os.environ.get('LAMP_DATA')
    return osp.expanduser(path) if path else None


class ChecksumError(ValueError):
    r"""A file's content does not have the SHA-256 checksum recorded for
    it."""


class PackagedFile(NamedTuple):
    r"""A raw file shipped inside the package.

    Attributes:
        path (str): Where the copy lies (gzipped if it ends in ``.gz``).
        sha256 (str): The recorded SHA-256 of its uncompressed content.
    """
    path: str
    sha256: str


def sha256_of(path: str) -> str:
    r"""The SHA-256 (hex digest) of a file's content, of its uncompressed
    content for a gzipped file (a name ending in ``.gz``)."""
    digest = hashlib.sha256()
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _checked(name: str, file_name: str, packaged: PackagedFile) -> str:
    try:
        actual = sha256_of(packaged.path)
    except (OSError, EOFError) as e:
        raise ChecksumError(
            f"The copy of {name}'s {file_name} shipped with the package "
            f"('{packaged.path}') cannot be read ({e}); reinstall the "
            f"package, or set LAMP_DATA or pass data_dir to use another "
            f"copy") from e
    if actual != packaged.sha256:
        raise ChecksumError(
            f"The copy of {name}'s {file_name} shipped with the package "
            f"('{packaged.path}') has SHA-256 {actual}, but {packaged.sha256} "
            f"is recorded for it: the file is damaged or was changed; "
            f"reinstall the package, or set LAMP_DATA or pass data_dir to "
            f"use another copy")
    return packaged.path


def find_or_download(
    name: str,
    folder: str,
    files: Sequence[str],
    data_dir: Optional[str],
    root: Optional[str],
    cache_name: str,
    download: Optional[Callable[[str], None]] = None,
    source: str = '',
    packaged: Optional[Mapping[str, PackagedFile]] = None,
) -> Dict[str, str]:
    r"""Finds the raw files of a data set, downloading them when absent.

    The files are looked up, all together, in this order:

    1. ``<data_dir>/<folder>/`` (:obj:`data_dir` defaults to ``$LAMP_DATA``),
    2. the copies shipped with the package (:obj:`packaged`), after checking
       their SHA-256 checksums,
    3. ``<root>/raw/`` or, without :obj:`root`,
       ``default_cache_dir()/<cache_name>/raw/`` (a previous download),
    4. otherwise :obj:`download(raw_dir)` is called to fetch them there.

    Args:
        name (str): The data set's name, for messages.
        folder (str): Its sub-directory of the data directory.
        files (Sequence[str]): The file names needed.
        data_dir (str, optional): The data directory.
        root (str, optional): The data set's root (processed files).
        cache_name (str): Folder under the cache directory.
        download (callable, optional): Fetches the files into the given
            directory; :obj:`None` when the data set has no public source.
        source (str, optional): Where the files come from, for messages.
        packaged (Mapping[str, PackagedFile], optional): File name -> its
            copy shipped with the package; used only when every file has
            one that exists. (default: :obj:`None`)

    Returns:
        Dict[str, str]: File name -> absolute path (the packaged copy's path,
        gzipped, when the files come from the package).

    Raises:
        ChecksumError: If a packaged copy does not match its checksum.
        FileNotFoundError: If the files are nowhere and cannot be downloaded.
    """
    data_dir = data_dir if data_dir is not None else default_data_dir()
    candidates: List[str] = []
    if data_dir:
        base = osp.abspath(osp.join(osp.expanduser(data_dir), folder))
        candidates.append(base)
        if all(osp.isfile(osp.join(base, f)) for f in files):
            return {f: osp.join(base, f) for f in files}

    if packaged is not None:
        copies = [packaged.get(f) for f in files]
        if all(c is not None and osp.isfile(c.path) for c in copies):
            return {
                f: osp.abspath(_checked(name, f, c))
                for f, c in zip(files, copies)
            }

    if root is not None:
        raw_dir = osp.join(osp.abspath(osp.expanduser(root)), 'raw')
    else:
        raw_dir = osp.join(default_cache_dir(), cache_name, 'raw')
    candidates.append(raw_dir)
    if all(osp.isfile(osp.join(raw_dir, f)) for f in files):
        return {f: osp.join(raw_dir, f) for f in files}

    where = ' or '.join(f"'{c}'" for c in candidates)
    what = (f"raw file '{files[0]}'"
            if len(files) == 1 else f'raw files {list(files)}')
    hint = (f"set LAMP_DATA or pass data_dir to point at a directory holding "
            f"{folder}/{files[0]}")
    if download is None:
        raise FileNotFoundError(f"{name} {what} not found (looked in {where}; "
                                f"{hint})")
    try:
        os.makedirs(raw_dir, exist_ok=True)
        download(raw_dir)
        missing = [f for f in files if not osp.isfile(osp.join(raw_dir, f))]
        if missing:
            raise FileNotFoundError(f'the download lacks {missing}')
    except Exception as e:
        raise FileNotFoundError(
            f"{name} {what} not found (looked in {where}; {hint}) and "
            f"downloading {'it' if len(files) == 1 else 'them'}"
            f"{' from ' + source if source else ''} failed: {e!r}") from e
    return {f: osp.join(raw_dir, f) for f in files}


def download_files(urls: Mapping[str, str], raw_dir: str, log: bool = True,
                   gunzip: bool = False) -> None:
    r"""Downloads :obj:`{file name: url}` into :obj:`raw_dir`, each through a
    temporary folder so an interrupted download leaves no partial file.
    Files already in :obj:`raw_dir` are not downloaded again.

    Args:
        urls (Mapping[str, str]): File name -> URL.
        raw_dir (str): The target directory (it must exist).
        log (bool, optional): Print progress. (default: :obj:`True`)
        gunzip (bool, optional): The URLs serve gzipped files: decompress
            each into its file name. (default: :obj:`False`)
    """
    for file_name, url in urls.items():
        target = osp.join(raw_dir, file_name)
        if osp.isfile(target):
            continue
        tmp_dir = tempfile.mkdtemp(prefix='.download-', dir=raw_dir)
        try:
            if gunzip:
                path = download_url(url, tmp_dir, log=log,
                                    filename=file_name + '.gz')
                extract_gz(path, tmp_dir, log=log)
                path = osp.join(tmp_dir, file_name)
            else:
                path = download_url(url, tmp_dir, log=log, filename=file_name)
            os.replace(path, target)
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)
