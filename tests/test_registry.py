import argparse

import pytest

from lamp_geometric.data import MoleculeCSV
from lamp_geometric.experiment import (
    ExperimentConfig,
    add_experiment_arguments,
    load_data,
)
from lamp_geometric.registry import (
    DATASETS,
    dataset_names,
    display_name,
    get_dataset,
    molecule_prior,
    register_dataset,
)

import tiny_molecules as tm


def test_every_data_set_of_the_library_is_registered():
    assert dataset_names()[:10] == ['sider', 'csv', 'bibtex', 'delicious',
                                    'reuters', 'rcv1', 'tf_ppi',
                                    'mulan:NAME', 'arff', 'text']
    kinds = {n: get_dataset(n).input_type for n in dataset_names()}
    assert kinds['sider'] == kinds['csv'] == 'molecule'
    assert kinds['bibtex'] == 'bow' and kinds['reuters'] == 'sequence'
    assert kinds['tf_ppi'] == 'vector' and kinds['text'] == 'sequence'
    assert kinds['mulan:NAME'] is None  # found when loaded
    assert get_dataset('sider').split == 'random'
    assert get_dataset('bibtex').split == 'dataset'
    assert get_dataset('sider').prior is molecule_prior
    assert display_name('reuters') == 'Reuters-21578'
    assert display_name('mulan:emotions') == 'mulan:emotions'
    assert get_dataset('mulan:emotions') is get_dataset('mulan:NAME')
    config = ExperimentConfig(dataset='text', text=['docs/a.txt'])
    assert display_name('text', config) == 'a.txt'
    for bad in ('nope', 'mulan:', 'csv:x'):
        with pytest.raises(ValueError, match='Unknown data set'):
            get_dataset(bad)


def test_register_dataset_and_use_it(tmp_path):
    path = tm.write_csv(str(tmp_path / 'tiny.csv'))

    def load(config, seed, verbose):
        return MoleculeCSV(path, root=str(tmp_path / 'cache'),
                           verbose=verbose)

    try:
        entry = register_dataset('tiny_mols', load, display_name='Tiny')
        assert entry.input_type == 'molecule' and entry.split == 'random'
        parser = argparse.ArgumentParser()
        add_experiment_arguments(parser, training=False)
        args = parser.parse_args(['--dataset', 'tiny_mols'])
        assert args.dataset == 'tiny_mols'
        data = load_data(ExperimentConfig(dataset='tiny_mols', limit=10),
                         seed=3, verbose=False)
        assert data.display_name == 'Tiny' and data.input_type == 'molecule'
        assert [len(s) for s in data.splits] == [10, 5, 5]
        with pytest.raises(ValueError, match="'split' must be one of"):
            register_dataset('x', load, split='scaffold')
    finally:
        DATASETS.pop('tiny_mols', None)
    with pytest.raises(SystemExit):
        parser.parse_args(['--dataset', 'tiny_mols'])
