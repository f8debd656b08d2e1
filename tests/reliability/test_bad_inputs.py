r"""Every bad input of the registry in :obj:`cases.py` gets a clear error, a
reported skip, a warning or a finite, correct result -- never a silent NaN
or a silently dropped row -- and :obj:`docs/bad_inputs.md` lists exactly what
the library does with them."""
import importlib.util
import os.path as osp

import pytest

import cases as C

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TABLE = osp.join(ROOT, 'docs', 'bad_inputs.md')
SCRIPT = osp.join(ROOT, 'scripts', 'bad_input_table.py')


def test_registry_is_well_formed():
    ids = [c.id for c in C.CASES]
    assert len(ids) == len(set(ids))
    for case in C.CASES:
        assert case.outcome in C.OUTCOMES, case.id
        assert case.match and case.input and case.api, case.id
        assert (case.error is not None) == (case.outcome == 'error'), case.id
    categories = {c.category for c in C.CASES}
    assert categories == {'Molecules', 'Labels', 'Graphs', 'Files'}


@pytest.mark.parametrize('case', C.CASES, ids=[c.id for c in C.CASES])
def test_bad_input(case, tmp_path):
    outcome = C.run_case(case, str(tmp_path))
    C.check(case, outcome)


def test_check_catches_a_wrong_expectation(tmp_path):
    # The harness itself can fail: a case expecting the wrong outcome or
    # message is reported.
    case = C.CASES[0]
    outcome = C.run_case(case, str(tmp_path))
    wrong = C.Case(case.id, case.category, case.input, 'ok', case.match,
                   case.run, api=case.api)
    with pytest.raises(AssertionError):
        C.check(wrong, outcome)
    wrong = C.Case(case.id, case.category, case.input, case.outcome,
                   'a message the library never gives', case.run,
                   api=case.api)
    with pytest.raises(AssertionError):
        C.check(wrong, outcome)


def test_bad_input_table_is_up_to_date(tmp_path):
    spec = importlib.util.spec_from_file_location('bad_input_table', SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    fresh = script.generate(str(tmp_path))
    assert osp.isfile(TABLE), f'{TABLE} is missing: run {SCRIPT}'
    with open(TABLE, encoding='utf-8') as f:
        committed = f.read()
    assert committed == fresh, (f'{TABLE} is out of date: run python '
                                f'scripts/bad_input_table.py')
    for case in C.CASES:
        assert case.input in committed
