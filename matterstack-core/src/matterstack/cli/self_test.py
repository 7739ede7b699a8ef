"""``matterstack self-test``: can this installation run campaigns? One line per check."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import typer

BUILT_INS = (("operator kinds", "operator_kinds", ("local", "hpc")), ("compute backends", "compute_backends", ("local", "profile")))


def _python() -> Iterator[tuple[str, str]]:
    version = ".".join(map(str, sys.version_info[:3]))
    yield ("ok" if sys.version_info >= (3, 10) else "FAIL"), f"python {version} ({sys.executable}); 3.10 or newer needed"


def _plugins() -> Iterator[tuple[str, str]]:
    from matterstack.errors import PluginError
    from matterstack.plugins.host import get_plugin_host

    host = get_plugin_host()
    labels = sorted({host.source(name).label for name, _ in host.pm.list_name_plugin()})
    yield "ok", f"plugin host: {len(labels)} distribution(s) loaded ({', '.join(labels)})"
    for problem in host.problems:
        yield "warn", problem.error().one_line()
    for title, attribute, names in BUILT_INS:
        registry = getattr(host, attribute)
        try:
            providers = {registry[name].distribution for name in names}
        except PluginError as error:
            yield "FAIL", f"built-in {title}: {error.one_line()}"
            continue
        yield "ok", f"built-in {title}: {', '.join(names)} (from {', '.join(sorted(providers))})"


def _state_store() -> Iterator[tuple[str, str]]:
    import tempfile
    from pathlib import Path

    from matterstack.core.records import Run
    from matterstack.core.times import utc_now
    from matterstack.store import StateStore

    try:
        with tempfile.TemporaryDirectory(prefix="matterstack-self-test-") as folder:
            db_path = Path(folder) / "state.sqlite"
            run = Run(run_id="self-test", workspace_slug="self-test", root_path=folder, created_at=utc_now())
            StateStore.create(db_path, run).close()
            with StateStore.open(db_path) as store:
                integrity, stored = store.integrity_check(), store.get_run()
    except Exception as error:  # a self-test reports every failure as a line, never a traceback
        yield "FAIL", f"state store round trip: {type(error).__name__}: {error}"
        return
    if integrity == "ok" and stored.run_id == run.run_id:
        yield "ok", "state store round trip in a temporary folder (integrity_check: ok)"
    else:
        yield "FAIL", f"state store round trip: integrity_check says {integrity!r}, run read back as {stored.run_id!r}"


CHECKS = (_python, _plugins, _state_store)


def self_test() -> None:
    """Check this installation, one line per check: ok, warn or FAIL. Exit 1 if a check fails.

    Checks the Python version; that the plugin host loads (a plugin that fails to load is a
    warning naming its distribution, not a failure); that core's built-in operator kinds and
    compute backends are registered; and a state store round trip in a temporary folder.
    """
    failed = False
    for check in CHECKS:
        for status, text in check():
            typer.echo(f"{status:<4}  {text}")
            failed = failed or status == "FAIL"
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``self-test`` to the ``matterstack`` app."""
    app.command("self-test")(self_test)
