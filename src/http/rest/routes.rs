//! The route tables of the OneRoster REST services: every read of 1.1 and 1.2 as data
//! (operation id, path, entity, wrapper key, scopes, and which records it reads), one table
//! per service ([`ROSTERING`], [`RESOURCES`]). The server registers one generic handler per
//! service base path and version; nothing here knows HTTP.
//!
//! 1.1 and 1.2 rostering have the same 41 operations on the same paths (only the path
//! parameter names differ), so one table serves both versions under their base paths. 1.1
//! puts every service under one base path; 1.2 gives each its own. A row may exist in one
//! version only (`/users/{id}/resources` is new in 1.2).

use crate::model::catalog::Entity;
use crate::roster::Where;

/// A OneRoster REST version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    V1p1,
    V1p2,
}

impl Api {
    pub const ALL: [Api; 2] = [Api::V1p1, Api::V1p2];

    /// The REST binding of a OneRoster `version`.
    pub fn of(version: crate::model::catalog::Version) -> Api {
        match version {
            crate::model::catalog::Version::V1_1 => Api::V1p1,
            crate::model::catalog::Version::V1_2 => Api::V1p2,
        }
    }

    /// Base path of the rostering service.
    pub fn base(self) -> &'static str {
        self.base_of(Service::Rostering)
    }

    /// Base path of `service` in this version (1.1: one for all).
    pub fn base_of(self, service: Service) -> &'static str {
        match (self, service) {
            (Api::V1p1, _) => super::render::V1P1,
            (Api::V1p2, Service::Rostering) => super::render::V1P2_ROSTERING,
            (Api::V1p2, Service::Gradebook) => super::render::V1P2_GRADEBOOK,
            (Api::V1p2, Service::Resources) => super::render::V1P2_RESOURCES,
        }
    }

    /// Prefix of this version's scope URIs.
    pub fn scope_prefix(self) -> &'static str {
        match self {
            Api::V1p1 => crate::auth::scopes::V1P1,
            Api::V1p2 => crate::auth::scopes::V1P2,
        }
    }
}

/// A OneRoster REST service (1.2 serves each under its own base path; 1.1 all under one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Rostering,
    Gradebook,
    Resources,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Rostering, Service::Gradebook, Service::Resources];

    /// The service that serves `e` (GUIDRef hrefs on 1.2 point at it).
    pub fn of(e: Entity) -> Service {
        match e {
            Entity::Resources => Service::Resources,
            Entity::Categories
            | Entity::LineItems
            | Entity::Results
            | Entity::ScoreScales
            | Entity::AssessmentLineItems
            | Entity::AssessmentResults => Service::Gradebook,
            _ => Service::Rostering,
        }
    }

    /// The service's route table.
    pub fn routes(self) -> &'static [Route] {
        match self {
            Service::Rostering => ROSTERING,
            Service::Gradebook => GRADEBOOK,
            Service::Resources => RESOURCES,
        }
    }

    /// The services served under `api`'s base path `base` (1.1: every service).
    pub fn under(api: Api, service: Service) -> &'static [Service] {
        match (api, service) {
            (Api::V1p1, _) => &Service::ALL,
            (Api::V1p2, Service::Rostering) => &[Service::Rostering],
            (Api::V1p2, Service::Gradebook) => &[Service::Gradebook],
            (Api::V1p2, Service::Resources) => &[Service::Resources],
        }
    }
}

