//! Request metrics in the Prometheus text format (exposition format 0.0.4): requests by route
//! pattern and status, one latency histogram per route, and connection-pool gauges. Kept by
//! hand: a handful of counters behind one mutex does not justify a metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Histogram bucket upper bounds, seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    /// Cumulative counts per bucket, plus the sum of observed seconds.
    buckets: Vec<u64>,
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<String, RouteStats>>,
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub fn observe(&self, route: &str, status: u16, seconds: f64) {
        let Ok(mut routes) = self.routes.lock() else {
            return;
        };
        let r = routes.entry(route.to_string()).or_default();
        *r.by_status.entry(status).or_default() += 1;
        if r.buckets.is_empty() {
            r.buckets = vec![0; BUCKETS.len()];
        }
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                r.buckets[i] += 1;
            }
        }
        r.count += 1;
        r.sum += seconds;
    }

    /// The exposition text; `pool` is (connections, idle connections).
    pub fn render(&self, pool: (u32, u32)) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP rosterbridge_http_requests_total HTTP requests by route and status.\n\
             # TYPE rosterbridge_http_requests_total counter"
        );
        let routes = match self.routes.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        for (route, r) in routes.iter() {
            for (status, n) in &r.by_status {
                let _ = writeln!(
                    out,
                    "rosterbridge_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP rosterbridge_http_request_duration_seconds Request latency by route.\n\
             # TYPE rosterbridge_http_request_duration_seconds histogram"
        );
        for (route, r) in routes.iter() {
            let route = escape(route);
            for (le, n) in BUCKETS.iter().zip(&r.buckets) {
                let _ = writeln!(
                    out,
                    "rosterbridge_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "rosterbridge_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\n\
                 rosterbridge_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n\
                 rosterbridge_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                r.count, r.sum, r.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP rosterbridge_db_pool_connections Open database connections.\n\
             # TYPE rosterbridge_db_pool_connections gauge\n\
             rosterbridge_db_pool_connections {}\n\
             # HELP rosterbridge_db_pool_idle_connections Idle database connections.\n\
             # TYPE rosterbridge_db_pool_idle_connections gauge\n\
             rosterbridge_db_pool_idle_connections {}",
            pool.0, pool.1
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets() {
        let m = Metrics::default();
        m.observe("/users", 200, 0.003);
        m.observe("/users", 200, 0.3);
        m.observe("/users", 404, 0.0001);
        let text = m.render((4, 3));
        assert!(
            text.contains("rosterbridge_http_requests_total{route=\"/users\",status=\"200\"} 2")
        );
        assert!(
            text.contains("rosterbridge_http_requests_total{route=\"/users\",status=\"404\"} 1")
        );
        assert!(text.contains("_bucket{route=\"/users\",le=\"0.005\"} 2"));
        assert!(text.contains("_bucket{route=\"/users\",le=\"+Inf\"} 3"));
        assert!(text.contains("rosterbridge_db_pool_idle_connections 3"));
    }
}
