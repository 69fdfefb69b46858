"""zeep (a real WSDL-driven SOAP client) against rosterbridge's LIS services.

Loads each WSDL as the server serves it (Person, Membership, Course Management, Group,
Outcomes), calls reads and writes of each (readPerson, readPersons, replacePerson,
deletePerson, readMemberships, replaceMembership, readCourseSections, replaceCourseSection,
readGroup, replaceGroup, readLineItem, readResult, replaceResult, readResultValue, …),
compares the values with the OneRoster REST API, calls every operation once more with an empty
request, and validates every response envelope's header and body against the inline schema of
the served WSDL (xmlschema).
Exits non-zero on the first mismatch.

    python zeep_check.py BASE_URL '{"client_id": ..., "client_secret": ...}'
"""

import json
import sys
import urllib.request

import requests
import xmlschema
import zeep
from lxml import etree
from zeep.plugins import HistoryPlugin
from zeep.transports import Transport

BASE, CREDS = sys.argv[1], json.loads(sys.argv[2])
CID, SECRET = CREDS["client_id"], CREDS["client_secret"]
V12 = BASE + "/ims/oneroster/rostering/v1p2"
V11 = BASE + "/ims/oneroster/v1p1"
XS = "{http://www.w3.org/2001/XMLSchema}schema"
checks = 0


def fail(msg):
    print("LIS zeep check FAILED: " + msg)
    sys.exit(1)


def ok(cond, msg):
    global checks
    checks += 1
    if not cond:
        fail(msg)


def rest(path, base=V12):
    tok = requests.post(BASE + "/oauth/token", auth=(CID, SECRET),
                        data={"grant_type": "client_credentials"}).json()["access_token"]
    r = requests.get(base + path, headers={"Authorization": "Bearer " + tok})
    r.raise_for_status()
    return r.json()


class Service:
    def __init__(self, path, port=None):
        self.url = BASE + path
        self.history = HistoryPlugin()
        session = requests.Session()
        session.auth = (CID, SECRET)
        self.client = zeep.Client(self.url + "?wsdl", transport=Transport(session=session),
                                  plugins=[self.history])
        wsdl = etree.fromstring(requests.get(self.url + "?wsdl").content)
        ok(wsdl.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address").get("location") == self.url,
           "served WSDL points at this server")
        self.schema = xmlschema.XMLSchema(etree.tostring(wsdl.find(".//" + XS)).decode())
        self.ns = wsdl.get("targetNamespace")
        header = self.client.get_element("{%s}imsx_syncRequestHeaderInfo" % self.ns)
        self.header = lambda n: header(imsx_version="V1.0", imsx_messageIdentifier="zeep-%d" % n)
        self.n = 0
        # A WSDL with several port types (Course Management): bind the one asked for.
        self.service = (self.client.bind(next(iter(self.client.wsdl.services)), port)
                        if port else self.client.service)

    def call(self, op, **kwargs):
        self.n += 1
        res = getattr(self.service, op)(_soapheaders=[self.header(self.n)], **kwargs)
        env = self.history.last_received["envelope"]
        soap = "{http://schemas.xmlsoap.org/soap/envelope/}"
        head = env.find(soap + "Header")[0]
        body = env.find(soap + "Body")[0]
        for part in (head, body):
            errors = list(self.schema.iter_errors(etree.tostring(part).decode()))
            ok(not errors, "%s response %s does not validate: %s" % (
                op, etree.QName(part).localname, errors[:1]))
        status = res.header.HeaderInfoResponse.imsx_statusInfo
        ok(status.imsx_messageRefIdentifier == "zeep-%d" % self.n, op + ": message id echoed")
        body = res.body
        return (body.Response if hasattr(body, "Response") else body), status


pms = Service("/lis/v2p0/PersonManagementService")
mms = Service("/lis/v2p0/MembershipManagementService")

# readAllPersonIds = the REST users
users = sorted(u["sourcedId"] for u in rest("/users?limit=10000")["users"])
body, st = pms.call("readAllPersonIds")
ok(sorted(body.sourcedIdSet.sourcedId) == users, "readAllPersonIds equals GET /users")

