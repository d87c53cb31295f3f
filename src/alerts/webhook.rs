//! Webhook delivery that cannot be turned against the network Snag runs in.
//!
//! ```text
//! http(s)://host/path ── host an address? ──────────── public? ── POST (no redirects, 5 s)
//!                     └─ host a name? ── resolve ─── keep public addresses only ──┘
//! refused: loopback 127/8 ::1, private 10/8 172.16/12 192.168/16, CGNAT 100.64/10,
//!          link-local 169.254/16 (cloud metadata) fe80::/10, ULA fc00::/7, unspecified,
//!          multicast, broadcast, and IPv4 inside IPv6 (::ffff:a.b.c.d, 64:ff9b::a.b.c.d)
//! ```
//! Checked when a URL is set and again at each connection (a name may resolve elsewhere
//! later). Hosts in `--webhook-allow-hosts` (names or addresses, e.g. a chat server on the
//! office network) skip the check. A redirect is never followed: it would carry the POST
//! body to a place nobody checked.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

/// Whole delivery, connection included.
const TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Whether `ip` is an address a webhook may not reach.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden(IpAddr::V4(v4));
            }
            // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
            if v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [.., a, b, c, d] = v6.octets();
                return forbidden(IpAddr::from([a, b, c, d]));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
                // IPv4-compatible (::a.b.c.d), deprecated but still routed by some stacks.
                || v6.segments()[..6] == [0; 6]
        }
    }
}

/// Hosts an operator lets webhooks reach whatever they resolve to.
#[derive(Debug, Clone, Default)]
pub struct AllowList(Arc<Vec<String>>);

impl AllowList {
    pub fn new(hosts: &[String]) -> AllowList {
        AllowList(Arc::new(
            hosts
                .iter()
                .map(|h| h.trim().trim_matches(['[', ']']).to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        ))
    }

    fn allows(&self, host: &str) -> bool {
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        self.0.contains(&host)
    }
}

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the webhook must be an http(s) URL with a host")]
    NotHttp,
    #[error("the webhook's host {0} is a loopback, private, link-local or metadata address")]
    PrivateAddress(String),
    #[error("the webhook's host {0} resolves to a loopback, private or link-local address ({1})")]
    ResolvesPrivate(String, IpAddr),
    #[error("the webhook's host {0} does not resolve: {1}")]
    Unresolved(String, String),
}

/// The URL if it is http(s) with a host and that host may be reached (resolving names).
pub async fn check_destination(url: &str, allow: &AllowList) -> Result<Url, Refused> {
    let url = Url::parse(url.trim()).map_err(|_| Refused::NotHttp)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refused::NotHttp);
    }
    let host = url.host().ok_or(Refused::NotHttp)?;
    let name = url.host_str().unwrap_or_default().to_owned();
    if allow.allows(&name) {
        return Ok(url);
    }
    match host {
        url::Host::Ipv4(ip) if forbidden(ip.into()) => Err(Refused::PrivateAddress(name)),
        url::Host::Ipv6(ip) if forbidden(ip.into()) => Err(Refused::PrivateAddress(name)),
        url::Host::Ipv4(_) | url::Host::Ipv6(_) => Ok(url),
        url::Host::Domain(domain) => {
            let port = url.port_or_known_default().unwrap_or(443);
            let addrs = tokio::net::lookup_host((domain, port))
                .await
                .map_err(|e| Refused::Unresolved(name.clone(), e.to_string()))?;
            for addr in addrs {
                if forbidden(addr.ip()) {
                    return Err(Refused::ResolvesPrivate(name, addr.ip()));
                }
            }
            Ok(url)
        }
    }
}

