"""pandas peer of bench/audit-profile.ts: the same profiling of one CSV, printed as one JSON line.

usage: python3 bench/pandas_profile.py file.csv
"""
import json
import resource
import sys
import time

import pandas as pd

t0 = time.perf_counter()
timings = {}
df = pd.read_csv(sys.argv[1], na_values=["NA", "N/A", "null", "NaN", "?", "-"], keep_default_na=True)
timings["load"] = time.perf_counter() - t0
t = time.perf_counter()
missing = df.isna().sum().to_dict()
distinct = df.nunique().to_dict()
num = df.select_dtypes("number")
desc = num.describe(percentiles=[0.01, 0.25, 0.5, 0.75, 0.99])
mad = (num - num.median()).abs().median()
hist = {c: pd.cut(num[c].dropna(), 20).value_counts(sort=False).tolist() for c in num.columns}
top = {c: df[c].value_counts().head(10).to_dict() for c in df.select_dtypes(exclude="number").columns}
q1, q3 = num.quantile(0.25), num.quantile(0.75)
iqr = q3 - q1
outliers = ((num < q1 - 3 * iqr) | (num > q3 + 3 * iqr)).sum().to_dict()
timings["profile"] = time.perf_counter() - t
t = time.perf_counter()
dups = int(df.duplicated().sum())
timings["duplicates"] = time.perf_counter() - t
print(json.dumps({
    "seconds": time.perf_counter() - t0,
    "timings": timings,
    "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "duplicateRows": dups,
    "columns": len(df.columns),
    "outliers": int(sum(outliers.values())),
}))
