"""Refine one approved metal: a toy activity, exp(-(eps - optimum)^2 / width). Writes result.json."""

import json
import math
import os

OPTIMUM_EV, WIDTH = -2.0, 0.5

metal = os.environ["METAL"]
eps = float(os.environ["D_BAND_CENTRE_EV"])
activity = math.exp(-((eps - OPTIMUM_EV) ** 2) / WIDTH)
with open("result.json", "w") as fh:
    json.dump({"metal": metal, "activity": round(activity, 4)}, fh)
print(metal, round(activity, 4))
