"""instance_types on its own: the product's table read by the deployer's rules (the same figures
as `deployer/src/instance_types.rs`'s tests)."""

import pytest

from enitrunk_localstack.services import instance_types
from enitrunk_localstack.services.instance_types import get


def t(name):
    found = get(name)
    assert found is not None, name
    return found


def test_the_table_is_the_repositorys():
    assert instance_types.csv_path() == instance_types.REPOSITORY_CSV
    assert instance_types.REPOSITORY_CSV.parts[-3:] == ("deployer", "data", "ec2-eni-trunking-limits.csv")
    assert len(instance_types.table()) > 1000


@pytest.mark.parametrize(
    "name,without,with_",
    [("m5.large", 2, 10), ("c5.large", 2, 10), ("m5.xlarge", 3, 20), ("m5.24xlarge", 14, 120), ("c6g.medium", 1, 4)],
)
def test_documented_task_limits(name, without, with_):
    it = t(name)
    assert it.task_limit(trunked=False) == without
    assert it.tasks_with_trunking == with_ and it.task_limit(trunked=True) == with_


@pytest.mark.parametrize(
    "name",
    ["t3.medium", "t2.large", "t4g.large", "m4.large", "c4.large", "r4.large", "p3.2xlarge", "c5n.large",
     "g4dn.xlarge", "inf1.xlarge", "z1d.large", "m5.metal", "c5.metal", "mac2.metal",
     # In the ECS table, but named unsupported by the guide's note above it.
     "m5n.large", "m5zn.large", "r5.8xlarge", "c5a.8xlarge", "d3.xlarge", "i3en.large",
     # Its figures: 14 tasks without trunking, 12 with.
     "u-18tb1.metal"],
)
def test_unsupported_types_keep_their_limit_without_trunking(name):
    it = t(name)
    assert not it.supports_trunking() and it.unsupported_reason()
    assert it.tasks_with_trunking is None
    assert it.task_limit(trunked=True) == it.task_limit(trunked=False) == it.tasks_without_trunking


def test_undocumented_compatible_types_use_the_estimate():
    assert t("m7i.large").tasks_with_trunking == 10
    # A documented figure that contradicts the interface limits is replaced by the estimate.
    assert t("i4i.16xlarge").documented_tasks_with_trunking == 248
    # ... and no estimate goes above the 120 ECS documents at most.
    assert t("i4i.16xlarge").tasks_with_trunking == 120
    assert t("trn1n.32xlarge").tasks_with_trunking == 120


def test_no_type_exceeds_what_ecs_documents():
    limits = [it.tasks_with_trunking for it in instance_types.table().values() if it.tasks_with_trunking is not None]
    assert len(limits) > 400 and max(limits) == instance_types.MAX_TASKS_WITH_TRUNKING


def test_cpu_and_schedulable_memory():
    m5 = t("m5.large")
    assert (m5.vcpu, m5.memory_mib) == (2, 8192)
    assert m5.cpu_units == 2048
    assert m5.schedulable_memory_mib == 8192 - 655


def test_another_table_can_be_named(tmp_path, monkeypatch):
    path = tmp_path / "limits.csv"
    path.write_text(instance_types.REPOSITORY_CSV.read_text())
    monkeypatch.setenv(instance_types.CSV_ENV, str(path))
    assert instance_types.csv_path() == path
