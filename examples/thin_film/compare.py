"""Set the lab's measurements against the simulation: relative deviation per quantity."""

import json

predictions = json.load(open("predictions.json"))
measured = json.load(open("measured.json"))
comparison = {}
for sample, predicted in predictions.items():
    lab = measured.get(sample, {})
    if lab.get("status") != "COMPLETED":
        comparison[sample] = {"measured": False, "lab_status": lab.get("status")}
        continue
    row = {"measured": True}
    for quantity, value in predicted.items():
        observed = lab["data"][quantity]
        row[quantity] = {"predicted": value, "measured": observed,
                         "deviation_pct": round(100 * (observed - value) / value, 2)}
    comparison[sample] = row
json.dump(comparison, open("comparison.json", "w"), indent=2)
print(json.dumps(comparison))
