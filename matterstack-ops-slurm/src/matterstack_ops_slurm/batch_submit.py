"""Submitting many jobs in one round trip: the inputs of every job go up as one tar on the
standard input of one remote script, which checks every token, adopts the jobs that exist
and submits the rest, answering one line per token as it goes.

The script, run by ``sh`` on the login node (or the local shell):

1. takes ``<workspace_root>/.matterstack-batches/lock`` (``flock``, where the cluster has it),
   so a batch still running from a killed tick ends before the next one looks at the queue,
   and removes what killed batches left unpacked;
2. unpacks the tar into a fresh folder there: ``jobs`` (one ``index|token|options|group|workdir``
   line per job; ``group`` is the job array it goes in, empty for a job of its own),
   ``<index>/`` (the files of that job's work directory) and ``drivers/<group>.sh``;
3. asks squeue and the site's accounting once for every token, as reconcile does (for a job
   whose work directory records an array, ``.matterstack/array``, for that array's name);
4. for each job in order: a job-id record in its work directory, or a job squeue or the
   accounting knows by its token (or its array's name and index), is adopted
   (``adopted|token|id``); otherwise the files are copied into the work directory and sbatch
   runs there (``submitted|token|id``, the id is written to ``.matterstack/job_id`` before the
   line), or sbatch's error is answered (``failed|token|error``). Jobs of a group are
   submitted after the others, one ``sbatch --array`` per group
   (:mod:`~matterstack_ops_slurm.job_arrays`), each element answered as ``<job>_<index>``.
   After a refusal that means "no more jobs from you for now"
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

from matterstack_ops_slurm import job_arrays, scheduler, submit_limits

BATCH_DIR = ".matterstack-batches"
PARALLEL_SBATCH = 8
"""sbatch calls a batch runs at once: sbatch spends most of its time starting and waiting for
slurmctld's answer, so a few at a time submit several times faster without loading the
controller more than a few users would."""
JOBS_FILE = "jobs"
DRIVERS_DIR = "drivers"
ARRAYS_DIR = ".matterstack-arrays"
"""Under the workspace root: one folder per job array (its driver script, its list of work
directories, Slurm's output of each element until the element moves it), kept while the
elements may still run."""
ARRAY_DIR_DAYS = 30

_WORDS = re.compile(r"[^A-Za-z0-9_ /:.,-]")


def _grep_words(patterns: tuple[str, ...]) -> str:
    """An ``grep -Ei`` pattern matching any of ``patterns`` (plain words)."""
    return "|".join(_WORDS.sub(".", p) for p in patterns)


def script(root: str, accounting: str, array_parallel: int | None = None) -> str:
    """The remote script for a batch under workspace root ``root`` (constant size: the jobs
    are in the tar it reads from its standard input); ``array_parallel`` throttles arrays."""
    q = shlex.quote
    sacct = scheduler.sacct_base(accounting)
    accounted = (f'{sacct} -X -n -P -S {scheduler.SACCT_WINDOW} --name="$names" -o JobName,JobID '
                 f'> "$stage/accounted" 2> "$stage/error" || {{ outage "$(cat "$stage/error")"; exit 75; }}'
                 if sacct else ': > "$stage/accounted"')
    named_limit = "(QOS|Assoc)[A-Za-z]*Submit[A-Za-z]*Limit"
    other_limit = "sbatch: error: (QOS|Assoc)[A-Za-z]*Limit"
    throttle = f"%{int(array_parallel)}" if array_parallel else ""
    record = scheduler.JOB_ID_FILE
    return f"""set -u
batches={q(root)}/{BATCH_DIR}
arrays={q(root)}/{ARRAYS_DIR}
mkdir -p "$batches" "$arrays" || exit 75
if command -v flock > /dev/null 2>&1; then exec 9> "$batches/lock"; flock 9; fi
rm -rf "$batches"/in.*
find "$arrays" -mindepth 1 -maxdepth 1 -mtime +{ARRAY_DIR_DAYS} -exec rm -rf {{}} + 2> /dev/null
stage=$(mktemp -d "$batches/in.XXXXXX") || exit 75
trap 'rm -rf "$stage"' EXIT
tar -x -f - -C "$stage" || exit 75
flat() {{ printf '%s' "$1" | tr '\\n|' '  '; }}
outage() {{ echo "error||$(flat "$1")"; }}
while IFS='|' read -r i token opts group workdir; do
  name=$token index=
  if [ -s "$workdir/{job_arrays.ARRAY_FILE}" ]; then IFS='|' read -r name index < "$workdir/{job_arrays.ARRAY_FILE}"; fi
  printf '%s|%s|%s|%s|%s|%s|%s\\n' "$name" "$index" "$i" "$token" "$opts" "$group" "$workdir"
done < "$stage/{JOBS_FILE}" > "$stage/lookup"
names=$(cut -d'|' -f1 "$stage/lookup" | sort -u | paste -s -d, -)
squeue -h -t all -r --name="$names" -o '%j|%i' > "$stage/queued" 2> "$stage/error" || {{ outage "$(cat "$stage/error")"; exit 75; }}
{accounted}
awk -F'|' 'FILENAME != ARGV[3] {{ id = $2; sub(/[^0-9].*/, "", id); if (id == "") next;
    if (!($1 in known) || id + 0 < first[$1]) {{ known[$1] = $2; first[$1] = id + 0 }}; next }}
  {{ found = ($1 in known) ? ($2 == "" ? known[$1] : first[$1] "_" $2) : ""; print found "|" $0 }}' \\
  "$stage/queued" "$stage/accounted" "$stage/lookup" > "$stage/plan"
