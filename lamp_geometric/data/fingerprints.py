r"""Morgan fingerprints of molecules.

:func:`morgan_fingerprints` is the one Morgan-fingerprint function of the
library: the transform :class:`AddMorganBits` and the random-forest baseline
(:class:`~lamp_geometric.baselines.MorganRandomForest`) use it.

LaMP only needs a set of feature nodes per sample, so the "on" bits of a
molecule's RDKit Morgan fingerprint can join its atoms as nodes (each bit a
learned embedding, like a word of a bag of words).
:class:`AddMorganBits` stores them on every graph; the encoder
:class:`~lamp_geometric.nn.encoders.FingerprintNodes` embeds them and
appends them to the atom nodes.
"""
from typing import Dict, Sequence

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from lamp_geometric.data.smiles import block_rdkit_logs

__all__ = ['AddMorganBits', 'morgan_fingerprints']


def morgan_fingerprints(smiles: Sequence[str], radius: int = 2,
                        n_bits: int = 2048) -> np.ndarray:
    r"""RDKit Morgan (ECFP-like) bit fingerprints.

    Args:
        smiles (Sequence[str]): SMILES strings.
        radius (int, optional): Morgan radius. (default: :obj:`2`)
        n_bits (int, optional): Fingerprint length. (default: :obj:`2048`)

    Returns:
        numpy.ndarray: :obj:`[N, n_bits]` uint8 in {0, 1}.

    Raises:
        ValueError: If a SMILES string cannot be parsed (with its index).
    """
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius,
                                                         fpSize=n_bits)
    out = np.zeros((len(smiles), n_bits), dtype=np.uint8)
    with block_rdkit_logs():
        for i, s in enumerate(smiles):
            mol = Chem.MolFromSmiles(s) if s and s.strip() else None
            if mol is None:
                raise ValueError(f"Cannot parse SMILES {s!r} at index {i}")
            out[i] = generator.GetFingerprintAsNumPy(mol)
    return out


class AddMorganBits(BaseTransform):
    r"""Adds the indices of the set bits of the molecule's Morgan
    fingerprint as :obj:`data.fp_bits` (:obj:`[num_bits_on]`, long) and
    their number as :obj:`data.num_fp_bits` (:obj:`[1]`), computed from
    :obj:`data.smiles`.

    Batched by PyG, :obj:`fp_bits` is the concatenation of every molecule's
    bits and :obj:`num_fp_bits` says how many belong to each molecule.  The
    bits of a SMILES string are computed once and cached.

    Args:
        radius (int, optional): Morgan radius. (default: :obj:`2`)
        n_bits (int, optional): Fingerprint length. (default: :obj:`2048`)
    """
    def __init__(self, radius: int = 2, n_bits: int = 2048):
        if radius < 0 or n_bits < 1:
            raise ValueError(f"'radius' must be >= 0 and 'n_bits' >= 1 (got "
                             f"{radius}, {n_bits})")
        self.radius = radius
        self.n_bits = n_bits
        self._cache: Dict[str, torch.Tensor] = {}

    def forward(self, data: Data) -> Data:
        smiles = getattr(data, 'smiles', None)
        if not isinstance(smiles, str):
            raise ValueError("'AddMorganBits' needs 'data.smiles' (one SMILES "
                             "string per graph)")
        bits = self._cache.get(smiles)
        if bits is None:
            fp = morgan_fingerprints([smiles], self.radius, self.n_bits)[0]
            bits = torch.from_numpy(np.flatnonzero(fp).astype(np.int64))
            self._cache[smiles] = bits
        data.fp_bits = bits
        data.num_fp_bits = torch.tensor([bits.numel()])
        return data

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(radius={self.radius}, '
                f'n_bits={self.n_bits})')
