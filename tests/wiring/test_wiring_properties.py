"""Property tests of loading operators.yaml: a valid document always gives the same wiring; a
broken one always gives exactly one MatterStackError naming the file and the offending key
path, never another exception."""

from __future__ import annotations

import copy
import string
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wiring_kit import WaitingKinds

from matterstack.errors import MatterStackError
from matterstack.plugins import PluginHost
from matterstack.wiring import load_operators_file

FILE_NAME = "site-operators.yaml"
HOST = PluginHost.load(environ={})
HOST.pm.register(WaitingKinds(), name="wiring-test")

names = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,6}(\.[a-z0-9][a-z0-9_-]{0,4})?", fullmatch=True)
limits = st.none() | st.integers(min_value=1, max_value=500)
paths = st.text(alphabet=string.ascii_letters + "/._-", min_size=1, max_size=20)

slurm_backends = st.fixed_dictionaries(
    {"type": st.just("slurm"), "workspace_root": paths},
    optional={
        "ssh": st.fixed_dictionaries({"host": st.sampled_from(["login", "hpc.example.org"])},
                                     optional={"port": st.integers(1, 65535), "user": st.just("alice")}),
        "slurm": st.fixed_dictionaries({}, optional={"partition": st.sampled_from(["normal", "gpu"]),
                                                     "modules": st.lists(st.just("module load x"), max_size=2)}),
    },
)
backends = st.one_of(
    st.none(),
    st.fixed_dictionaries({"type": st.just("local")}, optional={"workspace_root": paths}),
    slurm_backends,
    st.fixed_dictionaries({"type": st.just("profile"), "name": st.sampled_from(["dev", "gpu"])}),
    st.fixed_dictionaries({"type": st.just("hpc_yaml"), "path": paths}),
)


@st.composite
def instance_blocks(draw, kind: str):
    block: dict = {"kind": kind}
    limit = draw(limits)
    if limit is not None:
        block["max_concurrent"] = limit
    if kind == "hpc":
        backend = draw(backends)
        if backend is not None:
            block["backend"] = backend
    if kind == "human" and draw(st.booleans()):
        block["timeout_minutes"] = draw(st.floats(min_value=1, max_value=1e4, allow_nan=False))
    if kind == "experiment" and draw(st.booleans()):
        block["exchange_dir"] = draw(paths)
    return block


@st.composite
def valid_documents(draw) -> dict:
    keys = draw(st.lists(st.tuples(st.sampled_from(["local", "hpc", "human", "experiment", "manual_hpc", "approval"]),
                                   names), min_size=1, max_size=6, unique_by=lambda kn: f"{kn[0]}.{kn[1]}"))
    operators = {f"{kind}.{name}": draw(instance_blocks(kind)) for kind, name in keys}
    document: dict = {"operators": operators}
    defaults = {}
    if draw(st.booleans()):
        defaults["operator"] = draw(st.sampled_from(sorted(operators)))
    cap = draw(limits)
    if cap is not None:
        defaults["max_concurrent"] = cap
    if defaults:
        document["defaults"] = defaults
    return document


def key_path_of(document: dict, predicate) -> str | None:
    return next((key for key, block in document["operators"].items() if predicate(block)), None)


