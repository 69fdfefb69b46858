//! The LIS 2.0 services rosterbridge exposes, their published WSDLs, and serve-time
//! localisation of the endpoint addresses.

use super::envelope::ServiceDef;
use super::gen::{cms, gms, mms, oms, pms};
use super::service::{self, Ctx, Reply};

/// A SOAP service: its path on this server, its WSDL as published, what the generated module
/// says about it, and the function running its operations.
#[derive(Clone, Copy)]
pub struct Service {
    pub path: &'static str,
    pub wsdl: &'static str,
    pub def: ServiceDef,
    pub run: fn(&mut Ctx<'_>, &str, &super::bind::Node) -> Reply,
}

/// Person, Membership, Course Management, Group and Outcomes. Group's WSDL is rosterbridge's
/// own: IMS published none (LIS.md §4.9).
pub const SERVICES: &[Service] = &[
    Service {
        path: "/lis/v2p0/PersonManagementService",
        wsdl: include_str!("../../wsdl/lis-person.wsdl"),
        def: ServiceDef {
            name: "Person",
            namespace: pms::NAMESPACE,
            operations: pms::OPERATIONS,
            code_minor_values: pms::CODE_MINOR_VALUES,
        },
        run: service::person,
    },
    Service {
        path: "/lis/v2p0/MembershipManagementService",
        wsdl: include_str!("../../wsdl/lis-membership.wsdl"),
        def: ServiceDef {
            name: "Membership",
            namespace: mms::NAMESPACE,
            operations: mms::OPERATIONS,
            code_minor_values: mms::CODE_MINOR_VALUES,
        },
        run: service::membership,
    },
    Service {
        path: "/lis/v2p0/CourseManagementService",
        wsdl: include_str!("../../wsdl/lis-coursesection.wsdl"),
        def: ServiceDef {
            name: "CourseManagement",
            namespace: cms::NAMESPACE,
            operations: cms::OPERATIONS,
            code_minor_values: cms::CODE_MINOR_VALUES,
        },
        run: service::course_management,
    },
    Service {
        path: "/lis/v2p0/GroupManagementService",
        wsdl: include_str!("../../wsdl/lis-group.wsdl"),
        def: ServiceDef {
            name: "Group",
            namespace: gms::NAMESPACE,
            operations: gms::OPERATIONS,
            code_minor_values: gms::CODE_MINOR_VALUES,
        },
        run: service::group,
    },
    Service {
        path: "/lis/v2p0/OutcomesManagementService",
        wsdl: include_str!("../../wsdl/lis-lineitem.wsdl"),
        def: ServiceDef {
            name: "Outcomes",
            namespace: oms::NAMESPACE,
            operations: oms::OPERATIONS,
            code_minor_values: oms::CODE_MINOR_VALUES,
        },
        run: service::outcomes,
    },
];

/// `wsdl` with the `location` of every `<…:address>` element (SOAP port addresses) replaced
/// by `location`; everything else byte for byte.
pub fn localise(wsdl: &str, location: &str) -> String {
    let mut out = String::with_capacity(wsdl.len() + 64);
    let mut rest = wsdl;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find('>').map_or(rest.len(), |e| e + 1);
        let tag = &rest[..end];
        let name = tag[1..]
            .split(|c: char| c.is_whitespace() || c == '/' || c == '>')
            .next()
            .unwrap_or("");
        let is_address = name.rsplit(':').next() == Some("address") && name.contains(':');
        match (is_address, tag.find("location=\"")) {
            (true, Some(at)) => {
                let value_start = at + "location=\"".len();
                let value_end = tag[value_start..]
                    .find('"')
                    .map_or(tag.len(), |e| value_start + e);
                out.push_str(&tag[..value_start]);
                super::bind::escape_into(&mut out, location);
                out.push_str(&tag[value_end..]);
            }
            _ => out.push_str(tag),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_port_address_changes() {
        for s in SERVICES {
            let url = format!("https://rb.example.org{}", s.path);
            let out = localise(s.wsdl, &url);
            assert!(out.contains(&format!("location=\"{url}\"")), "{}", s.path);
            assert!(!out.contains("turnitin.com"), "{}", s.path);
            // the rest is unchanged: each address's value is the only difference (a service
            // with several ports has several addresses)
            let published: Vec<&str> = s.wsdl.split("location=\"").collect();
            let served: Vec<&str> = out.split("location=\"").collect();
            assert_eq!(published.len(), served.len(), "{}", s.path);
            assert_eq!(published[0], served[0]);
            for (p, o) in published.iter().zip(&served).skip(1) {
                let rest = &p[p.find('"').unwrap_or(0)..];
                assert_eq!(*o, format!("{url}{rest}"), "{}", s.path);
            }
        }
    }
}
