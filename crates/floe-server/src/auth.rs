//! Credential checks. Passwords are compared in constant time.

use crate::settings::Credentials;
use floe_engine::MountPolicy;
use floe_proto::auth::{constant_time_eq, parse_basic};

fn matches(user: &str, pass: &str, want_user: &str, want_pass: &str) -> bool {
    // Evaluate both comparisons so timing does not reveal which one failed.
    let u = constant_time_eq(user.as_bytes(), want_user.as_bytes());
    let p = constant_time_eq(pass.as_bytes(), want_pass.as_bytes());
    u & p
}

/// The source credentials a mount accepts: its own, or the global ones.
pub fn source_credentials<'a>(
    creds: &'a Credentials,
    policy: &'a MountPolicy,
) -> (&'a str, &'a str) {
    (
        policy.source_user.as_deref().unwrap_or(&creds.source_user),
        policy
            .source_password
            .as_deref()
            .unwrap_or(&creds.source_password),
    )
}

/// True if `authorization` (an `Authorization` header value) carries the mount's source
/// credentials.
pub fn is_source(creds: &Credentials, policy: &MountPolicy, authorization: Option<&str>) -> bool {
    let Some((user, pass)) = authorization.and_then(parse_basic) else {
        return false;
    };
    let (want_user, want_pass) = source_credentials(creds, policy);
    matches(&user, &pass, want_user, want_pass)
}

/// True if `authorization` carries the admin credentials.
pub fn is_admin(creds: &Credentials, authorization: Option<&str>) -> bool {
    let Some((user, pass)) = authorization.and_then(parse_basic) else {
        return false;
    };
    matches(&user, &pass, &creds.admin_user, &creds.admin_password)
}

/// True for admin credentials, or for the source credentials of `mount` (Icecast lets a
/// source's own credentials manage its mount).
pub fn may_manage(
    creds: &Credentials,
    mount_policy: Option<&MountPolicy>,
    authorization: Option<&str>,
) -> bool {
    is_admin(creds, authorization)
        || mount_policy.is_some_and(|p| is_source(creds, p, authorization))
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_engine::MountSettings;

    fn creds() -> Credentials {
        Credentials {
            source_user: "source".into(),
            source_password: "hackme".into(),
            admin_user: "admin".into(),
            admin_password: "secret".into(),
        }
    }

    #[test]
    fn global_and_per_mount_source_credentials() {
        let global = MountSettings::default().resolve();
        // source:hackme
        assert!(is_source(
            &creds(),
            &global,
            Some("Basic c291cmNlOmhhY2ttZQ==")
        ));
        assert!(!is_source(
            &creds(),
            &global,
            Some("Basic c291cmNlOndyb25n")
        ));
        assert!(!is_source(&creds(), &global, None));
        let own = MountSettings {
            source_password: Some("other".into()),
            ..Default::default()
        }
        .resolve();
        assert!(!is_source(
            &creds(),
            &own,
            Some("Basic c291cmNlOmhhY2ttZQ==")
        ));
        // source:other
        assert!(is_source(&creds(), &own, Some("Basic c291cmNlOm90aGVy")));
        assert!(may_manage(
            &creds(),
            Some(&own),
            Some("Basic c291cmNlOm90aGVy")
        ));
        // admin:secret
        assert!(may_manage(&creds(), None, Some("Basic YWRtaW46c2VjcmV0")));
        assert!(!may_manage(&creds(), None, Some("Basic c291cmNlOm90aGVy")));
    }
}
