import numpy as np
import pytest

from lamp_geometric.data import read_arff

HEAD = ('@relation t\n@attribute a numeric\n@attribute b {x,y}\n'
        '@attribute c {0,1}\n@data\n')


def write(tmp_path, text):
    path = tmp_path / 'data.arff'
    path.write_text(text)
    return str(path)


def test_dense_and_sparse_rows(tmp_path):
    path = write(tmp_path, HEAD + '% a comment\n1.5,y,1\n?,x,0\n'
                 '{0 2,1 y}\n')
    arff = read_arff(path)
    assert not arff.sparse
    assert arff.names == ['a', 'b', 'c']
    assert [a.type for a in arff.attributes] == ['numeric', 'nominal',
                                                 'nominal']
    assert [a.line for a in arff.attributes] == [2, 3, 4]
    assert arff.row_lines.tolist() == [7, 8, 9]
    dense = arff.to_dense()
    assert np.isnan(dense[1, 0])
    assert dense[[0, 2]].tolist() == [[1.5, 1, 1], [2, 1, 0]]
    assert arff.indices.tolist() == [0, 1, 2, 0, 0, 1]  # zeros not stored


def test_sparse_file(tmp_path):
    arff = read_arff(write(tmp_path, HEAD + '{2 1,0 3}\n{}\n{1 ?}\n'))
    assert arff.sparse
    assert arff.indptr.tolist() == [0, 2, 2, 3]
    assert arff.indices.tolist() == [0, 2, 1]  # sorted within a row
    assert arff.values[:2].tolist() == [3, 1] and np.isnan(arff.values[2])


def test_weights_dates_strings_and_escapes(tmp_path):
    text = ("@relation 'a relation'\n@attribute y\\'2 numeric\n"
            "@attribute when date 'yyyy-MM-dd'\n@attribute note string\n"
            "@data\n1,2001-01-02,'some text',{3}\n")
    arff = read_arff(write(tmp_path, text))
    assert arff.relation == 'a relation'
    assert arff.names == ["y'2", 'when', 'note']
    assert arff.unsupported == ['when', 'note']
    row = arff.to_dense()[0]
    assert row[0] == 1 and np.isnan(row[1:]).all()


@pytest.mark.parametrize('text,match', [
    ('@relation t\n@attribute a numeric\n@attribute a numeric\n@data\n1,2\n',
     r"line 3: attribute 'a' is declared twice \(first at line 2\)"),
    ('@relation t\nhello\n@attribute a numeric\n@data\n1\n',
     r"line 2: expected an @-declaration before @data, found 'hello'"),
    ('@relation t\n@attribute a numeric\n@data\n{0 1}\n2\n',
     r'line 5: a dense row in a file whose first data row is sparse'),
    ('@attribute a numeric\n@relation t\n@data\n1\n',
     r'line 1: @attribute out of order'),
    ('@relation t\n@attribute a numeric\n@data\n\n% c\n1,2\n',
     r'line 6: expected 1 comma-separated values, found 2'),
    ("@relation t\n@attribute a {x,y}\n@data\n'x\n",
     r'line 4: unterminated quoted value'),
])
def test_errors_name_the_line(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=match) as info:
        read_arff(path)
    assert str(info.value).startswith(f"'{path}', line ")
