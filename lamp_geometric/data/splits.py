r"""Train / validation / test splits for molecule data sets."""
import math
import random as _random
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from lamp_geometric.data.smiles import block_rdkit_logs

__all__ = ['random_split', 'scaffold_split']


def _check_fractions(fractions: Sequence[float]) -> Tuple[float, float, float]:
    if len(fractions) != 3:
        raise ValueError(f'Expected three fractions (train, val, test), got '
                         f'{tuple(fractions)}')
    train, val, test = (float(f) for f in fractions)
    if min(train, val, test) < 0 or abs(train + val + test - 1.0) > 1e-6:
        raise ValueError(f'Fractions must be non-negative and sum to 1, got '
                         f'{tuple(fractions)}')
    return train, val, test


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def _to_tensor(indices: Sequence[int]) -> Tensor:
    return torch.tensor(sorted(indices), dtype=torch.long)


def random_split(
    num_samples: int,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Splits :obj:`range(num_samples)` at random into train, validation and
    test indices.

    The validation and test sizes are ``round(fraction * num_samples)``
    (halves rounded up); the training set takes the rest. For SIDER's 1427
    molecules and the default fractions this gives the LaMP paper's
    1141 / 143 / 143.

    Args:
        num_samples (int): The number of samples.
        fractions (Sequence[float], optional): Train, validation and test
            fractions, summing to 1. (default: :obj:`(0.8, 0.1, 0.1)`)
        seed (int, optional): Seed of the :class:`torch.Generator` drawing
            the permutation; the same seed gives the same split.
            (default: :obj:`0`)

    Returns:
        Tuple[Tensor, Tensor, Tensor]: Sorted long tensors of train,
        validation and test indices; disjoint, and together covering
        :obj:`range(num_samples)`.
    """
    _, val_frac, test_frac = _check_fractions(fractions)
    if num_samples < 0:
        raise ValueError(f'num_samples must be >= 0, got {num_samples}')
    num_val = _round_half_up(val_frac * num_samples)
    num_test = _round_half_up(test_frac * num_samples)
    num_train = num_samples - num_val - num_test
    if num_train < 0:
        raise ValueError(f'Fractions {tuple(fractions)} leave no room for '
                         f'training among {num_samples} samples')

    generator = torch.Generator().manual_seed(seed)
    perm = torch.randperm(num_samples, generator=generator)
    train = perm[:num_train]
    val = perm[num_train:num_train + num_val]
    test = perm[num_train + num_val:]
    return train.sort().values, val.sort().values, test.sort().values


def _scaffold(smiles: str, index: int) -> str:
    from rdkit import Chem
    from rdkit.Chem.Scaffolds import MurckoScaffold

    with block_rdkit_logs():
        mol = Chem.MolFromSmiles(smiles) if smiles.strip() else None
    if mol is None:
        raise ValueError(f'Cannot parse SMILES {smiles!r} at index {index}')
    return MurckoScaffold.MurckoScaffoldSmiles(mol=mol,
                                               includeChirality=False)


def scaffold_split(
    smiles: Sequence[str],
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: Optional[int] = None,
) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Splits molecules into train, validation and test indices so that no
    Bemis-Murcko scaffold is shared by two splits.

    Molecules are grouped by
    ``MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False)``
    (acyclic molecules share the empty scaffold). The scaffold sets are then
    assigned in turn to train while it stays within
    ``train_fraction * n``, else to validation while it stays within
    ``val_fraction * n``, else to test (the chemprop / MoleculeNet
    convention). The order of the scaffold sets is

    * :obj:`seed=None`: deterministic, largest sets first (ties in order of
      first appearance);
    * an integer :obj:`seed`: chemprop's "balanced" scaffold split: the sets
      larger than half the validation or half the test size come first, then
      the others, each group shuffled with :obj:`random.Random(seed)`.

    Args:
        smiles (Sequence[str]): The SMILES strings, e.g. ``dataset.smiles``
            of a :class:`~lamp_geometric.data.MoleculeCSV`.
        fractions (Sequence[float], optional): Train, validation and test
            fractions, summing to 1. (default: :obj:`(0.8, 0.1, 0.1)`)
        seed (int, optional): See above. (default: :obj:`None`)

    Returns:
        Tuple[Tensor, Tensor, Tensor]: Sorted long tensors of train,
        validation and test indices into :obj:`smiles`.

    Raises:
        ValueError: If a SMILES string cannot be parsed.
    """
    train_frac, val_frac, test_frac = _check_fractions(fractions)
    n = len(smiles)
    train_size, val_size, test_size = (train_frac * n, val_frac * n,
                                       test_frac * n)

    groups: Dict[str, List[int]] = OrderedDict()
    for i, s in enumerate(smiles):
        groups.setdefault(_scaffold(s, i), []).append(i)
    index_sets = list(groups.values())

    if seed is None:
        # `sorted` is stable: ties keep their order of first appearance.
        index_sets = sorted(index_sets, key=len, reverse=True)
    else:
        big = [s for s in index_sets
               if len(s) > val_size / 2 or len(s) > test_size / 2]
        small = [s for s in index_sets
                 if not (len(s) > val_size / 2 or len(s) > test_size / 2)]
        rng = _random.Random(seed)
        rng.shuffle(big)
        rng.shuffle(small)
        index_sets = big + small

    train: List[int] = []
    val: List[int] = []
    test: List[int] = []
    for index_set in index_sets:
        if len(train) + len(index_set) <= train_size:
            train += index_set
        elif len(val) + len(index_set) <= val_size:
            val += index_set
        else:
            test += index_set
    return _to_tensor(train), _to_tensor(val), _to_tensor(test)
