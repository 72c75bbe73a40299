//! The dashboard's people: signing in and out, sessions, invitations and roles, and the
//! confirmed change of the payout OTP phone.

use super::audit::Actor;
use super::businesses::validate_email;
use super::{AppError, Services};
use crate::secrets;
use crate::store::dashboard::{self, DashboardUser, Invite, NewSession, PhoneChange, Session};
use crate::store::{businesses, sms};
use ducat_core::ids::BusinessId;
use ducat_core::otp::Otp;
use ducat_core::roles::Role;
use ducat_core::sign_in::{self, Failures};
use rand::rngs::OsRng;
use std::fmt;
use std::net::IpAddr;
use std::sync::OnceLock;
use subtle::ConstantTimeEq;

/// A session ends this long after sign-in, however busy.
pub const SESSION_MAX_MS: i64 = 12 * 60 * 60 * 1000;
/// And this long after its last request.
pub const SESSION_IDLE_MS: i64 = 2 * 60 * 60 * 1000;
/// Last-seen is written at most this often per session.
const SESSION_TOUCH_MS: i64 = 60 * 1000;
pub const INVITE_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;
pub const PHONE_CHANGE_TTL_MS: i64 = 10 * 60 * 1000;
pub const MIN_PASSWORD_CHARS: usize = 12;
const WRONG_CREDENTIALS: &str = "the email or the password is wrong";

/// The session cookie's value. Shown to the browser once; only its keyed hash is stored.
#[derive(Clone)]
pub struct SessionToken(String);

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(…)")
    }
}

impl SessionToken {
    pub fn from_cookie(value: &str) -> SessionToken {
        SessionToken(value.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[derive(Debug)]
pub struct SignedIn {
    pub token: SessionToken,
    pub user: DashboardUser,
}

/// An invitation's link token, shown once to the inviter.
#[derive(Debug)]
pub struct IssuedInvite {
    pub token: String,
    pub invite: Invite,
}

fn session_hash(services: &Services, token: &SessionToken) -> String {
    services.keys.hash_dashboard_token("session", &token.0)
}

fn invite_hash(services: &Services, token: &str) -> String {
    services.keys.hash_dashboard_token("invite", token)
}

/// A hash to check unknown emails against, so a wrong email costs as much time as a wrong
/// password and the answer's timing does not tell which emails have accounts.
fn decoy_password_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| secrets::hash_password(&secrets::random_secret(24)))
}

async fn verify_password_off_thread(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || secrets::verify_password(&password, &stored))
        .await
        .unwrap_or(false)
}

async fn hash_password_off_thread(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || secrets::hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(Box::new(e)))
}

pub fn validate_password(password: &str) -> Result<(), AppError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=256).contains(&chars) {
        return Err(AppError::invalid(
            "password",
            format!("must be between {MIN_PASSWORD_CHARS} and 256 characters"),
        ));
    }
    Ok(())
}

