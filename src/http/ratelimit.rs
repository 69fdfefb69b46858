//! Per-client rate limit: a token bucket per client id (rate R per second, burst R), kept in
//! this process. Off unless configured. Several instances each apply their own limit.
//!
//! And the failed-authentication throttle, always on: a bucket per client id and per peer
//! address that only failures drain, so a secret cannot be guessed at network speed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

pub struct RateLimiter {
    rate: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_second: f64) -> RateLimiter {
        RateLimiter {
            rate: per_second.max(0.001),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token for `client`; `Err(seconds)` to wait when none is left.
    pub fn check(&self, client: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(p) => p.into_inner(),
        };
        let burst = self.rate.max(1.0);
        let (tokens, last) = buckets.entry(client.to_string()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

/// Failed authentications allowed in a burst, per client id and per peer address.
pub const AUTH_FAILURE_BURST: f64 = 10.0;
/// Failed authentications allowed per second after the burst.
pub const AUTH_FAILURES_PER_SEC: f64 = 1.0;
/// Buckets kept before full ones are forgotten (an attacker sending random ids or from many
/// addresses cannot grow the map without bound).
const AUTH_MAX_KEYS: usize = 10_000;

/// Failed authentications per client id and per peer address: each failure takes a token from
/// both buckets (burst [`AUTH_FAILURE_BURST`], refilled at [`AUTH_FAILURES_PER_SEC`]); while
/// either is empty, attempts for that client or from that address are refused (429) before any
/// secret is checked, so a correct guess cannot be told from a wrong one.
#[derive(Default)]
pub struct AuthThrottle {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl AuthThrottle {
    fn keys(client: Option<&str>, peer: Option<&str>) -> impl Iterator<Item = String> {
        client
            .map(|c| format!("client:{c}"))
            .into_iter()
            .chain(peer.map(|p| format!("peer:{p}")))
    }

    fn refill(tokens: &mut f64, last: &mut Instant, now: Instant) {
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * AUTH_FAILURES_PER_SEC)
            .min(AUTH_FAILURE_BURST);
        *last = now;
    }

    /// `Err(seconds to wait)` while `client` or `peer` has used up its failures.
    pub fn check(&self, client: Option<&str>, peer: Option<&str>) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(p) => p.into_inner(),
        };
        let mut wait = 0u64;
        for k in Self::keys(client, peer) {
            if let Some((tokens, last)) = buckets.get_mut(&k) {
                Self::refill(tokens, last, now);
                if *tokens < 1.0 {
                    wait = wait.max(((1.0 - *tokens) / AUTH_FAILURES_PER_SEC).ceil() as u64);
                }
            }
        }
        if wait > 0 {
            Err(wait)
        } else {
            Ok(())
        }
    }

    /// Record one failed authentication for `client` (if it named one) and `peer`.
    pub fn failed(&self, client: Option<&str>, peer: Option<&str>) {
        let now = Instant::now();
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(p) => p.into_inner(),
        };
        if buckets.len() >= AUTH_MAX_KEYS {
            buckets.retain(|_, (tokens, last)| {
                Self::refill(tokens, last, now);
                *tokens < AUTH_FAILURE_BURST
            });
        }
        for k in Self::keys(client, peer) {
            let (tokens, last) = buckets.entry(k).or_insert((AUTH_FAILURE_BURST, now));
            Self::refill(tokens, last, now);
            *tokens = (*tokens - 1.0).max(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refusal_per_client() {
        let l = RateLimiter::new(3.0);
        for _ in 0..3 {
            assert!(l.check("a").is_ok());
        }
        assert_eq!(l.check("a"), Err(1));
        assert!(l.check("b").is_ok(), "clients have their own buckets");
    }
}

#[cfg(test)]
mod throttle_tests {
    use super::*;

    #[test]
    fn failures_drain_per_client_and_per_peer() {
        let t = AuthThrottle::default();
        for _ in 0..AUTH_FAILURE_BURST as usize {
            assert!(t.check(Some("c1"), Some("10.0.0.1")).is_ok());
            t.failed(Some("c1"), Some("10.0.0.1"));
        }
        assert_eq!(
            t.check(Some("c1"), Some("10.0.0.2")),
            Err(1),
            "the client is throttled"
        );
        assert_eq!(
            t.check(Some("c2"), Some("10.0.0.1")),
            Err(1),
            "so is the address"
        );
        assert!(
            t.check(Some("c2"), Some("10.0.0.2")).is_ok(),
            "others are not"
        );
        assert!(t.check(None, Some("10.0.0.3")).is_ok());
    }
}
