//! Beqelal hosted checkout links and payment links: the business creates a link, the customer
//! opens its page, picks an institution and pays by a direct payment. Each attempt is an
//! ordinary direct payment (trace `{trace}-{n}`), so the ledger, webhooks and the sandbox
//! institution behave exactly as for `POST /api/v1/payment/request`.

use super::direct_payments::DirectPaymentRequest;
use super::{beqelal_fields, AppError, Services};
use crate::store::businesses::BusinessRecord;
use crate::store::direct_payments::{self, DirectPaymentRecord};
use crate::store::payment_links::{self, LinkKind, LinkRecord, LinkStatus};
use crate::store::StoreError;
use ducat_core::banks::{self, AuthorizationMethod};
use ducat_core::direct_payment::DirectPaymentStatus;
use ducat_core::ids::{random_token, BusinessId};
use ducat_core::money::{Currency, MinorUnits};
use rand::rngs::OsRng;

/// Beqelal's hosted checkout links expire after ten minutes.
pub const CHECKOUT_LINK_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// Payment links ask at least one birr.
pub const MINIMUM_PAYMENT_LINK_AMOUNT: MinorUnits = MinorUnits(100);
/// Enough for typos and a declined card-less wallet or two, few enough that a leaked link
/// cannot be used to text a stranger's phone without end.
pub const MAXIMUM_LINK_ATTEMPTS: i64 = 10;
/// Room for the `-{n}` suffix within a direct payment's 64-byte trace number.
const MAXIMUM_LINK_TRACE_LENGTH: usize = 60;
const REFERENCE_PREFIX: &str = "lnk_";
/// About 143 bits: the reference is the only key to the public page.
const REFERENCE_RANDOM_LENGTH: usize = 24;

#[derive(Debug, Clone)]
pub struct NewLink {
    pub kind: LinkKind,
    pub phone: String,
    pub amount: String,
    pub trace_number: String,
    pub return_url: Option<String>,
    pub callback_url: Option<String>,
    /// RFC 3339; payment links only (checkouts live ten minutes).
    pub expires_at: Option<String>,
    pub item_name: Option<String>,
    pub quantity: Option<u32>,
    pub reason: Option<String>,
}

/// A link as its page shows it: synchronized with its newest payment attempt.
#[derive(Debug, Clone)]
pub struct LinkView {
    pub link: LinkRecord,
    pub business: BusinessRecord,
    pub attempt: Option<DirectPaymentRecord>,
    pub status: LinkStatus,
    pub now_ms: i64,
}

impl LinkView {
    /// The attempt still waiting for the customer's OTP or USSD approval, if any. One past
    /// its OTP deadline is over even before the worker fails it, so the customer can start again.
    pub fn awaiting(&self) -> Option<&DirectPaymentRecord> {
        self.attempt.as_ref().filter(|a| {
            a.payment.status == DirectPaymentStatus::AwaitingAuthorization
                && self.now_ms < a.payment.otp_expires_ms
        })
    }

    /// Institutions the customer can pay from: USSD-push institutions report only by
    /// webhook, which `request_direct_payment` refuses when there is nowhere to send it.
    pub fn institutions(&self) -> Vec<&'static banks::Institution> {
        let can_push = self.link.callback_url.is_some() || self.business.webhook_url.is_some();
        banks::institutions(Currency::Etb)
            .iter()
            .filter(|i| can_push || i.authorization_method == AuthorizationMethod::Otp)
            .collect()
    }
}

fn validate_url(field: &str, url: &str) -> Result<String, AppError> {
    super::businesses::validate_webhook_url(url)
        .map_err(|_| AppError::invalid(field, "must be an http:// or https:// URL with a host"))
}

/// `+251911234567` or `251911234567`: the customer's phone, as Beqelal's clients send it.
fn validate_phone(phone: &str) -> Result<String, AppError> {
    let phone = phone.trim();
    let digits = phone.strip_prefix('+').unwrap_or(phone);
    if (9..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(phone.to_owned())
    } else {
        Err(AppError::invalid(
            "phone",
            "must be a phone number of 9 to 15 digits, optionally after a +",
        ))
    }
}

