"""Every name passed to Milvus follows Milvus' rule, checked before any I/O (issue 11, item 5).

The rule (Milvus "Limits" page): an ASCII letter or underscore first, then ASCII letters,
digits or underscores, at most 255 characters.
"""

from __future__ import annotations

import pytest

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    FieldNames,
    MetadataField,
)
from milvus_plugins.core.names import MAX_NAME_LENGTH, check_name

VALID = ["a", "_", "_default", "Docs_2024", "x" * MAX_NAME_LENGTH, "A1_b2"]
INVALID = [
    "",
    "1abc",
    "../../../../etc",
    "a/b",
    "a\\b",
    "a.b",
    "a-b",
    "a b",
    "abc\n",  # a `$`-anchored regex would let the trailing newline through
    "\x00",
    "é",
    "x" * (MAX_NAME_LENGTH + 1),
    "名前",
]


@pytest.mark.parametrize("name", VALID)
def test_valid_names_pass_unchanged(name: str) -> None:
    assert check_name("partition name", name) == name


@pytest.mark.parametrize("name", INVALID)
def test_invalid_names_raise_a_config_error_naming_field_and_rule(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_name("partition name", name)
    message = str(caught.value)
    assert message.startswith("partition name=")
    assert "start with an ASCII letter or underscore" in message
    assert "at most 255 characters" in message
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("value", [None, 3, b"abc"])
def test_non_strings_are_rejected(value: object) -> None:
    with pytest.raises(ConfigError, match="must be a string"):
        check_name("db_name", value)


@pytest.mark.parametrize(
    ("name", "problem"),
    [("", "empty"), ("9lives", "starts with '9'"), ("a-b", "contains '-'")],
)
def test_the_message_says_what_is_wrong(name: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        check_name("collection_name", name)


@pytest.mark.parametrize("name", ["abc\n", "../x", "a.b"])
def test_every_config_object_uses_the_rule(name: str) -> None:
    with pytest.raises(ConfigError, match="collection_name="):
        CollectionSpec(name=name)
    with pytest.raises(ConfigError, match=r"field_names\.text="):
        FieldNames(text=name)
    with pytest.raises(ConfigError, match=r"metadata_fields\.name="):
        MetadataField(name=name, type="INT64")
    with pytest.raises(ConfigError, match=r"metadata_fields\.name="):
        CollectionSpec(name="c", metadata_fields={name: "INT64"})
    with pytest.raises(ConfigError, match="db_name="):
        ConnectionConfig(uri="http://localhost:19530", db_name=name)


def test_empty_db_name_means_the_default_database() -> None:
    assert ConnectionConfig(uri="http://localhost:19530", db_name="").db_name == ""
    assert ConnectionConfig(uri="http://localhost:19530", db_name="analytics").db_name
