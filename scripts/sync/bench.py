"""Runs and times scripts/bench-sync's steps (see there): wall time and peak memory of each
command, medians over 3 runs.

    bench.py RB OUT PORT CLIENT_ID
"""

import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

RB, OUT, PORT, CLIENT_ID = sys.argv[1:5]
BASE = f"http://127.0.0.1:{PORT}"
RUNS = 3


def run(args, env=None):
    """Run RB args; returns (seconds, max RSS in MB); fails on a non-zero exit."""
    t0 = time.perf_counter()
    p = subprocess.Popen([RB] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t0
    err = p.stderr.read().decode()
    code = os.waitstatus_to_exitcode(status)
    assert code == 0, f"{args[:3]} exit {code}: {err[-2000:]}"
    return secs, usage.ru_maxrss / 1024


def fresh(name):
    for suffix in ("", "-wal", "-shm", ".key"):
        p = f"{OUT}/{name}.db{suffix}"
        if os.path.exists(p):
            os.remove(p)
    return f"sqlite:{OUT}/{name}.db"


def serve(db):
    p = subprocess.Popen([RB, "--database-url", db, "serve", "--bind", f"127.0.0.1:{PORT}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env={**os.environ, "ROSTERBRIDGE_KEY_FILE": f"{OUT}/bench.key"})
    for _ in range(400):
        try:
            urllib.request.urlopen(f"{BASE}/healthz", timeout=1)
            return p
        except OSError:
            time.sleep(0.05)
    raise SystemExit("upstream did not start")


SYNC = ["sync", "--upstream", BASE, "--token-url", f"{BASE}/oauth/token", "--client-id", CLIENT_ID,
        "--client-secret-file", f"{OUT}/secret", "--page-size", "1000", "--concurrency", "2",
        "--sync-overlap", "0s"]
rows = {k: [] for k in ("export", "import", "baseline", "full", "full_rss", "delta", "delta_rss",
                        "ratio")}
for i in range(RUNS):
    up = f"{OUT}/upstream.db"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(up + suffix):
            os.remove(up + suffix)
    shutil.copy(f"{OUT}/pristine.db", up)
    server = serve(f"sqlite:{up}")
    try:
        shutil.rmtree(f"{OUT}/extract", ignore_errors=True)
        ex, _ = run(["--database-url", f"sqlite:{up}", "export", f"{OUT}/extract"],
                    {"ROSTERBRIDGE_KEY_FILE": f"{OUT}/bench.key"})
        im, _ = run(["--database-url", fresh("csv"), "import", f"{OUT}/extract"])
        full, full_rss = run(["--database-url", fresh("down")] + SYNC + ["--full"])
        run(["--database-url", f"sqlite:{up}", "import", f"{OUT}/delta"],
            {"ROSTERBRIDGE_KEY_FILE": f"{OUT}/bench.key"})
        delta, delta_rss = run(["--database-url", f"sqlite:{OUT}/down.db"] + SYNC)
    finally:
        server.terminate()
        server.wait()
    for k, v in (("export", ex), ("import", im), ("baseline", ex + im), ("full", full),
                 ("full_rss", full_rss), ("delta", delta), ("delta_rss", delta_rss),
                 ("ratio", full / (ex + im))):
        rows[k].append(v)
    print(f"run {i + 1}: export {ex:.1f} s + import {im:.1f} s = {ex + im:.1f} s; "
          f"full sync {full:.1f} s ({full / (ex + im):.2f}x), {full_rss:.0f} MB; "
          f"delta sync {delta:.2f} s, {delta_rss:.0f} MB", flush=True)

med = {k: statistics.median(v) for k, v in rows.items()}
print(f"median of {RUNS}: baseline {med['baseline']:.1f} s (export {med['export']:.1f} + import "
      f"{med['import']:.1f}); full sync {med['full']:.1f} s = {med['ratio']:.2f}x (target <= 1.5x); "
      f"delta sync {med['delta']:.2f} s (target < 5 s); peak memory full {med['full_rss']:.0f} MB, "
      f"delta {med['delta_rss']:.0f} MB (target < 300 MB)")
