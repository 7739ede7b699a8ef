"""Predict each recipe's film: thickness from the growth rate, sheet resistance from a
thin-film resistivity model (bulk copper plus a Fuchs-Sondheimer surface term)."""

import json

RATE_NM_PER_S = 0.95          # the simulation's growth rate, calibrated at room temperature
RATE_LOSS_PER_K = 3.5e-4      # re-evaporation as the substrate heats
RHO_BULK_UOHM_CM = 1.68
MEAN_FREE_PATH_NM = 39.0

predictions = {}
for recipe in json.load(open("recipes.json")):
    thickness = RATE_NM_PER_S * (1 - RATE_LOSS_PER_K * (recipe["temperature_c"] - 25)) * recipe["deposition_time_s"]
    resistivity = RHO_BULK_UOHM_CM * (1 + 3 * MEAN_FREE_PATH_NM / (8 * thickness))
    predictions[recipe["sample_id"]] = {
        "thickness_nm": round(thickness, 2),
        "sheet_resistance_ohm_sq": round(10 * resistivity / thickness, 5),
    }
json.dump(predictions, open("predictions.json", "w"), indent=2)
print(json.dumps(predictions))
