"""Simulated instrument drivers, for demos and tests of the lab agent.

:func:`thin_film` plays a sputter coater with a four-point probe: from a recipe's deposition
time and substrate temperature it "grows" a copper film and "measures" its thickness and
sheet resistance across the wafer, with noise seeded from the recipe (the same recipe gives
the same numbers). :func:`fragile_thin_film` is the same instrument with an interlock: it
raises for a recipe beyond its temperature limit, or when the recipe asks for a ``fault``.

The recipe is the request's ``config`` (``EXPERIMENT_CONFIG``) overlaid with its
``request_data`` (an ``ExternalTask``): ``deposition_time_s``, ``temperature_c`` and
optionally ``sample_id``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
from pathlib import Path

PROFILE_FILE = "thin_film_profile.csv"
RATE_NM_PER_S = 0.9
RATE_LOSS_PER_K = 4e-4
RHO_BULK_UOHM_CM = 1.68
MEAN_FREE_PATH_NM = 39.0
GRAIN_TERM = 0.8
GRAIN_DECAY_K = 150.0
FURNACE_LIMIT_C = 450.0
PROBE_POSITIONS_MM = (-40.0, -20.0, 0.0, 20.0, 40.0)


class InstrumentError(RuntimeError):
    """The (simulated) instrument refused or failed a run."""


def recipe_of(request: dict) -> dict:
    """The recipe a request asks for: ``config`` overlaid with ``request_data``."""
    recipe = {}
    for part in (request.get("config"), request.get("request_data")):
        if isinstance(part, dict):
            recipe.update(part)
    return recipe


def _number(recipe: dict, name: str) -> float:
    try:
        value = float(recipe[name])
    except KeyError:
        raise InstrumentError(f"the recipe has no {name}") from None
    except (TypeError, ValueError):
        raise InstrumentError(f"{name} must be a number, found {recipe[name]!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InstrumentError(f"{name} must be positive, found {value}")
    return value


def _rng(time_s: float, temperature_c: float, sample: str) -> random.Random:
    seed_text = json.dumps([time_s, temperature_c, sample])
    return random.Random(int.from_bytes(hashlib.sha256(seed_text.encode()).digest()[:8], "big"))


def film_model(time_s: float, temperature_c: float) -> tuple[float, float]:
    """Noise-free thickness (nm) and resistivity (µΩ·cm) of the simulated film.

    Growth slows as the substrate heats (re-evaporation); resistivity is bulk copper plus a
    thin-film surface term (Fuchs–Sondheimer, ``3λ/8t``) and a grain-boundary term that
    anneals away with temperature.
    """
    thickness = RATE_NM_PER_S * (1 - RATE_LOSS_PER_K * (temperature_c - 25)) * time_s
    surface = 3 * MEAN_FREE_PATH_NM / (8 * thickness)
    grains = GRAIN_TERM * math.exp(-(temperature_c - 25) / GRAIN_DECAY_K)
    return thickness, RHO_BULK_UOHM_CM * (1 + surface + grains)


def thin_film(request: dict, workdir: Path) -> dict:
    """Deposit and measure one film; write ``thin_film_profile.csv`` into ``workdir``."""
    recipe = recipe_of(request)
    time_s = _number(recipe, "deposition_time_s")
    temperature_c = _number(recipe, "temperature_c")
    sample = str(recipe.get("sample_id") or request.get("task_id") or "sample")
    rng = _rng(time_s, temperature_c, sample)
    thickness, resistivity = film_model(time_s, temperature_c)
    if thickness <= 0:
        raise InstrumentError(f"nothing deposits at {temperature_c:g} C: the film re-evaporates")
    thickness *= 1 + rng.gauss(0, 0.02)
    resistivity *= 1 + rng.gauss(0, 0.03)
    rows = []
    for position in PROBE_POSITIONS_MM:
        local_t = thickness * (1 - 0.03 * (position / 50) ** 2) * (1 + rng.gauss(0, 0.005))
        # Sheet resistance R_s = rho / t: µΩ·cm over nm gives 10 * rho / t in ohm per square.
        rows.append((position, round(local_t, 2), round(10 * resistivity / local_t, 5)))
    with (workdir / PROFILE_FILE).open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["position_mm", "thickness_nm", "sheet_resistance_ohm_sq"])
        writer.writerows(rows)
    mean_t = sum(r[1] for r in rows) / len(rows)
    mean_rs = sum(r[2] for r in rows) / len(rows)
    return {
        "data": {
            "sample_id": sample,
            "thickness_nm": round(mean_t, 2),
            "sheet_resistance_ohm_sq": round(mean_rs, 5),
            "resistivity_uohm_cm": round(resistivity, 4),
            "uniformity_pct": round(100 * (max(r[1] for r in rows) - min(r[1] for r in rows)) / mean_t, 2),
        },
        "files": [PROFILE_FILE],
    }


def fragile_thin_film(request: dict, workdir: Path) -> dict:
    """:func:`thin_film` behind an interlock: raises :class:`InstrumentError` when the recipe
    exceeds the furnace limit or names a ``fault`` to simulate."""
    recipe = recipe_of(request)
    if recipe.get("fault"):
        raise InstrumentError(str(recipe["fault"]))
    temperature_c = _number(recipe, "temperature_c")
    if temperature_c > FURNACE_LIMIT_C:
        raise InstrumentError(f"furnace interlock: temperature_c={temperature_c:g} exceeds the "
                              f"{FURNACE_LIMIT_C:g} C limit; no film was deposited")
    return thin_film(request, workdir)
