"""The remote half of a batch submission (see :mod:`~matterstack_ops_slurm.batch_submit`):
the ``sh`` script that unpacks a batch's tar on the login node, adopts what exists, places
every other job's files with one copy, submits, and answers one line per job.

It forks as little as it can per job (a login node's shell is slow to fork and a tick may
hold thousands of jobs): one ``tar`` pipeline places every job's files, job-id records are
written by the shell itself, and only sbatch (and the answers of jobs sbatch refused) costs a
process per job; an array costs one sbatch for all its elements.
"""

from __future__ import annotations

import re
import shlex

from matterstack_ops_slurm import job_arrays, scheduler, submit_limits

BATCH_DIR = ".matterstack-batches"
ARRAYS_DIR = ".matterstack-arrays"
"""Under the workspace root: one folder per job array (its driver script, its list of work
directories, Slurm's output of each element until the element moves it), kept while the
elements may still run."""
ARRAY_DIR_DAYS = 30
PARALLEL_SBATCH = 8
"""sbatch calls a batch runs at once: sbatch spends most of its time starting and waiting for
slurmctld's answer, so a few at a time submit several times faster without loading the
controller more than a few users would."""
JOBS_FILE = "jobs"
"""In the batch's folder: one ``index|token|group|relative work directory|work directory``
line per job (``group``: the job array it goes in, empty for a job of its own; the work
directory last, it may hold ``|``)."""
OPTIONS_DIR = "options"
"""In the batch's folder: ``options/<index>``, the job's extra sbatch arguments, one per line."""
DRIVERS_DIR = "drivers"
"""In the batch's folder: ``drivers/<group>.sh``, the driver script of each job array."""


def batch_folder(batch: str) -> str:
    """The batch's own folder, relative to the workspace root (the tar holds it)."""
    return f"{BATCH_DIR}/in.{batch}"

_WORDS = re.compile(r"[^A-Za-z0-9_ /:.,-]")


def _grep_words(patterns: tuple[str, ...]) -> str:
    """An ``grep -Ei`` pattern matching any of ``patterns`` (plain words)."""
    return "|".join(_WORDS.sub(".", p) for p in patterns)


