"""The console in a real browser (Debian's Chromium through chromedriver, driven by selenium).

Flows: signed out -> sign-in page; sign in; upload a package with an error and see its file
and line; upload a good one, preview, apply; register an app sharing one school; call REST 1.2
and LIS with the credentials the page shows and see only that school; rotate the secret and see
the old one refused; a form without its CSRF token is refused; browse the roster and view as
the app; sign out. A screenshot of each page goes to SHOTS (docs/console/ holds the current
ones).

    browser_check.py BASE BAD_ZIP GOOD_ZIP ADMIN PASSWORD SHOTS
"""

import base64
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

BASE, BAD_ZIP, GOOD_ZIP, ADMIN, PASSWORD, SHOTS = sys.argv[1:7]
os.makedirs(SHOTS, exist_ok=True)
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        raise AssertionError(what)


opts = Options()
opts.binary_location = "/usr/bin/chromium"
for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
          "--window-size=1280,900", "--force-device-scale-factor=1"]:
    opts.add_argument(a)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
driver.implicitly_wait(0)


def go(path):
    driver.get(BASE + path)


def el(css):
    return driver.find_element(By.CSS_SELECTOR, css)


def wait_for(css, secs=120):
    end = time.time() + secs
    while time.time() < end:
        found = driver.find_elements(By.CSS_SELECTOR, css)
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"{css} did not appear on {driver.current_url}:\n{driver.page_source[:3000]}")


def wait_until(pred, what, secs=30):
    end = time.time() + secs
    while time.time() < end:
        try:
            if pred():
                return
        except Exception:  # the page is being replaced
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} ({driver.current_url})")


def shot(name, full=True):
    if full:
        h = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(max(h, 900), 4000))
    driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))
    driver.set_window_size(1280, 900)


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()


def token(client_id, secret):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return http("POST", BASE + "/oauth/token", b"grant_type=client_credentials",
                {"Authorization": "Basic " + basic,
                 "Content-Type": "application/x-www-form-urlencoded"})


