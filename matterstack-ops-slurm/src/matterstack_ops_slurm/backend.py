"""Backend ``slurm``: compute jobs through sbatch, over a local shell or SSH.

A job's work directory is ``<workspace_root>/<workspace>/<run_id>/<task_id>/<attempt_id>``
on the cluster; it receives the staged inputs and ``.matterstack/submit.sh`` (a copy stays in
the attempt directory), and the job leaves ``.matterstack/job_id`` and, when its command
ends, ``.matterstack/exit_code`` there. The run directory keeps, per cluster, which work
directory each token and job id belongs to (``.matterstack-slurm/``), so any later process
can read an exit-code file or fetch results.

Submission is idempotent per token (the job name): the work directory's record, squeue and
the site's accounting are asked first, and a job already there is adopted. A tick's jobs go
in one batch: one tar up, one remote script, one answer line per job
(:mod:`~matterstack_ops_slurm.batch_submit`). Polling costs one
squeue for all jobs; jobs squeue no longer shows cost one sacct between them, then one read
of their exit-code files; a job is LOST only when all three come back empty. The outputs of
the jobs a tick collects come down as one archive (:mod:`~matterstack_ops_slurm.batch_fetch`).
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs

from matterstack.errors import BackPressureError, ConfigError, PermanentOperatorError, TransientOperatorError
from matterstack.plugins import AttemptStatus, BackendCapabilities, ComputeBackend, FetchRequest, JobObservation, JobSpec
from matterstack_ops_slurm import job_arrays, scheduler, submit_limits
from matterstack_ops_slurm.batch_answers import submit_jobs
from matterstack_ops_slurm.batch_fetch import fetch_jobs
from matterstack_ops_slurm.doctor import run_checks, settings_problems
from matterstack_ops_slurm.transport import LocalTransport, SshTarget, SshTransport, Transport

_JOB_ID = re.compile(r"[0-9][0-9_+]*\Z")
_TOKEN = re.compile(r"[A-Za-z0-9_.-]+\Z")
ACCOUNTING_CHOICES = ("auto", "slurmdbd", "jobcomp", "none")
ARRAY_LIMIT_FILE = "array_limit"


def make_transport(ssh, instance_key: str | None = None) -> Transport:
    """The local shell without an ``ssh`` block; with ``control_persist``, OpenSSH's client
    through the login ``matterstack ssh login`` opened; else a (cached) fabric connection."""
    if ssh is None:
        return LocalTransport()
    if ssh.control_persist is not None:
        from matterstack_ops_slurm.openssh_transport import OpenSshTransport, login_target

        return OpenSshTransport(login_target(ssh), instance_key)
    return SshTransport(SshTarget(host=ssh.host, user=ssh.user, port=ssh.port, key_path=ssh.key_path,
                                  known_hosts=ssh.known_hosts, accept_new_host_key=ssh.accept_new_host_key))


class SlurmBackend(ComputeBackend):
    """Slurm jobs for one configured instance; see the module docstring."""

    def __init__(self, settings, context, transport: Transport | None = None):
        if settings.accounting not in ACCOUNTING_CHOICES:
            raise ConfigError(f"accounting must be one of {', '.join(ACCOUNTING_CHOICES)}, not {settings.accounting!r}",
                              where="backend.accounting", fix="leave it out to let the cluster say (auto)")
        self.settings = settings
        self.defaults = settings.slurm
        self.transport = transport or make_transport(settings.ssh, context.operator_key)
        self.timeout = float(settings.command_timeout)
        cluster = "local" if settings.ssh is None else re.sub(r"[^A-Za-z0-9_.@-]", "_", self.transport.label)
        self.index = Path(context.run_dir) / ".matterstack-slurm" / cluster
        self._site: scheduler.SiteInfo | None = None
        self._root: str | None = None
        self._queue: str | None = None
        self._made: set[Path] = set()

    # --- what the cluster is ------------------------------------------------------------
    @property
    def site(self) -> scheduler.SiteInfo:
        """Accounting kind and MinJobAge, asked once per backend object (``scontrol show config``)."""
        if self._site is None:
            site = scheduler.parse_config(self.query("scontrol show config").stdout)
            chosen = self.settings.accounting
            self._site = site if chosen == "auto" else attrs.evolve(site, accounting=chosen)
        return self._site

    @property
    def capabilities(self) -> BackendCapabilities:
        return BackendCapabilities(shared_filesystem=self.settings.ssh is None,
                                   accounting=self.site.accounting != "none",
                                   needs_ssh=self.settings.ssh is not None)

    def workspace_root(self) -> str:
        """``workspace_root`` with a leading ``~`` made the cluster user's home."""
        if self._root is None:
            root = self.settings.workspace_root.rstrip("/") or "/"
            if root == "~" or root.startswith("~/"):
                root = self.transport.home() + root[1:]
            elif self.settings.ssh is None and not root.startswith("/"):
                root = str(Path(root).resolve())
            self._root = root
        return self._root

    # --- running commands ---------------------------------------------------------------
    def query(self, command: str, *, ok_errors: tuple[str, ...] = ()):
        """Run a Slurm command; a failure is an outage (TransientOperatorError), never a
        verdict on a job. Errors containing one of ``ok_errors`` count as empty output."""
        result = self.transport.run(command, self.timeout)
        if result.exit_code != 0:
            error = " ".join(result.stderr.split()) or f"exit code {result.exit_code}"
            if any(text in error for text in ok_errors):
                return result.__class__(0, "", "")
            raise TransientOperatorError(f"{self.transport.label}: `{command.split()[0]}` failed: {error[:300]}",
                                         fix="the next tick retries; `matterstack doctor` checks the cluster")
        return result

    def remember(self, kind: str, name: str, workdir: str) -> None:
        """Keep in the run directory which work directory a token (``kind`` ``tokens``) or a
        job id (``jobs``) belongs to."""
        folder = self.index / kind
        if folder not in self._made:  # a batch remembers thousands: one mkdir per folder
            folder.mkdir(parents=True, exist_ok=True)
            self._made.add(folder)
        try:
            (folder / name).write_text(workdir)
        except FileNotFoundError:  # the folder went away while this process ran
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(workdir)

    def _recall(self, kind: str, name: str) -> str | None:
        try:
            return (self.index / kind / name).read_text()
        except OSError:
            return None

    def array_limit(self) -> int:
        """How many elements a job array of this run may have: the site's ``MaxArraySize``,
        or less after sbatch refused a larger array for the user's submit limit."""
        learned = self._recall("", ARRAY_LIMIT_FILE)
        limit = self.site.max_array_size
        return min(limit, int(learned)) if learned and learned.strip().isdigit() else limit

    def learn_array_limit(self, size: int) -> None:
        """Keep job arrays of this run at most ``size`` elements (after a refusal of a
        larger one): a site's submit limit counts every element as a job."""
        self.index.mkdir(parents=True, exist_ok=True)
        (self.index / ARRAY_LIMIT_FILE).write_text(str(max(1, size)))

    def workdir_of(self, job_id: str) -> str | None:
        """The work directory of a job this run submitted or adopted."""
        return self._recall("jobs", job_id)

    # --- the ComputeBackend interface ---------------------------------------------------
    def work_directory(self, job: JobSpec) -> str:
        """Where ``job`` runs on the cluster; PermanentOperatorError for a path that could leave
        the workspace root or a token Slurm could not carry."""
        parts = [p for p in job.relative_dir.split("/") if p not in ("", ".")]
        if ".." in parts or not _TOKEN.match(job.token) or "\n" in job.relative_dir:
            raise PermanentOperatorError(f"job {job.token!r} has an unsafe work directory {job.relative_dir!r}")
        return f"{self.workspace_root().rstrip('/')}/{'/'.join(parts)}"

    def submit_batch(self, jobs: list[JobSpec], answer) -> None:
        """All ``jobs`` in one round trip (see :mod:`~matterstack_ops_slurm.batch_submit`);
        each answered as soon as its line comes back."""
        submit_jobs(self, jobs, answer)

    def submit(self, job: JobSpec) -> str:
        workdir = self.work_directory(job)
        script = scheduler.submit_script(job, self.defaults)
        self.remember("tokens", job.token, workdir)
        found = self.transport.run(scheduler.lookup_command(workdir, job.token, self.site.accounting), self.timeout)
        if found.exit_code != 0 or (found.stdout.strip() and not _JOB_ID.match(found.stdout.strip())):
            raise TransientOperatorError(f"{self.transport.label}: could not tell whether {job.token} was submitted: "
                                         f"{' '.join(found.stderr.split())[:300]}", fix="the next tick retries")
        job_id = found.stdout.strip()
        if job_id:
            self.remember("jobs", job_id, workdir)
            return job_id
        control = Path(job.input_dir) / scheduler.CONTROL_DIR
        control.mkdir(parents=True, exist_ok=True)
        (control / "submit.sh").write_text(script)
        self.transport.upload(Path(job.input_dir), workdir)
        result = self.transport.run(scheduler.sbatch_command(workdir, scheduler.relative_file_options(job, self.defaults)),
                                     self.timeout)
        lines = result.stdout.strip().splitlines()
        if result.exit_code != 0 or not lines or not _JOB_ID.match(lines[-1]):
            error = " ".join(result.stderr.split()) or f"exit code {result.exit_code}"
            refusal = submit_limits.submit_refusal(result.stderr)
            if refusal:
                raise BackPressureError(f"Slurm takes no more jobs from you for now ({refusal})",
                                        fix="none needed: the next tick submits it again; a max_concurrent under "
                                            "the site's limit avoids the refusals")
            if scheduler.is_transient(error):
                raise TransientOperatorError(f"{self.transport.label}: sbatch failed: {error[:300]}", fix="the next tick retries")
            raise PermanentOperatorError(f"sbatch refused the job: {error[:300]}",
                                         fix="check the slurm settings (partition, account, time) and the task's resources")
        self.remember("jobs", lines[-1], workdir)
        return lines[-1]

    def poll_many(self, job_ids: list[str]) -> dict[str, JobObservation]:
        ids = [j for j in dict.fromkeys(job_ids) if _JOB_ID.match(j)]
        out = {j: _lost(j, "not a Slurm job id") for j in job_ids if not _JOB_ID.match(j)}
        if not ids:
            return out
        listed = self.query(scheduler.squeue_command(ids), ok_errors=("Invalid job id specified",))
        seen = {row.job_id: row for row in scheduler.parse_rows(listed.stdout, scheduler.SQUEUE_FIELDS)}
        missing = []
        for job_id in ids:
            if job_id not in seen:
                missing.append(job_id)
                continue
            out[job_id] = scheduler.observe(seen[job_id])
            if out[job_id].native_state == "FAILED":
                missing.append(job_id)  # squeue has no exit code: ask accounting for it
        unsettled, answered = self._from_accounting(missing, out)
        if unsettled:
            self._from_exit_files(unsettled, out, may_be_lost=answered)
        return out

    def _from_accounting(self, job_ids: list[str], out: dict) -> tuple[list[str], bool]:
        """One sacct for ``job_ids``: the jobs it could not settle, and whether it answered
        (a site without accounting answers "none of them")."""
        command = scheduler.sacct_command(job_ids, self.site.accounting) if job_ids else None
        if command is None:
            return job_ids, True
        result = self.transport.run(command, self.timeout)
        if result.exit_code != 0:
            return job_ids, False
        rows = {row.job_id: row for row in scheduler.parse_rows(result.stdout, scheduler.SACCT_FIELDS)}
        unsettled = []
        for job_id in job_ids:
            if job_id in rows:
                out[job_id] = scheduler.observe(rows[job_id])
            if job_id not in out or (out[job_id].native_state == "FAILED" and out[job_id].exit_code is None):
                unsettled.append(job_id)
        return unsettled, True

    def _from_exit_files(self, job_ids: list[str], out: dict, *, may_be_lost: bool) -> None:
        """One read of the exit-code files. A job with none that squeue and accounting both
        answered they do not know is LOST; after an accounting outage it is left for later."""
        workdirs = {j: d for j in job_ids if (d := self.workdir_of(j))}
        codes = self._read_control_files(workdirs, scheduler.EXIT_CODE_FILE)
        silent = []
        for job_id in job_ids:
            seen = scheduler.from_exit_code(codes.get(job_id, ""))
            previous = out.get(job_id)
            if seen is not None:
                if previous is not None and previous.status == AttemptStatus.FAILED:
                    seen = JobObservation(AttemptStatus.FAILED, previous.native_state, previous.reason, seen.exit_code)
                out[job_id] = seen
            elif previous is None:
                silent.append(job_id)
        if silent and self.site.accounting == "jobcomp":
            self._elements_from_completion_records(silent, workdirs, out)
        for job_id in silent:
            if job_id not in out and may_be_lost:
                out[job_id] = _lost(job_id, "in neither squeue nor the accounting, and it left no exit-code file")

    def _elements_from_completion_records(self, job_ids: list[str], workdirs: dict[str, str], out: dict) -> None:
        """Completion records (``sacct -c``) know an array element only by its own job id,
        which the element wrote beside its exit code: a TIMEOUT or a cancel leaves no exit
        code, and this is where it is read from."""
        elements = {j: workdirs[j] for j in job_ids if job_arrays.element_index(j) and j in workdirs}
        if not elements:
            return
        own = {j: i.strip() for j, i in self._read_control_files(elements, job_arrays.ELEMENT_ID_FILE).items()
               if _JOB_ID.match(i.strip())}
        if not own:
            return
        result = self.transport.run(scheduler.sacct_command(sorted(set(own.values())), "jobcomp"), self.timeout)
        rows = {row.job_id: row for row in scheduler.parse_rows(result.stdout, scheduler.SACCT_FIELDS)}
        for job_id, element in own.items():
            if element in rows:
                out[job_id] = scheduler.observe(rows[element])

    def _read_control_files(self, workdirs: dict[str, str], name: str) -> dict[str, str]:
        """``{key: content}`` of control file ``name`` in each work directory, in one command."""
        if not workdirs:
            return {}
        text = self.query(scheduler.read_files_command(workdirs, name)).stdout
        return dict(line.split("|", 1) for line in text.splitlines() if "|" in line)

    def fetch(self, job_id: str, dest: Path, include=None, exclude=None) -> None:
        workdir = self.workdir_of(job_id)
        if workdir is None:
            raise PermanentOperatorError(f"no record of where Slurm job {job_id} ran",
                                         where=str(self.index), fix="copy its outputs by hand")
        self.transport.download(workdir, Path(dest), include, exclude)

    def fetch_many(self, requests: list[FetchRequest]) -> dict[str, Exception]:
        """The outputs of every job in one round trip: one archive of all their work
        directories (see :mod:`~matterstack_ops_slurm.batch_fetch`)."""
        return fetch_jobs(self, requests)

    def cancel(self, job_id: str) -> None:
        self.cancel_many([job_id])

    def cancel_many(self, job_ids: list[str]) -> None:
        """One scancel for every job; an array all of whose elements this run recorded is
        named by its array job id alone (``scancel 123`` stops every element)."""
        wanted = [j for j in dict.fromkeys(job_ids) if _JOB_ID.match(j)]
        if wanted:
            self.query("scancel " + " ".join(self._whole_arrays(wanted)))

    def _whole_arrays(self, job_ids: list[str]) -> list[str]:
        names: dict[str, list[str]] = {}
        for job_id in job_ids:
            parts = job_arrays.element_index(job_id)
            names.setdefault(parts[0] if parts else job_id, []).append(job_id)
        out = []
        for master, given in names.items():
            recorded = {p.name for p in (self.index / "jobs").glob(f"{master}_*")}
            whole = given != [master] and recorded <= set(given)
            out += [master] if whole else given
        return out

    def find_by_token(self, tokens: list[str]) -> dict[str, str]:
        wanted = [t for t in dict.fromkeys(tokens) if _TOKEN.match(t)]
        if not wanted:
            return {}
        found: dict[str, str] = {}
        listed = self.query(scheduler.squeue_by_name_command(wanted))
        _adopt_first(found, wanted, scheduler.parse_rows(listed.stdout, scheduler.SQUEUE_FIELDS))
        rest = [t for t in wanted if t not in found]
        command = scheduler.sacct_by_name_command(rest, self.site.accounting) if rest else None
        if command:
            _adopt_first(found, rest, scheduler.parse_rows(self.query(command).stdout, scheduler.SACCT_FIELDS))
        records = {t: d for t in wanted if t not in found and (d := self._recall("tokens", t))}
        for token, job_id in self._read_control_files(records, scheduler.JOB_ID_FILE).items():
            if _JOB_ID.match(job_id.strip()):
                found[token] = job_id.strip()
        for token, job_id in found.items():
            workdir = self._recall("tokens", token)
            if workdir:
                self.remember("jobs", job_id, workdir)
        return {t: found[t] for t in wanted if t in found}

    def describe_queue(self) -> str:
        """``root has 50 jobs queued (48 pending, 2 running)``: one squeue, asked at most once
        per backend object (``explain`` asks for every waiting attempt)."""
        if self._queue is None:
            try:
                self._queue = submit_limits.parse_queue(self.query(submit_limits.QUEUE_COMMAND).stdout).describe()
            except TransientOperatorError as exc:
                self._queue = f"the queue could not be read ({exc.what})"
        return self._queue

    def check_settings(self) -> list[tuple[str, str, str]]:
        """The partition the ``slurm`` block names exists on the cluster (one sinfo)."""
        return settings_problems(self)

    def doctor(self) -> list[tuple[str, bool, str]]:
        """One ``(check, ok, detail)`` per thing ``matterstack doctor`` looks at."""
        return run_checks(self)

    def close(self) -> None:
        self.transport.close()


def _lost(job_id: str, why: str) -> JobObservation:
    return JobObservation(AttemptStatus.FAILED, "LOST", f"lost: Slurm job {job_id} is {why}")


def _adopt_first(found: dict[str, str], tokens: list[str], rows) -> None:
    """Add the earliest job of each wanted token (sacct -c does not filter by name itself)."""
    wanted = set(tokens)
    for row in sorted(rows, key=lambda r: int(re.match(r"[0-9]+", r.job_id).group())):
        if row.name in wanted:
            found.setdefault(row.name, row.job_id)
