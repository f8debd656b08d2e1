r"""The registry of data sets the experiment engine
(:mod:`lamp_geometric.experiment`) and the command line know by name.

Each entry records how to load the data set, its input type, its split
policy, how to build its prior label graph (LaMP\ :sub:`pr`) and its
display name:

========== =========== ========================= ============================
name       input       split                     prior label graph
========== =========== ========================= ============================
sider      molecule    random 80/10/10 by seed   co-occurrence in training
csv        molecule    (or scaffold)
bibtex     bag of      given train/test, 10% of  co-occurrence in training
delicious  words       train for validation
reuters    text        ModApte, 10% of train     co-occurrence in training
rcv1       text        random 80/10/10           RCV1 topic tree
tf_ppi     vector      random 80/10/10           TF-TF PPI graph
mulan:NAME bow or      given train/test, or      co-occurrence in training
arff       vector      one file at random
text       text
========== =========== ========================= ============================

``mulan:NAME`` reads any Mulan folder ``<data-dir>/mulan/NAME/``; ``csv``,
``arff`` and ``text`` read the user's files (:obj:`--csv`,
:obj:`--arff TRAIN [TEST] --xml LABELS`, :obj:`--text TRAIN [TEST]`).

Add an entry with :func:`register_dataset`:

.. code-block:: python

    from lamp_geometric.data import MoleculeCSV
    from lamp_geometric.registry import register_dataset

    def load_tox21(config, seed, verbose):
        return MoleculeCSV('tox21.csv', root=config.cache_dir,
                           verbose=verbose)

    register_dataset('tox21', load_tox21, input_type='molecule',
                     display_name='Tox21')
"""
import os.path as osp
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from torch import Tensor

from lamp_geometric.data import (
    TFPPI,
    ArffFiles,
    BibTeX,
    Delicious,
    MoleculeCSV,
    Mulan,
    RCV1Subset,
    Reuters21578,
    SIDER,
    TextDataset,
)
from lamp_geometric.graphs import co_occurrence, dataset_prior

__all__ = [
    'DatasetEntry',
    'DATASETS',
    'SPLIT_POLICIES',
    'register_dataset',
    'get_dataset',
    'dataset_names',
    'display_name',
    'molecule_prior',
    'dataset_prior_graph',
]

#: A loader maps the experiment configuration (an
#: :class:`~lamp_geometric.experiment.ExperimentConfig`), the seed of the
#: split and whether to print progress to a PyG data set.
Loader = Callable[[Any, int, bool], Any]
#: A prior builder maps a data set and its training indices to the prior
#: label graph :obj:`[2, E]` and a description of it.
PriorBuilder = Callable[[Any, Tensor], Tuple[Tensor, str]]

#: :obj:`'random'`: the engine draws a random 80/10/10 split by seed (or a
#: scaffold split of molecules with :obj:`split='scaffold'`);
#: :obj:`'dataset'`: the data set's own :meth:`splits` (a given split, or
#: one it draws by seed).
SPLIT_POLICIES = ('random', 'dataset')


def molecule_prior(dataset: Any, train_idx: Tensor) -> Tuple[Tensor, str]:
    r"""The co-occurrence graph of the training molecules' labels."""
    return (co_occurrence(dataset.y[train_idx]),
            'co-occurrence in the training split')


def dataset_prior_graph(dataset: Any,
                        train_idx: Tensor) -> Tuple[Tensor, str]:
    r"""The data set's own prior (:func:`lamp_geometric.graphs.
    dataset_prior`: a known graph, else training co-occurrence)."""
    return dataset_prior(dataset, train_idx), dataset.prior_name


@dataclass(frozen=True)
class DatasetEntry:
    r"""How the engine loads and uses one data set (or one family of them,
    e.g. :obj:`'mulan:NAME'`).

    Attributes:
        name (str): The name given to :obj:`--dataset`; a family ends in
            :obj:`':NAME'` and matches :obj:`'<prefix>:<anything>'`.
        loader (callable): :obj:`loader(config, seed, verbose)` -> the data
            set.
        input_type (str, optional): :obj:`'molecule'`, :obj:`'bow'`,
            :obj:`'sequence'` or :obj:`'vector'`; :obj:`None` when the data
            set finds it when loaded (its :obj:`input_type` attribute).
        split (str): The split policy, one of :obj:`SPLIT_POLICIES`.
        prior (callable): :obj:`prior(dataset, train_idx)` -> the prior
            label graph and its description.
        display (str or callable): The display name, or a function of the
            configuration returning it.
        description (str): One line for the help text.
    """
    name: str
    loader: Loader
    input_type: Optional[str] = None
    split: str = 'dataset'
    prior: PriorBuilder = dataset_prior_graph
    display: Any = None
    description: str = ''

    def display_name(self, config: Any = None) -> str:
        r"""The name to print for this data set under :obj:`config`."""
        if callable(self.display):
            return self.display(config)
        return self.display or getattr(config, 'dataset', None) or self.name


