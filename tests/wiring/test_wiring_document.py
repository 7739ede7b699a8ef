"""operators.yaml, rule by rule: what loads, and the one error (file, key path, fix) for what
does not."""

from __future__ import annotations

import hashlib

import pytest

from matterstack.errors import ConfigError
from matterstack.plugins import PluginHost, hookimpl
from matterstack.wiring import load_operators_file, load_wiring

SITE = """
defaults:
  operator: hpc.dev
  max_concurrent: 50
operators:
  local.default:
    kind: local
  hpc.default:
    kind: hpc
    max_concurrent: 20
    backend:
      type: slurm
      workspace_root: /scratch/alice/matterstack
      ssh: {host: login.cluster.edu, user: alice, port: 22, key_path: ~/.ssh/id_ed25519}
      slurm: {partition: normal, account: chem, time: "02:00:00", modules: ["module load vasp"]}
  hpc.dev:
    kind: hpc
    backend: {type: local, workspace_root: /scratch/dev}
  human.default:
    kind: human
    timeout_minutes: 30
  approval.lab:
    kind: approval
    max_concurrent: 1
"""


def error_of(write, text: str, host, name: str = "operators.yaml") -> str:
    path = write(name, text)
    with pytest.raises(ConfigError) as caught:
        load_operators_file(path, host)
    message = caught.value.one_line()
    assert str(path) in message and "\n" not in message
    return message.replace(f"{path}", "FILE")


def test_a_site_file_loads_every_instance_with_its_settings_and_limits(write, host):
    path = write("operators.yaml", SITE)

    wiring = load_operators_file(path, host)

    assert list(wiring.instances) == ["local.default", "hpc.default", "hpc.dev", "human.default", "approval.lab"]
    assert wiring.default_operator == "hpc.dev" and wiring.max_concurrent == 50
    hpc = wiring.instances["hpc.default"]
    assert hpc.kind == "hpc" and hpc.max_concurrent == 20
    assert hpc.settings.backend["type"] == "slurm" and hpc.settings.backend["slurm"]["partition"] == "normal"
    assert wiring.instances["human.default"].settings.timeout_minutes == 30
    assert wiring.instances["approval.lab"].max_concurrent == 1
    assert wiring.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert wiring.source == str(path) and wiring.source_file == str(path.resolve())


def test_load_wiring_is_load_operators_file(write, host):
    path = write("operators.yaml", SITE)

    assert load_wiring(path, host) == load_operators_file(path, host)


def test_a_backend_defaults_to_local_and_the_routing_default_to_local_default(write, host):
    wiring = load_operators_file(write("operators.yaml", "operators: {hpc.a: {kind: hpc}, hpc.b: {kind: hpc, backend: {}}}"), host)

    assert wiring.instances["hpc.a"].settings.backend == {"type": "local"}
    assert wiring.instances["hpc.b"].settings.backend == {"type": "local"}
    assert wiring.default_operator == "local.default" and wiring.max_concurrent is None


@pytest.mark.parametrize("key, rule", [
    ("Hpc.dev", "contains upper case letters"),
    ("hpc.my dev", "contains whitespace"),
    ("hpc..dev", "contains '..'"),
    ("hpcdev", "has no dot between kind and name"),
    (" hpc.dev", "has leading or trailing whitespace"),
    ("hpc.dev ", "has leading or trailing whitespace"),
])
def test_a_key_that_is_not_canonical_is_refused_naming_the_rule(write, host, key, rule):
    message = error_of(write, f'operators: {{"{key}": {{kind: hpc}}}}', host)

    assert message.startswith(f"FILE: operators.{key}: operator key {key!r} {rule}")
    assert "fix: write it as kind.name in lower case" in message


def test_kind_must_equal_the_keys_kind_prefix(write, host):
    message = error_of(write, "operators: {hpc.dev: {kind: local}}", host)

    assert message == ("FILE: operators.hpc.dev.kind: kind 'local' does not match the key's kind 'hpc' "
                       "(fix: write kind: hpc, or name the instance local.dev)")


def test_kind_is_required(write, host):
    assert error_of(write, "operators: {hpc.dev: {max_concurrent: 2}}", host) == \
        "FILE: operators.hpc.dev.kind: required key is missing (fix: add kind: hpc)"


def test_a_kind_no_installed_plugin_provides_is_refused_with_what_to_install(write):
    bare = PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": ""})

    message = error_of(write, "operators: {human.default: {kind: human}}", bare)

    assert message.startswith("FILE: operators.human.default.kind: operator kind 'human' is not provided")
    assert "installed: hpc, local" in message and "pip install matterstack-ops-human" in message


