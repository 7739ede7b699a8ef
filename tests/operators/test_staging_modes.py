"""Staging again (a prepare retried after a crash) over the copies an earlier prepare left."""

from __future__ import annotations

import os
import stat

from matterstack import FileFromPath, Task
from matterstack.operators.staging import stage_files


def test_staging_again_replaces_a_read_only_copy_with_the_source_as_it_is_now(tmp_path):
    # given a read-only source staged once
    source = tmp_path / "POSCAR"
    source.write_text("Si2\n")
    source.chmod(0o444)
    dest = tmp_path / "attempt"
    dest.mkdir()
    task = Task(task_id="t1", files={"POSCAR": FileFromPath(source)})
    stage_files(task, dest)
    # when the source changes and the same task is staged again
    source.chmod(0o644)
    source.write_text("Si4\n")
    source.chmod(0o444)
    stage_files(task, dest)
    # then the copy holds the new content and is read-only, as its source is
    assert (dest / "POSCAR").read_text() == "Si4\n"
    assert not stat.S_IMODE(os.stat(dest / "POSCAR").st_mode) & 0o222
