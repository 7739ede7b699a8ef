"""Submitting many jobs in one round trip: the inputs of every job go up as one tar on the
standard input of one remote script, which checks every token, adopts the jobs that exist
and submits the rest, answering one line per token as it goes.

The script, run by ``sh`` on the login node (or the local shell):

1. takes ``<workspace_root>/.matterstack-batches/lock`` (``flock``, where the cluster has it),
   so a batch still running from a killed tick ends before the next one looks at the queue,
   and removes what killed batches left unpacked;
2. unpacks the tar into a fresh folder there: ``jobs`` (one ``index|token|options|workdir``
   line per job) and ``<index>/`` (the files of that job's work directory);
3. asks squeue and the site's accounting once for every token, as reconcile does;
4. for each job in order: a job-id record in its work directory, or a job squeue or the
   accounting knows by its token, is adopted (``adopted|token|id``); otherwise the files are
   copied into the work directory and sbatch runs there (``submitted|token|id``, the id is
   written to ``.matterstack/job_id`` before the line), or sbatch's error is answered
   (``failed|token|error``). After a refusal that means "no more jobs from you for now"
   (:mod:`~matterstack_ops_slurm.submit_limits`) or an error that means the controller is not
   answering, it submits nothing more: that job's line is ``refused|`` or ``outage|`` and every
   later job's is ``waiting|token|``.

A script killed midway (its tick was killed, the connection dropped) leaves every answered
job recorded on both sides; a token it never answered is found again by the next tick's
reconcile, or by the next batch's own check.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import tarfile
import tempfile
from pathlib import Path

from matterstack_ops_slurm import scheduler, submit_limits

BATCH_DIR = ".matterstack-batches"
PARALLEL_SBATCH = 8
"""sbatch calls a batch runs at once: sbatch spends most of its time starting and waiting for
slurmctld's answer, so a few at a time submit several times faster without loading the
controller more than a few users would."""
JOBS_FILE = "jobs"

_WORDS = re.compile(r"[^A-Za-z0-9_ /:.,-]")


def _grep_words(patterns: tuple[str, ...]) -> str:
    """An ``grep -Ei`` pattern matching any of ``patterns`` (plain words)."""
    return "|".join(_WORDS.sub(".", p) for p in patterns)


def script(root: str, accounting: str) -> str:
    """The remote script for a batch under workspace root ``root`` (constant size: the jobs
    are in the tar it reads from its standard input)."""
    q = shlex.quote
    sacct = scheduler.sacct_base(accounting)
    accounted = (f'{sacct} -X -n -P -S {scheduler.SACCT_WINDOW} --name="$names" -o JobName,JobID '
                 f'> "$stage/accounted" 2> "$stage/error" || {{ outage "$(cat "$stage/error")"; exit 75; }}'
                 if sacct else ': > "$stage/accounted"')
    named_limit = "(QOS|Assoc)[A-Za-z]*Submit[A-Za-z]*Limit"
    other_limit = "sbatch: error: (QOS|Assoc)[A-Za-z]*Limit"
    return f"""set -u
batches={q(root)}/{BATCH_DIR}
mkdir -p "$batches" || exit 75
if command -v flock > /dev/null 2>&1; then exec 9> "$batches/lock"; flock 9; fi
rm -rf "$batches"/in.*
stage=$(mktemp -d "$batches/in.XXXXXX") || exit 75
trap 'rm -rf "$stage"' EXIT
tar -x -f - -C "$stage" || exit 75
flat() {{ printf '%s' "$1" | tr '\\n|' '  '; }}
outage() {{ echo "error||$(flat "$1")"; }}
names=$(cut -d'|' -f2 "$stage/{JOBS_FILE}" | paste -s -d, -)
squeue -h -t all --name="$names" -o '%j|%i' > "$stage/queued" 2> "$stage/error" || {{ outage "$(cat "$stage/error")"; exit 75; }}
{accounted}
awk -F'|' 'FILENAME != ARGV[3] {{ id = $2; sub(/[^0-9].*/, "", id); if (id == "") next;
    if (!($1 in known) || id + 0 < first[$1]) {{ known[$1] = $2; first[$1] = id + 0 }}; next }}
  {{ print ($2 in known ? known[$2] : "") "|" $0 }}' "$stage/queued" "$stage/accounted" "$stage/{JOBS_FILE}" > "$stage/plan"
