"""The child process of the conformance kit's crash test:
``python -m matterstack.testing.crash_child SPEC``.

It builds its own operator from the pickled SPEC (key, settings block, run, attempt) through
the plugin host, exactly as a fresh ``matterstack step`` would, prepares and submits the
attempt, and then SIGKILLs itself: the submission happened, and nobody was told.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from pathlib import Path


def main(spec_path: str) -> None:
    """Prepare and submit the attempt of ``spec_path``, then die by SIGKILL."""
    from matterstack.plugins.host import get_plugin_host
    from matterstack.plugins.interfaces import OperatorContext
    from matterstack.testing.harness import build_operator_wiring, make_registry

    spec = pickle.loads(Path(spec_path).read_bytes())
    host = get_plugin_host()
    fields = spec["context"]
    context = OperatorContext(run_id=fields["run_id"], run_dir=Path(fields["run_dir"]),
                              workspace_slug=fields["workspace_slug"], host=host)
    operator = make_registry(build_operator_wiring(spec["key"], spec["block"], host), host, context).get(spec["key"])
    operator.prepare(spec["attempt"])
    operator.submit(spec["attempt"])
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(sys.argv[1])