# readPerson: every mapped field equals REST 1.1 and 1.2
def fields(rec):
    p = rec.person
    out = {"sourcedId": rec.sourcedGUID.sourcedId}
    for part in p.name[0].partName:
        out[{"First": "givenName", "Middle": "middleName", "Last": "familyName"}.get(
            part.instanceName.textString, part.instanceName.textString)] = part.instanceValue.textString
    for c in p.contactinfo:
        if c.contactinfoType.instanceValue.textString == "EmailPrimary":
            out["email"] = c.contactinfoValue.textString
    out["username"] = p.roles[0].userId.userIdValue.textString
    for f in p.extension.extensionField:
        if f.fieldName.startswith("oneroster."):
            out[f.fieldName[len("oneroster."):]] = f.fieldValue
    return out

for uid in users[:10]:
    body, st = pms.call("readPerson", sourcedId=uid)
    ok(st.imsx_codeMajor == "success", "readPerson " + uid)
    got = fields(body.personRecord)
    u12 = rest("/users/" + uid)["user"]
    u11 = rest("/users/" + uid, V11)["user"]
    for f in ("givenName", "familyName", "username", "email", "identifier", "dateLastModified"):
        ok(got.get(f, "") == u12.get(f, "") == u11.get(f, ""), "%s %s: SOAP %r REST %r" % (uid, f, got.get(f), u12.get(f)))
    ok(got.get("grades", "") == ",".join(u12.get("grades", [])), uid + " grades")

body, st = pms.call("readPersons", sourcedIdSet={"sourcedId": users[:25]})
ok([r.sourcedGUID.sourcedId for r in body.personRecordSet.personRecord] == users[:25], "readPersons order and ids")
ok(body.savePoint is not None, "readPersons returns a savepoint")

body, st = pms.call("readPerson", sourcedId="no-such-person")
ok((st.imsx_codeMajor, st.imsx_codeMinor.imsx_codeMinorField[0].imsx_codeMinorFieldValue) == ("failure", "unknownobject"),
   "unknown person is unknownobject")

body, st = pms.call("readPersonCore", sourcedId=users[0])
ok(body.personCore.sourcedId == users[0], "readPersonCore")
email = rest("/users/" + users[1])["user"]["email"]
body, st = pms.call("discoverPersonIds", queryObject=email)
ok(body.sourcedIdSet.sourcedId == [users[1]], "discoverPersonIds by e-mail")

# replacePerson: change the family name of what was read; REST shows it, newer timestamp
uid = users[2]
before = rest("/users/" + uid)["user"]
body, st = pms.call("readPerson", sourcedId=uid)
rec = body.personRecord
for part in rec.person.name[0].partName:
    if part.instanceName.textString == "Last":
        part.instanceValue.textString = "Zeepington"
body, st = pms.call("replacePerson", sourcedId=uid, personRecord=rec)
ok(st.imsx_codeMajor == "success", "replacePerson: " + str(st.imsx_description))
after = rest("/users/" + uid)["user"]
ok(after["familyName"] == "Zeepington", "replacePerson visible over REST")
ok(after["dateLastModified"] > before["dateLastModified"], "replacePerson stamps a newer dateLastModified")
ok(after["givenName"] == before["givenName"] and after["roles"] == before["roles"], "replacePerson keeps the rest")

body, st = pms.call("readPersonIdsFromSavePoint", fromSavePoint=before["dateLastModified"])
ok(body.sourcedIdSet.sourcedId == [uid], "savepoint read returns the replaced person only")

# deletePerson: tombstone over REST, unknown over SOAP
body, st = pms.call("deletePerson", sourcedId=uid)
ok(st.imsx_codeMajor == "success", "deletePerson")
ok(rest("/users/" + uid)["user"]["status"] == "tobedeleted", "deletePerson tombstones the user")
body, st = pms.call("readPerson", sourcedId=uid)
ok(st.imsx_codeMajor == "failure", "deleted person no longer read")

# Memberships: class rosters and records equal the REST enrollments
enrollments = rest("/enrollments?limit=10000")["enrollments"]
classes = sorted({e["class"]["sourcedId"] for e in enrollments})
for c in classes[:8]:
    body, st = mms.call("readMembershipIdsForCollection", groupSourcedId=c, collection="courseSection")
    want = sorted(e["sourcedId"] for e in enrollments if e["class"]["sourcedId"] == c and e["status"] == "active")
    ok(sorted(body.sourcedIdSet.sourcedId or []) == want, "class roster of " + c)
    body, st = mms.call("readMemberships", sourcedIdSet={"sourcedId": want})
    for m in body.membershipRecordSet.membershipRecord:
        e = next(x for x in enrollments if x["sourcedId"] == m.sourcedGUID.sourcedId)
        ok(m.membership.collectionSourcedId == e["class"]["sourcedId"], "membership class")
        ok(m.membership.member.personSourcedId == e["user"]["sourcedId"], "membership person")
        role = {"student": "Learner", "teacher": "Instructor", "administrator": "Administrator"}.get(e["role"], "TeachingAssistant")
        ok(m.membership.member.role[0].roleType == role, "membership role")

