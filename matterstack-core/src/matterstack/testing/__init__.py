"""The operator conformance kit: tests every operator kind passes against its real system.

A plugin's test suite subclasses :class:`OperatorConformance`::

    from matterstack.testing import OperatorConformance

    class TestShellConformance(OperatorConformance):
        operator_key = "shell.default"
        def operator_settings(self, tmp_path):
            return {"max_concurrent": 4}
        invalid_settings = [({"max_concurrent": "many"}, "max_concurrent")]   # over the valid block

The kit's pytest plugin (``matterstack.testing.plugin``, registered through the ``pytest11``
entry point of matterstack-core) provides the fixtures the inherited tests use. Names load
on first use. See docs/testing-plugins.md.
"""

from __future__ import annotations

from matterstack.lazy_names import lazy_getattr

_EXPORTS = {
    "matterstack.testing.conformance": ("REMOVE", "OperatorConformance", "default_command"),
    "matterstack.testing.harness": ("ConformanceHarness", "Submitted"),
    "matterstack.testing.outage": ("PinnableRegistry", "UnreachableOperator"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


# Names load on first use: pytest loads this package's plugin in every session, and a
# session without conformance tests must not import the orchestrator for it.
__getattr__ = lazy_getattr(__name__, globals(), _MODULE_OF)


def __dir__() -> list[str]:
    return __all__
