"""The ``profile`` compute backend: a named recipe from the profile files, built as the
backend its ``type`` names (``local``, ``slurm``, a third party's) through the plugin registry.

The profile is resolved when the backend is built (see :mod:`matterstack.wiring.profiles`);
an unknown name is a :class:`~matterstack.errors.ConfigError` naming the files looked in.
"""

from __future__ import annotations

from pathlib import Path

from matterstack.plugins.backend_interfaces import BackendCapabilities, ComputeBackend, JobObservation, JobSpec
from matterstack.wiring.profiles import resolve_profile


class ProfileBackend(ComputeBackend):
    """Delegates every call to the backend its profile describes (``self.inner``); other
    attributes (a backend's ``doctor``, for instance) are the inner backend's too."""

    def __init__(self, settings, context):
        resolved = resolve_profile(settings.name, host=context.host, config=settings.config)
        self.profile = resolved.profile
        self.inner = resolved.registration.factory(resolved.settings, context)

    def __getattr__(self, name: str):
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)

    @property
    def capabilities(self) -> BackendCapabilities:
        return self.inner.capabilities

    def submit(self, job: JobSpec) -> str:
        return self.inner.submit(job)

    def poll_many(self, job_ids: list[str]) -> dict[str, JobObservation]:
        return self.inner.poll_many(job_ids)

    def fetch(self, job_id: str, dest: Path, include=None, exclude=None) -> None:
        self.inner.fetch(job_id, dest, include, exclude)

    def cancel(self, job_id: str) -> None:
        self.inner.cancel(job_id)

    def find_by_token(self, tokens: list[str]) -> dict[str, str]:
        return self.inner.find_by_token(tokens)

    def close(self) -> None:
        self.inner.close()
