"""The conformance kit run against the built-in compute kinds on the local backend: real
detached processes, their files, and the kit's tests inherited unchanged. This machine's
processes have no outage a test could cause, so the transient tests use the kit's named fake
(test ids ``fake-unreachable``)."""

from __future__ import annotations

from matterstack.testing import OperatorConformance


class TestLocalKindConformance(OperatorConformance):
    operator_key = "local.default"
    invalid_settings = [
        ({"max_concurrent": "many"}, "max_concurrent: expected an integer, found a string"),
        ({"max_concurrent": 0}, "max_concurrent: expected a positive integer"),
        ({"backend": {"type": "slurm", "workspace_root": "/s"}},
         "operators.local.default.backend.type: kind 'local' takes only backend type local"),
        ({"backend": {"type": "local", "dry_rn": True}},
         "operators.local.default.backend.dry_rn: unknown key (fix: did you mean 'dry_run'?"),
    ]

    def operator_settings(self, tmp_path):
        return {"max_concurrent": 4}


class TestHpcKindOnTheLocalBackendConformance(OperatorConformance):
    operator_key = "hpc.default"
    invalid_settings = [
        ({"backend": {"type": "local", "root": "/tmp"}}, "operators.hpc.default.backend.root: unknown key"),
        ({"backend": {"type": "nosuch"}}, "compute backend 'nosuch' is not provided"),
        ({"backend": "local"}, "operators.hpc.default.backend"),
    ]

    def operator_settings(self, tmp_path):
        return {"backend": {"type": "local"}}


class TestHpcKindOnALocalScratchRootConformance(OperatorConformance):
    """Jobs copied to a scratch root, run there, and fetched back by collect."""

    operator_key = "hpc.scratch"
    invalid_settings = [
        ({"backend": {"type": "local", "workspace_root": 5}},
         "operators.hpc.scratch.backend.workspace_root: expected a string, found an integer"),
        ({"kind": "local"}, "operators.hpc.scratch.kind"),
    ]

    def operator_settings(self, tmp_path):
        return {"max_concurrent": 2, "backend": {"type": "local", "workspace_root": str(tmp_path / "scratch")}}