body, st = mms.call("readMembership", sourcedId=enrollments[0]["sourcedId"])
ok(body.membershipRecord.sourcedGUID.sourcedId == enrollments[0]["sourcedId"], "readMembership")
person = enrollments[0]["user"]["sourcedId"]
body, st = mms.call("readMembershipIdsForPerson", personSourcedId=person)
ids = set(body.sourcedIdSet.sourcedId)
ok({e["sourcedId"] for e in enrollments if e["user"]["sourcedId"] == person and e["status"] == "active"} <= ids,
   "readMembershipIdsForPerson covers the person's enrollments")
body, st = mms.call("readAllMembershipIds")
ok({e["sourcedId"] for e in enrollments if e["status"] == "active"} <= set(body.sourcedIdSet.sourcedId), "readAllMembershipIds")
body, st = mms.call("readMembershipsFromSavePoint", fromSavePoint="2000-01-01T00:00:00Z")
ok(len(body.membershipRecordSet.membershipRecord) >= len(enrollments), "membership savepoint read from the beginning")

# A wrong WS-Security UsernameToken: zeep reports the OASIS WSS FailedAuthentication Fault
# with its reason (a bare 401 would be "Unknown fault occured").
from zeep.wsse.username import UsernameToken
bad = zeep.Client(pms.url + "?wsdl", wsse=UsernameToken(CID, "not-the-secret"))
try:
    bad.service.readPerson(_soapheaders=[pms.header(0)], sourcedId=users[0])
    fail("a wrong UsernameToken was accepted")
except zeep.exceptions.Fault as f:
    ok("FailedAuthentication" in str(f.code), "WSS fault code: %r" % (f.code,))
    ok("could not be authenticated" in (f.message or ""), "WSS fault reason: %r" % (f.message,))

# Course Management: sections are the REST classes, offerings and templates the courses.
CMS = "/lis/v2p0/CourseManagementService"
sections = Service(CMS, "CourseSectionManagerSyncSoapPort")
offerings = Service(CMS, "CourseOfferingManagerSyncSoapPort")
templates = Service(CMS, "CourseTemplateManagerSyncSoapPort")
rest_classes = rest("/classes?limit=10000")["classes"]
body, st = sections.call("readAllCourseSectionIds")
ok(sorted(body.sourcedIdSet.sourcedId) == sorted(c["sourcedId"] for c in rest_classes),
   "readAllCourseSectionIds equals GET /classes")
for c in rest_classes[:6]:
    body, st = sections.call("readCourseSection", sourcedId=c["sourcedId"])
    sec = body.courseSectionRecord.courseSection
    ok(sec.title.textString == c["title"], "section title of " + c["sourcedId"])
    ok(sec.parentOfferingId == c["course"]["sourcedId"], "section offering of " + c["sourcedId"])
    ok(sec.org.id.textString == c["school"]["sourcedId"], "section school of " + c["sourcedId"])
    ok((sec.label.textString if sec.label else None) == c.get("classCode"), "section label of " + c["sourcedId"])
want = [c["sourcedId"] for c in rest_classes[:25]]
body, st = sections.call("readCourseSections", sourcedIdSet={"sourcedId": want})
ok([r.sourcedGUID.sourcedId for r in body.courseSectionRecordSet.courseSectionRecord] == want, "readCourseSections")
course = rest_classes[0]["course"]["sourcedId"]
body, st = offerings.call("readCourseSectionIdsForCourseOffering", sourcedId=course)
ok(sorted(body.sourcedIdSet.sourcedId) == sorted(c["sourcedId"] for c in rest("/courses/%s/classes?limit=1000" % course)["classes"]),
   "readCourseSectionIdsForCourseOffering equals GET /courses/{id}/classes")
