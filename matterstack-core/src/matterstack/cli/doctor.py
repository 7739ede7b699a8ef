"""``matterstack doctor``: reach every configured operator instance and say, one line per
check, whether it works (for a Slurm instance: SSH, sinfo, partition, account, accounting,
MinJobAge, sbatch, workspace root).

Core knows no backend: each instance's operator answers :meth:`Operator.doctor` with
``[(check, ok, detail), ...]`` (the compute kinds ask their backend's
:meth:`ComputeBackend.doctor`); the default answers no checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from matterstack.errors import MatterStackError

EXIT_CHECK_FAILED = 1


def instance_checks(registry) -> dict[str, list[tuple[str, bool, str]]]:
    """Every configured key's checks. An instance that cannot be built fails one ``build``
    check; one that offers no checks has none."""
    results = {}
    for key in registry.keys():
        try:
            operator = registry.get(key)
        except MatterStackError as exc:
            results[key] = [("build", False, exc.one_line())]
            continue
        results[key] = [(str(n), bool(ok), str(d)) for n, ok, d in operator.doctor()]
    return results


def _registry(operators_config: Optional[Path], scratch: Path):
    from matterstack.orchestrator.operator_registry import OperatorRegistry
    from matterstack.wiring.model import embedded_default_wiring
    from matterstack.plugins.host import get_plugin_host
    from matterstack.plugins.interfaces import OperatorContext

    host = get_plugin_host()
    if operators_config is None:
        wiring = embedded_default_wiring(host)
    else:
        from matterstack.wiring import load_wiring

        wiring = load_wiring(operators_config, host)
    return OperatorRegistry(wiring, host, lambda: OperatorContext(
        run_id="doctor", run_dir=scratch, workspace_slug="doctor", host=host))


def doctor(
    operators_config: Optional[Path] = typer.Option(
        None, "--operators-config", help="The operators.yaml to check (default: the embedded default wiring)."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Reach each configured operator instance and print one line per check."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="matterstack-doctor-") as scratch:
        registry = _registry(operators_config, Path(scratch))
        try:
            results = instance_checks(registry)
        finally:
            registry.close()
    if as_json:
        typer.echo(json.dumps({key: [{"check": n, "ok": ok, "detail": d} for n, ok, d in checks]
                               for key, checks in results.items()}, indent=2))
    else:
        width = max((len(key) for key in results), default=0)
        for key, checks in results.items():
            if not checks:
                typer.echo(f"{key:<{width}}  --    nothing to check")
            for name, ok, detail in checks:
                typer.echo(f"{key:<{width}}  {'ok  ' if ok else 'FAIL'}  {name}: {detail}")
    if any(not ok for checks in results.values() for _, ok, _ in checks):
        raise typer.Exit(EXIT_CHECK_FAILED)


def register(app: typer.Typer) -> None:
    """Add ``doctor`` to the ``matterstack`` app."""
    app.command("doctor")(doctor)
