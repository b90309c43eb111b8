//! The dev server's ports: binding them once, and naming whoever holds them.
//!
//! Each port is bound exactly once and the std listeners are returned and kept:
//! probing a port and re-binding it later leaves a window in which another
//! program (or a second `bengal serve`) can take it. When a port is taken the
//! user is told which program holds it ([`crate::servers::port_holders`]).

use crate::Error;
use crate::servers::{PortHolder, port_holders};
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};

/// Where to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// Both 127.0.0.1 and ::1, because `localhost` resolves to either depending
    /// on the system and the browser, and `http://localhost:PORT/` must work.
    Localhost,
    /// Exactly one address; names other than `localhost` are refused rather than
    /// resolved, since a name resolving to several addresses binds surprisingly.
    Addr(IpAddr),
}

impl Host {
    /// `localhost` (any case), or an IP address, IPv6 optionally in brackets.
    pub fn parse(text: &str) -> Result<Host, Error> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("localhost") {
            return Ok(Host::Localhost);
        }
        let bare = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
        bare.parse().map(Host::Addr).map_err(|_| {
            Error::new(format!("Cannot listen on host `{text}`: it is neither an IP address nor `localhost`"))
                .with_hint("use an IP address such as 127.0.0.1 or 0.0.0.0 (all interfaces), or `localhost`")
        })
    }

    /// Whether only this machine can connect.
    pub fn is_loopback(&self) -> bool {
        match self {
            Host::Localhost => true,
            Host::Addr(ip) => ip.is_loopback(),
        }
    }

    /// The host part of a URL: `localhost`, `127.0.0.1`, `[::1]`.
    pub fn url_host(&self) -> String {
        match self {
            Host::Localhost => "localhost".to_string(),
            Host::Addr(IpAddr::V4(ip)) => ip.to_string(),
            Host::Addr(IpAddr::V6(ip)) => format!("[{ip}]"),
        }
    }

    fn ips(&self) -> Vec<IpAddr> {
        match self {
            Host::Localhost => vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)],
            Host::Addr(ip) => vec![*ip],
        }
    }
}

/// A port that was skipped because it was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub port: u16,
    /// Who holds it, when /proc tells.
    pub holder: Option<PortHolder>,
}

impl Skipped {
    /// `Port 5173 is in use by pid 4242 (python3 -m http.server 5173)`, or `Port 5173 is in use`.
    pub fn message(&self) -> String {
        match &self.holder {
            Some(holder) => format!("Port {} is in use by {}", self.port, holder.describe()),
            None => format!("Port {} is in use", self.port),
        }
    }
}

/// The listeners of one port, bound once and kept.
#[derive(Debug)]
pub struct Bound {
    /// The port actually bound (never 0).
    pub port: u16,
    /// One non-blocking listener per address, ready for tokio.
    pub listeners: Vec<TcpListener>,
    /// The taken ports tried before, in order, so the user learns why the port moved.
    pub skipped: Vec<Skipped>,
}

impl Bound {
    /// The addresses listened on.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().filter_map(|l| l.local_addr().ok()).collect()
    }
}

/// How many ports above the asked one are tried when it is taken.
pub const PORT_FALLBACKS: u16 = 10;

/// Binds `host` on `port`, or when taken and not `strict`, on the next free port
/// up to `port + PORT_FALLBACKS`, as Vite does. Port 0 means "any free port".
pub fn bind(host: &Host, port: u16, strict: bool) -> Result<Bound, Error> {
    let mut skipped = Vec::new();
    for offset in 0..=PORT_FALLBACKS {
        let Some(candidate) = port.checked_add(if port == 0 { 0 } else { offset }) else { break };
        match bind_all(host, candidate) {
            Ok((port, listeners)) => return Ok(Bound { port, listeners, skipped }),
            Err((addr, err)) if err.kind() == ErrorKind::AddrInUse => {
                let skip = Skipped { port: addr.port(), holder: port_holders(addr.port()).into_iter().next() };
                if strict {
                    return Err(Error::new(skip.message())
                        .with_hint("stop that program, choose another --port, or drop --strict-port"));
                }
                skipped.push(skip);
            }
            Err((addr, err)) => return Err(io_error(addr, err)),
        }
    }
    let list: Vec<String> = skipped
        .iter()
        .map(|s| match &s.holder {
            Some(holder) => format!("{} by {}", s.port, holder.describe()),
            None => format!("{} by an unknown program", s.port),
        })
        .collect();
    let (first, last) = (skipped.first().map_or(port, |s| s.port), skipped.last().map_or(port, |s| s.port));
    Err(Error::new(format!("Ports {first} to {last} are all in use: {}", list.join(", ")))
        .with_hint("stop one of those programs or choose another --port"))
}