kind_of() {{  # sbatch's error text: refused (not now), outage, or failed
  if printf '%s' "$1" | grep -Eq '{named_limit}' || printf '%s' "$1" | grep -Eqi '{_grep_words((submit_limits.CONTROLLER_FULL,))}' || \\
     {{ printf '%s' "$1" | grep -qi '{submit_limits.POLICY}' && ! printf '%s' "$1" | grep -Eq '{other_limit}'; }}; then
    echo refused
  elif printf '%s' "$1" | grep -Eqi '{_grep_words(scheduler.TRANSIENT_MARKERS)}'; then
    echo outage
  else
    echo failed
  fi
}}
place() {{  # index workdir: the job's files in its work directory
  {{ mkdir -p "$2" && cp -Rp "$stage/$1/." "$2/"; }} 2> "$stage/e.$1"
}}
keep_id() {{  # workdir job-id
  echo "$2" > "$1/{record}.tmp" && mv -f "$1/{record}.tmp" "$1/{record}"
}}
submit_one() {{  # index token file-options workdir: one answer line
  if ! place "$1" "$4"; then
    echo "failed|$2|$(flat "could not place the inputs: $(cat "$stage/e.$1")")"; return
  fi
  here=$(printf '%s' "$4" | sed 's/%/%%/g')
  token=$2 workdir=$4 opts=$3
  set --
  for o in $opts; do set -- "$@" "--${{o%%=*}}=$here/${{o#*=}}"; done
  if out=$(cd "$workdir" && sbatch --parsable "$@" {scheduler.SCRIPT} 2>&1 < /dev/null); then
    id=$(printf '%s\\n' "$out" | tail -n 1); id=${{id%%;*}}
    keep_id "$workdir" "$id"
    echo "submitted|$token|$id"
  else
    echo "$(kind_of "$out")|$token|$(flat "$out")"
  fi
}}
submit_array() {{  # group: one sbatch --array for its members, one answer line per member
  members="$stage/group.$1"
  if [ -n "$stop" ]; then cut -d'|' -f2 "$members" | sed 's/^/waiting|/; s/$/|/'; return; fi
  name="{job_arrays.NAME_PREFIX}$(head -n 1 "$members" | cut -d'|' -f2).${{stage##*.}}"
  dir="$arrays/$name" k=0
  mkdir -p "$dir" && : > "$stage/placed.$1" && : > "$dir/workdirs" || {{ cut -d'|' -f2 "$members" | sed 's/^/outage|/; s/$/|no room for the array list/'; stop=1; return; }}
  while IFS='|' read -r i token workdir; do
    if place "$i" "$workdir" && printf '%s|%s\\n' "$name" "$k" > "$workdir/{job_arrays.ARRAY_FILE}"; then
      printf '%s\\n' "$workdir" >> "$dir/workdirs"
      printf '%s|%s|%s\\n' "$k" "$token" "$workdir" >> "$stage/placed.$1"
      k=$((k + 1))
    else
      echo "failed|$token|$(flat "could not place the inputs: $(cat "$stage/e.$i")")"
    fi
  done < "$members"
  [ "$k" -gt 0 ] || return
  here=$(printf '%s' "$dir" | sed 's/%/%%/g')
  cp "$stage/{DRIVERS_DIR}/$1.sh" "$dir/array.sh"
  if out=$(cd "$dir" && sbatch --parsable --job-name="$name" --array="0-$((k - 1)){throttle}" \\
             --output="$here/slurm-%A_%a.out" array.sh "$dir/workdirs" 2>&1 < /dev/null); then
    id=$(printf '%s\\n' "$out" | tail -n 1); id=${{id%%;*}}
    while IFS='|' read -r k token workdir; do
      keep_id "$workdir" "${{id}}_$k"
      echo "submitted|$token|${{id}}_$k"
    done < "$stage/placed.$1"
  else
    kind=$(kind_of "$out")
    while IFS='|' read -r k token workdir; do
      rm -f "$workdir/{job_arrays.ARRAY_FILE}"
      echo "$kind|$token|$(flat "$out")"
    done < "$stage/placed.$1"
    case $kind in refused|outage) stop=1 ;; esac
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
while IFS='|' read -r known name index i token opts group workdir; do
  if [ -n "$stop" ]; then echo "waiting|$token|"; continue; fi
  if [ -s "$workdir/{record}" ]; then echo "adopted|$token|$(head -n 1 "$workdir/{record}")"; continue; fi
  if [ -n "$known" ]; then echo "adopted|$token|$known"; continue; fi
  if [ -n "$group" ]; then printf '%s|%s|%s\\n' "$i" "$token" "$workdir" >> "$stage/group.$group"; continue; fi
  submit_one "$i" "$token" "$opts" "$workdir" > "$stage/r.$i" 2>&1 < /dev/null &
  wave="$wave $i" n=$((n + 1))
  if [ "$n" -ge {PARALLEL_SBATCH} ]; then flush; fi
done < "$stage/plan"
flush
for group in $(ls "$stage" | sed -n 's/^group[.]//p' | sort -n); do submit_array "$group"; done
"""


def jobs_line(index: int, token: str, file_options: list[tuple[str, str]], workdir: str,
              group: int | None = None) -> str:
    """One line of the ``jobs`` file (the work directory last: it may hold ``|``); ``group``
    is the job array the job goes in (None: a job of its own)."""
    options = " ".join(f"{name}={value}" for name, value in file_options)
    return f"{index}|{token}|{options}|{'' if group is None else group}|{workdir}\n"


def pack(entries: list[tuple[Path, str]], drivers: dict[int, str] | None = None) -> tempfile.SpooledTemporaryFile:
    """One tar holding ``jobs``, each job's input folder as ``<index>/`` (from ``entries``:
    input folder, its ``jobs`` line, in order; symlinks are left out, as the per-job upload
    did) and each job array's driver script as ``drivers/<group>.sh``. Rewound, ready to be read."""
    stream = tempfile.TemporaryFile()
    lines = "".join(line for _, line in entries).encode()
    with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add_text(tar, JOBS_FILE, lines)
        for group, text in (drivers or {}).items():
            _add_text(tar, f"{DRIVERS_DIR}/{group}.sh", text.encode())
        for index, (folder, _) in enumerate(entries):
            _add_folder(tar, Path(folder), str(index))
    stream.seek(0)
    return stream


def _add_text(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


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