/// Which records an operation reads, beyond "all of the entity".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    All,
    /// `t.type = …` (`/schools`, `/terms`, `/gradingPeriods`).
    Type(&'static str),
    /// Users holding this role at some org (`/students`, `/teachers`).
    Role(&'static str),
    /// A nested collection (ONEROSTER.md §2.6).
    Nested(Nested),
}

/// The nested collections of §2.6; the parameters are the path's ids in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nested {
    /// `/schools/{s}/courses`
    SchoolCourses,
    /// `/schools/{s}/classes`
    SchoolClasses,
    /// `/schools/{s}/enrollments`
    SchoolEnrollments,
    /// `/schools/{s}/students|teachers`
    SchoolUsers(&'static str),
    /// `/schools/{s}/terms`
    SchoolTerms,
    /// `/schools/{s}/classes/{c}/enrollments`
    SchoolClassEnrollments,
    /// `/schools/{s}/classes/{c}/students|teachers`
    SchoolClassUsers(&'static str),
    /// `/classes/{c}/students|teachers`
    ClassUsers(&'static str),
    /// `/terms/{t}/classes`
    TermClasses,
    /// `/terms/{t}/gradingPeriods`
    TermGradingPeriods,
    /// `/courses/{c}/classes`
    CourseClasses,
    /// `/users/{u}/classes` (any role), `/students/{u}/classes`, `/teachers/{u}/classes`
    UserClasses(Option<&'static str>),
    /// `/classes/{c}/resources`, `/courses/{c}/resources`, `/users/{u}/resources`: the
    /// resources its active link rows (this association entity) name.
    ResourcesOf(Entity),
    /// `/classes/{c}/categories`: the categories of the class's line items.
    ClassCategories,
    /// `/classes/{c}/lineItems`, `/classes/{c}/scoreScales`: the records whose class is c.
    OfClass,
    /// `/classes/{c}/results`: the results of the class's line items.
    ClassResults,
    /// `/classes/{c}/lineItems/{l}/results`: the results of line item l (of class c).
    ClassLineItemResults,
    /// `/classes/{c}/students/{s}/results`: student s's results in class c's line items.
    ClassStudentResults,
    /// `/schools/{s}/scoreScales`: the score scales of the school or of its classes.
    SchoolScoreScales,
    /// POST `/schools/{s}/lineItems`: line items whose school is s.
    SchoolLineItems,
    /// POST `/lineItems/{l}/results`: results of line item l.
    LineItemResults,
    /// POST `/classes/{c}/academicSessions/{a}/results`: results in class c of line items of
    /// session a.
    ClassSessionResults,
}

/// Scopes (short names; the version's prefix is added) of the core top-level reads.
const CORE: &[&str] = &["roster-core.readonly", "roster.readonly"];
const ROSTER: &[&str] = &["roster.readonly"];
const DEMOGRAPHICS: &[&str] = &["roster-demographics.readonly"];
/// Resources: the top-level reads (1.1 has no `resource-core` scope; its clients hold
/// `resource.readonly`), and the nested ones.
const RESOURCE_CORE: &[&str] = &["resource-core.readonly", "resource.readonly"];
const RESOURCE: &[&str] = &["resource.readonly"];
/// Gradebook reads: the top-level ones (1.1 has no `gradebook-core`), and the nested ones.
const GRADEBOOK_CORE: &[&str] = &["gradebook-core.readonly", "gradebook.readonly"];
const GRADEBOOK_READ: &[&str] = &["gradebook.readonly"];
/// Gradebook writes (1.1 has no POST).
const CREATEPUT: &[&str] = &["gradebook.createput"];
const CREATEPOST: &[&str] = &["gradebook.createpost"];
const DELETE: &[&str] = &["gradebook.delete"];
/// The assessment results profile (1.2 only).
const ASSESSMENT_READ: &[&str] = &["assessment.readonly"];
const ASSESSMENT_PUT: &[&str] = &["assessment.createput"];
const ASSESSMENT_DELETE: &[&str] = &["assessment.delete"];

/// The HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    /// Create or replace one record (the path's `sourcedId`).
    Put,
    /// Tombstone one record.
    Delete,
    /// Create a batch of records under the path's parent, with ids the server allocates.
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Post => "POST",
        }
    }

    pub fn parse(m: &str) -> Option<Method> {
        [Method::Get, Method::Put, Method::Delete, Method::Post]
            .into_iter()
            .find(|x| x.as_str() == m)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    pub operation: &'static str,
    /// Path under the version's base, with `{…}` parameters (1.2 names).
    pub path: &'static str,
    pub entity: Entity,
    /// Response wrapper key.
    pub key: &'static str,
    /// A single record (`{key: {…}}`, the path's last id) rather than a collection; for a
    /// write, a PUT or DELETE of the path's record.
    pub single: bool,
    pub scopes: &'static [&'static str],
    pub view: View,
    /// The only version that has this operation (`None`: both).
    pub only: Option<Api>,
}

const fn route(
    single: bool,
    operation: &'static str,
    path: &'static str,
    entity: Entity,
    key: &'static str,
    scopes: &'static [&'static str],
    view: View,
) -> Route {
    Route {
        method: Method::Get,
        operation,
        path,
        entity,
        key,
        single,
        scopes,
        view,
        only: None,
    }
}

