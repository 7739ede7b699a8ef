"""Kind ``experiment``: each attempt is a request to a lab instrument.

``prepare`` stages the task's files into the attempt directory and writes ``manifest.json``
and ``experiment_request.json`` there. ``submit`` hands the request to the lab, tagged with
the attempt token, in one of three ways:

* the attempt directory itself (no ``exchange_dir``, no ``api``): the request is already
  where the lab looks; it answers with ``experiment_result.json`` beside it;
* ``exchange_dir``: the request and its inputs go to ``<exchange_dir>/<token>/``, a folder
  many runs share; the answer and its files are copied back into the attempt directory;
* ``api``: the request is POSTed to the lab's HTTP API (``Idempotency-Key: <token>``); the
  answer and its files are downloaded into the attempt directory.

Polling never raises for a bad answer: it fails that attempt with the reason. Result files
are checked (no ``..``, no absolute names, no symlinks leading out) and hashed on collect.
"""

from __future__ import annotations

from pathlib import Path

from matterstack.plugins import (
    AttemptContext,
    AttemptStatus,
    CollectResult,
    ConfigError,
    InputLimitError,
    Observation,
    Operator,
    PermanentOperatorError,
    SubmitResult,
    TransientOperatorError,
    sha256_file,
    stage_files,
    utc_now,
    write_manifest,
)

from matterstack_ops_experiment import exchange
from matterstack_ops_experiment.http_client import LabClient
from matterstack_ops_experiment.protocol import (
    CANCEL_FILE,
    CONTROL_NAMES,
    REQUEST_FILE,
    RESULT_FILE,
    Reading,
    build_request,
    copy_atomic,
    invalid,
    parse_result,
    read_json,
    read_result,
    result_file,
    write_json_atomic,
)

_STATUS_OF = {"COMPLETED": AttemptStatus.COMPLETED, "FAILED": AttemptStatus.FAILED, "RUNNING": AttemptStatus.RUNNING}


def _observation(reading: Reading) -> Observation:
    return Observation(_STATUS_OF[reading.status], reason=reading.reason)


def _waiting(reason: str) -> Observation:
    return Observation(AttemptStatus.WAITING_EXTERNAL, reason=reason)


def _is_safe(folder: Path, name: str) -> bool:
    try:
        result_file(folder, name)
    except ValueError:
        return False
    return True


