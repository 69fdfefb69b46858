//! A deterministic synthetic district, written as a OneRoster CSV package: district and schools,
//! school year, terms and grading periods, courses, classes with teachers and students,
//! guardians, administrators, demographics, categories, line items, results and resources.
//! Every row is a pure function of (seed, indices), so nothing is held in memory and the same
//! arguments always give the same bytes. Names carry non-ASCII letters, commas and quotes.

use std::path::Path;

use crate::export::{ExportError, PackageWriter};
use crate::ingest::rows::RowParser;
use crate::ingest::source::Source;
use crate::ingest::{manifest, Diags, Mode};
use crate::model::catalog::{Entity, Version};
use crate::model::record::{Record, Status};

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub schools: u32,
    pub students_per_school: u32,
    pub seed: u64,
    pub version: Version,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("base package: {0}")]
    Base(String),
}

const FIRST: &[&str] = &[
    "José",
    "Zoë",
    "Ngọc Anh",
    "Søren",
    "Łukasz",
    "Aoife",
    "François",
    "Chloé",
    "Björn",
    "Amélie",
    "Liam",
    "Olivia",
    "Noah",
    "Emma",
    "Mateo",
    "Sofía",
    "Aarav",
    "Yuki",
    "Oluwaseun",
    "Fatima",
    "Mia",
    "Ethan",
    "Ava",
    "Lucas",
    "Isabella",
    "Ahmed",
    "Priya",
    "Kai",
    "Nora",
    "Elijah",
];
const FAMILY: &[&str] = &[
    "García",
    "Müller",
    "Nguyễn",
    "O'Connor",
    "Smith, Jr.",
    "Van \"Der\" Berg",
    "Kowalski",
    "Øster",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Martínez",
    "Davis",
    "Rodríguez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Lee",
    "Pérez",
    "Thompson",
    "White",
    "Harris",
    "Sánchez",
    "Clark",
    "Ramírez",
    "Lewis",
];
const SCHOOL_NAMES: &[&str] = &[
    "Roosevelt",
    "Lincoln",
    "Jefferson",
    "Ñuñoa",
    "Washington",
    "Kennedy",
    "Curie",
    "Einstein",
    "Mandela",
    "Yoshida",
    "Brontë",
    "Çelik",
];
const SUBJECTS: &[(&str, &str)] = &[
    ("Mathematics", "MAT"),
    ("English Language Arts", "ELA"),
    ("Science", "SCI"),
    ("Social Studies", "SOC"),
    ("Art", "ART"),
    ("Music", "MUS"),
    ("Physical Education", "PE"),
    ("World Languages", "WLG"),
    ("Computer Science", "CSC"),
    ("Health", "HLT"),
    ("Economics", "ECO"),
    ("Drama", "DRA"),
];
const COURSES_PER_SCHOOL: u32 = 12;
const CLASSES_PER_STUDENT: u32 = 6;
const CLASS_SIZE: u32 = 25;
const SECTIONS_PER_TEACHER: u32 = 5;

/// SplitMix64 over (seed, tag, index): stable forever, unlike a library RNG whose stream may
/// change between releases, which would break the generator's determinism promise.
fn h(seed: u64, tag: u64, i: u64) -> u64 {
    let mut z =
        seed ^ tag.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<'a>(list: &[&'a str], x: u64) -> &'a str {
    list.get((x % list.len() as u64) as usize)
        .copied()
        .unwrap_or("")
}

fn ascii_slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let c = match c {
                'á' | 'à' | 'ä' | 'â' => 'a',
                'é' | 'è' | 'ë' | 'ê' => 'e',
                'í' | 'ï' => 'i',
                'ó' | 'ö' | 'ọ' | 'ø' | 'Ø' => 'o',
                'ú' | 'ü' => 'u',
                'ñ' | 'Ñ' => 'n',
                'ç' | 'Ç' => 'c',
                'ł' | 'Ł' => 'l',
                'ễ' => 'e',
                c => c,
            };
            c.is_ascii_alphanumeric().then(|| c.to_ascii_lowercase())
        })
        .collect()
}

const SY: &str = "sy-2026";
const DISTRICT: &str = "org-district";
/// Fixed timestamp stamped on generated delta rows, so output is deterministic.
const DELTA_TIME: &str = "2026-01-15T12:00:00.000Z";