@st.composite
def broken_documents(draw) -> tuple[dict | str, str]:
    """A document with one mistake, and the key path (or file:line) the error must name."""
    document = copy.deepcopy(draw(valid_documents()))
    operators = document["operators"]
    key = draw(st.sampled_from(sorted(operators)))
    kind = key.split(".", 1)[0]
    mistake = draw(st.sampled_from([
        "bad_key", "kind_mismatch", "unknown_kind", "unknown_instance_key", "backend_on_plain_kind",
        "unknown_backend_type", "backend_value", "limit", "defaults_operator", "defaults_key", "top_key",
        "block_type", "hpc_yaml_elsewhere", "syntax",
    ]))
    if mistake == "bad_key":
        bad = draw(st.sampled_from([key.upper(), key.replace(".", ""), key.replace(".", ".."), f" {key}",
                                    f"{key} ", key.replace(".", ". ")]))
        operators[bad] = operators.pop(key)
        document.pop("defaults", None)
        return document, f"operators.{bad}"
    if mistake == "kind_mismatch":
        operators[key]["kind"] = "local" if kind != "local" else "hpc"
        return document, f"operators.{key}.kind"
    if mistake == "unknown_kind":
        operators[f"warp.{key}"] = {"kind": "warp"}
        return document, f"operators.warp.{key}.kind"
    if mistake == "unknown_instance_key":
        junk = draw(st.sampled_from(["colour", "queue_name", "Kind"]))
        operators[key][junk] = 1
        return document, f"operators.{key}.{junk}"
    if mistake == "backend_on_plain_kind":
        plain = f"human.{draw(names)}"
        operators[plain] = {"kind": "human", "backend": {"type": "local"}}
        return document, f"operators.{plain}.backend"
    if mistake == "unknown_backend_type":
        operators["hpc.broken"] = {"kind": "hpc", "backend": {"type": "pbs"}}
        return document, "operators.hpc.broken.backend.type"
    if mistake == "backend_value":
        field, value, path = draw(st.sampled_from([
            ("workspace_root", ["a"], "backend.workspace_root"),
            ("slurm", {"partition": ["a", "b"]}, "backend.slurm.partition"),
            ("ssh", {"port": "twenty-two", "host": "h"}, "backend.ssh.port"),
        ]))
        operators["hpc.broken"] = {"kind": "hpc", "backend": {"type": "slurm", "workspace_root": "/s", field: value}}
        return document, f"operators.hpc.broken.{path}"
    if mistake == "limit":
        operators[key]["max_concurrent"] = draw(st.sampled_from([0, -3, "lots", [1], True]))
        return document, f"operators.{key}.max_concurrent"
    if mistake == "defaults_operator":
        document["defaults"] = {"operator": "hpc.not-listed"}
        operators.pop("hpc.not-listed", None)
        return document, "defaults.operator"
    if mistake == "defaults_key":
        document["defaults"] = {"operatr": key}
        return document, "defaults.operatr"
    if mistake == "top_key":
        document["profiles"] = {}
        return document, "profiles"
    if mistake == "block_type":
        operators[key] = draw(st.sampled_from([None, "hpc", ["kind", "hpc"], 3]))
        return document, f"operators.{key}"
    if mistake == "hpc_yaml_elsewhere":
        operators["batch.old"] = {"kind": "batch", "backend": {"type": "hpc_yaml", "path": "c.yaml"}}
        return document, "operators.batch.old.backend.type"
    text = yaml.safe_dump(document, sort_keys=False)
    lines = text.splitlines()
    line = draw(st.integers(min_value=1, max_value=len(lines)))
    lines.insert(line - 1, "  - [broken: {")
    return "\n".join(lines) + "\n", f"{FILE_NAME}:"


def write_document(folder: Path, document: dict | str) -> Path:
    path = folder / FILE_NAME
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document, sort_keys=False))
    return path


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(document=valid_documents())
def test_a_valid_document_loads_to_the_same_wiring_every_time(tmp_path, document):
    path = write_document(tmp_path, document)

    first = load_operators_file(path, HOST)
    second = load_operators_file(path, HOST)

    assert first == second
    assert list(first.instances) == list(document["operators"])
    for key, block in document["operators"].items():
        instance = first.instances[key]
        assert instance.kind == block["kind"] == key.split(".", 1)[0]
        assert instance.max_concurrent == block.get("max_concurrent")
        if block["kind"] == "hpc":
            assert instance.settings.backend == {"type": "local", **(block.get("backend") or {})}
    defaults = document.get("defaults", {})
    assert first.default_operator == defaults.get("operator", "local.default")
    assert first.max_concurrent == defaults.get("max_concurrent")


@SETTINGS
@given(case=broken_documents())
def test_a_broken_document_gives_exactly_one_error_naming_file_and_key_path(tmp_path, case):
    document, key_path = case
    path = write_document(tmp_path, document)

    try:
        load_operators_file(path, HOST)
    except MatterStackError as error:
        message = error.one_line()
    else:
        raise AssertionError(f"loaded a broken document: {document!r}")

    assert FILE_NAME in message
    assert " ".join(key_path.split()) in message, message


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@SETTINGS
@given(document=valid_documents(), where=st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=4),
       value=json_values)
def test_any_value_anywhere_loads_or_gives_one_matterstack_error(tmp_path, document, where, value):
    node = document
    for step in where[:-1]:
        if not isinstance(node, dict) or not node:
            break
        child = node[sorted(node, key=str)[step % len(node)]]
        if not isinstance(child, dict):
            break
        node = child
    if isinstance(node, dict) and node:
        node[sorted(node, key=str)[where[-1] % len(node)]] = value
    path = write_document(tmp_path, document)

    try:
        load_operators_file(path, HOST)
    except MatterStackError as error:
        assert FILE_NAME in error.one_line()


@SETTINGS
@given(data=st.binary(max_size=200))
def test_arbitrary_bytes_load_or_give_one_matterstack_error(tmp_path, data):
    path = tmp_path / FILE_NAME
    path.write_bytes(data)

    try:
        load_operators_file(path, HOST)
    except MatterStackError as error:
        assert FILE_NAME in error.one_line()