fn optional_text(
    field: &str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, AppError> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    match value {
        Some(v) if v.chars().count() > max || v.chars().any(char::is_control) => Err(
            AppError::invalid(field, format!("must be at most {max} printable characters")),
        ),
        other => Ok(other),
    }
}

fn parse_expires_at(text: &str, now: i64) -> Result<i64, AppError> {
    let parsed =
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .map_err(|_| {
                AppError::invalid(
                    "expires_at",
                    "must be an RFC 3339 date and time, like 2026-12-31T23:59:00Z",
                )
            })?;
    let ms = i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| AppError::invalid("expires_at", "is out of range"))?;
    if ms <= now {
        return Err(AppError::invalid("expires_at", "must be in the future"));
    }
    Ok(ms)
}

/// Only the shape ducat issues can name a link; anything else is simply not found.
fn is_link_reference(text: &str) -> bool {
    text.strip_prefix(REFERENCE_PREFIX).is_some_and(|rest| {
        rest.len() == REFERENCE_RANDOM_LENGTH && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// The six digits the customer typed, as `authorize_direct_payment` takes them.
pub fn parse_otp(text: &str) -> Result<u32, AppError> {
    let text = text.trim();
    if text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse()
            .map_err(|_| AppError::invalid("otp", "must be the 6-digit code from the SMS"))
    } else {
        Err(AppError::invalid(
            "otp",
            "must be the 6-digit code from the SMS",
        ))
    }
}

impl Services {
    pub async fn create_payment_link(
        &self,
        business_id: &BusinessId,
        new: NewLink,
    ) -> Result<LinkRecord, AppError> {
        let business = self.business(business_id).await?;
        let now = self.now_ms();
        let phone = validate_phone(&new.phone)?;
        let amount = beqelal_fields::amount(&new.amount)?;
        match new.kind {
            LinkKind::PaymentLink if amount < MINIMUM_PAYMENT_LINK_AMOUNT => {
                return Err(AppError::invalid("amount", "must be at least 1 birr"));
            }
            LinkKind::Checkout | LinkKind::PaymentLink => {}
        }
        let trace_number = beqelal_fields::trace_number(&new.trace_number)?;
        if trace_number.len() > MAXIMUM_LINK_TRACE_LENGTH {
            return Err(AppError::invalid(
                "trace_number",
                format!("must be 1 to {MAXIMUM_LINK_TRACE_LENGTH} printable characters"),
            ));
        }
        let trace_number = trace_number.as_str();
        let return_url = new
            .return_url
            .as_deref()
            .map(|url| validate_url("return_url", url))
            .transpose()?;
        let callback_url = beqelal_fields::callback_url(new.callback_url.as_deref())?;
        let expires_at = match new.kind {
            LinkKind::Checkout => {
                if return_url.is_none() {
                    return Err(AppError::invalid("return_url", "is required"));
                }
                now.saturating_add(CHECKOUT_LINK_LIFETIME_MS)
            }
            LinkKind::PaymentLink => {
                if callback_url.is_none() {
                    return Err(AppError::invalid("callback_url", "is required"));
                }
                let text = new
                    .expires_at
                    .as_deref()
                    .ok_or_else(|| AppError::invalid("expires_at", "is required"))?;
                parse_expires_at(text, now)?
            }
        };
        let item_name = optional_text("item_name", new.item_name, 100)?;
        let reason = optional_text("reason", new.reason, 255)?;
        if new.quantity == Some(0) {
            return Err(AppError::invalid("quantity", "must be at least 1"));
        }
        if let Some(existing) =
            payment_links::by_trace_number(&self.store, &business.id, trace_number).await?
        {
            return Err(AppError::Conflict(format!(
                "trace_number {trace_number} was already used for link {}",
                existing.reference
            )));
        }
        let record = LinkRecord {
            reference: format!(
                "{REFERENCE_PREFIX}{}",
                random_token(&mut OsRng, REFERENCE_RANDOM_LENGTH)
            ),
            business_id: business.id.clone(),
            kind: new.kind,
            phone,
            currency: Currency::Etb,
            amount,
            trace_number: trace_number.to_owned(),
            return_url,
            callback_url,
            item_name,
            quantity: new.quantity.map(i64::from),
            reason,
            expires_at,
            status: LinkStatus::Open,
            attempts: 0,
            attempt_reference: None,
            payment_reference: None,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store.begin().await?;
        payment_links::insert(&mut tx, &record)
            .await
            .map_err(|error| match error {
                StoreError::Duplicate { .. } => {
                    AppError::Conflict(format!("trace_number {trace_number} was already used"))
                }
                other => other.into(),
            })?;
        tx.commit().await?;
        Ok(record)
    }

    /// A link of the business, for the API: another business's link is not found.
    pub async fn payment_link(
        &self,
        business_id: &BusinessId,
        reference: &str,
    ) -> Result<LinkView, AppError> {
        let reference = reference.trim();
        let not_found = || AppError::NotFound(format!("no link {reference}"));
        if !is_link_reference(reference) {
            return Err(not_found());
        }
        let link = payment_links::of_business(&self.store, business_id, reference)
            .await?
            .ok_or_else(not_found)?;
        self.link_view(link).await
    }

    /// For the hosted page: the reference in the URL is the only key.
    pub async fn public_payment_link(&self, reference: &str) -> Result<LinkView, AppError> {
        let reference = reference.trim();
        let not_found = || AppError::NotFound(format!("no link {reference}"));
        if !is_link_reference(reference) {
            return Err(not_found());
        }
        let link = payment_links::by_reference(&self.store, reference)
            .await?
            .ok_or_else(not_found)?;
        self.link_view(link).await
    }

    /// The link with its newest attempt. A processed attempt pays the link here, whoever
    /// finished it (the page's OTP, or the worker that answers USSD pushes), so the link can
    /// never disagree with its payment for longer than it takes to look.
    async fn link_view(&self, mut link: LinkRecord) -> Result<LinkView, AppError> {
        let attempt = match &link.attempt_reference {
            Some(payment) => {
                direct_payments::of_business(&self.store, &link.business_id, payment).await?
            }
            None => None,
        };
        if let Some(paid) = attempt
            .as_ref()
            .filter(|a| a.payment.status == DirectPaymentStatus::Processed)
        {
            if link.status != LinkStatus::Paid {
                let now = self.now_ms();
                payment_links::mark_paid(&self.store, &link.reference, &paid.reference, now)
                    .await?;
                link.status = LinkStatus::Paid;
                link.payment_reference = Some(paid.reference.clone());
                link.updated_at = now;
            }
        }
        let business = self.business(&link.business_id).await?;
        let now_ms = self.now_ms();
        Ok(LinkView {
            status: link.status_at(now_ms),
            link,
            business,
            attempt,
            now_ms,
        })
    }

    /// The customer chose an institution and account on the page: a new direct payment for
    /// the link's amount, texting an OTP or pushing a USSD prompt.
    pub async fn start_link_payment(
        &self,
        reference: &str,
        bank: &str,
        account: &str,
    ) -> Result<DirectPaymentRecord, AppError> {
        let view = self.public_payment_link(reference).await?;
        match view.status {
            LinkStatus::Open => {}
            LinkStatus::Paid => {
                return Err(AppError::Conflict("this link is already paid".to_owned()))
            }
            LinkStatus::Expired => {
                return Err(AppError::Unprocessable("this link has expired".to_owned()))
            }
        }
        if view.awaiting().is_some() {
            return Err(AppError::Conflict(
                "a payment from this link is already waiting for approval".to_owned(),
            ));
        }
        let bank = bank.trim();
        let institution = view
            .institutions()
            .into_iter()
            .find(|i| i.code == bank)
            .ok_or_else(|| AppError::invalid("bank", "must be one of the listed institutions"))?;
        // Checked before an attempt is counted, so a typo does not use one up.
        institution
            .validate_account(account.trim())
            .map_err(|e| AppError::invalid("account", e.to_string()))?;
        let link = view.link;
        let mut seen = link.attempts;
        loop {
            if seen >= MAXIMUM_LINK_ATTEMPTS {
                return Err(AppError::Unprocessable(format!(
                    "this link has been tried {MAXIMUM_LINK_ATTEMPTS} times; ask {} for a new one",
                    view.business.name
                )));
            }
            if !payment_links::claim_attempt(
                &self.store,
                &link.reference,
                seen,
                link.attempt_reference.as_deref(),
                self.now_ms(),
            )
            .await?
            {
                return Err(AppError::Conflict(
                    "another payment from this link was just started".to_owned(),
                ));
            }
            seen += 1;
            let requested = self
                .request_direct_payment(
                    &link.business_id,
                    DirectPaymentRequest {
                        bank: institution.code.to_owned(),
                        account: account.trim().to_owned(),
                        amount: link.amount.to_major_string(link.currency),
                        trace_number: format!("{}-{seen}", link.trace_number),
                        callback_url: link.callback_url.clone(),
                        reason: link.reason.clone().or_else(|| link.item_name.clone()),
                    },
                )
                .await;
            match requested {
                Ok(payment) => {
                    payment_links::set_attempt(
                        &self.store,
                        &link.reference,
                        &payment.reference,
                        self.now_ms(),
                    )
                    .await?;
                    return Ok(payment);
                }
                // The business used `{trace}-{n}` for a direct payment of its own: skip that n
                // (the next claim needs the in-flight mark cleared first).
                Err(AppError::Conflict(_)) => {
                    payment_links::release_attempt(&self.store, &link.reference).await?;
                    continue;
                }
                Err(other) => {
                    payment_links::release_attempt(&self.store, &link.reference).await?;
                    return Err(other);
                }
            }
        }
    }

    /// The OTP the customer typed on the page, for the link's waiting attempt.
    pub async fn authorize_link_payment(
        &self,
        reference: &str,
        otp: &str,
    ) -> Result<DirectPaymentRecord, AppError> {
        let otp = parse_otp(otp)?;
        let view = self.public_payment_link(reference).await?;
        let attempt = view.awaiting().ok_or_else(|| {
            AppError::Conflict("no payment from this link is waiting for a code".to_owned())
        })?;
        let payment = self
            .authorize_direct_payment(&view.link.business_id, &attempt.reference, otp)
            .await?;
        if payment.payment.status == DirectPaymentStatus::Processed {
            payment_links::mark_paid(
                &self.store,
                &view.link.reference,
                &payment.reference,
                self.now_ms(),
            )
            .await?;
        }
        Ok(payment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_recognised_strictly() {
        let reference = format!("lnk_{}", random_token(&mut OsRng, REFERENCE_RANDOM_LENGTH));
        assert!(is_link_reference(&reference));
        assert!(!is_link_reference("lnk_short"));
        assert!(!is_link_reference(&reference.replace("lnk_", "che_")));
    }

    #[test]
    fn otps_are_six_digits() {
        assert_eq!(parse_otp(" 123456 ").unwrap(), 123_456);
        for bad in ["12345", "1234567", "12345a", "", "１２３４５６"] {
            assert!(parse_otp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expiry_must_be_rfc3339_and_later() {
        let now = 1_763_798_400_000;
        assert_eq!(
            parse_expires_at("2025-11-22T08:10:00Z", now).unwrap(),
            now + 600_000
        );
        assert_eq!(
            parse_expires_at("2025-11-22T11:10:00+03:00", now).unwrap(),
            now + 600_000
        );
        assert!(parse_expires_at("2025-11-22T08:00:00Z", now).is_err());
        assert!(parse_expires_at("2025-11-22 08:10", now).is_err());
    }
}
