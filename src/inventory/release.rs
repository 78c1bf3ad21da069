//! Which OpenShift release an inventory describes, as openshift-ansible users state it:
//! `openshift_release` (`3.7`, `v3.6`), else the release in `openshift_image_tag`
//! (`v3.7.23`) or `openshift_pkg_version` (`-3.7.23`).

/// The variables that name the release, in the order they are believed.
const RELEASE_VARIABLES: [&str; 3] = [
    "openshift_release",
    "openshift_image_tag",
    "openshift_pkg_version",
];

/// `(major, minor)` of the first release variable that holds one; `None` when none does.
pub fn of(text: &dyn Fn(&str) -> Option<String>) -> Option<(u32, u32)> {
    RELEASE_VARIABLES
        .iter()
        .find_map(|name| text(name).as_deref().and_then(parse))
}

/// `3.7`, `v3.6`, `v3.7.23`, `-3.7.23`, `3.11.0-0.1` -> (3, 7), (3, 6), ...
pub fn parse(text: &str) -> Option<(u32, u32)> {
    let text = text.trim().trim_start_matches('-');
    let text = text.strip_prefix('v').unwrap_or(text);
    let mut parts = text.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_spellings() {
        assert_eq!(parse("3.7"), Some((3, 7)));
        assert_eq!(parse("v3.6"), Some((3, 6)));
        assert_eq!(parse("v3.7.23"), Some((3, 7)));
        assert_eq!(parse("-3.6.173.0.5"), Some((3, 6)));
        assert_eq!(parse("3.11"), Some((3, 11)));
        assert_eq!(parse("latest"), None);
        assert_eq!(parse("3"), None);
    }

    #[test]
    fn openshift_release_is_believed_first() {
        let vars = |name: &str| match name {
            "openshift_release" => Some("v3.6".to_string()),
            "openshift_image_tag" => Some("v3.7.1".to_string()),
            _ => None,
        };
        assert_eq!(of(&vars), Some((3, 6)));
        let tag_only = |name: &str| (name == "openshift_image_tag").then(|| "v3.7.1".to_string());
        assert_eq!(of(&tag_only), Some((3, 7)));
        assert_eq!(of(&|_: &str| None), None);
    }
}
