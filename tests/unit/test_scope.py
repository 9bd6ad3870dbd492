"""Tenant and partition scoping, pure: resolution, the scoped filter tree, stamping, errors."""

from __future__ import annotations

import pytest

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    InvalidInputError,
    RawFilterRefusedError,
    Record,
    Tenancy,
    TenantMismatchError,
    TenantRequiredError,
    and_,
    compile_filter,
    eq,
    in_,
    matches,
    or_,
    raw_is_confined,
    resolve_scope,
)
from milvus_plugins.core.filters import Dialect, Raw

TENANTED = CollectionSpec(
    name="c", dim=2, metadata_fields={"tenant": "VARCHAR"}, partition_key="tenant"
)
NUMBERED = CollectionSpec(name="c", dim=2, metadata_fields={"org": "INT64"}, partition_key="org")
PLAIN = CollectionSpec(name="c", dim=2)
OPTIONAL = Tenancy()
STRICT = Tenancy(mode="strict")
HOSTILE = ['a" or true or "', "b\\", 'c\\" or 1 == 1 or \\"', "é\u200b💥", ")) or ((true"]


@pytest.mark.parametrize("tenant", HOSTILE)
def test_hostile_tenant_compiles_to_one_escaped_equality(tenant: str) -> None:
    scope = resolve_scope(TENANTED, OPTIONAL, tenant=tenant)
    where = scope.where(eq("k", 1))
    expr = compile_filter(where, TENANTED, Dialect())
    # The expression holds exactly one comparison on the tenant column, with the value
    # escaped: a row of another tenant never satisfies the tree (the evaluator's meaning).
    assert expr.count("tenant ==") == 1
    assert matches(where, {"tenant": tenant, "k": 1})
    assert not matches(where, {"tenant": tenant + "x", "k": 1})
    assert not matches(where, {"tenant": "other", "k": 1})


def test_scope_is_anded_as_a_tree_never_joined_as_text() -> None:
    scope = resolve_scope(TENANTED, OPTIONAL, tenant="A")
    where = scope.where(or_(eq("k", 1), eq("k", 2)))
    assert where == and_(eq("tenant", "A"), or_(eq("k", 1), eq("k", 2)))
    assert scope.where(None) == eq("tenant", "A")


def test_per_call_tenant_replaces_the_store_tenant_and_none_keeps_it() -> None:
    bound = Tenancy(tenant="A")
    assert resolve_scope(TENANTED, bound).tenant == "A"
    assert resolve_scope(TENANTED, bound, tenant=None).tenant == "A"
    assert resolve_scope(TENANTED, bound, tenant="B").tenant == "B"


def test_strict_mode_refuses_a_call_without_tenant() -> None:
    with pytest.raises(TenantRequiredError, match="strict tenant mode"):
        resolve_scope(TENANTED, STRICT)
    assert resolve_scope(TENANTED, STRICT, tenant="A").tenant == "A"


@pytest.mark.parametrize(
    "where", [Raw("k == 1"), and_(eq("k", 1), Raw("k == 2")), or_(Raw("x"), eq("k", 1))]
)
def test_strict_mode_refuses_raw_expressions_anywhere_in_the_tree(where: object) -> None:
    scope = resolve_scope(TENANTED, STRICT, tenant="A")
    with pytest.raises(RawFilterRefusedError, match="strict"):
        scope.where(where)  # type: ignore[arg-type]


def test_optional_mode_refuses_a_raw_expression_that_escapes_its_parentheses() -> None:
    scope = resolve_scope(TENANTED, OPTIONAL, tenant="A")
    assert scope.where(Raw('k == "(" and (x == 1)')) is not None
    # Refused when the node is built, with or without a tenant: joined to ids or another
    # condition it would widen those too (session 38: a delete by ids emptied a collection).
    with pytest.raises(RawFilterRefusedError, match="unbalanced"):
        scope.where(Raw("k == 1) or (true"))
    with pytest.raises(RawFilterRefusedError, match="unbalanced"):
        resolve_scope(TENANTED, OPTIONAL).where(Raw("k == 1) or (true"))


@pytest.mark.parametrize(
    ("expression", "confined"),
    [
        ("a == 1", True),
        ("(a == 1) or (b == 2)", True),
        ('a == ")"', True),
        ("a == ')' and (b)", True),
        ('a == "\\")" or (b', False),
        ("a == 1) or (b == 1", False),
        ("a == 1)", False),
        ("(a == 1", False),
        ('a == "x', False),
    ],
)
def test_raw_is_confined(expression: str, confined: bool) -> None:
    assert raw_is_confined(expression) is confined


