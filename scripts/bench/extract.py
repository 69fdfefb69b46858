"""Full extraction: page through an endpoint with limit=10000 over one keep-alive connection,
as a syncing client does; prints records, seconds and records/s."""
import http.client, json, sys, time, urllib.parse

base, token, path, key = sys.argv[1:5]
u = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port)
offset, total, start = 0, 0, time.perf_counter()
while True:
    conn.request("GET", f"{path}?limit=10000&offset={offset}", headers={"Authorization": f"Bearer {token}"})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        sys.exit(f"{path}: HTTP {r.status}: {body[:200]!r}")
    n = len(json.loads(body)[key])
    total += n
    offset += 10000
    if n < 10000:
        break
secs = time.perf_counter() - start
print(f"{path:<40} {total:>9} records {secs:7.2f} s {total / secs:>10.0f} records/s")