body, st = templates.call("readCourseTemplate", sourcedId=course)
ok(body.courseTemplateRecord.courseTemplate.title.textString == rest("/courses/" + course)["course"]["title"],
   "readCourseTemplate title equals the REST course")
body, st = offerings.call("readCourseOffering", sourcedId=course)
ok(body.courseOfferingRecord.courseOffering.parentTemplateId == course, "an offering's template is its course")
# replaceCourseSection: the title changes over REST, the rest stays.
cid = rest_classes[1]["sourcedId"]
before = rest("/classes/" + cid)["class"]
body, st = sections.call("readCourseSection", sourcedId=cid)
rec = body.courseSectionRecord
rec.courseSection.title.textString = "Zeep Section"
body, st = sections.call("replaceCourseSection", sourcedId=cid, courseSectionRecord=rec)
ok(st.imsx_codeMajor == "success", "replaceCourseSection: " + str(st.imsx_description))
after = rest("/classes/" + cid)["class"]
ok(after["title"] == "Zeep Section", "replaceCourseSection visible over REST")
for f in ("course", "school", "terms", "classType", "classCode"):
    ok(after.get(f) == before.get(f), "replaceCourseSection keeps " + f)
body, st = sections.call("readCourseSectionIdsFromSavePoint", fromSavePoint=before["dateLastModified"])
ok(body.sourcedIdSet.sourcedId == [cid], "section savepoint read returns the replaced section")

# Group Management (rosterbridge's own WSDL): groups are the REST orgs and academic sessions.
gms = Service("/lis/v2p0/GroupManagementService")
orgs = rest("/orgs?limit=1000")["orgs"]
sessions = rest("/academicSessions?limit=1000")["academicSessions"]
body, st = gms.call("readAllGroupIds")
ok(sorted(body.sourcedIdSet.sourcedId) == sorted([o["sourcedId"] for o in orgs] + [a["sourcedId"] for a in sessions]),
   "readAllGroupIds equals GET /orgs and GET /academicSessions")
for o in orgs[:3]:
    body, st = gms.call("readGroup", sourcedId=o["sourcedId"])
    g = body.groupRecord.group
    ok(g.description.shortDescription == o["name"], "group name of " + o["sourcedId"])
    ok(g.groupType.typevalue.type.textString == o["type"], "group type of " + o["sourcedId"])
for a in sessions[:3]:
    body, st = gms.call("readGroup", sourcedId=a["sourcedId"])
    g = body.groupRecord.group
    ok(g.groupType.typevalue.type.textString == "TERM", "a session is a TERM group")
    ok(g.timeframe.begin.date().isoformat() == a["startDate"], "term begin of " + a["sourcedId"])
# replaceGroup of a school, renamed: REST shows it.
school = next(o for o in orgs if o["type"] == "school")
body, st = gms.call("readGroup", sourcedId=school["sourcedId"])
rec = body.groupRecord
rec.group.description.shortDescription = "Zeep High"
body, st = gms.call("replaceGroup", sourcedId=school["sourcedId"], groupRecord=rec)
ok(st.imsx_codeMajor == "success", "replaceGroup: " + str(st.imsx_description))
after = rest("/orgs/" + school["sourcedId"])["org"]
ok(after["name"] == "Zeep High" and after["type"] == "school", "replaceGroup visible over REST")
ok(after.get("parent") == school.get("parent"), "replaceGroup keeps the parent")