struct District {
    o: GenerateOptions,
}

impl District {
    fn school(&self, s: u32) -> String {
        format!("org-sch-{s:03}")
    }
    fn sections(&self) -> u32 {
        (self.o.students_per_school * CLASSES_PER_STUDENT / COURSES_PER_SCHOOL)
            .div_ceil(CLASS_SIZE)
            .max(1)
    }
    fn class_id(&self, s: u32, c: u32, k: u32) -> String {
        format!("cls-{s:03}-{c:02}-{k:03}")
    }
    fn teachers(&self) -> u32 {
        (COURSES_PER_SCHOOL * self.sections()).div_ceil(SECTIONS_PER_TEACHER)
    }
    /// The (course, section) pairs of student `i`.
    fn student_classes(&self, i: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        let n = self.sections();
        (0..CLASSES_PER_STUDENT).map(move |j| {
            let c = (i + 2 * j) % COURSES_PER_SCHOOL;
            (c, (i / COURSES_PER_SCHOOL + j) % n)
        })
    }
    fn name(&self, tag: u64, idx: u64) -> (String, String) {
        let seed = self.o.seed;
        (
            pick(FIRST, h(seed, tag, idx)).to_string(),
            pick(FAMILY, h(seed, tag + 1, idx)).to_string(),
        )
    }

    fn user(&self, id: &str, tag: u64, idx: u64, grade: Option<&str>) -> Record {
        let (given, family) = self.name(tag, idx);
        let slug = format!("{}.{}{}", ascii_slug(&given), ascii_slug(&family), idx);
        let mut u = Record::new(Entity::Users, id);
        u.set("enabledUser", "true")
            .set("username", slug.clone())
            .set(
                "userIds",
                format!("{{LDAP:{}}}", h(self.o.seed, tag + 2, idx) % 10_000_000),
            )
            .set("givenName", given)
            .set("familyName", family)
            .set("identifier", format!("{}", 100_000 + idx))
            .set("email", format!("{slug}@lakeview.example.org"));
        if let Some(g) = grade {
            u.set("grades", g);
        }
        u
    }

    fn role(&self, user: &str, org: &str, role: &str) -> Record {
        let mut r = Record::new(Entity::Roles, format!("role-{user}"));
        r.set("userSourcedId", user)
            .set("roleType", "primary")
            .set("role", role)
            .set("orgSourcedId", org);
        r
    }
}