/// A collection read.
const fn coll(
    operation: &'static str,
    path: &'static str,
    entity: Entity,
    key: &'static str,
    scopes: &'static [&'static str],
    view: View,
) -> Route {
    route(false, operation, path, entity, key, scopes, view)
}

/// A single read.
const fn one(
    operation: &'static str,
    path: &'static str,
    entity: Entity,
    key: &'static str,
    scopes: &'static [&'static str],
    view: View,
) -> Route {
    route(true, operation, path, entity, key, scopes, view)
}

use Entity as E;
use Nested as N;
use View as V;

/// Every rostering operation (41), in the order of ONEROSTER.md §2.3.
#[rustfmt::skip]
pub const ROSTERING: &[Route] = &[
    coll("getAllAcademicSessions", "/academicSessions", E::AcademicSessions, "academicSessions", CORE, V::All),
    one("getAcademicSession", "/academicSessions/{sourcedId}", E::AcademicSessions, "academicSession", CORE, V::All),
    coll("getAllClasses", "/classes", E::Classes, "classes", CORE, V::All),
    one("getClass", "/classes/{sourcedId}", E::Classes, "class", CORE, V::All),
    coll("getStudentsForClass", "/classes/{classSourcedId}/students", E::Users, "users", ROSTER, V::Nested(N::ClassUsers("student"))),
    coll("getTeachersForClass", "/classes/{classSourcedId}/teachers", E::Users, "users", ROSTER, V::Nested(N::ClassUsers("teacher"))),
    coll("getAllCourses", "/courses", E::Courses, "courses", CORE, V::All),
    one("getCourse", "/courses/{sourcedId}", E::Courses, "course", CORE, V::All),
    coll("getClassesForCourse", "/courses/{courseSourcedId}/classes", E::Classes, "classes", ROSTER, V::Nested(N::CourseClasses)),
    coll("getAllDemographics", "/demographics", E::Demographics, "demographics", DEMOGRAPHICS, V::All),
    one("getDemographics", "/demographics/{sourcedId}", E::Demographics, "demographics", DEMOGRAPHICS, V::All),
    coll("getAllEnrollments", "/enrollments", E::Enrollments, "enrollments", CORE, V::All),
    one("getEnrollment", "/enrollments/{sourcedId}", E::Enrollments, "enrollment", CORE, V::All),
    coll("getAllGradingPeriods", "/gradingPeriods", E::AcademicSessions, "academicSessions", CORE, V::Type("gradingPeriod")),
    one("getGradingPeriod", "/gradingPeriods/{sourcedId}", E::AcademicSessions, "academicSession", CORE, V::Type("gradingPeriod")),
    coll("getAllOrgs", "/orgs", E::Orgs, "orgs", CORE, V::All),
    one("getOrg", "/orgs/{sourcedId}", E::Orgs, "org", CORE, V::All),
    coll("getAllSchools", "/schools", E::Orgs, "orgs", CORE, V::Type("school")),
    one("getSchool", "/schools/{sourcedId}", E::Orgs, "org", CORE, V::Type("school")),
    coll("getClassesForSchool", "/schools/{schoolSourcedId}/classes", E::Classes, "classes", ROSTER, V::Nested(N::SchoolClasses)),
    coll("getEnrollmentsForClassInSchool", "/schools/{schoolSourcedId}/classes/{classSourcedId}/enrollments", E::Enrollments, "enrollments", ROSTER, V::Nested(N::SchoolClassEnrollments)),
    coll("getStudentsForClassInSchool", "/schools/{schoolSourcedId}/classes/{classSourcedId}/students", E::Users, "users", ROSTER, V::Nested(N::SchoolClassUsers("student"))),
    coll("getTeachersForClassInSchool", "/schools/{schoolSourcedId}/classes/{classSourcedId}/teachers", E::Users, "users", ROSTER, V::Nested(N::SchoolClassUsers("teacher"))),
    coll("getCoursesForSchool", "/schools/{schoolSourcedId}/courses", E::Courses, "courses", ROSTER, V::Nested(N::SchoolCourses)),
    coll("getEnrollmentsForSchool", "/schools/{schoolSourcedId}/enrollments", E::Enrollments, "enrollments", ROSTER, V::Nested(N::SchoolEnrollments)),
    coll("getStudentsForSchool", "/schools/{schoolSourcedId}/students", E::Users, "users", ROSTER, V::Nested(N::SchoolUsers("student"))),
    coll("getTeachersForSchool", "/schools/{schoolSourcedId}/teachers", E::Users, "users", ROSTER, V::Nested(N::SchoolUsers("teacher"))),
    coll("getTermsForSchool", "/schools/{schoolSourcedId}/terms", E::AcademicSessions, "academicSessions", ROSTER, V::Nested(N::SchoolTerms)),
    coll("getAllStudents", "/students", E::Users, "users", CORE, V::Role("student")),
    one("getStudent", "/students/{sourcedId}", E::Users, "user", CORE, V::Role("student")),
    coll("getClassesForStudent", "/students/{studentSourcedId}/classes", E::Classes, "classes", ROSTER, V::Nested(N::UserClasses(Some("student")))),
    coll("getAllTeachers", "/teachers", E::Users, "users", CORE, V::Role("teacher")),
    one("getTeacher", "/teachers/{sourcedId}", E::Users, "user", CORE, V::Role("teacher")),
    coll("getClassesForTeacher", "/teachers/{teacherSourcedId}/classes", E::Classes, "classes", ROSTER, V::Nested(N::UserClasses(Some("teacher")))),
    coll("getAllTerms", "/terms", E::AcademicSessions, "academicSessions", CORE, V::Type("term")),
    one("getTerm", "/terms/{sourcedId}", E::AcademicSessions, "academicSession", CORE, V::Type("term")),
    coll("getClassesForTerm", "/terms/{termSourcedId}/classes", E::Classes, "classes", ROSTER, V::Nested(N::TermClasses)),
    coll("getGradingPeriodsForTerm", "/terms/{termSourcedId}/gradingPeriods", E::AcademicSessions, "academicSessions", ROSTER, V::Nested(N::TermGradingPeriods)),
    coll("getAllUsers", "/users", E::Users, "users", CORE, V::All),
    one("getUser", "/users/{sourcedId}", E::Users, "user", CORE, V::All),
    coll("getClassesForUser", "/users/{userSourcedId}/classes", E::Classes, "classes", ROSTER, V::Nested(N::UserClasses(None))),
];

