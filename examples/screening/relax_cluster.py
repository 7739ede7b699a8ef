"""Relax a small Lennard-Jones cluster and report its binding energy.

Run by each screening task: reads the element's LJ parameters and the cluster size from the
environment, relaxes the cluster with steepest descent + backtracking line search, and
writes ``result.json``. Plain Python, no dependencies, well under a second per cluster.
"""

import json
import math
import os
import random
import sys


def energy_and_forces(positions, epsilon, sigma):
    n = len(positions)
    energy = 0.0
    forces = [[0.0, 0.0, 0.0] for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            d = [positions[i][k] - positions[j][k] for k in range(3)]
            r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
            sr6 = (sigma * sigma / r2) ** 3
            energy += 4.0 * epsilon * (sr6 * sr6 - sr6)
            scale = 24.0 * epsilon * (2.0 * sr6 * sr6 - sr6) / r2
            for k in range(3):
                forces[i][k] += scale * d[k]
                forces[j][k] -= scale * d[k]
    return energy, forces


def relax(positions, epsilon, sigma, steps=4000, tol=1e-6):
    energy, forces = energy_and_forces(positions, epsilon, sigma)
    step = 0.01 * sigma
    for iteration in range(steps):
        fmax = max(math.sqrt(sum(c * c for c in f)) for f in forces)
        if fmax < tol * epsilon / sigma:
            return energy, iteration
        trial = [[p[k] + step * f[k] / fmax for k in range(3)] for p, f in zip(positions, forces)]
        trial_energy, trial_forces = energy_and_forces(trial, epsilon, sigma)
        if trial_energy < energy:
            positions, energy, forces = trial, trial_energy, trial_forces
            step *= 1.2
        else:
            step *= 0.5
    return energy, steps


def main():
    element = os.environ["ELEMENT"]
    epsilon = float(os.environ["LJ_EPSILON_MEV"])
    sigma = float(os.environ["LJ_SIGMA_A"])
    size = int(os.environ["CLUSTER_SIZE"])
    if epsilon <= 0 or sigma <= 0:
        print(f"{element}: LJ parameters must be positive (epsilon={epsilon}, sigma={sigma})", file=sys.stderr)
        return 3
    rng = random.Random(size * 7919 + len(element))
    spacing = 1.12 * sigma
    side = math.ceil(size ** (1 / 3))
    grid = [(x, y, z) for x in range(side) for y in range(side) for z in range(side)][:size]
    positions = [[spacing * c + rng.uniform(-0.05, 0.05) * sigma for c in point] for point in grid]
    energy, iterations = relax(positions, epsilon, sigma)
    result = {
        "element": element,
        "cluster_size": size,
        "energy_mev": energy,
        "binding_energy_per_atom_mev": -energy / size,
        "iterations": iterations,
    }
    with open("result.json", "w") as fh:
        json.dump(result, fh, indent=2)
    print(f"{element}{size}: E = {energy:.2f} meV after {iterations} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
