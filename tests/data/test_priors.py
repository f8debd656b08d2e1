import pytest

from lamp_geometric.data import read_interactions, read_taxonomy

TAXONOMY = 'Root\tA\tB\nA\tA1\tA2\nA1\tA11\tX\nB\tB1\n'


def test_read_taxonomy(tmp_path):
    path = tmp_path / 'tax.taxonomy'
    path.write_text(TAXONOMY)
    pairs = read_taxonomy(str(path))
    assert pairs == [('A', 'A1'), ('A', 'A2'), ('A1', 'A11'), ('A1', 'X'),
                     ('B', 'B1')]
    assert ('Root', 'A') in read_taxonomy(str(path), root=None)
    bad = tmp_path / 'bad.taxonomy'
    bad.write_text('A\tA1\nLONELY\n')
    with pytest.raises(ValueError, match="line 2: parent 'LONELY'"):
        read_taxonomy(str(bad))


def test_read_interactions_layouts(tmp_path):
    path = tmp_path / 'toy.txt'
    path.write_text('TF1\tTF2\t1\nTF3\tTF4\t1\n# a comment\n\nTF2\tTF3\n')
    rows, dropped = read_interactions(str(path))
    assert [r[:2] for r in rows] == [('TF1', 'TF2'), ('TF3', 'TF4'),
                                     ('TF2', 'TF3')]
    assert rows[0][2] == 1.0 and rows[2][2] != rows[2][2]  # NaN: no score
    assert dropped == 0

    header = tmp_path / 'string.txt'
    header.write_text('protein1 protein2 combined_score\n'
                      'TF1 TF2 900\nTF1 TF3 150\n')
    rows, dropped = read_interactions(str(header), min_score=400)
    assert rows == [('TF1', 'TF2', 900.0)] and dropped == 1

    named = tmp_path / 'named.txt'
    named.write_text('a b weight other\nTF1 TF2 5 0\nTF2 TF3 1 9\n')
    kept, below = read_interactions(str(named), min_score=2,
                                    score_column='weight')
    assert [r[:2] for r in kept] == [('TF1', 'TF2')] and below == 1


def test_read_interactions_errors(tmp_path):
    bad = tmp_path / 'bad.txt'
    bad.write_text('TF1 TF2 1\nTF3 TF4 high\n')
    with pytest.raises(ValueError, match="line 2: score 'high'"):
        read_interactions(str(bad))
    bad.write_text('TF1 TF2 1\nTF3\n')
    with pytest.raises(ValueError, match='line 2'):
        read_interactions(str(bad))
    with pytest.raises(ValueError, match="no header line"):
        read_interactions(str(bad), score_column='weight')