/// reqwest's resolver for webhooks: names resolve as usual, minus forbidden addresses (at
/// each connection, so a name that changes its answer is caught too).
struct PublicOnly {
    allow: AllowList,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = if allow.allows(&host) {
                found
            } else {
                found.into_iter().filter(|a| !forbidden(a.ip())).collect()
            };
            if kept.is_empty() {
                let refused = Refused::ResolvesPrivate(host, IpAddr::from([0, 0, 0, 0]));
                return Err(refused.to_string().into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

/// Posts alert payloads to webhooks.
#[derive(Debug, Clone)]
pub struct Poster {
    client: reqwest::Client,
    allow: AllowList,
}

impl Poster {
    pub fn new(allow: AllowList) -> Result<Poster, String> {
        // Another part of the process may have installed it already: either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(PublicOnly {
                allow: allow.clone(),
            }))
            .user_agent(concat!("snag/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Poster { client, allow })
    }

    /// POSTs a webhook's JSON; any 2xx answer delivers it, anything else (a redirect too) is
    /// a failure to retry.
    pub async fn post(&self, url: &str, payload: &str) -> Result<(), String> {
        // Addresses in the URL itself never reach the resolver: checked here.
        let url = check_destination_literal(url, &self.allow)?;
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(payload.to_owned())
            .send()
            .await
            .map_err(|e| error_chain(&e))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else if status.is_redirection() {
            Err(format!(
                "the webhook answered {status}; redirects are not followed"
            ))
        } else {
            Err(format!("the webhook answered {status}"))
        }
    }
}

/// The URL if its scheme is http(s) and its host, when an address, may be reached; names are
/// left to the resolver.
fn check_destination_literal(url: &str, allow: &AllowList) -> Result<Url, String> {
    let url = Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refused::NotHttp.to_string());
    }
    let name = url.host_str().unwrap_or_default().to_owned();
    let literal: Option<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(ip.into()),
        Some(url::Host::Ipv6(ip)) => Some(ip.into()),
        Some(url::Host::Domain(_)) => None,
        None => return Err(Refused::NotHttp.to_string()),
    };
    match literal {
        Some(ip) if forbidden(ip) && !allow.allows(&name) => {
            Err(Refused::PrivateAddress(name).to_string())
        }
        _ => Ok(url),
    }
}

/// An error with its causes ("error sending request: … : connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `https://hooks.slack.com/services/T00/B00/secret?x=1` → `https://hooks.slack.com/services/…`:
/// enough to recognise the destination, not to use it.
pub fn masked(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => {
            let first = u
                .path_segments()
                .and_then(|mut s| s.next())
                .filter(|s| !s.is_empty());
            match first {
                Some(segment) => format!(
                    "{}://{}/{segment}/…",
                    u.scheme(),
                    u.host_str().unwrap_or("")
                ),
                None => format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or("")),
            }
        }
        Err(_) => "…".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_forbidden() {
        for bad in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
        ] {
            assert!(forbidden(bad.parse().unwrap()), "{bad}");
        }
        for good in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "172.32.0.1",
        ] {
            assert!(!forbidden(good.parse().unwrap()), "{good}");
        }
    }

    #[tokio::test]
    async fn destinations_are_checked_by_address_and_by_name() {
        let none = AllowList::default();
        for bad in [
            "http://127.0.0.1:8080/hook",
            "http://0x7f000001/hook",
            "http://2130706433/hook",
            "http://[::1]/hook",
            "http://[::ffff:7f00:1]/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost:9/hook",
        ] {
            assert!(check_destination(bad, &none).await.is_err(), "{bad}");
        }
        for not_http in ["javascript:alert(1)", "ftp://example.com/", "not a url"] {
            assert_eq!(
                check_destination(not_http, &none).await.unwrap_err(),
                Refused::NotHttp
            );
        }
        assert!(
            check_destination("https://93.184.216.34/hook", &none)
                .await
                .is_ok()
        );
        let allow = AllowList::new(&["127.0.0.1".into(), "LocalHost".into()]);
        assert!(
            check_destination("http://127.0.0.1:8080/hook", &allow)
                .await
                .is_ok()
        );
        assert!(
            check_destination("http://localhost:9/", &allow)
                .await
                .is_ok()
        );
        assert!(check_destination("http://[::1]/", &allow).await.is_err());
    }

    #[test]
    fn urls_are_masked_past_their_first_segment() {
        assert_eq!(
            masked("https://hooks.slack.com/services/T00/B00/XXXX?token=1"),
            "https://hooks.slack.com/services/…"
        );
        assert_eq!(
            masked("https://chat.example.com"),
            "https://chat.example.com/…"
        );
        assert_eq!(masked("nonsense"), "…");
    }
}
