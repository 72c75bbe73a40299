//! Who may do what in the dashboard. One table, read by every page and every form handler, so a
//! page never offers what its form would refuse.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including the team and the preferences that move money.
    Owner,
    /// The integration: keys, webhooks and the sandbox; no payouts, no security settings.
    Developer,
    /// Reads everything a developer reads; changes nothing.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Developer, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Developer => "developer",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "owner" => Some(Role::Owner),
            "developer" => Some(Role::Developer),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn may(self, action: Action) -> bool {
        match action {
            Action::ManageTeam
            | Action::ChangeOtpPhone
            | Action::ChangeIpAllowlist
            | Action::InitiatePayout => self == Role::Owner,
            Action::ManageKeys
            | Action::ManageWebhooks
            | Action::RevealWebhookSecret
            | Action::UseSandbox => matches!(self, Role::Owner | Role::Developer),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything in the dashboard that changes something or shows a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ManageTeam,
    ChangeOtpPhone,
    ChangeIpAllowlist,
    InitiatePayout,
    ManageKeys,
    ManageWebhooks,
    RevealWebhookSecret,
    UseSandbox,
}

impl Action {
    /// Said to a user whose role does not allow the action.
    pub fn describe(self) -> &'static str {
        match self {
            Action::ManageTeam => "manage the team",
            Action::ChangeOtpPhone => "change the payout OTP phone",
            Action::ChangeIpAllowlist => "change the IP allowlist",
            Action::InitiatePayout => "send payouts",
            Action::ManageKeys => "create or revoke API keys",
            Action::ManageWebhooks => "change webhooks",
            Action::RevealWebhookSecret => "see the webhook secret",
            Action::UseSandbox => "use the sandbox tools",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_change_nothing_and_owners_everything() {
        let actions = [
            Action::ManageTeam,
            Action::ChangeOtpPhone,
            Action::ChangeIpAllowlist,
            Action::InitiatePayout,
            Action::ManageKeys,
            Action::ManageWebhooks,
            Action::RevealWebhookSecret,
            Action::UseSandbox,
        ];
        for action in actions {
            assert!(Role::Owner.may(action), "{action:?}");
            assert!(!Role::Viewer.may(action), "{action:?}");
        }
        assert!(Role::Developer.may(Action::ManageKeys));
        assert!(Role::Developer.may(Action::UseSandbox));
        assert!(!Role::Developer.may(Action::InitiatePayout));
        assert!(!Role::Developer.may(Action::ChangeIpAllowlist));
        assert!(!Role::Developer.may(Action::ManageTeam));
    }

    #[test]
    fn roles_round_trip_through_text() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("admin"), None);
        assert_eq!(Role::parse("Owner"), None);
    }
}