def test_a_backend_type_no_installed_plugin_provides_is_refused(write, host):
    message = error_of(write, "operators: {hpc.dev: {kind: hpc, backend: {type: pbs}}}", host)

    assert message.startswith("FILE: operators.hpc.dev.backend.type: compute backend 'pbs' is not provided")


def test_kinds_without_backends_reject_backend(write, host):
    assert error_of(write, "operators: {human.default: {kind: human, backend: {type: local}}}", host) == (
        "FILE: operators.human.default.backend: kind 'human' takes no backend "
        "(fix: remove it; only kinds that run compute jobs (like hpc) take a backend)")


def test_a_local_instance_takes_only_0_2_xs_local_backend_block(write, host):
    for block in ("{}", "{type: local}", "{type: local, dry_run: true}"):
        path = write("ok.yaml", f"operators: {{local.default: {{kind: local, backend: {block}}}}}")
        assert load_operators_file(path, host).instances["local.default"].kind == "local"

    assert error_of(write, "operators: {local.default: {kind: local, backend: {type: slurm, workspace_root: /s}}}",
                    host) == ("FILE: operators.local.default.backend.type: kind 'local' takes only backend type local "
                              "(fix: write type: local, or make it an hpc.<name> instance for a slurm backend)")
    assert "operators.local.default.backend.dry_rn: unknown key (fix: did you mean 'dry_run'?" in \
        error_of(write, "operators: {local.default: {kind: local, backend: {type: local, dry_rn: true}}}", host)


def test_hpc_yaml_is_only_for_kind_hpc(write, host):
    assert load_operators_file(write("ok.yaml", "operators: {hpc.old: {kind: hpc, backend: {type: hpc_yaml, path: c.yaml}}}"),
                               host).instances["hpc.old"].settings.backend == {"type": "hpc_yaml", "path": "c.yaml"}

    message = error_of(write, "operators: {batch.old: {kind: batch, backend: {type: hpc_yaml, path: c.yaml}}}", host)

    assert message.startswith("FILE: operators.batch.old.backend.type: backend type 'hpc_yaml' is only for kind 'hpc'")


def test_a_backend_registered_for_some_kinds_is_refused_under_another(write, host):
    class KindBoundQueue:
        @hookimpl
        def matterstack_compute_backends(self, register):
            register("batchq", lambda settings, context: None, kinds=("batch",))

    host.pm.register(KindBoundQueue(), name="kind-bound")

    assert load_operators_file(write("ok.yaml", "operators: {batch.q: {kind: batch, backend: {type: batchq}}}"),
                               host).instances["batch.q"].settings.backend == {"type": "batchq"}
    assert error_of(write, "operators: {hpc.q: {kind: hpc, backend: {type: batchq}}}", host) == (
        "FILE: operators.hpc.q.backend.type: backend type 'batchq' is only for kind 'batch' "
        "(fix: move it under a batch.<name> instance, or use another backend type)")


def test_the_backend_block_is_validated_by_its_backends_settings_class(write, host):
    message = error_of(write, """
        operators:
          hpc.dev:
            kind: hpc
            backend: {type: slurm, workspace_root: /s, slurm: {partition: [a, b]}}
    """, host)

    assert message == "FILE: operators.hpc.dev.backend.slurm.partition: expected a string, found a list"
    assert error_of(write, "operators: {hpc.dev: {kind: hpc, backend: {type: slurm}}}", host) == \
        "FILE: operators.hpc.dev.backend.workspace_root: required key is missing (fix: add it)"


def test_a_third_party_kind_and_backend_are_validated_like_built_ins(write, host):
    wiring = load_operators_file(write("ok.yaml", """
        operators:
          batch.lab: {kind: batch, retries: 2, backend: {type: labq, queue: fast}}
    """), host)

    assert wiring.instances["batch.lab"].settings.retries == 2
    assert wiring.instances["batch.lab"].settings.backend == {"type": "labq", "queue": "fast"}
    assert error_of(write, "operators: {batch.lab: {kind: batch, backend: {type: labq, queue: fast, priority: high}}}",
                    host) == "FILE: operators.batch.lab.backend.priority: expected an integer, found a string"
    assert error_of(write, "operators: {batch.lab: {kind: batch, backend: {type: labq}}}", host) == \
        "FILE: operators.batch.lab.backend.queue: required key is missing (fix: add it)"


