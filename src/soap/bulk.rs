//! LIS bulk files (the BDEMS 1.0 `bulkDataRecord` Blackboard Learn accepts; IMS published no
//! WSDL for it, LIS.md §4.10): a list of `transactionRecord`s, each naming a service, an
//! operation and its parameters. [`transactions`] turns each into the operation's request body
//! (`<{operation}Request>` with one child per parameter: a record parameter's record element,
//! a plain one as `<{name}>{value}</{name}>`; a parameter holding several records makes one
//! transaction per record, its sourcedId taken from the record), which the service's own
//! operation then runs, exactly as if it had come over SOAP. [`response`] is the answer: one
//! result per transaction, in order, with its imsx status.

use super::bind::Node;
use super::envelope::Status;

/// One operation of a bulk file.
#[derive(Debug, Clone)]
pub struct Transaction {
    /// `transactionOpIdentifier`, echoed.
    pub id: String,
    /// `serviceName` (`PersonManagementService`, …).
    pub service: String,
    /// `operationName` (`replacePerson`, …).
    pub operation: String,
    /// The target's sourcedId, for the answer.
    pub sourced_id: String,
    /// The request body, as the operation reads it.
    pub body: Node,
}

fn element(name: &str, text: &str, children: Vec<Node>) -> Node {
    Node {
        name: name.to_string(),
        text: text.to_string(),
        children,
        ..Node::default()
    }
}

/// The transactions of a bulk file, in order; `Err` when the document is not one.
pub fn transactions(root: &Node) -> Result<Vec<Transaction>, String> {
    if root.name != "bulkDataRecord" {
        return Err(format!(
            "the document is a '{}', not a LIS bulkDataRecord",
            root.name
        ));
    }
    let mut out = Vec::new();
    for (n, t) in root.children_named(&["transactionRecord"]).enumerate() {
        let field = |name: &str| t.child_text(name).unwrap_or("").to_string();
        let (service, operation) = (field("serviceName"), field("operationName"));
        if service.is_empty() || operation.is_empty() {
            return Err(format!(
                "transactionRecord {}: no serviceName or operationName",
                n + 1
            ));
        }
        let params: Vec<&Node> = t
            .child(&["parameterSet"])
            .map(|p| p.children_named(&["parameterRecord"]).collect())
            .unwrap_or_default();
        let mut plain: Vec<Node> = Vec::new();
        let mut records: Vec<Node> = Vec::new();
        for p in params {
            let name = p.child_text("parameterName").unwrap_or("");
            let Some(value) = p.child(&["parameterValue"]) else {
                continue;
            };
            if value.children.is_empty() {
                plain.push(element(name, value.text.trim(), Vec::new()));
            } else {
                records.extend(value.children.iter().cloned());
            }
        }
        let sourced_id = |plain: &[Node]| {
            plain
                .iter()
                .find(|p| p.name == "sourcedId")
                .map(|p| p.text.clone())
                .unwrap_or_default()
        };
        let request = format!("{operation}Request");
        if records.len() <= 1 {
            let sid = sourced_id(&plain);
            let mut children = plain;
            children.extend(records);
            out.push(Transaction {
                id: field("transactionOpIdentifier"),
                service,
                operation,
                sourced_id: sid,
                body: element(&request, "", children),
            });
        } else {
            // Several records: one operation each, under the record's own sourcedId.
            for r in records {
                let sid = r
                    .child(&["sourcedGUID"])
                    .and_then(|g| g.child_text("sourcedId"))
                    .unwrap_or("")
                    .to_string();
                let mut children: Vec<Node> = plain
                    .iter()
                    .filter(|p| p.name != "sourcedId")
                    .cloned()
                    .collect();
                children.push(element("sourcedId", &sid, Vec::new()));
                children.push(r);
                out.push(Transaction {
                    id: field("transactionOpIdentifier"),
                    service: service.clone(),
                    operation: operation.clone(),
                    sourced_id: sid,
                    body: element(&request, "", children),
                });
            }
        }
    }
    Ok(out)
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    super::bind::escape_text_into(&mut out, s);
    out
}

/// The answer to a bulk file: `<bulkDataResponse>` with a `transactionResult` per transaction
/// (its identifier, service, operation, sourcedId and imsx status), and the counts.
pub fn response(results: &[(Transaction, Status, &str)]) -> String {
    let ok = results
        .iter()
        .filter(|(_, s, _)| s.major == super::envelope::Major::Success)
        .count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<bulkDataResponse xmlns=\"urn:rosterbridge:lis:bulk\" transactions=\"{}\" succeeded=\"{ok}\" failed=\"{}\">\n",
        results.len(),
        results.len() - ok
    );
    for (t, s, minor) in results {
        out.push_str(&format!(
            "  <transactionResult><transactionOpIdentifier>{}</transactionOpIdentifier><serviceName>{}</serviceName><operationName>{}</operationName><sourcedId>{}</sourcedId><imsx_codeMajor>{}</imsx_codeMajor><imsx_codeMinor>{}</imsx_codeMinor><imsx_description>{}</imsx_description></transactionResult>\n",
            escape(&t.id),
            escape(&t.service),
            escape(&t.operation),
            escape(&t.sourced_id),
            s.major.as_str(),
            escape(minor),
            escape(&s.description),
        ));
    }
    out.push_str("</bulkDataResponse>\n");
    out
}
