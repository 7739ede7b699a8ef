"""Which first-party distribution provides which operator kind or compute backend.

Data only: the host uses it to tell a user what to ``pip install`` when a name is missing.
Core code never branches on these names.
"""

from __future__ import annotations

FIRST_PARTY_PROVIDERS: dict[str, str] = {
    "slurm": "matterstack-ops-slurm",
    "hpc_yaml": "matterstack-ops-slurm",
    "human": "matterstack-ops-human",
    "manual_hpc": "matterstack-ops-human",
    "experiment": "matterstack-ops-experiment",
}


def providing_distribution(name: str) -> str | None:
    """The first-party distribution that provides kind or backend ``name``, if one does."""
    return FIRST_PARTY_PROVIDERS.get(name)


def install_hint(name: str) -> str | None:
    """``pip install <distribution>`` for a name a first-party distribution provides, else None."""
    distribution = providing_distribution(name)
    return f"pip install {distribution}" if distribution else None
