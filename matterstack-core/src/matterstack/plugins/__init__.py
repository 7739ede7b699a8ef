"""The public API for plugin authors: everything a plugin distribution imports from MatterStack.

Hooks and registration, settings, the interfaces an operator or backend implements and the
values they exchange, the model values a plugin meets (``AttemptStatus``, ``AttemptEvent``
for observers, ``Task`` and its file specs), errors, the base of kinds that run a command
(``CommandOperator``), helpers for staging files, and for the
commands a plugin adds a read-only view of the project's runs (``ProjectView``, ``RunView``,
``AttemptView``) and the instances of an operators.yaml (``configured_operators``). A plugin
that needs anything else from ``matterstack`` is a gap in this list, not a licence to import
a private module (the example plugins in ``examples/`` and the first-party distributions are
tested to import nothing else).

Names load on first use (PEP 562), so a registration module's
``from matterstack.plugins import hookimpl, setting`` costs pluggy and attrs, nothing more.
"""

from __future__ import annotations

from matterstack.lazy_names import lazy_getattr

_EXPORTS = {
    "matterstack.plugins.hookspecs": ("hookimpl", "hookspec"),
    "matterstack.plugins.host": ("DEFAULT_PLUGINS", "ENTRY_POINT_GROUP", "PluginHost", "get_plugin_host", "reset_plugin_host"),
    "matterstack.plugins.registrations": ("LazyFactory", "PluginInfo", "PluginProblem", "Registration", "Registry"),
    "matterstack.plugins.settings": ("NoSettings", "Scalar", "setting", "structure_settings"),
    "matterstack.plugins.settings_keys": ("ANY_KEY", "SettingsNote", "pass_through"),
    "matterstack.plugins.catalog": ("install_hint",),
    "matterstack.plugins.backend_block": ("BackendBlock",),
    "matterstack.plugins.interfaces": (
        "AttemptContext", "CollectResult", "Observation", "Operator", "OperatorContext", "SubmitResult"),
    "matterstack.plugins.backend_interfaces": (
        "BackendCapabilities", "ComputeBackend", "FetchRequest", "JobObservation", "JobSpec"),
    "matterstack.core.status": ("AttemptStatus",),
    "matterstack.core.records": ("AttemptEvent",),
    "matterstack.core.times": ("datetime_from_text", "utc_now"),
    "matterstack.core.workflow": ("FileFromContent", "FileFromPath", "Task"),
    "matterstack.project.view": ("AttemptView", "ProjectView", "RunView"),
    "matterstack.orchestrator.configured_operators": ("configured_operators", "operators_file_for"),
    "matterstack.atomic_write": ("write_atomic",),
    "matterstack.input_limits": (
        "ANSWER_FILE_LIMIT", "CONFIG_FILE_LIMIT", "InputLimit", "InputLimitError", "read_within_limit"),
    "matterstack.operators.staging": ("inside", "list_outputs", "sha256_file", "stage_files", "write_manifest"),
    "matterstack.operators.command": ("CommandOperator", "stderr_tail"),
    "matterstack.errors": ("BackPressureError", "ConfigError", "PermanentOperatorError", "PluginError",
                           "TransientOperatorError"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


__getattr__ = lazy_getattr(__name__, globals(), _MODULE_OF)


def __dir__() -> list[str]:
    return __all__
