"""Rank the relaxed clusters by binding energy per atom and write ``report.md``.

Every ``*.result.json`` staged into the working directory is one candidate.
"""

import glob
import json


def main():
    results = [json.load(open(path)) for path in sorted(glob.glob("*.result.json"))]
    ranked = sorted(results, key=lambda r: r["binding_energy_per_atom_mev"], reverse=True)
    lines = [
        "# Lennard-Jones cluster screening",
        "",
        "| rank | cluster | binding energy per atom (meV) | total energy (meV) |",
        "|---:|---|---:|---:|",
    ]
    for rank, r in enumerate(ranked, start=1):
        lines.append(
            f"| {rank} | {r['element']}{r['cluster_size']} | "
            f"{r['binding_energy_per_atom_mev']:.2f} | {r['energy_mev']:.2f} |"
        )
    with open("report.md", "w") as fh:
        fh.write("\n".join(lines) + "\n")
    with open("ranking.json", "w") as fh:
        json.dump([f"{r['element']}{r['cluster_size']}" for r in ranked], fh)
    print(f"ranked {len(ranked)} clusters; best: {ranked[0]['element']}{ranked[0]['cluster_size']}")


if __name__ == "__main__":
    main()
