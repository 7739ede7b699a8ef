"""Configuration files over the limit for configuration files (``MATTERSTACK_MAX_CONFIG_MB``,
1 MB) are refused unread, in one line naming the file, the limit and how to raise it:
``operators.yaml`` (a 20 MB one took 87 s and 1.9 GB to parse), a legacy cluster file, a
0.2.x run's ``config.json``; the limit itself is validated."""

from __future__ import annotations

import math
import subprocess
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matterstack.input_limits import CONFIG_FILE_LIMIT, InputLimitError
from matterstack.orchestrator.legacy_config import read_legacy_config
from matterstack_ops_slurm.hpc_yaml import load_cluster_file

LIMIT = "MATTERSTACK_MAX_CONFIG_MB"
OPERATORS = "operators:\n  local.default: {kind: local}\n"
CLUSTER = "cluster:\n  paths: {remote_workspace: /scratch/alice}\n  slurm: {partition: debug}\n"


def padded(text: str, megabytes: float) -> str:
    """``text`` followed by comment lines up to ``megabytes``: valid, and as slow to parse as any."""
    line = "# " + "x" * 77 + "\n"
    return text + line * int(megabytes * 1024 * 1024 / len(line))


def test_an_operators_yaml_over_the_limit_is_refused_at_once_in_one_line(tmp_path, matterstack_command):
    # given an operators.yaml of 1.5 MB
    big = tmp_path / "operators.yaml"
    big.write_text(padded(OPERATORS, 1.5))

    # when it is checked, with the default limit and then with a raised one
    started = time.monotonic()
    refused = subprocess.run([*matterstack_command, "operators", "check", str(big)], capture_output=True, text=True)
    took = time.monotonic() - started
    raised = subprocess.run([*matterstack_command, "operators", "check", str(big)], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", LIMIT: "2"})

    # then it is refused unread (exit 2, one line naming file, limit and variable), and read when raised
    assert refused.returncode == 2 and took < 30
    assert refused.stderr.strip().splitlines() == [
        f"Error: {big}: is 1.5 MB, over the 1 MB limit for configuration files; it was not read "
        f"(fix: set {LIMIT}=2 (megabytes) where matterstack runs, or make the file smaller)"]
    assert raised.returncode == 0, raised.stderr


def test_init_with_an_operators_yaml_over_the_limit_makes_no_run(tmp_path, matterstack_command):
    workspace = tmp_path / "workspaces" / "demo"
    workspace.mkdir(parents=True)
    (workspace / "main.py").write_text("from matterstack import Campaign\n")
    big = tmp_path / "operators.yaml"
    big.write_text(padded(OPERATORS, 1.2))

    done = subprocess.run([*matterstack_command, "init", "demo", "--operators-config", str(big)],
                          capture_output=True, text=True, cwd=tmp_path)

    assert done.returncode == 2 and "over the 1 MB limit for configuration files" in done.stderr
    assert not (workspace / "runs").exists() or not any((workspace / "runs").iterdir())


def test_a_legacy_cluster_file_over_the_limit_is_refused(tmp_path):
    path = tmp_path / "cluster.yaml"
    path.write_text(padded(CLUSTER, 1.1))

    with pytest.raises(InputLimitError) as raised:
        load_cluster_file(path)

    assert raised.value.where == str(path) and "over the 1 MB limit for configuration files" in raised.value.what


def test_a_legacy_run_config_json_over_the_limit_is_refused(tmp_path, monkeypatch):
    config = tmp_path / "config.json"
    config.write_text('{"execution_mode": "Local", "padding": "' + "x" * 30_000 + '"}')
    monkeypatch.setenv(LIMIT, "0.01")

    with pytest.raises(InputLimitError) as raised:
        read_legacy_config(tmp_path)

    assert raised.value.one_line() == (
        f"{config}: is {config.stat().st_size} bytes, over the 0.01 MB limit for configuration files; it was not read"
        f" (fix: set {LIMIT}=1 (megabytes) where matterstack runs, or make the file smaller)")
    monkeypatch.setenv(LIMIT, "1")
    assert read_legacy_config(tmp_path).execution_mode == "Local"


@given(st.floats(min_value=1e-6, max_value=1e6, allow_nan=False))
def test_any_positive_number_of_megabytes_is_a_limit(value):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(LIMIT, repr(value))
        assert CONFIG_FILE_LIMIT.megabytes() == value


@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
       .filter(lambda t: t.strip() and not _positive(t)))
def test_anything_else_in_the_variable_is_refused_naming_it(text):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(LIMIT, text)
        with pytest.raises(InputLimitError) as raised:
            CONFIG_FILE_LIMIT.megabytes()
    assert raised.value.where == LIMIT and "is not a size in megabytes" in raised.value.what


def _positive(text: str) -> bool:
    try:
        return 0 < float(text) < math.inf
    except ValueError:
        return False
