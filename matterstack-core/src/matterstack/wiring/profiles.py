"""Profiles: named backend recipes, for the ``profile`` backend type and ``--profile NAME``.

A profile file holds ``profiles: {name: {type: local|slurm|..., ...the backend's fields...}}``.
Profiles are read from ``~/.matterstack/config.yaml`` (the user file) and from the nearest
``matterstack.yaml`` walking up from the current folder (the project file); a profile the
project file names replaces the user file's profile of that name, whole. ``--config FILE``
reads that file alone. Only the ``profiles`` block of a file is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from matterstack.errors import ConfigError, PluginError
from matterstack.plugins.settings import describe_value, structure_settings
from matterstack.wiring.yamlfile import load_yaml_bytes, read_file_bytes

PROJECT_FILE_NAMES = ("matterstack.yaml", "matterstack.yml")
USER_FILE = Path(".matterstack") / "config.yaml"
PROFILE_BACKEND_TYPE = "profile"


@attrs.frozen
class Profile:
    """One profile as written: its backend type, the rest of its block, and its file."""

    name: str
    backend_type: str
    options: dict[str, Any]
    file: str


@attrs.frozen
class ResolvedProfile:
    """A profile whose backend type is installed and whose block validated: ``settings`` is
    an instance of that backend's settings class, ``registration`` builds the backend."""

    profile: Profile
    registration: Any
    settings: Any


def find_project_file(cwd: Path | None = None) -> Path | None:
    """The nearest ``matterstack.yaml`` (or ``.yml``) in ``cwd`` or a folder above it."""
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        for name in PROJECT_FILE_NAMES:
            if (folder / name).is_file():
                return folder / name
    return None


def profile_files(config: str | Path | None = None, *, cwd: Path | None = None,
                  home: Path | None = None) -> list[Path]:
    """The files profiles come from, lowest precedence first: ``[config]`` when given, else
    the user file and the project file that exist."""
    if config is not None:
        return [Path(config).expanduser()]
    user = (home or Path.home()) / USER_FILE
    project = find_project_file(cwd)
    return [path for path in (user, project) if path is not None and path.is_file()]


def load_profiles(config: str | Path | None = None, *, cwd: Path | None = None,
                  home: Path | None = None) -> dict[str, Profile]:
    """Every profile by name, the project file's winning over the user file's."""
    profiles: dict[str, Profile] = {}
    for path in profile_files(config, cwd=cwd, home=home):
        profiles.update(_read_profiles(path))
    return profiles


def resolve_profile(name: str, *, host, config: str | Path | None = None, cwd: Path | None = None,
                    home: Path | None = None) -> ResolvedProfile:
    """Profile ``name`` with its backend type looked up in ``host`` and its block validated.

    An unknown name is a :class:`ConfigError` naming the files looked in and the profiles they
    define.
    """
    profiles = load_profiles(config, cwd=cwd, home=home)
    if name not in profiles:
        raise ConfigError(f"profile {name!r} is not defined ({_looked_in(config, cwd, home)}; "
                          f"defined: {', '.join(sorted(profiles)) or 'none'})",
                          fix="add it under profiles: in matterstack.yaml or ~/.matterstack/config.yaml, "
                              "or pass --config FILE")
    profile = profiles[name]
    where = f"{profile.file}: profiles.{name}"
    try:
        registration = host.compute_backends[profile.backend_type]
    except PluginError as exc:
        raise ConfigError(exc.what, where=f"{where}.type", fix=exc.fix) from None
    settings = structure_settings(registration.settings, profile.options, where=where)
    return ResolvedProfile(profile, registration, settings)


def _looked_in(config, cwd, home) -> str:
    if config is not None:
        return f"looked in {config}"
    user = (home or Path.home()) / USER_FILE
    project = find_project_file(cwd)
    start = (cwd or Path.cwd()).resolve()
    project_text = str(project) if project else f"no matterstack.yaml in {start} or above"
    user_text = str(user) if user.is_file() else f"{user} (absent)"
    return f"looked in {user_text} and {project_text}"


def _read_profiles(path: Path) -> dict[str, Profile]:
    data = read_file_bytes(path, what="profiles file", fix="give the path of an existing profiles file")
    document = load_yaml_bytes(data, filename=str(path))
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ConfigError(f"expected a mapping with a profiles block, found {describe_value(document)}",
                          where=str(path), fix="write profiles: {name: {type: local, ...}}")
    block = document.get("profiles")
    if block is None:
        return {}
    if not isinstance(block, Mapping):
        raise ConfigError(f"expected a mapping of profiles by name, found {describe_value(block)}",
                          where=f"{path}: profiles", fix="write profiles: {name: {type: local, ...}}")
    profiles = {}
    for name, recipe in block.items():
        where = f"{path}: profiles.{name}"
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"a profile name must be text, found {describe_value(name)}", where=f"{path}: profiles",
                              fix="name the profile, e.g. dev-cluster")
        if not isinstance(recipe, Mapping):
            raise ConfigError(f"expected a mapping with type:, found {describe_value(recipe)}", where=where,
                              fix=f"write {name}: {{type: local, ...}}")
        backend_type = recipe.get("type")
        if not isinstance(backend_type, str):
            what = "required key is missing" if backend_type is None else \
                f"expected a string, found {describe_value(backend_type)}"
            raise ConfigError(what, where=f"{where}.type", fix="name the backend type, e.g. type: slurm")
        if backend_type == PROFILE_BACKEND_TYPE:
            raise ConfigError("a profile cannot be of type profile", where=f"{where}.type",
                              fix="name the backend type itself, e.g. type: slurm")
        options = {key: value for key, value in recipe.items() if key != "type"}
        profiles[name] = Profile(name, backend_type, options, str(path))
    return profiles
