"""The approvals page as a WSGI application.

``/`` lists every request waiting for a person across the project's runs; ``/r/<run>/<task>/``
shows one with its answer form and takes the answer (POST); ``/r/<run>/<task>/<file>`` serves
a file of that request's own attempt folder, and nothing else; ``/state`` is what the pages
poll to refresh themselves. Every request needs the token (see :mod:`.access`). Answers go
through :func:`matterstack_ops_human.answering.answer`: checked and written exactly as
``human respond`` does, one winner when several people answer at once.
"""

from __future__ import annotations

import json
import mimetypes
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect, send_file
from werkzeug.wrappers import Request as HttpRequest
from werkzeug.wrappers import Response

from matterstack.errors import MatterStackError
from matterstack.plugins import ProjectView

from matterstack_ops_human.pending import HUMAN_KIND, Request, current_request, pending_requests
from matterstack_ops_human.answering import AnswerRefused, answer
from matterstack_ops_human.response import data_schema_for
from matterstack_ops_human.web.access import CSRF_FIELD, TOKEN_PARAMETER, Access
from matterstack_ops_human.web.form import JSON_DATA_FIELD, errors_by_field, form_data, form_fields, takes_any_data
from matterstack_ops_human.web.request_view import (
    answered_text,
    bundle_note,
    fingerprint,
    reviewable_files,
    shown,
)

TEMPLATES = Path(__file__).parent / "templates"
# Text a browser would run or lay out (HTML, SVG) is served as plain text: a file of the
# attempt folder never runs as the page's own origin.
SHOWN_INLINE = {"text/plain", "application/json", "application/pdf", "image/png", "image/jpeg", "image/gif",
                "text/csv", "image/webp"}
CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


