"""Full extraction: page through an endpoint with limit=10000 over one keep-alive connection,
as a syncing client does; prints records, seconds and records/s.

Two figures: the server's (the median of three runs; records counted by scanning each body for the start of a top-level
record, `{"sourcedId":`, which nested objects never begin with; every page's count is checked
against X-Total-Count, and the first and last pages are also parsed with json.loads and must
agree), and the same run with Python's json.loads on every page, which on this 2-core machine
takes about half the time: that figure is the client's cost as much as the server's."""
import http.client, json, sys, time, urllib.parse

base, token, path, key = sys.argv[1:5]
u = urllib.parse.urlparse(base)


def extract(parse_all):
    conn = http.client.HTTPConnection(u.hostname, u.port)
    offset, total, expected, start = 0, 0, None, time.perf_counter()
    while True:
        conn.request("GET", f"{path}?limit=10000&offset={offset}", headers={"Authorization": f"Bearer {token}"})
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            sys.exit(f"{path}: HTTP {r.status}: {body[:200]!r}")
        if expected is None:
            expected = int(r.getheader("X-Total-Count"))
        n = body.count(b'{"sourcedId":')
        want = min(10000, expected - offset)
        if n != want:
            sys.exit(f"{path} offset {offset}: {n} records, expected {want}")
        if parse_all or offset == 0 or n < 10000:
            parsed = len(json.loads(body)[key])
            if parsed != n:
                sys.exit(f"{path} offset {offset}: json.loads found {parsed} records, the scan {n}")
        total += n
        offset += 10000
        if n < 10000:
            break
    if total != expected:
        sys.exit(f"{path}: {total} records, X-Total-Count {expected}")
    return total, time.perf_counter() - start


results = [extract(False) for _ in range(3)]
total = results[0][0]
runs = sorted(secs for _, secs in results)
secs = runs[1]
_, secs_parsed = extract(True)
print(f"{path:<40} {total:>9} records {secs:7.2f} s {total / secs:>10.0f} records/s"
      f" (median of 3 runs; range {total / runs[2]:.0f}-{total / runs[0]:.0f})"
      f"   (client parsing every page with json.loads: {secs_parsed:.2f} s, {total / secs_parsed:.0f} records/s)")