/// A PUT (create or replace) of one record.
const fn put(
    operation: &'static str,
    path: &'static str,
    entity: Entity,
    key: &'static str,
    scopes: &'static [&'static str],
) -> Route {
    Route {
        method: Method::Put,
        ..one(operation, path, entity, key, scopes, V::All)
    }
}

/// A DELETE of one record.
const fn delete(
    operation: &'static str,
    path: &'static str,
    entity: Entity,
    scopes: &'static [&'static str],
) -> Route {
    Route {
        method: Method::Delete,
        ..one(operation, path, entity, "", scopes, V::All)
    }
}

/// A POST of a batch (`{key: [...]}`) under the parent `view` names.
const fn post(
    operation: &'static str,
    path: &'static str,
    entity: Entity,
    key: &'static str,
    scopes: &'static [&'static str],
    view: View,
) -> Route {
    Route {
        method: Method::Post,
        ..coll(operation, path, entity, key, scopes, view)
    }
}

/// A 1.2-only operation.
const fn v1p2(r: Route) -> Route {
    Route {
        only: Some(Api::V1p2),
        ..r
    }
}

/// Every resources operation: 1.2's five (ONEROSTER.md §2.5), of which 1.1 has all but
/// `/users/{id}/resources`.
#[rustfmt::skip]
pub const RESOURCES: &[Route] = &[
    coll("getAllResources", "/resources", E::Resources, "resources", RESOURCE_CORE, V::All),
    one("getResource", "/resources/{sourcedId}", E::Resources, "resource", RESOURCE_CORE, V::All),
    coll("getResourcesForClass", "/classes/{classSourcedId}/resources", E::Resources, "resources", RESOURCE, V::Nested(N::ResourcesOf(E::ClassResources))),
    coll("getResourcesForCourse", "/courses/{courseSourcedId}/resources", E::Resources, "resources", RESOURCE, V::Nested(N::ResourcesOf(E::CourseResources))),
    v1p2(coll("getResourcesForUser", "/users/{userSourcedId}/resources", E::Resources, "resources", RESOURCE, V::Nested(N::ResourcesOf(E::UserResources)))),
];

