r"""Fixtures of the reliability tests (data sets from
:mod:`molecule_sets`)."""
import pytest

from molecule_sets import HAS_SIDER, sider_subset, tiny_set

needs_sider = pytest.mark.skipif(
    not HAS_SIDER, reason='needs the real data: set LAMP_DATA to a directory '
    'holding sider/sider.csv')


@pytest.fixture(scope='module',
                params=['tiny', pytest.param('sider', marks=needs_sider)])
def molecules(request, tmp_path_factory):
    r"""About 40 molecules: the tiny set, and the first 40 of SIDER."""
    directory = str(tmp_path_factory.mktemp(f'molecules_{request.param}'))
    if request.param == 'sider':
        return sider_subset(directory)
    return tiny_set(directory)
