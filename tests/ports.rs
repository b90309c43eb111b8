//! Ports as the kernel sees them, not as a server says: which port is free
//! to give a server under test, and whether anything still listens on one
//! (a LISTEN entry in `/proc/net/tcp` or `tcp6`, whichever process holds it).

use std::net::TcpListener;

/// A port nothing listens on right now, on 127.0.0.1 nor (where the machine
/// has IPv6) on ::1, since a dev server binds both. The kernel picks it, so
/// tests running in parallel get different ports.
pub fn free_port() -> std::io::Result<u16> {
    let mut last_error = None;
    // A port the kernel hands out on 127.0.0.1 may still be taken on ::1.
    for _ in 0..10 {
        let port = TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
        match TcpListener::bind(("::1", port)) {
            Ok(_) => return Ok(port),
            Err(_) if !has_ipv6() => return Ok(port),
            Err(err) => last_error = Some(err),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no free port")))
}

/// Whether any socket listens on `port`: a LISTEN entry for it in
/// `/proc/net/tcp` or `/proc/net/tcp6`, on any address.
pub fn is_listening(port: u16) -> bool {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .any(|table| lists_listener(&table, port))
}

/// Whether `port` is free: nothing listens on it, and binding it again
/// (with SO_REUSEADDR, as servers do) works on every loopback address. Both,
/// because a socket can be bound without listening, and listening without
/// an entry this process can read.
pub fn is_free(port: u16) -> bool {
    !is_listening(port)
        && TcpListener::bind(("127.0.0.1", port)).is_ok()
        && (!has_ipv6() || TcpListener::bind(("::1", port)).is_ok())
}

/// Whether this machine has IPv6 on its loopback interface.
pub fn has_ipv6() -> bool {
    TcpListener::bind(("::1", 0)).is_ok()
}

/// Whether a `/proc/net/tcp`-format table has a LISTEN (`0A`) entry whose
/// local address (`ADDRESS:PORT`, the port in hex) is on `port`.
fn lists_listener(table: &str, port: u16) -> bool {
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let local_port =
            fields.get(1).and_then(|address| address.rsplit(':').next()).and_then(|p| u16::from_str_radix(p, 16).ok());
        local_port == Some(port) && fields.get(3) == Some(&"0A")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1435 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D2A4 01 00000000:00000000 00:00000000 00000000  1000        0 2 1 0000000000000000 20 4 30 10 -1
";

    #[test]
    fn only_listen_entries_of_the_port_count() {
        assert!(lists_listener(TABLE, 0x1435));
        // Port 0x1F90 has an established connection, not a listener.
        assert!(!lists_listener(TABLE, 0x1F90));
        assert!(!lists_listener(TABLE, 5173 + 1));
    }

    #[test]
    fn a_listener_of_this_process_is_seen_and_a_free_port_is_not() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(is_listening(port));
        assert!(!is_free(port));
        drop(listener);
        assert!(is_free(port));
        let free = free_port().unwrap();
        assert!(!is_listening(free));
    }
}