class ApprovalsApp:
    """The WSGI application of ``matterstack human serve`` for one project."""

    def __init__(self, project: ProjectView, access: Access, *, default_name: str = "",
                 refresh_seconds: float = 3.0, log=None):
        self.project = project
        self.access = access
        self.default_name = default_name
        self.refresh_seconds = refresh_seconds
        self.cookie = access.cookie_name
        self.log = log or (lambda line: print(line, flush=True))
        self.templates = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
        self.routes = Map([
            Rule("/", endpoint="list", methods=["GET"]),
            Rule("/state", endpoint="state", methods=["GET"]),
            Rule("/login", endpoint="login", methods=["POST"]),
            Rule("/r/<run>/<task>/", endpoint="request", methods=["GET", "POST"]),
            Rule("/r/<run>/<task>/<path:name>", endpoint="file", methods=["GET"]),
        ], strict_slashes=False, merge_slashes=False)

    def __call__(self, environ, start_response):
        return self.respond(HttpRequest(environ))(environ, start_response)

    def respond(self, http: HttpRequest) -> Response:
        try:
            endpoint, arguments = self.routes.bind_to_environ(http.environ).match()
        except HTTPException as exc:
            return self.page("message.html", status=exc.code, heading="Not found", text=exc.description)
        if endpoint == "login":
            return self.login(http)
        offered = http.args.get(TOKEN_PARAMETER)
        if http.method == "GET" and self.access.allows(offered):
            # The first visit, from the printed URL: keep the token in a cookie, not in the address bar.
            response = redirect(http.path, code=303)
            return self.with_cookie(response)
        if not self.access.allows(http.cookies.get(self.cookie)):
            return self.denied(http, "wrong token" if offered else "This page needs its token")
        if http.method == "POST":
            refusal = self.forged(http)
            if refusal:
                return self.page("message.html", status=403, heading="Refused", text=refusal)
        try:
            return getattr(self, f"show_{endpoint}")(http, **arguments)
        except MatterStackError as exc:  # no such task, not on a person's instance, a bad schema
            return self.page("message.html", status=404, heading="Not found", text=exc.one_line())

    # --- access -----------------------------------------------------------------------------
    def with_cookie(self, response: Response) -> Response:
        response.set_cookie(self.cookie, self.access.token, httponly=True, samesite="Strict", path="/")
        return response

    def denied(self, http: HttpRequest, why: str) -> Response:
        if http.path == "/state":
            return Response(json.dumps({"error": why}), status=401, mimetype="application/json")
        return self.page("message.html", status=401, heading="Sign in", text=f"{why}: open the URL "
                         "`matterstack human serve` printed, or give the token or password below.",
                         sign_in=True, next=http.path, project="")

    def login(self, http: HttpRequest) -> Response:
        if not self.access.allows(http.form.get("password")):
            return self.denied(http, "wrong token or password")
        target = http.form.get("next") or "/"
        local = target.startswith("/") and not target.startswith("//") and "\\" not in target
        return self.with_cookie(redirect(target if local else "/", code=303))

    def forged(self, http: HttpRequest) -> str | None:
        """Why a POST is refused as not coming from this page's own form (None if it does)."""
        origin = http.headers.get("Origin")
        if origin and origin != "null" and urlsplit(origin).netloc != http.host:
            return f"this form was sent from another site ({origin}); answer from the page itself"
        if not self.access.csrf_ok(http.form.get(CSRF_FIELD)):
            return "the form's CSRF field is missing or wrong; reload the page and answer again"
        return None

    # --- pages ------------------------------------------------------------------------------
    def page(self, template: str, status: int = 200, **values) -> Response:
        nonce = secrets.token_urlsafe(12)
        values.setdefault("project", str(self.project.folder))
        html = self.templates.get_template(template).render(nonce=nonce, refresh_seconds=self.refresh_seconds,
                                                            **values)
        response = Response(html, status=status, mimetype="text/html")
        response.headers.update({"Content-Security-Policy": CSP.format(nonce=nonce), "Referrer-Policy": "no-referrer",
                                 "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
        return response

    def waiting(self) -> tuple[list[Request], list[str]]:
        return pending_requests(self.project)

    def show_state(self, http: HttpRequest) -> Response:
        requests, _ = self.waiting()
        body = json.dumps({"fingerprint": fingerprint(requests), "waiting": len(requests)})
        return Response(body, mimetype="application/json", headers={"Cache-Control": "no-store"})

    def show_list(self, http: HttpRequest) -> Response:
        requests, problems = self.waiting()
        return self.page("list.html", requests=[shown(r) for r in requests], problems=problems,
                         fingerprint=fingerprint(requests))

    def find(self, run: str, task: str) -> Request:
        """The request of ``task`` in ``run``, a run of this project only (never a path)."""
        runs = {path.name: path for path in self.project.run_dirs()}
        if run not in runs:
            raise NotFound(f"no run {run} in the project in {self.project.folder}")
        return current_request(runs[run], task)

    def show_request(self, http: HttpRequest, run: str, task: str) -> Response:
        try:
            request = self.find(run, task)
        except NotFound as exc:
            return self.page("message.html", status=404, heading="Not found", text=exc.description)
        if http.method == "POST":
            return self.take_answer(http, request)
        return self.request_page(request, MultiDict())

    def request_page(self, request: Request, values: MultiDict, status: int = 200,
                     errors: dict | None = None, general_errors: list[str] | None = None) -> Response:
        schema = data_schema_for(request.task, request.attempt_dir) if request.kind == HUMAN_KIND else {}
        requests, _ = self.waiting()
        refusal = bundle_note(request) or request.refusal()
        return self.page(
            "request.html", status=status, r=shown(request), fields=form_fields(schema),
            json_data=takes_any_data(schema), values=values, errors=errors or {}, general_errors=general_errors or [],
            answered=None if refusal else answered_text(request), refusal=refusal,
            csrf=self.access.csrf_value(), default_name=self.default_name, fingerprint=fingerprint(requests))

    def take_answer(self, http: HttpRequest, request: Request) -> Response:
        form = http.form
        decision = form.get("decision")
        if decision not in ("approve", "reject"):
            return self.request_page(request, form, 400, general_errors=["press Approve or Reject"])
        approve = decision == "approve"
        schema = data_schema_for(request.task, request.attempt_dir)
        fields = form_fields(schema)
        data, problems = form_data(schema, form.get, form.getlist) if approve else ({}, [])
        name = (form.get("name") or "").strip()
        errors: dict[str, list[str]] = {}
        if not name:
            errors["name"] = ["say who answers: the name is recorded in response.json"]
        if not problems and not errors:
            try:
                path = answer(request, approve=approve, data=data, files=[],
                              message=(form.get("message") or "").strip() or None, responded_by=name)
            except AnswerRefused as exc:
                problems = exc.problems
            except MatterStackError as exc:  # not waiting any more, or another answer won
                return self.request_page(request, form, 409, general_errors=[exc.what])
            else:
                self.log(f"{request.task.task_id} {'approved' if approve else 'rejected'} by {name}: wrote {path}")
                return redirect(http.path, code=303)
        by_field, rest = errors_by_field(problems, fields)
        if JSON_DATA_FIELD in form and rest:
            by_field["data"] = rest
        return self.request_page(request, form, 422, errors={**errors, **by_field}, general_errors=rest)

    def show_file(self, http: HttpRequest, run: str, task: str, name: str) -> Response:
        try:
            request = self.find(run, task)
        except NotFound as exc:
            return self.page("message.html", status=404, heading="Not found", text=exc.description)
        path = reviewable_files(request).get(name)
        if path is None:
            return self.page("message.html", status=404, heading="Not found",
                             text=f"{name} is not a file of the request's folder")
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if mimetype.startswith("text/") and mimetype not in SHOWN_INLINE:
            mimetype = "text/plain"
        response = send_file(path, http.environ, mimetype=mimetype, as_attachment=mimetype not in SHOWN_INLINE,
                             download_name=Path(name).name, max_age=0)
        response.headers.update({"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff",
                                 "Referrer-Policy": "no-referrer"})
        return response