/// Write a bulk package; returns rows per file.
pub fn generate(out: &Path, opts: &GenerateOptions) -> Result<Vec<(Entity, u64)>, GenerateError> {
    let d = District { o: opts.clone() };
    let v12 = opts.version == Version::V1_2;
    let mut pw = PackageWriter::create(out, opts.version)?;
    let mut summary = Vec::new();
    let seed = opts.seed;
    let schools = opts.schools.max(1);
    let m = opts.students_per_school;
    let sections = d.sections();

    // orgs
    let mut f = pw.file(Entity::Orgs, Mode::Bulk, &["address".to_string()])?;
    let mut r = Record::new(Entity::Orgs, DISTRICT);
    r.set("name", "Lakeview Unified School District")
        .set("type", "district")
        .set("identifier", "0600001");
    r.metadata
        .insert("address".into(), "1 Lake Road, Lakeview".into());
    f.write(&r, &[])?;
    for s in 0..schools {
        let mut r = Record::new(Entity::Orgs, d.school(s));
        let level = ["High", "Middle", "Elementary"][(s % 3) as usize];
        r.set(
            "name",
            format!("{} {level} School #{s}", pick(SCHOOL_NAMES, s as u64)),
        )
        .set("type", "school")
        .set("identifier", format!("06{:05}", 1000 + s))
        .set("parentSourcedId", DISTRICT);
        r.metadata.insert(
            "address".into(),
            format!("{} Main St., \"Campus {s}\"", 100 + s),
        );
        f.write(&r, &[])?;
    }
    summary.push((Entity::Orgs, f.finish()?));

    // academic sessions
    let mut f = pw.file(Entity::AcademicSessions, Mode::Bulk, &[])?;
    let sess = |id: &str, title: &str, ty: &str, a: &str, b: &str, parent: &str| {
        let mut r = Record::new(Entity::AcademicSessions, id);
        r.set("title", title)
            .set("type", ty)
            .set("startDate", a)
            .set("endDate", b)
            .set("parentSourcedId", parent)
            .set("schoolYear", "2026");
        r
    };
    f.write(
        &sess(
            SY,
            "2025-2026",
            "schoolYear",
            "2025-08-18",
            "2026-06-13",
            "",
        ),
        &[],
    )?;
    f.write(
        &sess(
            "term-2026-1",
            "Fall 2025",
            "term",
            "2025-08-18",
            "2026-01-17",
            SY,
        ),
        &[],
    )?;
    f.write(
        &sess(
            "term-2026-2",
            "Spring 2026",
            "term",
            "2026-01-20",
            "2026-06-13",
            SY,
        ),
        &[],
    )?;
    for (i, (a, b, t)) in [
        ("2025-08-18", "2025-10-25", 1),
        ("2025-10-27", "2026-01-17", 1),
        ("2026-01-20", "2026-03-28", 2),
        ("2026-03-30", "2026-06-13", 2),
    ]
    .iter()
    .enumerate()
    {
        f.write(
            &sess(
                &format!("gp-2026-{}", i + 1),
                &format!("Quarter {}", i + 1),
                "gradingPeriod",
                a,
                b,
                &format!("term-2026-{t}"),
            ),
            &[],
        )?;
    }
    summary.push((Entity::AcademicSessions, f.finish()?));

    // courses
    let mut f = pw.file(Entity::Courses, Mode::Bulk, &[])?;
    for s in 0..schools {
        for c in 0..COURSES_PER_SCHOOL {
            let (subj, code) = SUBJECTS[c as usize % SUBJECTS.len()];
            let mut r = Record::new(Entity::Courses, format!("crs-{s:03}-{c:02}"));
            r.set("schoolYearSourcedId", SY)
                .set("title", format!("{subj} {}", 9 + c % 4))
                .set("courseCode", format!("{code}{}", 100 + c))
                .set("grades", format!("{:02}", 9 + c % 4))
                .set("orgSourcedId", d.school(s))
                .set("subjects", subj)
                .set("subjectCodes", code);
            f.write(&r, &[])?;
        }
    }
    summary.push((Entity::Courses, f.finish()?));

    // classes
    let mut f = pw.file(Entity::Classes, Mode::Bulk, &[])?;
    for s in 0..schools {
        for c in 0..COURSES_PER_SCHOOL {
            let (subj, code) = SUBJECTS[c as usize % SUBJECTS.len()];
            for k in 0..sections {
                let mut r = Record::new(Entity::Classes, d.class_id(s, c, k));
                let terms = if c % 3 == 0 {
                    "term-2026-1,term-2026-2"
                } else if c % 3 == 1 {
                    "term-2026-1"
                } else {
                    "term-2026-2"
                };
                r.set("title", format!("{subj} {} - Section {}", 9 + c % 4, k + 1))
                    .set("grades", format!("{:02}", 9 + c % 4))
                    .set("courseSourcedId", format!("crs-{s:03}-{c:02}"))
                    .set("classCode", format!("{code}{}-{k}", 100 + c))
                    .set(
                        "classType",
                        if c == 0 && k == 0 {
                            "homeroom"
                        } else {
                            "scheduled"
                        },
                    )
                    .set("location", format!("Room {}", 100 + (k * 7 + c) % 300))
                    .set("schoolSourcedId", d.school(s))
                    .set("termSourcedIds", terms)
                    .set("subjects", subj)
                    .set("subjectCodes", code)
                    .set("periods", format!("{}", 1 + (k + c) % 8));
                f.write(&r, &[])?;
            }
        }
    }
    summary.push((Entity::Classes, f.finish()?));

    // users (+ roles in 1.2); 1.1 users carry role and orgSourcedIds through their roles
    let teachers = d.teachers();
    let user_rows = |each: &mut dyn FnMut(Record, Record) -> Result<(), ExportError>| -> Result<(), ExportError> {
        let mut admin = d.user("usr-admin-district", 10, 0, None);
        admin.set("primaryOrgSourcedId", DISTRICT);
        let role = d.role("usr-admin-district", DISTRICT, "districtAdministrator");
        each(admin, role)?;
        for s in 0..schools {
            let school = d.school(s);
            let id = format!("usr-prin-{s:03}");
            let mut u = d.user(&id, 20, s as u64, None);
            u.set("primaryOrgSourcedId", school.clone());
            each(u, d.role(&id, &school, "principal"))?;
            for t in 0..teachers {
                let id = format!("usr-tch-{s:03}-{t:04}");
                let mut u = d.user(&id, 30, (s * 100_000 + t) as u64, None);
                u.set("primaryOrgSourcedId", school.clone());
                each(u, d.role(&id, &school, "teacher"))?;
            }
            for i in 0..m {
                let idx = (s as u64) * 1_000_000 + i as u64;
                let stu = format!("usr-stu-{s:03}-{i:05}");
                let gdn = format!("usr-gdn-{s:03}-{i:05}");
                let grade = format!("{:02}", 9 + i % 4);
                let mut u = d.user(&stu, 40, idx, Some(&grade));
                u.set("primaryOrgSourcedId", school.clone()).set("agentSourcedIds", gdn.clone());
                if h(seed, 45, idx) % 5 == 0 {
                    u.set("middleName", pick(FIRST, h(seed, 46, idx)));
                }
                if v12 && h(seed, 47, idx) % 7 == 0 {
                    u.set("pronouns", "they/them").set("preferredGivenName", pick(FIRST, h(seed, 48, idx)));
                }
                each(u, d.role(&stu, &school, "student"))?;
                let mut g = d.user(&gdn, 50, idx, None);
                g.set("primaryOrgSourcedId", school.clone()).set("agentSourcedIds", stu.clone());
                each(g, d.role(&gdn, &school, "guardian"))?;
            }
        }
        Ok(())
    };
    {
        let mut f = pw.file(Entity::Users, Mode::Bulk, &[])?;
        user_rows(&mut |mut u, r| {
            if !v12 {
                u.set("primaryOrgSourcedId", "");
            }
            f.write(&u, std::slice::from_ref(&r))
        })?;
        summary.push((Entity::Users, f.finish()?));
    }
    if v12 {
        let mut f = pw.file(Entity::Roles, Mode::Bulk, &[])?;
        user_rows(&mut |_, r| f.write(&r, &[]))?;
        summary.push((Entity::Roles, f.finish()?));
    }

    // enrollments
    let mut f = pw.file(Entity::Enrollments, Mode::Bulk, &[])?;
    for s in 0..schools {
        for c in 0..COURSES_PER_SCHOOL {
            for k in 0..sections {
                let t = (c * sections + k) / SECTIONS_PER_TEACHER;
                let cls = d.class_id(s, c, k);
                let mut r = Record::new(Entity::Enrollments, format!("enr-{cls}-t"));
                r.set("classSourcedId", cls.clone())
                    .set("schoolSourcedId", d.school(s))
                    .set("userSourcedId", format!("usr-tch-{s:03}-{t:04}"))
                    .set("role", "teacher")
                    .set("primary", "true")
                    .set("beginDate", "2025-08-18");
                f.write(&r, &[])?;
            }
        }
        for i in 0..m {
            for (j, (c, k)) in d.student_classes(i).enumerate() {
                let mut r = Record::new(Entity::Enrollments, format!("enr-{s:03}-{i:05}-{j}"));
                r.set("classSourcedId", d.class_id(s, c, k))
                    .set("schoolSourcedId", d.school(s))
                    .set("userSourcedId", format!("usr-stu-{s:03}-{i:05}"))
                    .set("role", "student")
                    .set("beginDate", "2025-08-18");
                f.write(&r, &[])?;
            }
        }
    }
    summary.push((Entity::Enrollments, f.finish()?));

    // demographics
    let mut f = pw.file(Entity::Demographics, Mode::Bulk, &[])?;
    for s in 0..schools {
        for i in 0..m {
            let idx = (s as u64) * 1_000_000 + i as u64;
            let x = h(seed, 60, idx);
            let mut r = Record::new(Entity::Demographics, format!("usr-stu-{s:03}-{i:05}"));
            let year = 2008 + (i % 4) as u64 + x % 2;
            r.set(
                "birthDate",
                format!("{year}-{:02}-{:02}", 1 + x % 12, 1 + (x >> 8) % 28),
            )
            .set(
                "sex",
                if v12 {
                    ["male", "female", "other", "unspecified"][(x >> 16) as usize % 4]
                } else {
                    ["male", "female"][(x >> 16) as usize % 2]
                },
            );
            let flags = [
                "americanIndianOrAlaskaNative",
                "asian",
                "blackOrAfricanAmerican",
                "nativeHawaiianOrOtherPacificIslander",
                "white",
            ];
            let pickf = (x >> 20) as usize % flags.len();
            for (n, fl) in flags.iter().enumerate() {
                r.set(fl, if n == pickf { "true" } else { "false" });
            }
            r.set(
                "hispanicOrLatinoEthnicity",
                if (x >> 24) % 4 == 0 { "true" } else { "false" },
            )
            .set(
                "countryOfBirthCode",
                if (x >> 28) % 10 == 0 { "MX" } else { "US" },
            )
            .set(
                "cityOfBirth",
                if (x >> 28) % 10 == 0 {
                    "Guadalajara, Jalisco"
                } else {
                    "Lakeview"
                },
            );
            f.write(&r, &[])?;
        }
    }
    summary.push((Entity::Demographics, f.finish()?));

    // resources and their class/course links
    let mut f = pw.file(Entity::Resources, Mode::Bulk, &[])?;
    for (n, (subj, code)) in SUBJECTS.iter().enumerate() {
        let mut r = Record::new(Entity::Resources, format!("rsc-{code}"));
        r.set("vendorResourceId", format!("VR-{code}-{n}"))
            .set("title", format!("{subj} Digital Textbook, 3rd ed."))
            .set("roles", "student,teacher")
            .set("importance", "primary")
            .set("vendorId", "acme-learning");
        f.write(&r, &[])?;
    }
    summary.push((Entity::Resources, f.finish()?));
    let mut f = pw.file(Entity::CourseResources, Mode::Bulk, &[])?;
    for s in 0..schools {
        for c in 0..COURSES_PER_SCHOOL {
            let code = SUBJECTS[c as usize % SUBJECTS.len()].1;
            let mut r = Record::new(Entity::CourseResources, format!("crsr-{s:03}-{c:02}"));
            r.set("title", "Course textbook")
                .set("courseSourcedId", format!("crs-{s:03}-{c:02}"))
                .set("resourceSourcedId", format!("rsc-{code}"));
            f.write(&r, &[])?;
        }
    }
    summary.push((Entity::CourseResources, f.finish()?));
    let mut f = pw.file(Entity::ClassResources, Mode::Bulk, &[])?;
    for s in 0..schools {
        for c in 0..COURSES_PER_SCHOOL {
            let code = SUBJECTS[c as usize % SUBJECTS.len()].1;
            let mut r = Record::new(Entity::ClassResources, format!("clsr-{s:03}-{c:02}"));
            r.set("title", "Section workbook")
                .set("classSourcedId", d.class_id(s, c, 0))
                .set("resourceSourcedId", format!("rsc-{code}"));
            f.write(&r, &[])?;
        }
    }
    summary.push((Entity::ClassResources, f.finish()?));

    // gradebook: categories, one line item per class, a result per student enrollment
    let mut f = pw.file(Entity::Categories, Mode::Bulk, &[])?;
    for (id, title, w) in [
        ("cat-hw", "Homework", "0.3"),
        ("cat-quiz", "Quizzes", "0.2"),
        ("cat-exam", "Exams", "0.5"),
    ] {
        let mut r = Record::new(Entity::Categories, id);
        r.set("title", title).set("weight", w);
        f.write(&r, &[])?;
    }
    summary.push((Entity::Categories, f.finish()?));
    let gp = |c: u32| if c % 3 == 2 { "gp-2026-3" } else { "gp-2026-1" };
    let mut f = pw.file(Entity::LineItems, Mode::Bulk, &[])?;
    for s in 0..schools {
        for c in 0..COURSES_PER_SCHOOL {
            for k in 0..sections {
                let cls = d.class_id(s, c, k);
                let mut r = Record::new(Entity::LineItems, format!("li-{cls}"));
                r.set("title", "Unit 1 test: \"Foundations\"")
                    .set("description", "Covers chapters 1-3, including review")
                    .set("assignDate", "2025-09-01")
                    .set("dueDate", "2025-09-15")
                    .set("classSourcedId", cls)
                    .set("categorySourcedId", "cat-exam")
                    .set("academicSessionSourcedId", gp(c))
                    .set("resultValueMin", "0")
                    .set("resultValueMax", "100")
                    .set("schoolSourcedId", d.school(s));
                f.write(&r, &[])?;
            }
        }
    }
    summary.push((Entity::LineItems, f.finish()?));
    let mut f = pw.file(Entity::Results, Mode::Bulk, &[])?;
    for s in 0..schools {
        for i in 0..m {
            let idx = (s as u64) * 1_000_000 + i as u64;
            for (j, (c, k)) in d.student_classes(i).enumerate() {
                let x = h(seed, 70 + j as u64, idx);
                let mut r = Record::new(Entity::Results, format!("res-{s:03}-{i:05}-{j}"));
                r.set("lineItemSourcedId", format!("li-{}", d.class_id(s, c, k)))
                    .set("studentSourcedId", format!("usr-stu-{s:03}-{i:05}"))
                    .set("scoreStatus", "fully graded")
                    .set("score", format!("{}", 40 + x % 61))
                    .set("scoreDate", "2025-09-16");
                if x % 9 == 0 {
                    r.set("comment", "Great work, keep it up!");
                }
                if v12 {
                    r.set("classSourcedId", d.class_id(s, c, k));
                }
                f.write(&r, &[])?;
            }
        }
    }
    summary.push((Entity::Results, f.finish()?));
    pw.finish()?;
    Ok(summary)
}