impl Services {
    /// Checks an email and password, counting failures per email and per address, and opens
    /// a session. The same answer for an unknown email and a wrong password.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        ip: IpAddr,
    ) -> Result<SignedIn, AppError> {
        let email = email.trim().to_ascii_lowercase();
        let now = self.now_ms();
        let email_subject = format!("email:{email}");
        let address_subject = format!("ip:{ip}");
        let since = now - sign_in::WINDOW_MS;
        let by_email = dashboard::sign_in_failures(&self.store, &email_subject, since).await?;
        let by_address = dashboard::sign_in_failures(&self.store, &address_subject, since).await?;
        let failures = Failures {
            by_email: &by_email,
            by_address: &by_address,
        };
        if let Err(wait_ms) = sign_in::may_attempt(failures, now) {
            let minutes = (wait_ms + 59_999) / 60_000;
            return Err(AppError::RateLimited {
                message: format!(
                    "too many failed sign-ins; try again in {minutes} minute{}",
                    if minutes == 1 { "" } else { "s" }
                ),
                retry_after_secs: u64::try_from((wait_ms + 999) / 1000).unwrap_or(1),
            });
        }
        let found = dashboard::user_by_email(&self.store, &email).await?;
        let stored_hash = found
            .as_ref()
            .map(|(_, hash)| hash.clone())
            .unwrap_or_else(|| decoy_password_hash().to_owned());
        let matches = verify_password_off_thread(password.to_owned(), stored_hash).await;
        let user = match (found, matches) {
            (Some((user, _)), true) => user,
            _ => {
                dashboard::record_sign_in_failure(
                    &self.store,
                    &[&email_subject, &address_subject],
                    now,
                )
                .await?;
                return Err(AppError::Unauthenticated(WRONG_CREDENTIALS.to_owned()));
            }
        };
        dashboard::clear_sign_in_failures(&self.store, &email_subject).await?;
        let token = SessionToken(secrets::random_secret(43));
        let mut tx = self.store.begin().await?;
        dashboard::insert_session(
            &mut tx,
            &NewSession {
                token_hash: &session_hash(self, &token),
                user_id: &user.id,
                business_id: &user.business_id,
                csrf_token: &secrets::random_secret(32),
                now_ms: now,
                expires_at: now + SESSION_MAX_MS,
            },
        )
        .await?;
        let actor = Actor::User {
            user_id: user.id.clone(),
            email: user.email.clone(),
            ip,
        };
        self.audit(&mut tx, &user.business_id, &actor, "user.signed_in", "")
            .await?;
        tx.commit().await?;
        Ok(SignedIn { token, user })
    }

    /// The live session for a cookie, or `None` when it is unknown, expired or idle too long.
    pub async fn dashboard_session(
        &self,
        token: &SessionToken,
    ) -> Result<Option<Session>, AppError> {
        let hash = session_hash(self, token);
        let Some(session) = dashboard::session(&self.store, &hash).await? else {
            return Ok(None);
        };
        let now = self.now_ms();
        if now >= session.expires_at || now - session.last_seen_at >= SESSION_IDLE_MS {
            dashboard::delete_session(&self.store, &hash).await?;
            return Ok(None);
        }
        if now - session.last_seen_at >= SESSION_TOUCH_MS {
            dashboard::touch_session(&self.store, &hash, now).await?;
        }
        Ok(Some(session))
    }

    pub async fn sign_out(&self, token: &SessionToken) -> Result<(), AppError> {
        dashboard::delete_session(&self.store, &session_hash(self, token)).await?;
        Ok(())
    }

    pub async fn purge_dashboard_rows(&self) -> Result<u64, AppError> {
        Ok(dashboard::purge_expired(&self.store, self.now_ms(), sign_in::WINDOW_MS).await?)
    }

    /// Invites someone to the business with a role; the link's token is shown once.
    pub async fn invite_user(
        &self,
        business: &BusinessId,
        actor: &Actor,
        email: &str,
        role: Role,
    ) -> Result<IssuedInvite, AppError> {
        let email = validate_email(email)?;
        if dashboard::user_by_email(&self.store, &email)
            .await?
            .is_some()
        {
            return Err(AppError::Conflict(format!(
                "{email} already has a dashboard account"
            )));
        }
        let token = secrets::random_secret(40);
        let now = self.now_ms();
        let invite = Invite {
            token_hash: invite_hash(self, &token),
            business_id: business.clone(),
            email: email.clone(),
            role,
            invited_by: actor.label(),
            created_at: now,
            expires_at: now + INVITE_TTL_MS,
            accepted_at: None,
            revoked_at: None,
        };
        let mut tx = self.store.begin().await?;
        dashboard::insert_invite(&mut tx, &invite).await?;
        self.audit(
            &mut tx,
            business,
            actor,
            "user.invited",
            format!("{email} invited as {role}"),
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedInvite { token, invite })
    }

    /// The invitation behind a link, if it can still be accepted.
    pub async fn open_invite(&self, token: &str) -> Result<Invite, AppError> {
        let invite = dashboard::invite(&self.store, &invite_hash(self, token))
            .await?
            .filter(|i| {
                i.accepted_at.is_none() && i.revoked_at.is_none() && i.expires_at > self.now_ms()
            });
        invite.ok_or_else(|| {
            AppError::NotFound(
                "this invitation link is not valid: it was used, withdrawn or has expired"
                    .to_owned(),
            )
        })
    }

    /// Accepts an invitation with the invitee's chosen password, creating their account.
    pub async fn accept_invite(
        &self,
        token: &str,
        password: &str,
        ip: IpAddr,
    ) -> Result<DashboardUser, AppError> {
        let invite = self.open_invite(token).await?;
        validate_password(password)?;
        let password_hash = hash_password_off_thread(password.to_owned()).await?;
        let now = self.now_ms();
        let user = DashboardUser {
            id: format!("usr_{}", secrets::random_secret(16)),
            business_id: invite.business_id.clone(),
            email: invite.email.clone(),
            role: invite.role,
            created_at: now,
            last_sign_in_at: None,
        };
        let mut tx = self.store.begin().await?;
        if !dashboard::accept_invite(&mut tx, &invite.token_hash, now).await? {
            return Err(AppError::Conflict(
                "this invitation was accepted or withdrawn a moment ago".to_owned(),
            ));
        }
        businesses::insert_dashboard_user(
            &mut tx,
            &user.id,
            &user.business_id,
            &user.email,
            &password_hash,
            user.role.as_str(),
            now,
        )
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Duplicate { .. } => {
                AppError::Conflict(format!("{} already has a dashboard account", user.email))
            }
            other => other.into(),
        })?;
        let actor = Actor::User {
            user_id: user.id.clone(),
            email: user.email.clone(),
            ip,
        };
        self.audit(
            &mut tx,
            &user.business_id,
            &actor,
            "user.joined",
            format!("accepted the invitation as {}", user.role),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn revoke_invite(
        &self,
        business: &BusinessId,
        actor: &Actor,
        token_hash: &str,
    ) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        if !dashboard::revoke_invite(&mut tx, business, token_hash, self.now_ms()).await? {
            return Err(AppError::NotFound(
                "no open invitation with that id".to_owned(),
            ));
        }
        self.audit(&mut tx, business, actor, "user.invite_withdrawn", "")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a user's role, never leaving the business without an owner.
    pub async fn change_user_role(
        &self,
        business: &BusinessId,
        actor: &Actor,
        user_id: &str,
        role: Role,
    ) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        let current = dashboard::role_of_user(&mut tx, business, user_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no user {user_id}")))?;
        if current == Role::Owner
            && role != Role::Owner
            && dashboard::count_owners(&mut tx, business).await? <= 1
        {
            return Err(AppError::Conflict(
                "the business must keep at least one owner".to_owned(),
            ));
        }
        dashboard::set_role(&mut tx, business, user_id, role).await?;
        self.audit(
            &mut tx,
            business,
            actor,
            "user.role_changed",
            format!("{user_id} is now {role} (was {current})"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a user and signs them out everywhere, never the last owner.
    pub async fn remove_user(
        &self,
        business: &BusinessId,
        actor: &Actor,
        user_id: &str,
    ) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        let current = dashboard::role_of_user(&mut tx, business, user_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no user {user_id}")))?;
        if current == Role::Owner && dashboard::count_owners(&mut tx, business).await? <= 1 {
            return Err(AppError::Conflict(
                "the business must keep at least one owner".to_owned(),
            ));
        }
        dashboard::remove_user(&mut tx, business, user_id, self.now_ms()).await?;
        self.audit(
            &mut tx,
            business,
            actor,
            "user.removed",
            format!("{user_id} ({current}) removed"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts a change of the payout OTP phone: a code goes to the new number, and the number
    /// takes effect only when that code comes back, so a typo cannot strand payouts.
    pub async fn request_otp_phone_change(
        &self,
        business: &BusinessId,
        actor: &Actor,
        phone: &str,
    ) -> Result<String, AppError> {
        let phone = super::businesses::validate_phone("otp_phone", phone)?.to_string();
        let record = self.business(business).await?;
        if record.otp_phone.as_deref() == Some(phone.as_str()) {
            return Err(AppError::invalid(
                "otp_phone",
                "is already the payout OTP phone",
            ));
        }
        let otp = Otp::generate(&mut OsRng);
        let now = self.now_ms();
        let change = PhoneChange {
            phone: phone.clone(),
            otp_hash: self
                .keys
                .hash_otp(&phone_change_subject(business, &phone), otp.expose()),
            attempts: 0,
            requested_by: actor.label(),
            created_at: now,
            expires_at: now + PHONE_CHANGE_TTL_MS,
        };
        let body = format!(
            "{} is your ducat code to make this number the payout OTP phone of {}. It expires in {} minutes.",
            otp.expose(),
            record.name,
            PHONE_CHANGE_TTL_MS / 60_000
        );
        let mut tx = self.store.begin().await?;
        dashboard::put_phone_change(&mut tx, business, &change).await?;
        sms::enqueue(&mut tx, business, &phone, &body, "otp_phone_change", now).await?;
        self.audit(
            &mut tx,
            business,
            actor,
            "otp_phone.change_requested",
            format!("confirmation code sent to {phone}"),
        )
        .await?;
        tx.commit().await?;
        Ok(phone)
    }

    pub async fn pending_otp_phone_change(
        &self,
        business: &BusinessId,
    ) -> Result<Option<PhoneChange>, AppError> {
        Ok(dashboard::phone_change(&self.store, business)
            .await?
            .filter(|c| c.expires_at > self.now_ms()))
    }

    /// Confirms the pending change with the code sent to the new number.
    pub async fn confirm_otp_phone_change(
        &self,
        business: &BusinessId,
        actor: &Actor,
        code: &str,
    ) -> Result<String, AppError> {
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let change = dashboard::phone_change_for_update(&mut tx, business, self.store.engine())
            .await?
            .ok_or_else(|| {
                AppError::NotFound("there is no phone change waiting for a code".to_owned())
            })?;
        if change.expires_at <= now {
            dashboard::delete_phone_change(&mut tx, business).await?;
            tx.commit().await?;
            return Err(AppError::Unprocessable(
                "the code has expired; ask for a new one".to_owned(),
            ));
        }
        let presented = Otp::parse(code.trim())
            .map(|otp| {
                self.keys
                    .hash_otp(&phone_change_subject(business, &change.phone), otp.expose())
            })
            .unwrap_or_default();
        let correct: bool = presented
            .as_bytes()
            .ct_eq(change.otp_hash.as_bytes())
            .into();
        if !correct {
            let attempts = change.attempts + 1;
            if attempts >= i64::from(self.config.otp_max_attempts) {
                dashboard::delete_phone_change(&mut tx, business).await?;
                tx.commit().await?;
                return Err(AppError::Unprocessable(
                    "too many wrong codes; the change was cancelled, ask for a new code".to_owned(),
                ));
            }
            dashboard::count_phone_change_attempt(&mut tx, business).await?;
            tx.commit().await?;
            return Err(AppError::invalid(
                "otp",
                "is not the code sent to the new number",
            ));
        }
        dashboard::delete_phone_change(&mut tx, business).await?;
        let changes = businesses::PreferenceChanges {
            otp_phone: Some(Some(change.phone.clone())),
            ..Default::default()
        };
        businesses::update_preferences(&mut tx, business, &changes, now).await?;
        self.audit(
            &mut tx,
            business,
            actor,
            "otp_phone.changed",
            format!("OTP phone set to {} (confirmed by code)", change.phone),
        )
        .await?;
        tx.commit().await?;
        Ok(change.phone)
    }

    pub async fn cancel_otp_phone_change(
        &self,
        business: &BusinessId,
        actor: &Actor,
    ) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        dashboard::delete_phone_change(&mut tx, business).await?;
        self.audit(&mut tx, business, actor, "otp_phone.change_cancelled", "")
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn phone_change_subject(business: &BusinessId, phone: &str) -> String {
    format!("otp-phone-change:{business}:{phone}")
}