/// Every gradebook operation: 1.2's 35 (ONEROSTER.md §2.4: 15 reads, eight PUTs and DELETEs,
/// four POSTs, and the assessment results profile's eight), of which 1.1 has the categories,
/// line items and results (reads, PUT, DELETE) and the nested reads of classes.
#[rustfmt::skip]
pub const GRADEBOOK: &[Route] = &[
    coll("getAllCategories", "/categories", E::Categories, "categories", GRADEBOOK_CORE, V::All),
    one("getCategory", "/categories/{sourcedId}", E::Categories, "category", GRADEBOOK_CORE, V::All),
    coll("getAllLineItems", "/lineItems", E::LineItems, "lineItems", GRADEBOOK_CORE, V::All),
    one("getLineItem", "/lineItems/{sourcedId}", E::LineItems, "lineItem", GRADEBOOK_CORE, V::All),
    coll("getAllResults", "/results", E::Results, "results", GRADEBOOK_CORE, V::All),
    one("getResult", "/results/{sourcedId}", E::Results, "result", GRADEBOOK_CORE, V::All),
    v1p2(coll("getAllScoreScales", "/scoreScales", E::ScoreScales, "scoreScales", GRADEBOOK_CORE, V::All)),
    v1p2(one("getScoreScale", "/scoreScales/{sourcedId}", E::ScoreScales, "scoreScale", GRADEBOOK_CORE, V::All)),
    // Not in 1.1, served there too: Google's (retired) 1.1 suite calls it.
    coll("getCategoriesForClass", "/classes/{classSourcedId}/categories", E::Categories, "categories", GRADEBOOK_READ, V::Nested(N::ClassCategories)),
    coll("getLineItemsForClass", "/classes/{classSourcedId}/lineItems", E::LineItems, "lineItems", GRADEBOOK_READ, V::Nested(N::OfClass)),
    coll("getResultsForLineItemForClass", "/classes/{classSourcedId}/lineItems/{lineItemSourcedId}/results", E::Results, "results", GRADEBOOK_READ, V::Nested(N::ClassLineItemResults)),
    coll("getResultsForClass", "/classes/{classSourcedId}/results", E::Results, "results", GRADEBOOK_READ, V::Nested(N::ClassResults)),
    v1p2(coll("getScoreScalesForClass", "/classes/{classSourcedId}/scoreScales", E::ScoreScales, "scoreScales", GRADEBOOK_READ, V::Nested(N::OfClass))),
    coll("getResultsForStudentForClass", "/classes/{classSourcedId}/students/{studentSourcedId}/results", E::Results, "results", GRADEBOOK_READ, V::Nested(N::ClassStudentResults)),
    v1p2(coll("getScoreScalesForSchool", "/schools/{schoolSourcedId}/scoreScales", E::ScoreScales, "scoreScales", GRADEBOOK_READ, V::Nested(N::SchoolScoreScales))),
    put("putCategory", "/categories/{sourcedId}", E::Categories, "category", CREATEPUT),
    delete("deleteCategory", "/categories/{sourcedId}", E::Categories, DELETE),
    put("putLineItem", "/lineItems/{sourcedId}", E::LineItems, "lineItem", CREATEPUT),
    delete("deleteLineItem", "/lineItems/{sourcedId}", E::LineItems, DELETE),
    put("putResult", "/results/{sourcedId}", E::Results, "result", CREATEPUT),
    delete("deleteResult", "/results/{sourcedId}", E::Results, DELETE),
    v1p2(put("putScoreScale", "/scoreScales/{sourcedId}", E::ScoreScales, "scoreScale", CREATEPUT)),
    v1p2(delete("deleteScoreScale", "/scoreScales/{sourcedId}", E::ScoreScales, DELETE)),
    v1p2(post("postLineItemsForClass", "/classes/{classSourcedId}/lineItems", E::LineItems, "lineItems", CREATEPOST, V::Nested(N::OfClass))),
    v1p2(post("postLineItemsForSchool", "/schools/{schoolSourcedId}/lineItems", E::LineItems, "lineItems", CREATEPOST, V::Nested(N::SchoolLineItems))),
    v1p2(post("postResultsForLineItem", "/lineItems/{lineItemSourcedId}/results", E::Results, "results", CREATEPOST, V::Nested(N::LineItemResults))),
    v1p2(coll("getAllAssessmentLineItems", "/assessmentLineItems", E::AssessmentLineItems, "assessmentLineItems", ASSESSMENT_READ, V::All)),
    v1p2(one("getAssessmentLineItem", "/assessmentLineItems/{sourcedId}", E::AssessmentLineItems, "assessmentLineItem", ASSESSMENT_READ, V::All)),
    v1p2(put("putAssessmentLineItem", "/assessmentLineItems/{sourcedId}", E::AssessmentLineItems, "assessmentLineItem", ASSESSMENT_PUT)),
    v1p2(delete("deleteAssessmentLineItem", "/assessmentLineItems/{sourcedId}", E::AssessmentLineItems, ASSESSMENT_DELETE)),
    v1p2(coll("getAllAssessmentResults", "/assessmentResults", E::AssessmentResults, "assessmentResults", ASSESSMENT_READ, V::All)),
    v1p2(one("getAssessmentResult", "/assessmentResults/{sourcedId}", E::AssessmentResults, "assessmentResult", ASSESSMENT_READ, V::All)),
    v1p2(put("putAssessmentResult", "/assessmentResults/{sourcedId}", E::AssessmentResults, "assessmentResult", ASSESSMENT_PUT)),
    v1p2(delete("deleteAssessmentResult", "/assessmentResults/{sourcedId}", E::AssessmentResults, ASSESSMENT_DELETE)),
    v1p2(post("postResultsForAcademicSessionForClass", "/classes/{classSourcedId}/academicSessions/{academicSessionSourcedId}/results", E::Results, "results", CREATEPOST, V::Nested(N::ClassSessionResults))),
];

