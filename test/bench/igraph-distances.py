"""Baseline for bench:routes: python3-igraph's all-pairs weighted distances, timed inside Python.

Reads graphs as JSON on stdin: [{"name": ..., "n": N, "edges": [[from, to, cost], ...]}, ...].
Prints one JSON object: {name: best_ms, ...}, each the best of several runs after a warm-up.
"""
import json
import sys
import time

import igraph

graphs = json.load(sys.stdin)
out = {}
for g in graphs:
    graph = igraph.Graph(n=g["n"], edges=[(e[0], e[1]) for e in g["edges"]], directed=True)
    weights = [e[2] for e in g["edges"]]
    graph.distances(weights=weights)  # warm-up
    runs = []
    for _ in range(g.get("runs", 3)):
        t = time.perf_counter()
        graph.distances(weights=weights)
        runs.append((time.perf_counter() - t) * 1000)
    out[g["name"]] = min(runs)
print(json.dumps(out))