#: Name -> entry.
DATASETS: Dict[str, DatasetEntry] = {}


def register_dataset(
    name: str,
    loader: Loader,
    input_type: Optional[str] = 'molecule',
    split: str = 'random',
    prior: Optional[PriorBuilder] = None,
    display_name: Any = None,
    description: str = '',
) -> DatasetEntry:
    r"""Makes a data set available to
    :func:`lamp_geometric.experiment.run`, the examples and the command line
    under :obj:`name` (replacing an entry of that name).

    Args:
        name (str): The name (e.g. :obj:`'tox21'`); a family of data sets
            ends in :obj:`':NAME'` (e.g. :obj:`'mulan:NAME'`).
        loader (callable): :obj:`loader(config, seed, verbose)` -> a PyG
            data set:
            molecular graphs with :obj:`y` :obj:`[1, L]` per graph and
            :obj:`label_names` (like :class:`~lamp_geometric.data.
            MoleculeCSV`), or a :class:`~lamp_geometric.data.
            MultiLabelDataset`.
        input_type (str, optional): The input type, or :obj:`None` if the
            data set sets it when loaded. (default: :obj:`'molecule'`)
        split (str, optional): :obj:`'random'` or :obj:`'dataset'` (see
            :obj:`SPLIT_POLICIES`). (default: :obj:`'random'`)
        prior (callable, optional): The prior graph builder. (default:
            training co-occurrence for molecules, else
            :func:`dataset_prior_graph`)
        display_name (str or callable, optional): (default: :obj:`name`)
        description (str, optional): One line for the help text.

    Returns:
        DatasetEntry: The new entry.
    """
    if split not in SPLIT_POLICIES:
        raise ValueError(f"'split' must be one of {SPLIT_POLICIES} (got "
                         f"'{split}')")
    if prior is None:
        prior = (molecule_prior if input_type == 'molecule' else
                 dataset_prior_graph)
    entry = DatasetEntry(name, loader, input_type, split, prior,
                         display_name, description)
    DATASETS[name] = entry
    return entry


def dataset_names() -> List[str]:
    r"""The names :obj:`--dataset` accepts, in registration order (families
    as :obj:`'prefix:NAME'`)."""
    return list(DATASETS)


def get_dataset(name: str) -> DatasetEntry:
    r"""The entry of :obj:`name` (:obj:`'mulan:emotions'` finds the family
    :obj:`'mulan:NAME'`).

    Raises:
        ValueError: For an unknown name, listing the known ones.
    """
    entry = DATASETS.get(name)
    if entry is not None and not name.endswith(':NAME'):
        return entry
    prefix, sep, rest = name.partition(':')
    family = DATASETS.get(f'{prefix}:NAME')
    if sep and rest and family is not None:
        return family
    raise ValueError(f"Unknown data set '{name}' (choose from "
                     f"{', '.join(dataset_names())})")


def display_name(name: str, config: Any = None) -> str:
    r"""The display name of the data set :obj:`name` (the name itself when
    it is unknown)."""
    try:
        entry = get_dataset(name)
    except ValueError:
        return name
    return name if entry.display is None else entry.display_name(config)


# Built-in entries ############################################################

def _root(config: Any, name: str) -> Optional[str]:
    return osp.join(config.cache_dir, name) if config.cache_dir else None


def _label_columns(config: Any) -> Optional[List[str]]:
    labels = config.label_columns
    if isinstance(labels, str):
        labels = [c.strip() for c in labels.split(',') if c.strip()]
    return list(labels) if labels else None


def _file_stem(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]