/// The route of `api` under `service`'s base path matching `tail` (the path after the base,
/// without its leading `/`) and the path's ids in order. Ids are percent-decoded.
pub fn find_in(
    api: Api,
    service: Service,
    method: Method,
    tail: &str,
) -> Option<(&'static Route, Vec<String>)> {
    matching(api, service, tail).find(|(r, _)| r.method == method)
}

/// The methods `tail` answers to under `service`'s base path in `api` (for `Allow`).
pub fn methods_at(api: Api, service: Service, tail: &str) -> Vec<Method> {
    let mut methods: Vec<Method> = Vec::new();
    for (r, _) in matching(api, service, tail) {
        if !methods.contains(&r.method) {
            methods.push(r.method);
        }
    }
    methods
}

/// Every route of `api` under `service`'s base path matching `tail`, with the path's ids.
fn matching(
    api: Api,
    service: Service,
    tail: &str,
) -> impl Iterator<Item = (&'static Route, Vec<String>)> + '_ {
    let segs: Vec<&str> = tail.trim_start_matches('/').split('/').collect();
    Service::under(api, service)
        .iter()
        .flat_map(|s| s.routes())
        .filter(move |r| r.only.is_none_or(|v| v == api))
        .filter_map(move |route| route_ids(route, &segs).map(|ids| (route, ids)))
}

/// The path's ids when `segs` match `route`'s path.
fn route_ids(route: &Route, segs: &[&str]) -> Option<Vec<String>> {
    let pattern = route.path.trim_start_matches('/').split('/');
    if pattern.clone().count() != segs.len() {
        return None;
    }
    let mut ids = Vec::new();
    for (p, s) in pattern.zip(segs) {
        if p.starts_with('{') {
            if s.is_empty() {
                return None;
            }
            ids.push(crate::auth::oauth1::decode(s));
        } else if p != *s {
            return None;
        }
    }
    Some(ids)
}

/// The path parameter names of a route, in order.
pub fn params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

impl Route {
    /// The conditions selecting this route's records, given the path's ids in order.
    pub fn conds(&self, ids: &[String]) -> Vec<Where> {
        let id = |i: usize| ids.get(i).cloned().unwrap_or_default();
        let role = |r: &str| r.to_string();
        match self.view {
            V::All => Vec::new(),
            V::Type(t) => vec![Where::Is("type", t.into())],
            V::Role(r) => vec![Where::HasRole(role(r))],
            V::Nested(n) => match n {
                N::SchoolCourses => vec![Where::Is("orgSourcedId", id(0))],
                N::SchoolClasses | N::SchoolEnrollments => {
                    vec![Where::Is("schoolSourcedId", id(0))]
                }
                N::SchoolUsers(r) => vec![Where::HasRoleAt {
                    org: id(0),
                    role: role(r),
                }],
                N::SchoolTerms => vec![
                    Where::Is("type", "term".into()),
                    Where::TermsOfSchool(id(0)),
                ],
                N::SchoolClassEnrollments => vec![Where::Is("classSourcedId", id(1))],
                N::SchoolClassUsers(r) => vec![Where::EnrolledIn {
                    class: id(1),
                    role: role(r),
                }],
                N::ClassUsers(r) => vec![Where::EnrolledIn {
                    class: id(0),
                    role: role(r),
                }],
                N::TermClasses => vec![Where::ClassesInTerm(id(0))],
                N::TermGradingPeriods => vec![
                    Where::Is("type", "gradingPeriod".into()),
                    Where::Is("parentSourcedId", id(0)),
                ],
                N::CourseClasses => vec![Where::Is("courseSourcedId", id(0))],
                N::UserClasses(r) => vec![Where::ClassesOf {
                    user: id(0),
                    role: r.map(role),
                }],
                N::ResourcesOf(link) => vec![Where::ResourcesOf { link, owner: id(0) }],
                N::ClassCategories => vec![Where::CategoriesOfClass(id(0))],
                N::OfClass => vec![Where::Is("classSourcedId", id(0))],
                N::ClassResults => vec![Where::ResultsOfClass(id(0))],
                N::ClassLineItemResults => vec![
                    Where::Is("lineItemSourcedId", id(1)),
                    Where::ResultsOfClass(id(0)),
                ],
                N::ClassStudentResults => vec![
                    Where::Is("studentSourcedId", id(1)),
                    Where::ResultsOfClass(id(0)),
                ],
                N::SchoolScoreScales => vec![Where::ScoreScalesOfSchool(id(0))],
                N::SchoolLineItems => vec![Where::Is("schoolSourcedId", id(0))],
                N::LineItemResults => vec![Where::Is("lineItemSourcedId", id(0))],
                N::ClassSessionResults => vec![Where::ResultsOfClass(id(0))],
            },
        }
    }

    /// The parent records a nested path names, each of which must exist (and be visible):
    /// (entity, index of its id in the path, conditions).
    pub fn parents(&self, ids: &[String]) -> Vec<(Entity, usize, Vec<Where>)> {
        let id = |i: usize| ids.get(i).cloned().unwrap_or_default();
        let V::Nested(n) = self.view else {
            return Vec::new();
        };
        let by_id = |e: Entity, i: usize| (e, i, vec![Where::id(id(i))]);
        match n {
            N::SchoolCourses
            | N::SchoolClasses
            | N::SchoolEnrollments
            | N::SchoolUsers(_)
            | N::SchoolTerms => vec![by_id(E::Orgs, 0)],
            N::SchoolClassEnrollments | N::SchoolClassUsers(_) => vec![
                by_id(E::Orgs, 0),
                (
                    E::Classes,
                    1,
                    vec![Where::id(id(1)), Where::Is("schoolSourcedId", id(0))],
                ),
            ],
            N::ClassUsers(_) => vec![by_id(E::Classes, 0)],
            N::TermClasses | N::TermGradingPeriods => vec![by_id(E::AcademicSessions, 0)],
            N::CourseClasses => vec![by_id(E::Courses, 0)],
            N::UserClasses(_) => vec![by_id(E::Users, 0)],
            N::ResourcesOf(E::ClassResources) => vec![by_id(E::Classes, 0)],
            N::ResourcesOf(E::CourseResources) => vec![by_id(E::Courses, 0)],
            N::ResourcesOf(_) => vec![by_id(E::Users, 0)],
            N::ClassCategories | N::OfClass | N::ClassResults => vec![by_id(E::Classes, 0)],
            N::ClassLineItemResults => vec![
                by_id(E::Classes, 0),
                (
                    E::LineItems,
                    1,
                    vec![Where::id(id(1)), Where::Is("classSourcedId", id(0))],
                ),
            ],
            N::ClassStudentResults => vec![by_id(E::Classes, 0), by_id(E::Users, 1)],
            N::SchoolLineItems => vec![(
                E::Orgs,
                0,
                vec![Where::id(id(0)), Where::Is("type", "school".into())],
            )],
            N::LineItemResults => vec![by_id(E::LineItems, 0)],
            N::ClassSessionResults => vec![by_id(E::Classes, 0), by_id(E::AcademicSessions, 1)],
            N::SchoolScoreScales => vec![(
                E::Orgs,
                0,
                vec![Where::id(id(0)), Where::Is("type", "school".into())],
            )],
        }
    }

    /// The fields a POST's records take from its path (the parent it creates them under).
    pub fn sets(&self, ids: &[String]) -> Vec<(&'static str, String)> {
        let id = |i: usize| ids.get(i).cloned().unwrap_or_default();
        match self.view {
            V::Nested(N::OfClass | N::ClassSessionResults) => vec![("classSourcedId", id(0))],
            V::Nested(N::SchoolLineItems) => vec![("schoolSourcedId", id(0))],
            V::Nested(N::LineItemResults) => vec![("lineItemSourcedId", id(0))],
            _ => Vec::new(),
        }
    }

    /// The scope URIs of which a caller must hold one for this route in `api`.
    pub fn scope_uris(&self, api: Api) -> Vec<String> {
        let prefix = api.scope_prefix();
        self.scopes.iter().map(|s| format!("{prefix}{s}")).collect()
    }

    /// Whether `granted` (scope URIs) allows this route in `api`.
    pub fn allowed(&self, api: Api, granted: &[String]) -> bool {
        self.scope_uris(api).iter().any(|s| granted.contains(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rostering route on 1.2.
    fn find(tail: &str) -> Option<(&'static Route, Vec<String>)> {
        find_in(Api::V1p2, Service::Rostering, Method::Get, tail)
    }

    #[test]
    fn forty_one_operations_with_unique_ids_and_paths() {
        assert_eq!(ROSTERING.len(), 41);
        let mut ops: Vec<_> = ROSTERING.iter().map(|r| r.operation).collect();
        ops.sort();
        ops.dedup();
        assert_eq!(ops.len(), 41);
        for r in ROSTERING {
            assert_eq!(r.single, r.path.ends_with("{sourcedId}"), "{}", r.operation);
            let nested = matches!(r.view, View::Nested(_));
            assert_eq!(
                nested,
                params(r.path).len() > usize::from(r.single) && !r.single
            );
        }
    }

    #[test]
    fn paths_find_their_operation_and_ids() {
        let found = find("schools/s%201/classes/k1/students");
        let Some((r, ids)) = found else {
            panic!("no match")
        };
        assert_eq!(r.operation, "getStudentsForClassInSchool");
        assert_eq!(ids, ["s 1", "k1"]);
        assert_eq!(find("users").map(|(r, _)| r.operation), Some("getAllUsers"));
        assert_eq!(find("users/u1").map(|(r, _)| r.operation), Some("getUser"));
        assert!(find("users/u1/shoes").is_none());
        assert!(find("users//classes").is_none());
        assert!(find("nothing").is_none());
    }

    #[test]
    fn scopes_are_checked_per_version() {
        let users = ROSTERING.iter().find(|r| r.operation == "getAllUsers");
        let Some(users) = users else {
            panic!("getAllUsers missing")
        };
        let v12 = vec![format!("{}roster-core.readonly", crate::auth::scopes::V1P2)];
        assert!(users.allowed(Api::V1p2, &v12));
        assert!(!users.allowed(Api::V1p1, &v12));
        let demo = vec![format!(
            "{}roster-demographics.readonly",
            crate::auth::scopes::V1P2
        )];
        assert!(!users.allowed(Api::V1p2, &demo));
    }
}