@pytest.mark.parametrize("text, path, known", [
    ("operators: {hpc.dev: {kind: hpc, colour: red}}", "operators.hpc.dev.colour",
     "backend, kind, max_concurrent, operator_name, slug"),
    ("operators: {hpc.dev: {kind: hpc, backend: {type: local, root: /x}}}", "operators.hpc.dev.backend.root",
     "workspace_root, dry_run"),
    ("operators: {hpc.dev: {kind: hpc}}\ndefaults: {cap: 3}", "defaults.cap", "operator, max_concurrent"),
    ("operators: {hpc.dev: {kind: hpc}}\nprofiles: {}", "profiles", "defaults, operators"),
])
def test_unknown_keys_are_refused_everywhere(write, host, text, path, known):
    assert error_of(write, text, host) == f"FILE: {path}: unknown key (fix: remove it; known keys: {known})"


def test_max_concurrent_is_a_positive_integer_on_every_instance_and_in_defaults(write, host):
    assert "FILE: operators.hpc.dev.max_concurrent: expected a positive integer, found 0" in \
        error_of(write, "operators: {hpc.dev: {kind: hpc, max_concurrent: 0}}", host)
    assert error_of(write, "operators: {approval.x: {kind: approval, max_concurrent: many}}", host) == \
        "FILE: operators.approval.x.max_concurrent: expected an integer, found a string"
    assert "FILE: defaults.max_concurrent: expected a positive integer, found -1" in \
        error_of(write, "operators: {hpc.dev: {kind: hpc}}\ndefaults: {max_concurrent: -1}", host)


def test_defaults_operator_must_be_a_configured_key(write, host):
    assert error_of(write, "operators: {hpc.dev: {kind: hpc}}\ndefaults: {operator: hpc.gpu}", host) == (
        "FILE: defaults.operator: 'hpc.gpu' is not configured (configured: hpc.dev) "
        "(fix: name one of the keys under operators, or add that instance)")
    assert "FILE: defaults.operator: operator key 'HPC' contains upper case letters" in \
        error_of(write, "operators: {hpc.dev: {kind: hpc}}\ndefaults: {operator: HPC}", host)


@pytest.mark.parametrize("text, what", [
    ("", "FILE: expected a mapping with an operators block, found nothing (null)"),
    ("- hpc.dev", "FILE: expected a mapping with an operators block, found a list"),
    ("defaults: {max_concurrent: 2}", "FILE: operators: required key is missing"),
    ("operators: {}", "FILE: operators: expected a mapping of instances by key, found an empty mapping"),
    ("operators: [hpc.dev]", "FILE: operators: expected a mapping of instances by key, found a list"),
    ("operators: {hpc.dev: hpc}", "FILE: operators.hpc.dev: expected a mapping with kind: hpc, found a string"),
    ("operators: {7: {kind: hpc}}", "FILE: operators: operator key 7 is not text"),
])
def test_the_shape_of_the_document_is_checked(write, host, text, what):
    assert error_of(write, text, host).startswith(what)


def test_a_yaml_syntax_error_is_one_line_with_file_and_line(write, host):
    message = error_of(write, "operators:\n  hpc.dev:\n    kind: hpc\n  backend: [local\n", host)

    assert message.startswith("FILE:5: invalid YAML:")


def test_a_key_written_twice_is_refused_at_its_line(write, host):
    message = error_of(write, "operators:\n  hpc.dev: {kind: hpc}\n  hpc.dev: {kind: hpc, max_concurrent: 2}\n", host)

    assert message.startswith("FILE:3: invalid YAML: found key 'hpc.dev' twice")


def test_yaml_anchors_and_merge_keys_are_allowed(write, host):
    wiring = load_operators_file(write("operators.yaml", """
        operators:
          hpc.a: &compute {kind: hpc, max_concurrent: 4}
          hpc.b:
            <<: *compute
            max_concurrent: 2
    """), host)

    assert wiring.instances["hpc.a"].max_concurrent == 4 and wiring.instances["hpc.b"].max_concurrent == 2


def test_a_missing_file_is_one_error(tmp_path, host):
    with pytest.raises(ConfigError) as caught:
        load_operators_file(tmp_path / "nope.yaml", host)

    assert caught.value.one_line() == f"{tmp_path / 'nope.yaml'}: operators file not found " \
                                      "(fix: give the path of an existing operators.yaml)"