/// Binds every address of `host` on one port, returning the port and listeners,
/// or the first failing address; listeners bound so far are dropped (closed) on failure.
fn bind_all(host: &Host, port: u16) -> Result<(u16, Vec<TcpListener>), (SocketAddr, std::io::Error)> {
    let mut port = port;
    let mut listeners = Vec::new();
    for (index, ip) in host.ips().into_iter().enumerate() {
        let addr = SocketAddr::new(ip, port);
        match TcpListener::bind(addr).and_then(|l| l.set_nonblocking(true).map(|()| l)) {
            Ok(listener) => {
                // Port 0 was resolved by the first bind; the others must share it.
                port = listener.local_addr().map_err(|err| (addr, err))?.port();
                listeners.push(listener);
            }
            // localhost's IPv6 half is optional: without IPv6 (containers, ipv6.disable=1)
            // ::1 fails with "address not available" or "family not supported", and
            // 127.0.0.1 alone still serves http://localhost/.
            Err(err)
                if index > 0
                    && *host == Host::Localhost
                    && !matches!(err.kind(), ErrorKind::AddrInUse | ErrorKind::PermissionDenied) => {}
            Err(err) => return Err((addr, err)),
        }
    }
    Ok((port, listeners))
}

fn io_error(addr: SocketAddr, err: std::io::Error) -> Error {
    match err.kind() {
        ErrorKind::PermissionDenied if addr.port() < 1024 => {
            Error::new(format!("Permission denied to listen on {addr}: ports below 1024 need root"))
                .with_hint("choose --port 1024 or above, such as the default 5173")
        }
        ErrorKind::PermissionDenied => Error::new(format!("Permission denied to listen on {addr}"))
            .with_hint("a firewall or security policy refused it; choose another --port"),
        ErrorKind::AddrNotAvailable => Error::new(format!("Cannot listen on {addr}: {err}"))
            .with_hint("this machine has no such address; use 127.0.0.1, 0.0.0.0 or localhost"),
        _ => Error::new(format!("Cannot listen on {addr}: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_messages() {
        assert_eq!(Host::parse("LocalHost").ok(), Some(Host::Localhost));
        assert_eq!(Host::parse("[::1]").map(|h| h.url_host()).ok(), Some("[::1]".to_string()));
        assert_eq!(Host::parse("127.0.0.1").map(|h| h.url_host()).ok(), Some("127.0.0.1".to_string()));
        assert_eq!(Host::parse("0.0.0.0").map(|h| h.is_loopback()).ok(), Some(false));
        assert!(Host::parse("example.com").is_err_and(|e| e.hint.is_some_and(|h| h.contains("localhost"))));
        let holder = PortHolder { pid: 4242, uid: 0, command: "python3 -m http.server 5173".into(), exe: None };
        let skip = Skipped { port: 5173, holder: Some(holder) };
        assert_eq!(skip.message(), "Port 5173 is in use by pid 4242 (python3 -m http.server 5173)");
        assert_eq!(Skipped { port: 5173, holder: None }.message(), "Port 5173 is in use");
    }

    #[cfg(target_os = "linux")]
    fn taken() -> (TcpListener, u16) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
        let port = listener.local_addr().expect("local addr").port();
        (listener, port)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn strict_names_holder_and_fallback_skips() {
        let (_held, port) = taken();
        let pid = format!("pid {}", std::process::id());
        let err = bind(&Host::Localhost, port, true).expect_err("strict must fail");
        assert!(err.message.starts_with(&format!("Port {port} is in use by {pid}")), "{}", err.message);
        let bound = bind(&Host::Localhost, port, false).expect("fallback");
        assert!(bound.port > port && bound.port <= port + PORT_FALLBACKS);
        assert_eq!(bound.skipped[0].port, port);
        assert_eq!(bound.skipped[0].holder.as_ref().map(|h| h.pid), Some(std::process::id()));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn any_free_port() {
        let bound = bind(&Host::Localhost, 0, false).expect("bind port 0");
        assert!(bound.port != 0 && bound.skipped.is_empty());
        assert!(bound.addrs().contains(&SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port)));
        assert!(bound.addrs().iter().all(|a| a.port() == bound.port));
        let err = bound.listeners[0].accept().expect_err("non-blocking, nobody connecting");
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        let one = bind(&Host::Addr(IpAddr::V4(Ipv4Addr::LOCALHOST)), 0, true).expect("bind 127.0.0.1:0");
        assert_eq!(one.listeners.len(), 1);
    }
}
