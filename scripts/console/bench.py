"""Times console pages and a package upload for scripts/bench-console (see there).

    bench.py BASE ADMIN PASSWORD ZIP "DRY_RUN_SECS..."
"""

import re
import statistics
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BASE, ADMIN, PASSWORD, ZIP, DRY = sys.argv[1:6]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(NoRedirect)
cookie = ""


def call(method, path, body=None, ctype="application/x-www-form-urlencoded"):
    global cookie
    req = urllib.request.Request(BASE + path, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", ctype)
    if cookie:
        req.add_header("Cookie", cookie)
    t0 = time.perf_counter()
    try:
        with opener.open(req) as r:
            text, status, headers = r.read().decode(), r.status, r.headers
    except urllib.error.HTTPError as e:
        text, status, headers = e.read().decode(), e.code, e.headers
    ms = (time.perf_counter() - t0) * 1000
    c = headers.get("Set-Cookie")
    if c:
        cookie = c.split(";")[0]
    return status, text, ms, headers


def form(**kw):
    return urllib.parse.urlencode([(k, v) for k, vs in kw.items() for v in (vs if isinstance(vs, list) else [vs])]).encode()


_, page, _, _ = call("GET", "/console/login")
login_token = re.search(r'name="login_token" value="([0-9a-f]+)"', page).group(1)
status, _, _, _ = call("POST", "/console/login", form(name=ADMIN, password=PASSWORD, next="/console", login_token=login_token))
assert status == 303, status
status, page, cold, _ = call("GET", "/console")
assert status == 200 and "What the store holds" in page
csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
print(f"overview, first after start (counts taken): {cold:.1f} ms")


def median(name, method, path, body=None, ok=200, n=7):
    times = []
    for _ in range(n):
        status, text, ms, _ = call(method, path, body)
        assert status == ok, f"{name}: {status} {text[:300]}"
        times.append(ms)
    print(f"{name:<42} median {statistics.median(times):7.1f} ms   (min {min(times):.1f}, max {max(times):.1f})")
    return text


median("overview", "GET", "/console")
_, text, _, _ = call("GET", "/console/roster?kind=classes&q=a")
klass = re.findall(r'href="/console/roster/classes/([^"]+)"', text)[-1]
_, text, _, _ = call("GET", "/console/apps/new")
schools = re.findall(r'id="org-(org-sch-[^"]+)"', text)
school = schools[len(schools) // 2]
median("class page (teachers, students, terms)", "GET", f"/console/roster/classes/{klass}")
TERMS = ["lew", "ANDER", "zoë", "noah.smith", "will", "aarav.johnson100", "zzq"]


def searches(name, kind):
    """One request per term (a new search each time: nothing cached); the last one matches
    nothing, so it scans the whole table."""
    times = []
    text = ""
    for t in TERMS:
        status, text, ms, _ = call("GET", f"/console/roster?kind={kind}&q={urllib.parse.quote(t)}")
        assert status == 200, status
        times.append(ms)
        if t == TERMS[0]:
            first = text
    print(f"{name:<42} median {statistics.median(times):7.1f} ms   (min {min(times):.1f}, max {max(times):.1f})")
    return first


text = searches("user search, 7 different terms", "users")
user = re.search(r'href="/console/roster/users/([^"]+)"', text).group(1)
searches("class search, 7 different terms", "classes")
median("user page (roles, classes, enrollments)", "GET", f"/console/roster/users/{user}")
median("app preview, one school", "POST", "/console/apps/new",
       form(csrf=csrf, name="bench", scope="rosters", reach="some", org=school, action="preview"))
median("app preview, whole district", "POST", "/console/apps/new",
       form(csrf=csrf, name="bench", scope="rosters", reach="all", action="preview"))
status, text, _, _ = call("POST", "/console/apps/new",
                          form(csrf=csrf, name="bench-view", scope="rosters", reach="some", org=school, action="create"))
app = re.search(r'id="client-id">([0-9a-f]+)<', text).group(1)
median("view as app (users, one school)", "GET", f"/console/apps/{app}/view?what=users")
median("apps list", "GET", "/console/apps")

# Upload: from the first byte sent until the job's page shows the finished check.
data = open(ZIP, "rb").read()
boundary = "rbBenchBoundary"
body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"package\"; filename=\"district.zip\"\r\n"
        f"Content-Type: application/zip\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
uploads = []
validated = []
for _ in range(3):
    t0 = time.perf_counter()
    status, text, _, headers = call("POST", "/console/imports", body, f"multipart/form-data; boundary={boundary}")
    assert status == 303, status
    job = headers["Location"]
    seen_valid = None
    while True:
        _, text, _, _ = call("GET", job)
        if seen_valid is None and ('id="validated"' in text or 'http-equiv="refresh"' not in text):
            seen_valid = time.perf_counter() - t0
        if 'http-equiv="refresh"' not in text:
            break
        # Other pages answer while the check runs.
        time.sleep(0.05)
    assert 'id="preview-ready"' in text, text[:2000]
    uploads.append(time.perf_counter() - t0)
    validated.append(seen_valid)
    call("POST", job + "/cancel", form(csrf=csrf))
dry = [float(x) for x in DRY.split()]
print(f"upload until validated                  median {statistics.median(validated):.2f} s  {sorted(round(u, 2) for u in validated)}")
print(f"upload + check (validation and preview) median {statistics.median(uploads):.2f} s  {sorted(round(u, 2) for u in uploads)}")
print(f"import --dry-run (validation only)      median {statistics.median(dry):.2f} s  {sorted(dry)}")
print(f"ratio validated/dry-run: {statistics.median(validated) / statistics.median(dry):.2f}; with the preview: {statistics.median(uploads) / statistics.median(dry):.2f}")
