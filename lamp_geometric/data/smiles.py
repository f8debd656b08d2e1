r"""SMILES strings to molecular graphs, with RDKit.

:func:`featurize_smiles` is the one SMILES -> graph featuriser of the
library: :class:`~lamp_geometric.data.MoleculeCSV` builds its data sets with
it and :class:`~lamp_geometric.predict.Predictor` featurises new molecules
with it, so both see the same graphs.  :func:`block_rdkit_logs` silences
RDKit's log while a SMILES string is parsed.
"""
import contextlib
from typing import Any, Iterator

from torch_geometric.data import Data

__all__ = ['SmilesError', 'block_rdkit_logs', 'featurize_smiles']


@contextlib.contextmanager
def block_rdkit_logs() -> Iterator[None]:
    r"""Context manager silencing RDKit's log output (e.g. the
    ``SMILES Parse Error`` lines printed for every invalid SMILES) and
    restoring the previous state afterwards.

    Example:
        >>> from rdkit import Chem
        >>> with block_rdkit_logs():
        ...     mol = Chem.MolFromSmiles('C1CC')  # None, and nothing printed
    """
    from rdkit import RDLogger, rdBase

    if hasattr(rdBase, 'BlockLogs'):  # Restores the previous state.
        block: Any = rdBase.BlockLogs()
        try:
            yield
        finally:
            del block
    else:  # pragma: no cover - old RDKit versions.
        RDLogger.DisableLog('rdApp.*')
        try:
            yield
        finally:
            RDLogger.EnableLog('rdApp.*')


class SmilesError(ValueError):
    r"""A SMILES string that gives no molecular graph.

    Its message names the string; :attr:`reason` is the short reason
    (:obj:`'empty SMILES'`, :obj:`'unparseable SMILES'`,
    :obj:`'molecule has no atoms'` or :obj:`'cannot featurise: ...'`) that
    :class:`~lamp_geometric.data.MoleculeCSV` lists for a skipped row.

    Args:
        message (str): The full message.
        reason (str): The short reason.
    """
    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def featurize_smiles(smiles: str) -> Data:
    r"""Featurises one SMILES string as
    :func:`torch_geometric.utils.from_smiles` does (see
    :obj:`torch_geometric.utils.smiles.x_map` and
    :obj:`~torch_geometric.utils.smiles.e_map`), with strict parsing:
    :func:`~torch_geometric.utils.from_smiles` silently turns an invalid
    SMILES string into an empty molecule, this function refuses it.

    The graph holds ``x`` (:obj:`[num_atoms, 9]` long atom features),
    ``edge_index`` (:obj:`[2, num_edges]`, both directions of each bond),
    ``edge_attr`` (:obj:`[num_edges, 3]` long bond features) and
    ``smiles`` (the string without surrounding white space).

    Args:
        smiles (str): The SMILES string.

    Returns:
        torch_geometric.data.Data: The molecular graph.

    Raises:
        SmilesError: If the string is empty, cannot be parsed by RDKit, gives
            a molecule without atoms or holds an atom or bond outside the
            featuriser's vocabulary.
    """
    from rdkit import Chem
    from torch_geometric.utils.smiles import from_rdmol

    if not isinstance(smiles, str):
        raise SmilesError(f'expected a SMILES string (got '
                          f'{type(smiles).__name__})', 'not a string')
    text = smiles.strip()
    if not text:
        raise SmilesError('empty SMILES', 'empty SMILES')
    with block_rdkit_logs():
        mol = Chem.MolFromSmiles(text)
    if mol is None:
        raise SmilesError(f'RDKit cannot parse the SMILES {text!r}',
                          'unparseable SMILES')
    if mol.GetNumAtoms() == 0:
        raise SmilesError(f'the SMILES {text!r} has no atoms',
                          'molecule has no atoms')
    try:
        data = from_rdmol(mol)
    except (ValueError, KeyError) as e:  # A feature outside x_map / e_map.
        raise SmilesError(f'cannot featurise {text!r}: {e}',
                          f'cannot featurise: {e}') from e
    data.smiles = text
    return data