try:
    # Signed out: the sign-in page, remembering where the browser was going.
    go("/console/apps")
    check("/console/login" in driver.current_url and "next=%2Fconsole%2Fapps" in driver.current_url,
          f"signed out, /console/apps goes to the sign-in page ({driver.current_url})")
    shot("login")
    el("#name").send_keys(ADMIN)
    el("#password").send_keys("wrong password, surely")
    el("#sign-in").click()
    check(wait_for("#login-error").text.startswith("Unknown administrator"), "a wrong password is refused")
    el("#name").clear()
    el("#name").send_keys(ADMIN)
    el("#password").send_keys(PASSWORD)
    el("#sign-in").click()
    wait_until(lambda: driver.current_url.endswith("/console/apps"), "signed in, on to where it was going")
    cookie = driver.get_cookie("rb_console")
    check(cookie and cookie["httpOnly"] and cookie.get("sameSite") == "Strict", f"session cookie {cookie}")

    # Imports: a package with an error shows its file and line; nothing is written.
    go("/console/imports")
    el("#package").send_keys(BAD_ZIP)
    el("#upload-button").click()
    wait_for("#validation-failed")
    rows = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#diagnostics tbody tr")]
    check(any(r.startswith("error enrollments.csv 3 role") for r in rows), f"the error names file, line, column: {rows}")
    check(not driver.find_elements(By.CSS_SELECTOR, "#apply-button"), "no Apply for a package with errors")
    shot("import-errors")
    # A good one: preview, then apply.
    go("/console/imports")
    el("#package").send_keys(GOOD_ZIP)
    el("#upload-button").click()
    wait_for("#preview-ready")
    users_row = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#changes tbody tr") if r.text.startswith("users ")]
    check(users_row, "the preview lists users")
    inserted = int(users_row[0].split()[2])
    check(inserted > 0, f"users would be inserted: {users_row}")
    shot("import-preview")
    el("#apply-button").click()
    wait_for("#applied")
    shot("import-applied")
    go("/console")
    counts = {r.text.split()[0]: r.text.split()[1:] for r in driver.find_elements(By.CSS_SELECTOR, "#store-counts tbody tr")}
    check(int(counts["users"][0]) == inserted, f"the overview counts the applied users: {counts}")
    shot("overview")
    driver.set_window_size(390, 844)
    driver.save_screenshot(os.path.join(SHOTS, "overview-phone.png"))
    driver.set_window_size(1280, 900)

    # An app sharing one school: preview, then create; the credentials are shown once.
    go("/console/apps/new")
    el("#name").send_keys("Math Quest")
    el("#reach-some").click()
    el("#org-org-sch-001").click()
    el("#preview-button").click()
    preview_users = int(wait_for("#reach-users").text)
    preview_orgs = int(el("#reach-orgs").text)
    shot("app-new-preview")
    el("#create-button").click()
    client_id = wait_for("#client-id").text
    secret = el("#client-secret").text
    token_url = el("#token-url").text
    v1p2 = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".v1p2-base")]
    lis = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".lis-endpoint")]
    check(token_url == BASE + "/oauth/token", token_url)
    driver.execute_script("document.getElementById('client-secret').textContent = '(shown once: a 64-digit secret)'")
    shot("app-credentials")

    # REST 1.2 with the shown credentials: only that school.
    status, _, body = token(client_id, secret)
    check(status == 200, f"token: {status} {body}")
    bearer = json.loads(body)["access_token"]
    rostering = [u for u in v1p2 if u.endswith("/rostering/v1p2")][0]
    status, headers, body = http("GET", rostering + "/users?limit=1000", headers={"Authorization": "Bearer " + bearer})
    check(status == 200, body)
    check(int(headers["x-total-count"]) == preview_users, f"REST sees {headers['x-total-count']} users, the preview said {preview_users}")
    status, _, body = http("GET", rostering + "/orgs", headers={"Authorization": "Bearer " + bearer})
    org_ids = sorted(o["sourcedId"] for o in json.loads(body)["orgs"])
    check(org_ids == ["org-sch-001"] and preview_orgs == 1, f"REST sees the one school: {org_ids}")
    # LIS with the same credentials: the same people.
    pms = [u for u in lis if u.endswith("PersonManagementService")][0]
    envelope = ('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
                '<readAllPersonIdsRequest xmlns="http://www.imsglobal.org/services/lis/pms2p0/wsdl11/sync/imspms_v2p0"/>'
                '</s:Body></s:Envelope>').encode()
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    soap_headers = {"Authorization": "Basic " + basic, "Content-Type": "text/xml; charset=utf-8",
                    "SOAPAction": "http://www.imsglobal.org/soap/lis/pms2p0/readAllPersonIds"}
    status, _, body = http("POST", pms, envelope, soap_headers)
    check(status == 200, f"LIS readAllPersonIds: {status} {body[:500]}")
    lis_ids = re.findall(r"<(?:\w+:)?sourcedId>([^<]+)</", body)
    check(len(lis_ids) == preview_users, f"LIS sees {len(lis_ids)} people, REST {preview_users}")

    # The app's page never shows the secret again; rotating stops the old one at once.
    go(f"/console/apps/{client_id}")
    check(secret not in driver.page_source, "the secret is not shown twice")
    shot("app")
    el("#rotate-button").click()
    new_secret = wait_for("#client-secret").text
    check(new_secret != secret, "a new secret")
    status, _, _ = token(client_id, secret)
    check(status == 401, f"the old secret is refused ({status})")
    status, _, _ = http("GET", rostering + "/users?limit=1", headers={"Authorization": "Bearer " + bearer})
    check(status == 401, f"the old secret's token is refused ({status})")
    status, _, _ = token(client_id, new_secret)
    check(status == 200, "the new secret works")
    go(f"/console/apps/{client_id}")
    check(new_secret not in driver.page_source, "the new secret is not shown twice either")

    # A form without its CSRF token is refused (and changes nothing).
    go(f"/console/apps/{client_id}")
    driver.execute_script("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
    el("#disable-button").click()
    wait_until(lambda: "(403)" in driver.find_element(By.TAG_NAME, "h1").text, "a form post without the CSRF token is refused")
    shot("csrf-refused")
    go(f"/console/apps/{client_id}")
    check(driver.find_elements(By.CSS_SELECTOR, "#disable-button"), "the app is still enabled")

    # Sharing rules: narrow the app to its school's grade-9 classes, masking e-mail; the
    # preview's losses are what REST stops showing.
    go(f"/console/apps/{client_id}")
    rules = el("#rules")
    rules.clear()
    rules.send_keys("org=org-sch-001;grades=09")
    el("#mask").send_keys("email")
    el("#share-preview-button").click()
    lose_users = int(wait_for("#lose-users").text)
    gain_users = int(el("#gain-users").text)
    check(lose_users > 0 and gain_users == 0, f"the preview: lose {lose_users}, gain {gain_users}")
    shot("app-sharing-preview")
    el("#share-save-button").click()
    wait_until(lambda: "by rules: org=org-sch-001;grades=09" in driver.page_source, "the rules are saved")
    status, _, body = token(client_id, new_secret)
    bearer = json.loads(body)["access_token"]
    status, headers, body = http("GET", rostering + "/users?limit=1000", headers={"Authorization": "Bearer " + bearer})
    check(status == 200, body)
    check(int(headers["x-total-count"]) == preview_users - lose_users,
          f"REST sees {headers['x-total-count']} users, the preview said {preview_users} - {lose_users}")
    check('"email"' not in body, "e-mail is masked")
    shot("app-sharing")

    # View as the app, the roster browser, the audit log.
    go(f"/console/apps/{client_id}/view?what=users")
    check(f"<strong>{preview_users - lose_users}</strong>" in driver.page_source, "view as app shows what the app receives")
    shot("app-view-as")
    go("/console/roster")
    el("#kind").send_keys("classes")
    el("#q").send_keys("a")
    el("#search-button").click()
    wait_for("#results a").click()
    wait_until(lambda: "/console/roster/classes/" in driver.current_url, "a class page")
    headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]
    check(any(h.startswith("Teachers") for h in headings) and any(h.startswith("Students") for h in headings), f"a class page: {headings}")
    shot("roster-class")
    driver.find_elements(By.CSS_SELECTOR, "table.related a")[0].click()
    wait_until(lambda: "/console/roster/users/" in driver.current_url, "a user page")
    headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]
    check(any(h.startswith("Enrollments") for h in headings), f"a user page: {headings}")
    shot("roster-user")
    go("/console/roster?kind=users&q=a")
    shot("roster-search")
    go("/console/audit")
    audit = driver.find_element(By.ID, "audit").text
    for action in ["console.sign-in", "import.apply", "app.create", "app.rotate-secret"]:
        check(action in audit, f"{action} in the audit log")
    shot("audit")
    go("/console/imports")
    shot("imports")
    check("app.share" in audit, "app.share in the audit log")

    # Undo the applied import from the history: every record it created is tombstoned.
    el("button[id^=undo-]").click()
    wait_for("#undone")
    status, headers, _ = http("GET", rostering + "/users?limit=1&filter=status%3D%27active%27",
                              headers={"Authorization": "Bearer " + bearer})
    check(status == 200 and headers["x-total-count"] == "0", f"no active user after the undo: {headers.get('x-total-count')}")
    shot("import-undone")

    # The SIS upstream (a second rosterbridge serving the same district): a full sync started
    # from the imports page brings the users back, and lands in the history.
    el("#full-sync-now").click()
    wait_for("#sync-started")
    def synced():
        go("/console/imports")
        return driver.find_elements(By.ID, "sync-last")
    wait_until(synced, "the sync's last run shown", secs=120)
    last = el("#sync-last").text
    check("committed" in last, f"the sync committed: {last}")
    first_row = driver.find_element(By.CSS_SELECTOR, "#history tbody tr").text
    check("upstream full http://" in first_row, f"the sync heads the history: {first_row}")
    status, headers, _ = http("GET", rostering + "/users?limit=1&filter=status%3D%27active%27",
                              headers={"Authorization": "Bearer " + bearer})
    check(status == 200 and int(headers["x-total-count"]) > 0, f"active users after the sync: {headers.get('x-total-count')}")
    shot("imports-sync")

    # Sign out: back to the sign-in page, and the console is closed.
    el(".logout button").click()
    wait_until(lambda: "/console/login" in driver.current_url, "signed out")
    go("/console")
    check("/console/login" in driver.current_url, "signed out, the console sends the browser to sign in")
    print(f"console browser checks passed: {checks}")
finally:
    driver.quit()