class ExperimentOperator(Operator):
    """Carries attempts to a lab over a file exchange or an HTTP API (see the module doc)."""

    def __init__(self, key, settings, context):
        super().__init__(key, settings, context)
        self.exchange_dir: Path | None = None
        self.client: LabClient | None = None
        http = settings.api is not None and settings.api.base_url is not None
        if settings.exchange_dir and http:
            raise ConfigError("exchange_dir and api exclude each other", where=f"operators.{key}",
                              fix="keep exchange_dir for a shared folder, or api for an HTTP lab")
        if settings.exchange_dir:
            self.exchange_dir = Path(settings.exchange_dir).expanduser().resolve()
        if http:
            if not settings.api.base_url.startswith(("http://", "https://")):
                raise ConfigError(f"base_url must start with http:// or https://, found {settings.api.base_url!r}",
                                  where=f"operators.{key}.api.base_url")
            self.client = LabClient(settings.api.base_url, settings.api.token_env)

    def request_dir(self, attempt: AttemptContext) -> Path:
        """Where the lab reads the request and answers (the file modes)."""
        if self.exchange_dir is None:
            return attempt.attempt_dir
        try:
            return exchange.request_dir(self.exchange_dir, attempt.attempt_id)
        except ValueError as exc:
            raise PermanentOperatorError(str(exc), where=f"task {attempt.task.task_id!r}") from None

    def where(self, attempt: AttemptContext) -> str:
        """Where the answer is awaited, in words: a folder, or an endpoint."""
        if self.client is not None:
            return self.client.endpoint(attempt.attempt_id)
        if self.exchange_dir is None:
            return attempt.relative_dir
        return str(self.request_dir(attempt))

    def prepare(self, attempt: AttemptContext) -> None:
        task = attempt.task
        clashes = sorted(name for name in task.files if name.split("/")[0] in CONTROL_NAMES)
        if clashes:
            raise PermanentOperatorError(f"task file {clashes[0]!r} would overwrite a file of the request protocol",
                                         where=f"task {task.task_id!r}", fix="rename the file")
        attempt.attempt_dir.mkdir(parents=True, exist_ok=True)
        request_path = attempt.attempt_dir / REQUEST_FILE
        existing = read_json(request_path)
        if isinstance(existing, dict) and existing.get("token") == attempt.attempt_id:
            return  # already prepared (and, in the attempt directory, already seen by the lab)
        hashes = stage_files(task, attempt.attempt_dir)
        write_manifest(task, attempt.attempt_dir, operator_key=self.key, token=attempt.attempt_id, hashes=hashes)
        write_json_atomic(request_path, build_request(attempt))

    def submit(self, attempt: AttemptContext) -> SubmitResult:
        request = read_json(attempt.attempt_dir / REQUEST_FILE)
        inputs = {name: attempt.attempt_dir / name for name in sorted(attempt.task.files)}
        external_id = None
        if self.client is not None:
            try:
                contents = {name: path.read_bytes() for name, path in inputs.items()}
            except OSError as exc:
                raise PermanentOperatorError(f"cannot read an input file: {exc}", where=attempt.relative_dir) from None
            self.client.submit(attempt.attempt_id, request, contents)
            external_id = attempt.attempt_id
        elif self.exchange_dir is not None:
            try:
                self.exchange_dir.mkdir(parents=True, exist_ok=True)
                exchange.publish_request(self.exchange_dir, attempt.attempt_id, request, inputs)
            except ValueError as exc:
                raise PermanentOperatorError(str(exc), where=f"task {attempt.task.task_id!r}",
                                             fix="name task files with plain relative paths") from None
            except OSError as exc:
                raise TransientOperatorError(f"cannot write to the exchange folder: {exc.strerror or exc}",
                                             where=str(self.exchange_dir)) from None
        return SubmitResult(
            external_id=external_id,
            status=AttemptStatus.WAITING_EXTERNAL,
            reason=f"request sent: waiting for {RESULT_FILE} from {self.where(attempt)}",
            operator_data={"requested_at": utc_now().isoformat(), "sent_to": self.where(attempt)},
        )

    def poll(self, attempts: list[AttemptContext]) -> dict[str, Observation]:
        if self.client is not None:
            states = self.client.states([a.attempt_id for a in attempts])
            return {a.attempt_id: self._observe_http(a, states.get(a.attempt_id)) for a in attempts}
        if self.exchange_dir is not None and not self.exchange_dir.is_dir():
            raise TransientOperatorError("the exchange folder is not reachable", where=str(self.exchange_dir),
                                         fix="mount or create it")
        return {a.attempt_id: self._observe_folder(a) for a in attempts}

    def _observe_folder(self, attempt: AttemptContext) -> Observation:
        try:
            folder = self.request_dir(attempt)
            if (folder / CANCEL_FILE).exists():
                return Observation(AttemptStatus.CANCELLED, reason=f"cancelled ({CANCEL_FILE} in {self.where(attempt)})")
            reading = read_result(folder)
            if reading is None:
                return _waiting(f"waiting for {RESULT_FILE} in {self.where(attempt)}")
            if reading.finished and folder != attempt.attempt_dir:
                reading = self._bring_back(reading, folder, attempt.attempt_dir)
            return _observation(reading)
        except InputLimitError as exc:
            return _waiting(exc.one_line())
        except PermanentOperatorError as exc:
            return _observation(invalid(exc.one_line()))
        except OSError as exc:
            return _observation(invalid(f"cannot read {self.where(attempt)}: {exc.strerror or exc}"))

    def _bring_back(self, reading: Reading, folder: Path, attempt_dir: Path) -> Reading:
        """Copy a final answer and its valid files from the exchange into the attempt directory."""
        for name in reading.files:
            try:
                copy_atomic(result_file(folder, name), attempt_dir / name)
            except ValueError as exc:
                reading = reading.with_problem(str(exc))
            except OSError as exc:
                reading = reading.with_problem(f"cannot copy {name!r}: {exc.strerror or exc}")
        copy_atomic(folder / RESULT_FILE, attempt_dir / RESULT_FILE)
        return reading

    def _observe_http(self, attempt: AttemptContext, state: dict | None) -> Observation:
        if state is None:
            return _observation(invalid(f"the lab API does not know request {attempt.attempt_id} "
                                        f"(it may have lost it; rerun the task to send a new one)"))
        if state.get("state") == exchange.CANCELLED:
            return Observation(AttemptStatus.CANCELLED, reason=f"cancelled (the lab API withdrew {self.where(attempt)})")
        if state.get("state") != exchange.ANSWERED:
            unread = f"; {state['result_error']}" if state.get("result_error") else ""
            return _waiting(f"waiting for {self.where(attempt)} (lab state {state.get('state')}{unread})")
        if state.get("result_error"):
            return _observation(invalid(str(state["result_error"])))
        reading = parse_result(state.get("result"))
        if not reading.finished:
            return _observation(reading)
        try:
            for name in reading.files:
                if not self.client.download(attempt.attempt_id, name, attempt.attempt_dir / name):
                    reading = reading.with_problem(f"file {name!r} is listed but the lab API does not serve it (404)")
            write_json_atomic(attempt.attempt_dir / RESULT_FILE, state.get("result"))
        except OSError as exc:
            reading = reading.with_problem(f"cannot save the answer: {exc.strerror or exc}")
        return _observation(reading)

    def reconcile(self, attempts: list[AttemptContext]) -> dict[str, Observation | None]:
        """A request the lab already has (by its token) is adopted as WAITING_EXTERNAL; the
        next poll reads its answer."""
        if self.client is not None:
            known = self.client.states([a.attempt_id for a in attempts])
            found = {a.attempt_id for a in attempts if a.attempt_id in known}
        else:
            found = {a.attempt_id for a in attempts if self._request_written(a)}
        return {a.attempt_id: _waiting(f"request found at {self.where(a)}") if a.attempt_id in found else None
                for a in attempts}

    def _request_written(self, attempt: AttemptContext) -> bool:
        try:
            request = read_json(self.request_dir(attempt) / REQUEST_FILE)
        except PermanentOperatorError:
            return False  # a token that cannot name a folder: submitting again fails it for good
        return isinstance(request, dict) and request.get("token") == attempt.attempt_id

    def collect(self, attempt: AttemptContext) -> CollectResult:
        """Record the request, its inputs, the answer and the answer's files, with sha256;
        the answer's ``data`` goes to the campaign."""
        folder = attempt.attempt_dir
        names = [REQUEST_FILE, *sorted(attempt.task.files)]
        reading = read_result(folder)
        data = {}
        if reading is not None:
            names.append(RESULT_FILE)
            names += [name for name in reading.files if _is_safe(folder, name)]
            data = dict(reading.data) if reading.valid else {}
        try:
            hashes = {name: sha256_file(folder / name) for name in dict.fromkeys(names) if (folder / name).is_file()}
        except OSError as exc:
            raise PermanentOperatorError(f"cannot hash the results: {exc.strerror or exc}",
                                         where=attempt.relative_dir) from None
        return CollectResult(files={name: name for name in hashes}, data=data, sha256=hashes)

    def cancel(self, attempt: AttemptContext) -> None:
        """Withdraw the request: ``experiment_cancel.json`` where the lab looks, or HTTP DELETE."""
        if self.client is not None:
            self.client.cancel(attempt.attempt_id)
            return
        folder = self.request_dir(attempt)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            exchange.cancel(folder, attempt.attempt_id, by=f"matterstack ({self.key})")
        except OSError as exc:
            raise TransientOperatorError(f"cannot write {CANCEL_FILE}: {exc.strerror or exc}",
                                         where=str(folder)) from None

    def describe_wait(self, attempt: AttemptContext) -> str:
        sent = attempt.operator_data.get("requested_at")
        sent = f"request sent {sent}; " if isinstance(sent, str) else ""
        if self.client is not None:
            try:
                state = self.client.state(attempt.attempt_id)
            except TransientOperatorError as exc:
                return f"{self.where(attempt)} ({sent}the lab API is unreachable: {exc.what})"
            if state is None:
                lab = "the lab does not know it"
            elif state.get("state") == exchange.ANSWERED:
                lab = f"the lab reports {parse_result(state.get('result')).status}"
            else:
                lab = f"lab state {state.get('state')}"
            if state.get("result_error") and state.get("state") != exchange.ANSWERED:
                lab += f"; {state['result_error']}"
            return f"{self.where(attempt)} ({sent}{lab})"
        folder = self.request_dir(attempt)
        claim = exchange.read_claim(folder)
        if claim is None:
            lab = "no lab agent has claimed it yet"
        else:
            lab = f"claimed by {claim.get('host', '?')}:{claim.get('pid', '?')} at {claim.get('claimed_at', '?')}"
        try:
            reading = read_result(folder)
        except InputLimitError as exc:
            return f"{RESULT_FILE} in {self.where(attempt)} ({sent}{lab}; {exc.one_line()})"
        if reading is not None:
            lab += f"; the lab reports {reading.status}"
        return f"{RESULT_FILE} in {self.where(attempt)} ({sent}{lab})"
