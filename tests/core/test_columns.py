"""core/columns.py: which columns a mistyped name may have meant."""

from assay.core.columns import closest_columns


def test_case_and_spacing_first_then_close_spellings():
    assert closest_columns("Sex ", ["sex", "six", "age"])[0] == "sex"
    assert closest_columns("incme", ["income", "outcome", "age"])[0] == "income"


def test_a_column_holding_the_name_as_a_word():
    # German credit codes sex inside 'status_sex'; a name is never its own suggestion
    assert closest_columns("sex", ["status", "status_sex", "age"]) == ["status_sex"]
    assert closest_columns("sex", ["sex", "status_sex"]) == ["status_sex"]
    assert closest_columns("x", ["x_1", "y"]) == []   # one-letter names match no word