def script(root: str, batch: str, accounting: str, array_parallel: int | None = None) -> str:
    """The remote script for batch ``batch`` under workspace root ``root`` (constant size: the
    jobs are in the tar it reads from its standard input, which is unpacked straight into the
    root: each job's files into its work directory, keeping any file already there, so a job
    adopted from an earlier batch keeps what it has written; the batch's own files into
    :func:`batch_folder`); ``array_parallel`` throttles arrays."""
    q = shlex.quote
    sacct = scheduler.sacct_base(accounting)
    accounted = (f'{sacct} -X -n -P -S {scheduler.SACCT_WINDOW} --name="$names" -o JobName,JobID '
                 f'> "$stage/accounted" 2> "$stage/error" || {{ outage "$(cat "$stage/error")"; exit 75; }}'
                 if sacct else ': > "$stage/accounted"')
    named_limit = "(QOS|Assoc)[A-Za-z]*Submit[A-Za-z]*Limit"
    other_limit = "sbatch: error: (QOS|Assoc)[A-Za-z]*Limit"
    throttle = f"%{int(array_parallel)}" if array_parallel else ""
    record = scheduler.JOB_ID_FILE
    array_file = job_arrays.ARRAY_FILE
    return f"""set -u
nl='
' unplaced=
root={q(root)}
batches="$root/{BATCH_DIR}"
arrays="$root/{ARRAYS_DIR}"
mkdir -p "$batches" "$arrays" || exit 75
if command -v flock > /dev/null 2>&1; then exec 9> "$batches/lock"; flock 9; fi
rm -rf "$batches"/in.* "$batches"/errors.*
find "$arrays" -mindepth 1 -maxdepth 1 -mtime +{ARRAY_DIR_DAYS} -exec rm -rf {{}} + 2> /dev/null
stage="$root/{batch_folder(batch)}"
trap 'rm -rf "$stage"' EXIT
tar -x -p -f - --no-same-owner --skip-old-files -C "$root" 2> "$batches/errors.{batch}" || unplaced=1
[ -s "$stage/{JOBS_FILE}" ] || {{ echo "error||$(tr '\\n|' '  ' < "$batches/errors.{batch}")"; exit 75; }}
mv -f "$batches/errors.{batch}" "$stage/errors"
flat() {{ printf '%s' "$1" | tr '\\n|' '  '; }}
outage() {{ echo "error||$(flat "$1")"; }}
while IFS='|' read -r i token group relative workdir; do
  name=$token index=
  if [ -s "$workdir/{array_file}" ]; then IFS='|' read -r name index < "$workdir/{array_file}"; fi
  printf '%s|%s|%s|%s|%s|%s|%s\\n' "$name" "$index" "$i" "$token" "$group" "$relative" "$workdir"
done < "$stage/{JOBS_FILE}" > "$stage/lookup"
names=$(cut -d'|' -f1 "$stage/lookup" | sort -u | paste -s -d, -)
squeue -h -t all -r --name="$names" -o '%j|%i' > "$stage/queued" 2> "$stage/error" || {{ outage "$(cat "$stage/error")"; exit 75; }}
{accounted}
awk -F'|' 'FILENAME != ARGV[3] {{ id = $2; sub(/[^0-9].*/, "", id); if (id == "") next;
    if (!($1 in known) || id + 0 < first[$1]) {{ known[$1] = $2; first[$1] = id + 0 }}; next }}
  {{ found = ($1 in known) ? ($2 == "" ? known[$1] : first[$1] "_" $2) : ""; print found "|" $0 }}' \\
  "$stage/queued" "$stage/accounted" "$stage/lookup" > "$stage/plan"
: > "$stage/todo"
while IFS='|' read -r known name index i token group relative workdir; do
  if [ -s "$workdir/{record}" ]; then IFS= read -r id < "$workdir/{record}"; echo "adopted|$token|$id"; continue; fi
  if [ -n "$known" ]; then echo "adopted|$token|$known"; continue; fi
  printf '%s|%s|%s|%s|%s\n' "$i" "$token" "$group" "$relative" "$workdir" >> "$stage/todo"
done < "$stage/plan"
unplaced() {{  # relative workdir, after tar reported trouble: why the job's files are not all in place
  if [ ! -s "$2/{scheduler.SCRIPT}" ] || grep -qF "$1/" "$stage/errors"; then
    printf 'could not place the inputs: %s' "$(grep -F "$1/" "$stage/errors" | head -n 3)"
  fi
}}
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
submit_one() {{  # index token relative workdir: one answer line
  why=
  [ -z "$unplaced" ] || why=$(unplaced "$3" "$4")
  if [ -n "$why" ]; then echo "failed|$2|$(flat "$why")"; return; fi
  token=$2 workdir=$4 options="$stage/{OPTIONS_DIR}/$1"
  set --
  if [ -f "$options" ]; then while IFS= read -r o; do set -- "$@" "$o"; done < "$options"; fi
  if out=$(cd "$workdir" && sbatch --parsable "$@" {scheduler.SCRIPT} 2>&1 < /dev/null); then
    id=${{out##*"$nl"}}; id=${{id%%;*}}
    printf '%s\\n' "$id" > "$workdir/{record}"
    echo "submitted|$token|$id"
  else
    echo "$(kind_of "$out")|$token|$(flat "$out")"
  fi
}}
submit_array() {{  # group: one sbatch --array for its members, one answer line per member
  members="$stage/group.$1"
  if [ -n "$stop" ]; then while IFS='|' read -r i token relative workdir; do echo "waiting|$token|"; done < "$members"; return; fi
  IFS='|' read -r i first relative workdir < "$members"
  name="{job_arrays.NAME_PREFIX}$first.${{stage##*.}}"
  dir="$arrays/$name" k=0
  if ! {{ mkdir -p "$dir" && : > "$dir/workdirs" && : > "$stage/placed.$1"; }}; then
    while IFS='|' read -r i token relative workdir; do echo "outage|$token|no room for the array's list in $dir"; done < "$members"
    stop=1; return
  fi
  while IFS='|' read -r i token relative workdir; do
    why=
    [ -z "$unplaced" ] || why=$(unplaced "$relative" "$workdir")
    if [ -z "$why" ] && printf '%s|%s\\n' "$name" "$k" > "$workdir/{array_file}"; then
      printf '%s\\n' "$workdir" >> "$dir/workdirs"
      printf '%s|%s|%s\\n' "$k" "$token" "$workdir" >> "$stage/placed.$1"
      k=$((k + 1))
    else
      echo "failed|$token|$(flat "${{why:-could not write $workdir/{array_file}}}")"
    fi
  done < "$members"
  [ "$k" -gt 0 ] || return
  here=$(printf '%s' "$dir" | sed 's/%/%%/g')
  cp "$stage/{DRIVERS_DIR}/$1.sh" "$dir/array.sh"
  if out=$(cd "$dir" && sbatch --parsable --job-name="$name" --array="0-$((k - 1)){throttle}" \\
             --output="$here/slurm-%A_%a.out" array.sh "$dir/workdirs" 2>&1 < /dev/null); then
    id=${{out##*"$nl"}}; id=${{id%%;*}}
    while IFS='|' read -r k token workdir; do
      printf '%s_%s\\n' "$id" "$k" > "$workdir/{record}"
      echo "submitted|$token|${{id}}_$k"
    done < "$stage/placed.$1"
  else
    kind=$(kind_of "$out")
    while IFS='|' read -r k token workdir; do
      rm -f "$workdir/{array_file}"
      echo "$kind|$token|$(flat "$out")"
    done < "$stage/placed.$1"
    case $kind in refused|outage) stop=1 ;; esac
  fi
}}
flush() {{  # the answers of the wave just submitted, in order; stop after a refusal or an outage
  wait
  for w in $wave; do
    while IFS= read -r line; do
      printf '%s\n' "$line"
      case $line in refused[|]*|outage[|]*) stop=1 ;; esac
    done < "$stage/r.$w"
  done
  wave= n=0
}}
stop= wave= n=0
while IFS='|' read -r i token group relative workdir; do
  if [ -n "$stop" ]; then echo "waiting|$token|"; continue; fi
  if [ -n "$group" ]; then printf '%s|%s|%s|%s\\n' "$i" "$token" "$relative" "$workdir" >> "$stage/group.$group"; continue; fi
  submit_one "$i" "$token" "$relative" "$workdir" > "$stage/r.$i" 2>&1 < /dev/null &
  wave="$wave $i" n=$((n + 1))
  if [ "$n" -ge {PARALLEL_SBATCH} ]; then flush; fi
done < "$stage/todo"
flush
for group in $(ls "$stage" | sed -n 's/^group[.]//p' | sort -n); do submit_array "$group"; done
"""
