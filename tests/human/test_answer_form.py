"""The approvals page's form follows the request's schema: one input per field, the typed
text read as the field's type says, and each refusal put next to the field it names."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from serve_kit import REVIEW_SCHEMA
from werkzeug.datastructures import MultiDict

from matterstack_ops_human.response import response_problems
from matterstack_ops_human.web.form import errors_by_field, form_data, form_fields, typed_value


def submitted(schema: dict, **values) -> tuple[dict, list[str]]:
    form = MultiDict()
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            form.add(f"field.{name}", item)
    return form_data(schema, form.get, form.getlist)


def test_each_field_gets_the_input_its_schema_asks_for():
    fields = {f.name: f for f in form_fields(REVIEW_SCHEMA)}

    assert fields["temperature_K"].widget == "text" and fields["temperature_K"].label == "Calcination temperature (K)"
    assert fields["temperature_K"].hint == "an integer; at least 300; at most 900"
    assert fields["metals"].widget == "checkboxes" and [c.label for c in fields["metals"].choices] == ["Pt", "Pd", "Ni"]
    assert fields["support"].widget == "select" and fields["support"].required
    assert fields["dry_first"].widget == "select" and not fields["dry_first"].required
    assert [c.label for c in fields["dry_first"].choices] == ["yes", "no"]


def test_the_form_reads_back_as_the_data_the_schema_describes():
    data, problems = submitted(REVIEW_SCHEMA, temperature_K=" 600 ", metals=['"Pt"', '"Ni"'], support='"silica"',
                               dry_first="false")

    assert problems == []
    assert data == {"temperature_K": 600, "metals": ["Pt", "Ni"], "support": "silica", "dry_first": False}
    assert response_problems({"status": "COMPLETED", "data": data}, REVIEW_SCHEMA) == []


def test_text_is_read_as_the_fields_type_says():
    assert typed_value("12", {"type": "integer"}) == 12
    assert typed_value("12", {"type": "string"}) == "12"
    assert typed_value("Pt, Pd", {"type": "array", "items": {"type": "string"}}) == ["Pt", "Pd"]
    assert typed_value('["Pt"]', {"type": "array"}) == ["Pt"]
    assert typed_value("Pt,Pd", {"type": ["array", "string"]}) == "Pt,Pd"  # as `respond --data keep=Pt,Pd`
    assert typed_value("twelve", {"type": "integer"}) == "twelve"  # the check then says what is wrong
    assert typed_value("true", {}) is True


def test_an_empty_required_field_and_a_wrong_value_are_each_reported_on_their_field():
    data, _ = submitted(REVIEW_SCHEMA, temperature_K="hot", metals=['"Pt"'])
    problems = response_problems({"status": "COMPLETED", "data": data}, REVIEW_SCHEMA)

    by_field, rest = errors_by_field(problems, form_fields(REVIEW_SCHEMA))

    assert by_field == {"temperature_K": ["expected an integer, found a string"],
                        "support": ["required field is missing"]}
    assert rest == []


def test_a_schema_without_fields_takes_its_data_as_one_json_object():
    form = MultiDict({"data_json": '{"ok": true}'})
    assert form_data({"type": "object"}, form.get, form.getlist) == ({"ok": True}, [])
    form = MultiDict({"data_json": "[1]"})
    assert form_data({"type": "object"}, form.get, form.getlist)[1] == ["data: expected a JSON object (found [1])"]


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_any_whole_number_typed_in_a_number_field_is_that_number(number):
    assert typed_value(str(number), {"type": "integer"}) == number
    assert typed_value(str(number), {"type": "number"}) == number


@given(st.text(min_size=1).map(str.strip).filter(bool))
def test_any_text_typed_in_a_text_field_is_that_text(text):
    assert typed_value(text, {"type": "string"}) == text