# Outcomes: line items and results are the REST gradebook's.
G12 = BASE + "/ims/oneroster/gradebook/v1p2"
OMS = "/lis/v2p0/OutcomesManagementService"
items = Service(OMS, "LineItemManagerSyncSoapPort")
results = Service(OMS, "ResultManagerSyncSoapPort")
values = Service(OMS, "ResultValueManagerSyncSoapPort")
rest_items = rest("/lineItems?limit=10000", G12)["lineItems"]
body, st = items.call("readAllLineItemIds")
ok(sorted(body.sourcedIdSet.sourcedId) == sorted(l["sourcedId"] for l in rest_items), "readAllLineItemIds equals GET /lineItems")
li = rest_items[0]
body, st = items.call("readLineItem", sourcedId=li["sourcedId"])
got = body.lineItemRecord.lineItem
ok(got.label == li["title"], "line item title")
ok(got.context.contextIdentifier == li["class"]["sourcedId"], "line item class")
ok(got.lineItemType.lineItemTypeValue.textString == li["category"]["sourcedId"], "line item category")
rest_results = rest("/classes/%s/results?limit=1000" % li["class"]["sourcedId"], G12)["results"]
body, st = results.call("readResultIdsForCourseSection", courseSectionSourcedId=li["class"]["sourcedId"])
ok(sorted(body.sourcedIdSet.sourcedId or []) == sorted(r["sourcedId"] for r in rest_results), "class results equal GET /classes/{id}/results")
res = rest_results[0]
body, st = results.call("readResult", sourcedId=res["sourcedId"])
got = body.resultRecord.result
ok(got.lineItemSourcedId == res["lineItem"]["sourcedId"] and got.personSourcedId == res["student"]["sourcedId"], "result ids")
ok(got.statusofResult.resultStatusValue.textString == res["scoreStatus"], "result status")
# replaceResult with a new score: REST shows it.
rec = body.resultRecord
rec.result.resultScore.textString = "77"
body, st = results.call("replaceResult", sourcedId=res["sourcedId"], resultRecord=rec)
ok(st.imsx_codeMajor == "success", "replaceResult: " + str(st.imsx_description))
ok(rest("/results/" + res["sourcedId"], G12)["result"]["score"] == 77, "replaceResult visible over REST")
body, st = values.call("readResultValue", sourcedId=li["sourcedId"] + ":rv")
ok(body.resultValueRecord.resultValue.valueRange is not None, "a line item's result value is its range")
body, st = values.call("readResultValueIdForLineItem", lineItemSourcedId=li["sourcedId"])
ok(body == li["sourcedId"] + ":rv" or getattr(body, "resultValueSourcedId", None) == li["sourcedId"] + ":rv",
   "readResultValueIdForLineItem")

# replaceMembership: a membership read, written back as it was read, stays the same over REST.
e0 = next(e for e in enrollments if e["status"] == "active")
body, st = mms.call("readMembership", sourcedId=e0["sourcedId"])
body, st = mms.call("replaceMembership", sourcedId=e0["sourcedId"], membershipRecord=body.membershipRecord)
ok(st.imsx_codeMajor == "success", "replaceMembership: " + str(st.imsx_description))
after = rest("/enrollments/" + e0["sourcedId"])["enrollment"]
ok(after["class"] == e0["class"] and after["user"] == e0["user"] and after["role"] == e0["role"],
   "replaceMembership of what was read changes nothing over REST")

# Every operation of every served WSDL, called with an empty request: whatever the status, the
# answer (header and body) is valid against that WSDL's schema.
import uuid
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
every = 0
for svc in (pms, mms, sections, gms, items):
    ops = sorted({op for binding in svc.client.wsdl.bindings.values()
                  for op in binding._operations})
    for op in ops:
        env = ('<s:Envelope xmlns:s="%s" xmlns:x="%s"><s:Header><x:imsx_syncRequestHeaderInfo>'
               '<x:imsx_version>V1.0</x:imsx_version><x:imsx_messageIdentifier>%s</x:imsx_messageIdentifier>'
               '</x:imsx_syncRequestHeaderInfo></s:Header><s:Body><x:%sRequest/></s:Body></s:Envelope>'
               % (SOAP_ENV, svc.ns, uuid.uuid4(), op))
        r = requests.post(svc.url, data=env.encode(), auth=(CID, SECRET),
                          headers={"Content-Type": "text/xml; charset=utf-8"})
        ok(r.status_code == 200, "%s: HTTP %d" % (op, r.status_code))
        root = etree.fromstring(r.content)
        head = root.find("{%s}Header" % SOAP_ENV)[0]
        resp = root.find("{%s}Body" % SOAP_ENV)[0]
        ok(etree.QName(resp).localname == op + "Response", op + ": its own response element")
        for part in (head, resp):
            errors = list(svc.schema.iter_errors(etree.tostring(part).decode()))
            ok(not errors, "%s empty-request answer %s does not validate: %s" % (op, etree.QName(part).localname, errors[:1]))
        every += 1
ok(every == 148, "every operation of the five services called (%d)" % every)

print("LIS zeep check: %d checks passed (PMS %d, MMS %d, CMS %d, GMS %d, OMS %d calls, every response schema-valid)" % (
    checks, pms.n, mms.n, sections.n + offerings.n + templates.n, gms.n, items.n + results.n + values.n))
