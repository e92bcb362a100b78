//! Path rules: allowed characters, lengths, relative paths and special watch paths.

use crate::wire::{ABS_PATH_MAX, REL_PATH_MAX};
use crate::Errno;
use alloc::format;
use alloc::string::String;

/// Special watch path fired when a domain is introduced.
pub const INTRODUCE_DOMAIN: &str = "@introduceDomain";
/// Special watch path fired when a domain is released.
pub const RELEASE_DOMAIN: &str = "@releaseDomain";

/// The home of domain `domid`, which relative paths are resolved against.
pub fn domain_path(domid: u32) -> String {
    format!("/local/domain/{domid}")
}

/// Checks a node path (absolute or relative) against Xen's rules.
pub fn check(path: &str) -> Result<(), Errno> {
    if path.is_empty() {
        return Err(Errno::EINVAL);
    }
    if !path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'/' | b'_' | b'@'))
    {
        return Err(Errno::EINVAL);
    }
    if path.contains("//") {
        return Err(Errno::EINVAL);
    }
    let absolute = path.starts_with('/');
    if path.ends_with('/') && path != "/" {
        return Err(Errno::EINVAL);
    }
    let max = if absolute { ABS_PATH_MAX } else { REL_PATH_MAX };
    if path.len() > max {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Whether `path` names a special watch path (`@introduceDomain` ...).
pub fn is_special(path: &str) -> bool {
    path.starts_with('@')
}

/// Checks `path` and makes it absolute for domain `domid`.
pub fn canonicalize(domid: u32, path: &str) -> Result<String, Errno> {
    check(path)?;
    if path.starts_with('/') {
        return Ok(String::from(path));
    }
    let abs = format!("{}/{}", domain_path(domid), path);
    if abs.len() > ABS_PATH_MAX {
        return Err(Errno::EINVAL);
    }
    Ok(abs)
}

/// The parent of an absolute path (`None` for the root).
pub fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&path[..i]),
        None => None,
    }
}

/// The last component of an absolute path.
pub fn basename(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// Whether `child` is `ancestor` itself or lies below it.
pub fn is_at_or_below(child: &str, ancestor: &str) -> bool {
    if ancestor == "/" {
        return child.starts_with('/');
    }
    child == ancestor
        || (child.starts_with(ancestor) && child.as_bytes().get(ancestor.len()) == Some(&b'/'))
}

/// `base/name`, handling the root.
pub fn join(base: &str, name: &str) -> String {
    if base == "/" {
        format!("/{name}")
    } else {
        format!("{base}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(check("/").is_ok());
        assert!(check("/local/domain/1/data").is_ok());
        assert!(check("data/clickos").is_ok());
        assert!(check("@introduceDomain").is_ok());
        for bad in ["", "/a/", "/a//b", "/a b", "/a\0", "a/", "/ä"] {
            assert_eq!(check(bad), Err(Errno::EINVAL), "{bad:?}");
        }
        let long = "a".repeat(REL_PATH_MAX + 1);
        assert_eq!(check(&long), Err(Errno::EINVAL));
    }

    #[test]
    fn relative_resolution() {
        assert_eq!(canonicalize(7, "data/x").unwrap(), "/local/domain/7/data/x");
        assert_eq!(canonicalize(7, "/a").unwrap(), "/a");
    }

    #[test]
    fn tree_helpers() {
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
        assert_eq!(basename("/a/b"), "b");
        assert!(is_at_or_below("/a/b", "/a"));
        assert!(is_at_or_below("/a", "/a"));
        assert!(!is_at_or_below("/ab", "/a"));
        assert!(is_at_or_below("/ab", "/"));
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }
}
