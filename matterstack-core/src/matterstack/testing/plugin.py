"""The conformance kit's pytest plugin, loaded through matterstack-core's ``pytest11`` entry
point (``matterstack = "matterstack.testing.plugin"``), so a plugin's suite needs no conftest.

It provides ``matterstack_harness`` (a :class:`~matterstack.testing.harness.ConformanceHarness`
for the test class's instance, closed after the test: attempts left running are cancelled)
and ``matterstack_outage`` (the name of the outage the transient-error tests use, which is
also their test id: ``fake-unreachable`` when the class keeps the kit's fake). Nothing of
MatterStack is imported until a conformance test runs.
"""

from __future__ import annotations

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "matterstack_conformance: a test inherited from matterstack.testing.OperatorConformance")


def _conformance_class(cls):
    if cls is None:
        return None
    from matterstack.testing.conformance import OperatorConformance

    return cls if issubclass(cls, OperatorConformance) else None


def pytest_generate_tests(metafunc):
    if "matterstack_outage" not in metafunc.fixturenames:
        return
    cls = _conformance_class(metafunc.cls)
    if cls is None:
        raise pytest.UsageError(f"{metafunc.function.__name__}: matterstack_outage is for OperatorConformance subclasses")
    from matterstack.testing.conformance import outage_id

    name = outage_id(cls)
    metafunc.parametrize("matterstack_outage", [name], ids=[name])


def pytest_collection_modifyitems(items):
    for item in items:
        if "matterstack_harness" in getattr(item, "fixturenames", ()):
            item.add_marker("matterstack_conformance")


@pytest.fixture
def matterstack_harness(request, tmp_path):
    """The harness that builds the test class's operator and drives its attempts."""
    from matterstack.testing.harness import ConformanceHarness

    instance = request.instance
    if _conformance_class(type(instance)) is None:
        pytest.fail("matterstack_harness serves tests of matterstack.testing.OperatorConformance subclasses", pytrace=False)
    key = instance.operator_key
    if not isinstance(key, str) or "." not in key:
        pytest.fail(f"{type(instance).__name__}.operator_key must name the instance under test as kind.name, "
                    f"found {key!r}", pytrace=False)
    harness = ConformanceHarness(key, instance.operator_settings(tmp_path), tmp_path, instance.task,
                                 timeout=instance.timeout, poll_interval=instance.poll_interval,
                                 make_unavailable=instance.unavailable)
    yield harness
    harness.close()
