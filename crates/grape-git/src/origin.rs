//! [`Origin`]: the scheme + host + port an HTTP(S) token belongs to, and the checks of clone
//! URLs that decide whether a token may be sent at all.

use std::fmt;

use crate::GitError;

/// The scheme (`http` or `https`), host and port of an HTTP(S) git remote, normalised: scheme
/// and host in lower case, the port explicit (`https` 443, `http` 80 when absent).
///
/// Two URLs have the same origin only when all three match exactly: `http://h` and `https://h`
/// differ, `https://h` and `https://h:443` do not, `https://h:8443` and `https://h` differ.
/// `Display` gives the canonical form (`https://h`, `http://h:8080`), default ports omitted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    scheme: &'static str,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses a credentials-map key: `scheme://host[:port]` (a lone trailing `/` is allowed),
    /// scheme `http` or `https`, no user name or password, no path, query or fragment.
    ///
    /// The error is a reason in words; it never repeats the key (which might hold a password).
    pub fn parse(key: &str) -> Result<Self, &'static str> {
        let (origin, rest) = split_origin(key)?;
        if !(rest.is_empty() || rest == "/") {
            return Err("it has a path, query or fragment: only scheme://host[:port] is allowed");
        }
        Ok(origin)
    }

    /// The origin of a clone URL: `Some` for `http(s)://…`, `None` for the other transports
    /// (`ssh://…`, `git@host:path`, `file://…`), which never get a token.
    ///
    /// An `http(s)` URL with a user name or password, or whose host is not a plain name, IP
    /// address or `[IPv6]` address (with an optional port), is refused.
    pub fn of_url(url: &str) -> Result<Option<Self>, GitError> {
        if !is_http(url) {
            return Ok(None);
        }
        split_origin(url)
            .map(|(origin, _)| Some(origin))
            .map_err(|reason| GitError::InvalidUrl { reason })
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> &str {
        self.scheme
    }

    /// The host in lower case (`[…]` around an IPv6 address).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, default ports made explicit.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if self.port != default_port(self.scheme) {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

fn is_http(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}

/// Splits `scheme://authority` off `text`; returns the origin and what follows the authority.
fn split_origin(text: &str) -> Result<(Origin, &str), &'static str> {
    let (scheme, rest) = text
        .split_once("://")
        .ok_or("it is not scheme://host[:port]")?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "https" => "https",
        "http" => "http",
        _ => return Err("the scheme must be http or https"),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err(
            "it has a user name or password (user[:password]@): tokens come from \
                    the worker's git credentials, never from the URL",
        );
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if authority.is_empty() || !authority.chars().all(allowed) {
        return Err(
            "the host must be a plain host name, IP address or [IPv6] address, \
                    with an optional :port",
        );
    }
    let (host, port) = split_port(authority)?;
    let port = match port {
        None => default_port(scheme),
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or("the port must be a number from 1 to 65535")?,
    };
    if host.is_empty() || host.starts_with('.') || host.starts_with('-') {
        return Err("it has no valid host");
    }
    let origin = Origin {
        scheme,
        host: host.to_ascii_lowercase(),
        port,
    };
    Ok((origin, tail))
}

/// `host[:port]` or `[v6][:port]`.
fn split_port(authority: &str) -> Result<(&str, Option<&str>), &'static str> {
    const BAD_V6: &str = "an IPv6 host must be written [address][:port]";
    if authority.starts_with('[') {
        let close = authority.find(']').ok_or(BAD_V6)?;
        let (host, rest) = authority.split_at(close + 1);
        if host[1..close].parse::<std::net::Ipv6Addr>().is_err() {
            return Err(BAD_V6);
        }
        return match rest {
            "" => Ok((host, None)),
            _ => rest
                .strip_prefix(':')
                .map(|p| (host, Some(p)))
                .ok_or(BAD_V6),
        };
    }
    if authority.contains(['[', ']']) {
        return Err(BAD_V6);
    }
    Ok(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Origin {
        Origin::parse(k).unwrap_or_else(|e| panic!("{k}: {e}"))
    }

    #[test]
    fn keys_are_normalised() {
        let o = key("HTTPS://GitHub.com");
        assert_eq!(
            (o.scheme(), o.host(), o.port()),
            ("https", "github.com", 443)
        );
        assert_eq!(o.to_string(), "https://github.com");
        assert_eq!(key("https://github.com:443/"), o);
        assert_eq!(key("http://h").port(), 80);
        assert_eq!(key("http://h:80").to_string(), "http://h");
        assert_eq!(
            key("http://127.0.0.1:8080").to_string(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(key("https://[::1]:8443").host(), "[::1]");
    }

    #[test]
    fn bad_keys_are_refused_without_repeating_them() {
        for bad in [
            "github.com",
            "ssh://github.com",
            "https://github.com/org",
            "https://github.com?x=1",
            "https://user:hunter2@github.com",
            "https://tok@github.com",
            "https://",
            "https://h:0",
            "https://h:99999",
            "https://h:x",
            "https://h\\@evil",
            "https://ev%69l.com",
            "https://[::1",
            "https://[nope]:1",
            "https://a]b",
            " https://h",
        ] {
            let err = Origin::parse(bad).expect_err(bad);
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn clone_urls() {
        let o = Origin::of_url("https://GitHub.com/o/r.git")
            .unwrap()
            .unwrap();
        assert_eq!(o, key("https://github.com"));
        let o = Origin::of_url("http://127.0.0.1:9/r.git").unwrap().unwrap();
        assert_eq!(o, key("http://127.0.0.1:9"));
        for other in [
            "ssh://git@h/r.git",
            "git@h:o/r.git",
            "file:///tmp/r.git",
            "/tmp/r",
        ] {
            assert_eq!(Origin::of_url(other).unwrap(), None, "{other}");
        }
        for bad in [
            "https://u:pw@h/r.git",
            "https://u@h/r.git",
            "https://evil.com\\@h/r",
        ] {
            let err = Origin::of_url(bad).expect_err(bad);
            assert!(matches!(err, GitError::InvalidUrl { .. }), "{err:?}");
        }
        let err = Origin::of_url("https://u:hunter2@h/r.git").unwrap_err();
        assert!(err.to_string().contains("user name or password"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
