"""``config.json`` in a run directory, as MatterStack 0.2.x wrote and read it.

Two keys meant something to 0.2.x, which read the file on every tick:

- ``execution_mode`` decided where a task naming no operator went: ``"HPC"`` → ``hpc.default``,
  ``"Local"`` → ``local.default``, ``"Simulation"`` (also when the key is left out) → nowhere:
  the task was marked COMPLETED without running and without an attempt. 0.2.x compared the
  text exactly, so ``"hpc"`` meant simulation there; such a spelling is refused here rather
  than guessed either way.
- ``max_hpc_jobs_per_run`` capped the attempts active at once per operator key (10 when left
  out).

A run without the file (every run this MatterStack makes) is not affected. 0.2.x fell back to
its defaults, silently, on a file it could not read; here such a file is refused, because that
fallback (simulate every untagged task) changes what a run does without a word.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs

from matterstack.errors import ConfigError
from matterstack.input_limits import CONFIG_FILE_LIMIT, read_within_limit

CONFIG_FILENAME = "config.json"
DEFAULT_MAX_JOBS_PER_KEY = 10
"""0.2.x's cap per operator key when config.json leaves ``max_hpc_jobs_per_run`` out."""
DEFAULT_EXECUTION_MODE = "Simulation"
"""0.2.x's ``execution_mode`` when config.json leaves it out."""
EXECUTION_MODES = {"HPC": "hpc.default", "Local": "local.default", "Simulation": None}
"""Each mode 0.2.x knew, spelled as it compared it, and the key untagged tasks go to."""
_MODES_TEXT = "'HPC', 'Local' or 'Simulation'"


@attrs.frozen
class LegacyRunConfig:
    """What a run's ``config.json`` says, validated."""

    path: Path
    execution_mode: str = DEFAULT_EXECUTION_MODE
    max_jobs_per_key: int = DEFAULT_MAX_JOBS_PER_KEY
    max_jobs_given: bool = False
    mode_given: bool = False

    @property
    def untagged_key(self) -> str | None:
        """Where a task naming no operator goes; None: it is simulated."""
        return EXECUTION_MODES[self.execution_mode]

    @property
    def simulates(self) -> bool:
        return self.untagged_key is None

    def cap_reason(self) -> str:
        """Where the cap per key comes from, for ``explain``."""
        if self.max_jobs_given:
            return f"{CONFIG_FILENAME} max_hpc_jobs_per_run"
        return f"{CONFIG_FILENAME} without max_hpc_jobs_per_run: MatterStack 0.2.x's default"

    def simulation_reason(self) -> str:
        """The reason recorded on a task completed without running."""
        given = "is" if self.mode_given else "defaults to"
        return (f"simulated: {CONFIG_FILENAME} execution_mode {given} Simulation, so, as MatterStack 0.2.x did, "
                f"this task naming no operator was marked COMPLETED without running (write \"HPC\" or \"Local\" "
                f"in {CONFIG_FILENAME}, or give the task an operator_key, to run it)")


def read_legacy_config(run_dir: Path) -> LegacyRunConfig | None:
    """The run's ``config.json``, or None when it has none. A file that cannot be read or
    does not validate (or is over the limit for configuration files) is one
    :class:`ConfigError` naming the file, the key and the fix."""
    path = Path(run_dir) / CONFIG_FILENAME
    try:
        data = read_within_limit(path, CONFIG_FILE_LIMIT)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror or exc}", where=str(path),
                          fix="make it readable, or remove it (runs without config.json run untagged tasks "
                              "on the default operator)") from None
    return parse_legacy_config(data, path=path)


def parse_legacy_config(data: bytes, *, path: Path) -> LegacyRunConfig:
    """Validate the bytes of a ``config.json``; keys other than the two 0.2.x read are
    ignored, as 0.2.x ignored them."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"is not JSON ({detail})", where=str(path),
                          fix='write a JSON object such as {"execution_mode": "HPC", "max_hpc_jobs_per_run": 10}'
                          ) from None
    if not isinstance(document, dict):
        raise ConfigError(f"expected a JSON object, found {_describe(document)}", where=str(path),
                          fix='write a JSON object such as {"execution_mode": "HPC"}')
    mode = document.get("execution_mode", DEFAULT_EXECUTION_MODE)
    if not isinstance(mode, str) or mode not in EXECUTION_MODES:
        raise ConfigError(_mode_problem(mode), where=f"{path}: execution_mode",
                          fix=f"write one of {_MODES_TEXT}, spelled exactly so")
    limit = document.get("max_hpc_jobs_per_run", DEFAULT_MAX_JOBS_PER_KEY)
    if type(limit) is not int or limit < 1:
        raise ConfigError(f"expected a positive whole number, found {_describe(limit)}",
                          where=f"{path}: max_hpc_jobs_per_run",
                          fix=f"write a number of attempts of at least 1 per operator key, or remove the key "
                              f"(default {DEFAULT_MAX_JOBS_PER_KEY})")
    return LegacyRunConfig(path=path, execution_mode=mode, max_jobs_per_key=limit,
                           max_jobs_given="max_hpc_jobs_per_run" in document, mode_given="execution_mode" in document)


def _mode_problem(mode: object) -> str:
    if isinstance(mode, str):
        same = [known for known in EXECUTION_MODES if known.lower() == mode.strip().lower()]
        if same:
            return (f"{mode!r} is not spelled as MatterStack 0.2.x compared it ({same[0]!r}); "
                    f"0.2.x took any other text for Simulation")
        return f"unknown mode {mode!r}"
    return f"expected text, found {_describe(mode)}"


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    return f"{value!r} ({type(value).__name__})"