submit_one() {{  # index token file-options workdir: one answer line
  if ! {{ mkdir -p "$4" && cp -Rp "$stage/$1/." "$4/"; }} 2> "$stage/e.$1"; then
    echo "failed|$2|$(flat "could not place the inputs: $(cat "$stage/e.$1")")"; return
  fi
  here=$(printf '%s' "$4" | sed 's/%/%%/g')
  token=$2 workdir=$4 opts=$3
  set --
  for o in $opts; do set -- "$@" "--${{o%%=*}}=$here/${{o#*=}}"; done
  if out=$(cd "$workdir" && sbatch --parsable "$@" {scheduler.SCRIPT} 2>&1 < /dev/null); then
    id=$(printf '%s\n' "$out" | tail -n 1); id=${{id%%;*}}
    echo "$id" > "$workdir/{scheduler.JOB_ID_FILE}.tmp" && mv -f "$workdir/{scheduler.JOB_ID_FILE}.tmp" "$workdir/{scheduler.JOB_ID_FILE}"
    echo "submitted|$token|$id"
  elif printf '%s' "$out" | grep -Eq '{named_limit}' || printf '%s' "$out" | grep -Eqi '{_grep_words((submit_limits.CONTROLLER_FULL,))}' || \\
       {{ printf '%s' "$out" | grep -qi '{submit_limits.POLICY}' && ! printf '%s' "$out" | grep -Eq '{other_limit}'; }}; then
    echo "refused|$token|$(flat "$out")"
  elif printf '%s' "$out" | grep -Eqi '{_grep_words(scheduler.TRANSIENT_MARKERS)}'; then
    echo "outage|$token|$(flat "$out")"
  else
    echo "failed|$token|$(flat "$out")"
  fi
}}
flush() {{  # the answers of the wave just submitted, in order; stop after a refusal or an outage
  wait
  for w in $wave; do
    cat "$stage/r.$w"
    if grep -Eq '^(refused|outage)[|]' "$stage/r.$w"; then stop=1; fi
  done
  wave= n=0
}}
stop= wave= n=0
while IFS='|' read -r known i token opts workdir; do
  if [ -n "$stop" ]; then echo "waiting|$token|"; continue; fi
  if [ -s "$workdir/{scheduler.JOB_ID_FILE}" ]; then echo "adopted|$token|$(head -n 1 "$workdir/{scheduler.JOB_ID_FILE}")"; continue; fi
  if [ -n "$known" ]; then echo "adopted|$token|$known"; continue; fi
  submit_one "$i" "$token" "$opts" "$workdir" > "$stage/r.$i" 2>&1 < /dev/null &
  wave="$wave $i" n=$((n + 1))
  if [ "$n" -ge {PARALLEL_SBATCH} ]; then flush; fi
done < "$stage/plan"
flush
"""


def jobs_line(index: int, token: str, file_options: list[tuple[str, str]], workdir: str) -> str:
    """One line of the ``jobs`` file (the work directory last: it may hold ``|``)."""
    options = " ".join(f"{name}={value}" for name, value in file_options)
    return f"{index}|{token}|{options}|{workdir}\n"


def pack(entries: list[tuple[Path, str]]) -> tempfile.SpooledTemporaryFile:
    """One tar holding ``jobs`` and each job's input folder as ``<index>/``, from
    ``entries`` (input folder, its ``jobs`` line) in order; symlinks are left out, as the
    per-job upload did. Rewound, ready to be read."""
    stream = tempfile.TemporaryFile()
    lines = "".join(line for _, line in entries).encode()
    with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(JOBS_FILE)
        info.size = len(lines)
        info.mode = 0o600
        tar.addfile(info, io.BytesIO(lines))
        for index, (folder, _) in enumerate(entries):
            _add_folder(tar, Path(folder), str(index))
    stream.seek(0)
    return stream


def _add_folder(tar: tarfile.TarFile, folder: Path, name: str) -> None:
    tar.add(str(folder), arcname=name, recursive=False)
    for root, dirs, files in os.walk(folder):
        relative = os.path.relpath(root, folder)
        prefix = name if relative == "." else f"{name}/{Path(relative).as_posix()}"
        for entry in sorted(dirs) + sorted(files):
            path = os.path.join(root, entry)
            if not os.path.islink(path):
                tar.add(path, arcname=f"{prefix}/{entry}", recursive=False)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]


def parse_answer(line: str) -> tuple[str, str, str] | None:
    """``(kind, token, detail)`` of one answer line; None for anything else."""
    kind, sep, rest = line.rstrip("\n").partition("|")
    token, sep2, detail = rest.partition("|")
    if not sep or not sep2 or kind not in ("adopted", "submitted", "failed", "refused", "outage", "waiting", "error"):
        return None
    return kind, token, detail.strip()