def _load_sider(config: Any, seed: int, verbose: bool) -> SIDER:
    return SIDER(data_dir=config.data_dir, root=config.cache_dir,
                 verbose=verbose)


def _load_csv(config: Any, seed: int, verbose: bool) -> MoleculeCSV:
    if not config.csv:
        raise ValueError("The 'csv' data set needs a file: pass --csv PATH")
    root = _root(config, f'csv_{_file_stem(config.csv)}')
    return MoleculeCSV(config.csv, root=root,
                       smiles_column=config.smiles_column,
                       label_columns=_label_columns(config),
                       verbose=verbose)


def _common(config: Any, seed: int, verbose: bool) -> Dict[str, Any]:
    return dict(data_dir=config.data_dir, seed=seed, verbose=verbose)


def _load_mulan(config: Any, seed: int, verbose: bool) -> Mulan:
    name = config.dataset.split(':', 1)[1]
    return Mulan(name, root=_root(config, f'mulan_{name}'),
                 **_common(config, seed, verbose))


def _load_arff(config: Any, seed: int, verbose: bool) -> ArffFiles:
    if not config.arff:
        raise ValueError("The 'arff' data set needs files: pass --arff "
                         "TRAIN.arff [TEST.arff] --xml LABELS.xml")
    root = _root(config, f'arff_{_file_stem(config.arff[0])}')
    return ArffFiles(config.arff, config.xml, root=root, seed=seed,
                     verbose=verbose)


def _load_text(config: Any, seed: int, verbose: bool) -> TextDataset:
    if not config.text:
        raise ValueError("The 'text' data set needs files: pass --text "
                         "TRAIN.txt [TEST.txt]")
    root = _root(config, f'text_{_file_stem(config.text[0])}')
    return TextDataset(config.text, root=root, seed=seed,
                       max_length=config.max_length, verbose=verbose)


def _file_display(option: str) -> Callable[[Any], str]:
    def display(config: Any) -> str:
        value = getattr(config, option, None) if config is not None else None
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        return osp.basename(value) if value else option
    return display


register_dataset('sider', _load_sider, 'molecule', 'random',
                 display_name='SIDER',
                 description='SIDER side effects of 1427 drugs (ships with '
                 'the package)')
register_dataset('csv', _load_csv, 'molecule', 'random',
                 display_name=_file_display('csv'),
                 description='a CSV of molecules (--csv PATH)')
register_dataset('bibtex', lambda c, s, v: BibTeX(root=_root(c, 'bibtex'),
                                               **_common(c, s, v)),
                 'bow', 'dataset', display_name='BibTeX',
                 description='Mulan BibTeX (bag of words)')
register_dataset('delicious',
                 lambda c, s, v: Delicious(root=_root(c, 'delicious'),
                                        **_common(c, s, v)),
                 'bow', 'dataset', display_name='Delicious',
                 description='Mulan Delicious (bag of words)')
register_dataset('reuters',
                 lambda c, s, v: Reuters21578(root=_root(c, 'reuters'),
                                           max_length=c.max_length,
                                           **_common(c, s, v)),
                 'sequence', 'dataset', display_name='Reuters-21578',
                 description='Reuters-21578 ModApte (text)')
register_dataset('rcv1',
                 lambda c, s, v: RCV1Subset(root=_root(c, 'rcv1'),
                                         max_length=c.max_length,
                                         **_common(c, s, v)),
                 'sequence', 'dataset', display_name='RCV1 subset',
                 description='an RCV1-v2 subset with its topic tree (text)')
register_dataset('tf_ppi', lambda c, s, v: TFPPI(root=_root(c, 'tf_ppi'),
                                              **_common(c, s, v)),
                 'vector', 'dataset', display_name='TF/PPI',
                 description='transcription factor binding with the TF-TF '
                 'PPI graph (vectors)')
register_dataset('mulan:NAME', _load_mulan, None, 'dataset',
                 description='any Mulan folder <data-dir>/mulan/NAME/')
register_dataset('arff', _load_arff, None, 'dataset',
                 display_name=_file_display('arff'),
                 description='ARFF files (--arff TRAIN [TEST] --xml LABELS)')
register_dataset('text', _load_text, 'sequence', 'dataset',
                 display_name=_file_display('text'),
                 description="text files, one 'label1,label2<TAB>text' "
                 "document per line (--text TRAIN [TEST])")
