"""The JSON-Schema subset: every keyword, with the failing field named in the message."""

from __future__ import annotations

import pytest

from matterstack_ops_human.schema import describe_fields, schema_problems, validate

SHORTLIST = {
    "type": "object",
    "required": ["keep"],
    "properties": {
        "keep": {"type": ["array", "string"], "items": {"type": "string"}},
        "batch_kg": {"type": "number", "minimum": 0, "maximum": 50},
        "grade": {"enum": ["A", "B"]},
        "sites": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
    "additionalProperties": False,
}


@pytest.mark.parametrize("value", [
    {"keep": "Pt,Pd"},
    {"keep": ["Pt", "Pd"], "batch_kg": 5, "grade": "A"},
    {"keep": [], "batch_kg": 0.5, "sites": {"top": 2, "fcc": 3.0}},
])
def test_values_that_meet_the_schema_have_no_problem(value):
    assert validate(value, SHORTLIST, "data") == []


@pytest.mark.parametrize("value, message", [
    ({}, "data.keep: required field is missing"),
    ({"keep": 3}, "data.keep: expected a list or a string, found an integer"),
    ({"keep": ["Pt", 7]}, "data.keep[1]: expected a string, found an integer"),
    ({"keep": "Pt", "batch_kg": -1}, "data.batch_kg: -1 is below the minimum 0"),
    ({"keep": "Pt", "batch_kg": 51}, "data.batch_kg: 51 is above the maximum 50"),
    ({"keep": "Pt", "batch_kg": True}, "data.batch_kg: expected a number, found true or false"),
    ({"keep": "Pt", "grade": "a"}, 'data.grade: "a" is not one of "A", "B"'),
    ({"keep": "Pt", "sites": {"top": "two"}}, "data.sites.top: expected an integer, found a string"),
    ({"keep": "Pt", "kep": 1}, "data.kep: unknown field (allowed: keep, batch_kg, grade, sites)"),
    ({"keep": "Pt", "odd key": 1}, 'data["odd key"]: unknown field'),
])
def test_each_problem_names_the_failing_field(value, message):
    problems = validate(value, SHORTLIST, "data")

    assert any(p.startswith(message) for p in problems), problems


def test_true_is_not_one_and_one_is_one_point_zero():
    assert validate(True, {"enum": [1]}) == ["the value: true is not one of 1"]
    assert validate(1.0, {"enum": [1]}) == []
    assert validate(2.0, {"type": "integer"}) == []


def test_a_schema_of_the_subset_is_accepted():
    assert schema_problems(SHORTLIST) == []
    assert schema_problems({"type": "object", "description": "why", "title": "t", "$schema": "x"}) == []


@pytest.mark.parametrize("schema, message", [
    ([], "schema: expected an object, found a list"),
    ({"pattern": "^P"}, "schema: unsupported keyword 'pattern'"),
    ({"type": "text"}, 'schema.type: unknown type "text"'),
    ({"type": []}, "schema.type: expected a type name or a non-empty list"),
    ({"required": "keep"}, "schema.required: expected a list of field names"),
    ({"properties": {"keep": {"type": "str"}}}, 'schema.properties.keep.type: unknown type "str"'),
    ({"properties": []}, "schema.properties: expected an object"),
    ({"enum": []}, "schema.enum: expected a non-empty list"),
    ({"items": {"minLength": 1}}, "schema.items: unsupported keyword 'minLength'"),
    ({"minimum": "0"}, "schema.minimum: expected a number, found a string"),
    ({"additionalProperties": {"type": 3}}, "schema.additionalProperties.type: expected a type name"),
])
def test_a_schema_outside_the_subset_is_refused_with_the_key_path(schema, message):
    problems = schema_problems(schema)

    assert any(p.startswith(message) for p in problems), problems


def test_fields_are_described_for_people():
    lines = describe_fields(SHORTLIST)

    assert lines[0] == "keep (required): a list or a string (items: a string)"
    assert "batch_kg (optional): a number; at least 0; at most 50" in lines
    assert 'grade (optional); one of "A", "B"' in lines
    assert lines[-1] == "no other fields are allowed"
