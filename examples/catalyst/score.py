"""Score candidate metals with a toy Sabatier volcano: the closer a metal's d-band centre is to
the optimum, the better it binds the intermediate. Writes candidates.json, best first."""

import json
import os

OPTIMUM_EV = -2.0

centres = json.loads(os.environ["D_BAND_CENTRES"])
ranked = sorted(
    ({"metal": metal, "d_band_centre_ev": eps, "score": round(-abs(eps - OPTIMUM_EV), 3)}
     for metal, eps in centres.items()),
    key=lambda row: row["score"],
    reverse=True,
)
with open("candidates.json", "w") as fh:
    json.dump(ranked, fh, indent=2)
print("best:", ", ".join(row["metal"] for row in ranked[:3]))
