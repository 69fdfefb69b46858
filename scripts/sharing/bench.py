"""Times reads of a restricted app against an unrestricted one, and the console's rule
preview, for scripts/bench-sharing (see there).

    bench.py BASE ADMIN PASSWORD OPEN_ID OPEN_SECRET RULED_ID RULED_SECRET RULE
"""

import http.client
import json
import random
import re
import statistics
import sys
import time
import urllib.parse

BASE, ADMIN, PASSWORD, OPEN_ID, OPEN_SECRET, RULED_ID, RULED_SECRET, RULE = sys.argv[1:9]
host = urllib.parse.urlparse(BASE)
conn = http.client.HTTPConnection(host.hostname, host.port)
V12 = "/ims/oneroster/rostering/v1p2"


def call(method, path, body=None, headers=None):
    h = dict(headers or {})
    t0 = time.perf_counter()
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    text = r.read().decode()
    ms = (time.perf_counter() - t0) * 1000
    return r.status, text, ms, r


def token(cid, secret):
    import base64
    b = base64.b64encode(f"{cid}:{secret}".encode()).decode()
    status, text, _, _ = call("POST", "/oauth/token", "grant_type=client_credentials",
                              {"Authorization": "Basic " + b, "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, text
    return json.loads(text)["access_token"]


def get(tok, path):
    status, text, ms, r = call("GET", path, headers={"Authorization": "Bearer " + tok})
    assert status == 200, (path, status, text[:300])
    return text, ms, r


open_t = token(OPEN_ID, OPEN_SECRET)
ruled_t = token(RULED_ID, RULED_SECRET)
# What each sees, and a sample of ids to read by id (the same ids for both: visible to both).
text, _, r = get(ruled_t, f"{V12}/users?limit=1000")
ruled_users = [u["sourcedId"] for u in json.loads(text)["users"]]
ruled_total = int(r.getheader("X-Total-Count"))
_, _, r = get(open_t, f"{V12}/users?limit=1")
open_total = int(r.getheader("X-Total-Count"))
print(f"users seen: unrestricted {open_total}, ruled {ruled_total} (rule: {RULE[:80]}...)")
assert 0 < ruled_total < open_total


def run(n=300):
    """One run: median ms of n by-id reads and n users pages, for each app (interleaved)."""
    rnd = random.Random(7)
    ids = [rnd.choice(ruled_users) for _ in range(n)]
    out = {}
    for name, tok, total in (("unrestricted", open_t, open_total), ("ruled", ruled_t, ruled_total)):
        by_id = [get(tok, f"{V12}/users/{i}")[1] for i in ids]
        pages = []
        for _ in range(n):
            off = rnd.randrange(0, max(1, total - 100))
            pages.append(get(tok, f"{V12}/users?limit=100&offset={off}")[1])
        out[name] = (statistics.median(by_id), statistics.median(pages))
    return out


runs = [run() for _ in range(3)]
for k, label in ((0, "by-id read GET /users/{id}"), (1, "users page GET /users?limit=100&offset=random")):
    o = statistics.median(r["unrestricted"][k] for r in runs)
    g = statistics.median(r["ruled"][k] for r in runs)
    per_run = [r["ruled"][k] / r["unrestricted"][k] for r in runs]
    ratios = ", ".join(f"{x:.2f}" for x in per_run)
    print(f"{label}: unrestricted {o:.2f} ms, ruled {g:.2f} ms (medians of 3 runs); "
          f"ratio ruled/unrestricted median {statistics.median(per_run):.2f} (runs: {ratios})")

# The console's rule preview: sign in, then preview the rule for the unrestricted app (it loses
# most of the district) and the reverse for the ruled one.
status, page, _, r = call("GET", "/console/login")
cookie = r.getheader("Set-Cookie").split(";")[0]
login_token = re.search(r'name="login_token" value="([0-9a-f]+)"', page).group(1)
body = urllib.parse.urlencode(dict(name=ADMIN, password=PASSWORD, next="/console", login_token=login_token))
status, _, _, r = call("POST", "/console/login", body, {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
assert status == 303, status
session = r.getheader("Set-Cookie").split(";")[0]
status, page, _, _ = call("GET", "/console", headers={"Cookie": session})
csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)


def preview(app, rules):
    body = urllib.parse.urlencode(dict(csrf=csrf, action="share-preview", rules=rules, mask=""))
    status, text, ms, _ = call("POST", f"/console/apps/{app}", body,
                               {"Cookie": session, "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and "share-preview" in text, (status, text[:500])
    lose = re.search(r'id="lose-users">(\d+)<', text).group(1)
    gain = re.search(r'id="gain-users">(\d+)<', text).group(1)
    return ms, gain, lose


for label, app, rules in (("everything -> the rule", OPEN_ID, RULE), ("the rule -> everything", RULED_ID, "all")):
    times = []
    for _ in range(3):
        ms, gain, lose = preview(app, rules)
        times.append(ms)
    print(f"rule preview, {label}: median {statistics.median(times):.0f} ms (runs: {', '.join(f'{t:.0f}' for t in times)}; users gained {gain}, lost {lose})")

# A delta read by the ruled app right after a change to the store (its ledger refreshed), and
# again (up to date).
since = "2000-01-01T00:00:00.000Z"
f = urllib.parse.quote(f"dateLastModified>'{since}'")
_, first, _ = get(ruled_t, f"{V12}/users?limit=100&filter={f}")
_, again, _ = get(ruled_t, f"{V12}/users?limit=100&filter={f}")
print(f"delta read by the ruled app: first (ledger taken) {first:.0f} ms, then {again:.1f} ms")