/// Read every row of one file of a package (validated leniently; bad rows are skipped).
fn read_rows(
    src: &mut Source,
    version: Version,
    entity: Entity,
    mut each: impl FnMut(Record, &[String], Option<&str>) -> Result<(), GenerateError>,
) -> Result<(), GenerateError> {
    let name = format!("{}.csv", entity.name());
    let Some((file, _)) = src.find(&name) else {
        return Ok(());
    };
    let reader = src
        .open_file(&file)
        .map_err(|e| GenerateError::Base(e.to_string()))?;
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| GenerateError::Base(e.to_string()))?
        .clone();
    let mut diags = Diags::default();
    let parser = RowParser::new(entity, version, &file, &headers, &mut diags)
        .ok_or_else(|| GenerateError::Base(format!("{file}: unreadable header")))?;
    let mut row = csv::StringRecord::new();
    while rdr
        .read_record(&mut row)
        .map_err(|e| GenerateError::Base(e.to_string()))?
    {
        if let Some(p) = parser.parse(&row, 0, Mode::Bulk, &mut diags) {
            each(p.record, &p.v11_orgs, p.v11_role.as_deref())?;
        }
    }
    Ok(())
}

/// Write a delta package that follows `base` (a package made by [`generate`]): about 1% of users
/// and results updated, some enrollments deleted, and new students with roles, demographics and
/// enrollments. Uses the base package's version.
pub fn generate_delta(
    base: &Path,
    out: &Path,
    opts: &GenerateOptions,
) -> Result<Vec<(Entity, u64)>, GenerateError> {
    let mut src = Source::open(base).map_err(|e| GenerateError::Base(e.to_string()))?;
    let mut diags = Diags::default();
    let (mname, _) = src
        .find("manifest.csv")
        .ok_or_else(|| GenerateError::Base("no manifest.csv".into()))?;
    let reader = src
        .open_file(&mname)
        .map_err(|e| GenerateError::Base(e.to_string()))?;
    let version = manifest::parse(reader, &mut diags)
        .ok_or_else(|| GenerateError::Base("unreadable manifest.csv".into()))?
        .version;
    let v12 = version == Version::V1_2;
    let stamp = |r: &mut Record, status: Status| {
        r.status = status;
        r.date_last_modified = Some(DELTA_TIME.to_string());
    };
    let mut pw = PackageWriter::create(out, version)?;
    let mut summary = Vec::new();
    // Pick the classes new students join: the first six classes of the first school.
    let mut classes: Vec<(String, String)> = Vec::new();
    read_rows(&mut src, version, Entity::Classes, |r, _, _| {
        if classes.len() < 6 {
            classes.push((
                r.sourced_id.clone(),
                r.get("schoolSourcedId").unwrap_or("").to_string(),
            ));
        }
        Ok(())
    })?;
    let school = classes
        .first()
        .map(|c| c.1.clone())
        .ok_or_else(|| GenerateError::Base("no classes".into()))?;
    let mut users_seen = 0u64;
    let mut new_users: Vec<(Record, Record)> = Vec::new();
    {
        let mut f = pw.file(Entity::Users, Mode::Delta, &[])?;
        let mut n = 0u64;
        read_rows(&mut src, version, Entity::Users, |mut r, orgs, role| {
            users_seen += 1;
            n += 1;
            if n % 100 == 0 {
                let slug = r.get("username").unwrap_or("user").to_string();
                r.set("email", format!("{slug}@students.lakeview.example.org"));
                stamp(&mut r, Status::Active);
                let mut roles = Vec::new();
                if let Some(org) = orgs.first() {
                    let mut x = Record::new(Entity::Roles, "r");
                    x.set("orgSourcedId", org.clone())
                        .set("roleType", "primary")
                        .set("role", role.unwrap_or("student"));
                    roles.push(x);
                }
                f.write(&r, &roles)?;
            }
            Ok(())
        })?;
        let d = District {
            o: GenerateOptions {
                version,
                ..opts.clone()
            },
        };
        let adds = (users_seen / 200).max(1);
        for a in 0..adds {
            let id = format!("usr-new-{:05}-{a:05}", opts.seed % 100_000);
            let mut u = d.user(&id, 80, a, Some("09"));
            if v12 {
                u.set("primaryOrgSourcedId", school.clone());
            }
            stamp(&mut u, Status::Active);
            let mut role = d.role(&id, &school, "student");
            stamp(&mut role, Status::Active);
            f.write(&u, std::slice::from_ref(&role))?;
            new_users.push((u, role));
        }
        summary.push((Entity::Users, f.finish()?));
    }
    if v12 {
        let mut f = pw.file(Entity::Roles, Mode::Delta, &[])?;
        for (_, role) in &new_users {
            f.write(role, &[])?;
        }
        summary.push((Entity::Roles, f.finish()?));
    }
    let mut f = pw.file(Entity::Demographics, Mode::Delta, &[])?;
    for (u, _) in &new_users {
        let mut r = Record::new(Entity::Demographics, u.sourced_id.clone());
        r.set("birthDate", "2011-05-04").set("sex", "female");
        stamp(&mut r, Status::Active);
        f.write(&r, &[])?;
    }
    summary.push((Entity::Demographics, f.finish()?));
    {
        let mut f = pw.file(Entity::Enrollments, Mode::Delta, &[])?;
        let mut n = 0u64;
        read_rows(&mut src, version, Entity::Enrollments, |mut r, _, _| {
            n += 1;
            if n % 150 == 0 && r.get("role") == Some("student") {
                stamp(&mut r, Status::ToBeDeleted);
                f.write(&r, &[])?;
            }
            Ok(())
        })?;
        for (u, _) in &new_users {
            for (j, (cls, sch)) in classes.iter().enumerate() {
                let mut r = Record::new(Entity::Enrollments, format!("enr-{}-{j}", u.sourced_id));
                r.set("classSourcedId", cls.clone())
                    .set("schoolSourcedId", sch.clone())
                    .set("userSourcedId", u.sourced_id.clone())
                    .set("role", "student");
                stamp(&mut r, Status::Active);
                f.write(&r, &[])?;
            }
        }
        summary.push((Entity::Enrollments, f.finish()?));
    }
    {
        let mut f = pw.file(Entity::Results, Mode::Delta, &[])?;
        let mut n = 0u64;
        read_rows(&mut src, version, Entity::Results, |mut r, _, _| {
            n += 1;
            if n % 100 == 0 {
                r.set("score", "100")
                    .set("comment", "Regraded after appeal");
                stamp(&mut r, Status::Active);
                f.write(&r, &[])?;
            }
            Ok(())
        })?;
        summary.push((Entity::Results, f.finish()?));
    }
    pw.finish()?;
    Ok(summary)
}
