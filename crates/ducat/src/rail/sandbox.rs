//! The in-process sandbox bank: the directory and magic values of `ducat_core::banks`, answered
//! without leaving the machine.

use super::{BoxFuture, Rail, RailError, ResolvedAccount};
use ducat_core::banks::{self, SandboxBehaviour};
use ducat_core::money::Currency;

#[derive(Debug, Default, Clone)]
pub struct SandboxRail;

impl SandboxRail {
    fn resolve(
        &self,
        currency: Currency,
        bank_code: &str,
        account_number: &str,
    ) -> Result<ResolvedAccount, RailError> {
        let institution = banks::find_institution(currency, bank_code)
            .ok_or_else(|| RailError::UnknownBank(bank_code.to_owned(), currency))?;
        institution
            .validate_account(account_number)
            .map_err(|e| RailError::MalformedAccount(e.to_string()))?;
        match banks::sandbox_behaviour(account_number) {
            SandboxBehaviour::UnknownAccount => {
                Err(RailError::UnknownAccount(account_number.to_owned()))
            }
            SandboxBehaviour::Normal
            | SandboxBehaviour::Decline
            | SandboxBehaviour::TimeoutThenSuccess
            | SandboxBehaviour::TimeoutThenFailure => Ok(ResolvedAccount {
                bank_code: institution.code.to_owned(),
                bank_name: institution.name.to_owned(),
                account_number: account_number.to_owned(),
                account_name: banks::sandbox_account_name(currency, account_number),
            }),
        }
    }
}

impl Rail for SandboxRail {
    fn name_enquiry<'a>(
        &'a self,
        currency: Currency,
        bank_code: &'a str,
        account_number: &'a str,
    ) -> BoxFuture<'a, Result<ResolvedAccount, RailError>> {
        Box::pin(async move { self.resolve(currency, bank_code, account_number) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_values_decide_name_enquiry() {
        let rail = SandboxRail;
        let resolved = rail.resolve(Currency::Ngn, "058", "0123456789").unwrap();
        assert_eq!(
            resolved.bank_name,
            banks::find_institution(Currency::Ngn, "058").unwrap().name
        );
        assert_eq!(
            resolved,
            rail.resolve(Currency::Ngn, "058", "0123456789").unwrap()
        );
        assert_eq!(
            rail.resolve(Currency::Ngn, "058", "0123456700"),
            Err(RailError::UnknownAccount("0123456700".into()))
        );
        assert!(rail.resolve(Currency::Ngn, "058", "0123456791").is_ok());
        assert!(matches!(
            rail.resolve(Currency::Ngn, "999", "0123456789"),
            Err(RailError::UnknownBank(..))
        ));
        assert!(matches!(
            rail.resolve(Currency::Ngn, "058", "123"),
            Err(RailError::MalformedAccount(_))
        ));
    }
}