def test_tenant_type_must_fit_the_partition_key() -> None:
    with pytest.raises(ConfigError, match="must be an int"):
        resolve_scope(NUMBERED, OPTIONAL, tenant="7")
    with pytest.raises(ConfigError, match="must be an int"):
        resolve_scope(NUMBERED, OPTIONAL, tenant=True)
    assert resolve_scope(NUMBERED, OPTIONAL, tenant=7).where(None) == eq("org", 7)
    with pytest.raises(ConfigError, match="non-empty string"):
        resolve_scope(TENANTED, OPTIONAL, tenant="")
    with pytest.raises(ConfigError, match="max_length"):
        resolve_scope(TENANTED, OPTIONAL, tenant="x" * 1025)


def test_tenant_needs_a_partition_key() -> None:
    with pytest.raises(ConfigError, match="partition_key"):
        resolve_scope(PLAIN, OPTIONAL, tenant="A")
    with pytest.raises(ConfigError, match="partition key"):
        Tenancy(mode="strict").check(PLAIN)
    with pytest.raises(ConfigError, match="tenant_mode"):
        Tenancy(mode="paranoid")


@pytest.mark.parametrize("name", ["../../etc", "a-b", "", "1abc", "p p"])
def test_partition_names_are_checked_names(name: str) -> None:
    with pytest.raises(ConfigError, match="partition_names"):
        resolve_scope(PLAIN, OPTIONAL, partition_names=[name])
    with pytest.raises(ConfigError, match="partition_name"):
        resolve_scope(PLAIN, OPTIONAL, partition_name=name)


def test_partition_names_shapes() -> None:
    assert resolve_scope(PLAIN, OPTIONAL, partition_names=["p1", "p2"]).read_kwargs() == {
        "partition_names": ["p1", "p2"]
    }
    assert resolve_scope(PLAIN, OPTIONAL).read_kwargs() == {}
    with pytest.raises(InvalidInputError, match="single str"):
        resolve_scope(PLAIN, OPTIONAL, partition_names="p1")
    with pytest.raises(ConfigError, match="names no partition"):
        resolve_scope(PLAIN, OPTIONAL, partition_names=[])


def test_named_partitions_are_refused_on_a_partition_key_collection() -> None:
    with pytest.raises(ConfigError, match="routes rows"):
        resolve_scope(TENANTED, OPTIONAL, partition_names=["p1"])
    with pytest.raises(ConfigError, match="routes rows"):
        resolve_scope(TENANTED, OPTIONAL, partition_name="p1")


def test_stamp_fills_the_tenant_into_copies_and_refuses_another_tenant() -> None:
    scope = resolve_scope(TENANTED, OPTIONAL, tenant="A")
    mine = Record(id="1", text="t", metadata={"x": 1})
    stamped = scope.stamp([mine, Record(id="2", text="t", metadata={"tenant": "A"})])
    assert [r.metadata["tenant"] for r in stamped] == ["A", "A"]
    assert mine.metadata == {"x": 1}  # the caller's record is not modified
    with pytest.raises(TenantMismatchError, match="another tenant"):
        scope.stamp([Record(id="3", text="t", metadata={"tenant": "B"})])


def test_num_partitions_needs_a_partition_key_and_a_range() -> None:
    spec = CollectionSpec(
        name="c", metadata_fields={"t": "VARCHAR"}, partition_key="t", num_partitions=8
    )
    assert spec.num_partitions == 8
    with pytest.raises(ConfigError, match="partition_key"):
        CollectionSpec(name="c", num_partitions=8)
    for bad in (0, 4097, True, "8"):
        with pytest.raises(ConfigError, match="num_partitions"):
            CollectionSpec(
                name="c",
                metadata_fields={"t": "VARCHAR"},
                partition_key="t",
                num_partitions=bad,  # type: ignore[arg-type]
            )


def test_partition_key_equality_is_written_unpruned_where_milvus_misroutes_upserts() -> None:
    # Milvus 2.3.5 prunes `tenant == v` to the partition v hashes to, but upserted rows
    # land elsewhere; a range on the same value is not pruned and finds them.
    pruned = Dialect(partition_key_equality=False)
    where = resolve_scope(TENANTED, OPTIONAL, tenant='a"').where(eq("k", 1))
    expr = compile_filter(where, TENANTED, pruned)
    assert '(tenant >= "a\\"" and tenant <= "a\\"")' in expr
    assert "tenant ==" not in expr
    both = compile_filter(in_("tenant", ["x", "y"]), TENANTED, pruned)
    assert both == '((tenant >= "x" and tenant <= "x") or (tenant >= "y" and tenant <= "y"))'
    assert compile_filter(eq("tenant", "x"), TENANTED, Dialect()) == '(tenant == "x")'
