//! The sandbox bank network: which institutions a counterparty can hold an account at, what
//! their account numbers look like, and how the simulated network behaves for a given account.
//!
//! Everything here is deterministic apart from [`generate_account_number`], which takes its
//! randomness from the caller, so the sandbox behaves identically across processes, restarts
//! and compiler versions.

use crate::money::Currency;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InstitutionKind {
    Bank,
    Wallet,
}

impl InstitutionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InstitutionKind::Bank => "BANK",
            InstitutionKind::Wallet => "WALLET",
        }
    }
}

/// How the institution asks its customer to approve a direct debit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorizationMethod {
    /// The customer reads a one-time code from an SMS and types it into the checkout.
    Otp,
    /// The institution pushes a USSD prompt to the customer's phone; nothing is typed into
    /// the checkout, so the flow has to wait for the institution's answer.
    PushUssd,
}

impl AuthorizationMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizationMethod::Otp => "OTP",
            AuthorizationMethod::PushUssd => "PUSH_USSD",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountPattern {
    /// Exactly `account_length` ASCII digits.
    Digits,
    /// A 12-digit Ethiopian MSISDN, `2519XXXXXXXX` (Ethio Telecom) or `2517XXXXXXXX` (Safaricom).
    EthiopianMobile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Institution {
    /// Nigeria: the CBN/NIP bank code, so merchants can reuse the codes they already store.
    /// Ethiopia: there is no comparable public scheme, so a 6-digit id of ducat's own.
    pub code: &'static str,
    pub name: &'static str,
    pub currency: Currency,
    pub kind: InstitutionKind,
    pub account_length: u8,
    pub account_pattern: AccountPattern,
    pub authorization_method: AuthorizationMethod,
    /// A path on ducat's own host: the checkout must not load third-party resources.
    pub logo: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountFormatError {
    #[error("must be {length} digits")]
    ExpectedDigits { length: u8 },
    #[error("must be an Ethiopian mobile number like 2519XXXXXXXX or 2517XXXXXXXX")]
    ExpectedEthiopianMobile,
}

/// Ethiopian mobile numbers are always written here in international form without the `+`,
/// which is what the wallets themselves use as the account identifier.
const ETHIOPIAN_MOBILE_LENGTH: usize = 12;
const ETHIOPIAN_MOBILE_REGEX: &str = "^251[79][0-9]{8}$";

impl Institution {
    /// The account format as a regular expression, for API clients that validate before
    /// calling us. It must accept exactly what [`Institution::validate_account`] accepts, so
    /// it only uses ASCII classes: `\d` would admit other scripts' digits in some engines.
    pub fn regex(&self) -> String {
        match self.account_pattern {
            AccountPattern::Digits => format!("^[0-9]{{{}}}$", self.account_length),
            AccountPattern::EthiopianMobile => ETHIOPIAN_MOBILE_REGEX.to_owned(),
        }
    }

    pub fn validate_account(&self, account: &str) -> Result<(), AccountFormatError> {
        match self.account_pattern {
            AccountPattern::Digits => {
                if is_ascii_digits(account, usize::from(self.account_length)) {
                    Ok(())
                } else {
                    Err(AccountFormatError::ExpectedDigits {
                        length: self.account_length,
                    })
                }
            }
            AccountPattern::EthiopianMobile => {
                let operator_prefix_ok = account.starts_with("2519") || account.starts_with("2517");
                if operator_prefix_ok && is_ascii_digits(account, ETHIOPIAN_MOBILE_LENGTH) {
                    Ok(())
                } else {
                    Err(AccountFormatError::ExpectedEthiopianMobile)
                }
            }
        }
    }
}

fn is_ascii_digits(text: &str, length: usize) -> bool {
    text.len() == length && text.bytes().all(|b| b.is_ascii_digit())
}

/// `concat!` keeps the logo path derived from the code, so the two cannot drift apart.
macro_rules! institution {
    ($currency:ident, $kind:ident, $code:literal, $name:literal, $length:literal, $pattern:ident, $auth:ident) => {
        Institution {
            code: $code,
            name: $name,
            currency: Currency::$currency,
            kind: InstitutionKind::$kind,
            account_length: $length,
            account_pattern: AccountPattern::$pattern,
            authorization_method: AuthorizationMethod::$auth,
            logo: concat!("/static/banks/", $code, ".svg"),
        }
    };
}

/// Every Nigerian account is a 10-digit NUBAN, whatever the institution, and NIP direct debits
/// are authorized by OTP.
macro_rules! ng_bank {
    ($code:literal, $name:literal) => {
        institution!(Ngn, Bank, $code, $name, 10, Digits, Otp)
    };
}

macro_rules! et_bank {
    ($code:literal, $name:literal, $length:literal) => {
        institution!(Etb, Bank, $code, $name, $length, Digits, Otp)
    };
}

macro_rules! et_wallet {
    ($code:literal, $name:literal, $auth:ident) => {
        institution!(Etb, Wallet, $code, $name, 12, EthiopianMobile, $auth)
    };
}

static NGN_INSTITUTIONS: &[Institution] = &[
    ng_bank!("044", "Access Bank"),
    ng_bank!("023", "Citibank Nigeria"),
    ng_bank!("050", "Ecobank Nigeria"),
    ng_bank!("070", "Fidelity Bank"),
    ng_bank!("011", "First Bank of Nigeria"),
    ng_bank!("214", "First City Monument Bank"),
    ng_bank!("00103", "Globus Bank"),
    ng_bank!("058", "Guaranty Trust Bank"),
    ng_bank!("030", "Heritage Bank"),
    ng_bank!("301", "Jaiz Bank"),
    ng_bank!("082", "Keystone Bank"),
    ng_bank!("50211", "Kuda Microfinance Bank"),
    ng_bank!("303", "Lotus Bank"),
    ng_bank!("50515", "Moniepoint Microfinance Bank"),
    ng_bank!("999992", "OPay"),
    ng_bank!("999991", "PalmPay"),
    ng_bank!("076", "Polaris Bank"),
    ng_bank!("105", "PremiumTrust Bank"),
    ng_bank!("101", "Providus Bank"),
    ng_bank!("221", "Stanbic IBTC Bank"),
    ng_bank!("068", "Standard Chartered Bank"),
    ng_bank!("232", "Sterling Bank"),
    ng_bank!("100", "SunTrust Bank"),
    ng_bank!("302", "TAJBank"),
    ng_bank!("102", "Titan Trust Bank"),
    ng_bank!("032", "Union Bank of Nigeria"),
    ng_bank!("033", "United Bank for Africa"),
    ng_bank!("215", "Unity Bank"),
    ng_bank!("035", "Wema Bank"),
    ng_bank!("057", "Zenith Bank"),
];

/// Bank account lengths follow each bank's current numbering where it is uniform; they are
/// sandbox conventions, and a bank that changes its scheme only needs its entry edited.
/// Banks get 1000xx ids and wallets 4040xx ids, so the kind is visible in logs at a glance.
static ETB_INSTITUTIONS: &[Institution] = &[
    et_bank!("100001", "Commercial Bank of Ethiopia", 13),
    et_bank!("100002", "Awash Bank", 14),
    et_bank!("100003", "Dashen Bank", 13),
    et_bank!("100004", "Bank of Abyssinia", 8),
    et_bank!("100005", "Wegagen Bank", 13),
    et_bank!("100006", "Hibret Bank", 16),
    et_bank!("100007", "Nib International Bank", 13),
    et_bank!("100008", "Cooperative Bank of Oromia", 13),
    et_bank!("100009", "Zemen Bank", 16),
    et_bank!("100010", "Bunna Bank", 13),
    et_bank!("100011", "Berhan Bank", 13),
    et_bank!("100012", "Abay Bank", 16),
    et_bank!("100013", "Enat Bank", 13),
    et_bank!("100014", "Oromia Bank", 13),
    et_bank!("100015", "Amhara Bank", 13),
    et_bank!("100016", "Siinqee Bank", 13),
    et_bank!("100017", "Addis International Bank", 13),
    et_bank!("100018", "Lion International Bank", 13),
    et_bank!("100019", "Global Bank Ethiopia", 13),
    et_bank!("100020", "ZamZam Bank", 13),
    et_bank!("100021", "Hijra Bank", 13),
    et_bank!("100022", "Ahadu Bank", 13),
    et_wallet!("404010", "telebirr", PushUssd),
    et_wallet!("404020", "M-Pesa Ethiopia", PushUssd),
    et_wallet!("404030", "CBE Birr", Otp),
    et_wallet!("404040", "HelloCash", Otp),
    et_wallet!("404050", "Kacha DFS", Otp),
];

pub fn institutions(currency: Currency) -> &'static [Institution] {
    match currency {
        Currency::Ngn => NGN_INSTITUTIONS,
        Currency::Etb => ETB_INSTITUTIONS,
    }
}

pub fn find_institution(currency: Currency, code: &str) -> Option<&'static Institution> {
    institutions(currency).iter().find(|i| i.code == code)
}

/// The institution where ducat's own sandbox funding accounts and checkout accounts live.
pub fn house_bank(currency: Currency) -> &'static Institution {
    let code = match currency {
        Currency::Ngn => "035",
        Currency::Etb => "100001",
    };
    // The directory is static and the tests pin both entries, so this cannot fire at runtime.
    find_institution(currency, code).expect("house bank is in the static directory")
}

/// What the sandbox network does with a request to or from a counterparty account.
///
/// Driven by the account's last two digits so integrators can provoke every failure mode
/// from their own test suites without any setup on our side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxBehaviour {
    Normal,
    /// `...00`: name enquiry and transfers fail as if the account does not exist.
    UnknownAccount,
    /// `...91`: the bank declines.
    Decline,
    /// `...92`: the bank does not answer in time, and a later status query reports success.
    TimeoutThenSuccess,
    /// `...93`: the bank does not answer in time, and a later status query reports failure.
    TimeoutThenFailure,
}

const MAGIC_SUFFIXES: [(&str, SandboxBehaviour); 4] = [
    ("00", SandboxBehaviour::UnknownAccount),
    ("91", SandboxBehaviour::Decline),
    ("92", SandboxBehaviour::TimeoutThenSuccess),
    ("93", SandboxBehaviour::TimeoutThenFailure),
];

pub fn sandbox_behaviour(account_number: &str) -> SandboxBehaviour {
    MAGIC_SUFFIXES
        .iter()
        .find(|(suffix, _)| account_number.ends_with(suffix))
        .map_or(SandboxBehaviour::Normal, |&(_, behaviour)| behaviour)
}

const NIGERIAN_FIRST_NAMES: &[&str] = &[
    "Chinedu",
    "Ngozi",
    "Emeka",
    "Adaeze",
    "Oluwaseun",
    "Funmilayo",
    "Tunde",
    "Yetunde",
    "Ibrahim",
    "Aisha",
    "Musa",
    "Halima",
    "Chiamaka",
    "Obinna",
    "Babajide",
    "Folake",
    "Usman",
    "Zainab",
    "Ifeanyi",
    "Nkechi",
    "Olumide",
    "Bukola",
    "Kelechi",
    "Amina",
];

const NIGERIAN_LAST_NAMES: &[&str] = &[
    "Okafor", "Adeyemi", "Bello", "Eze", "Okonkwo", "Balogun", "Abubakar", "Nwosu", "Adebayo",
    "Ogunleye", "Mohammed", "Chukwu", "Oladipo", "Danjuma", "Nnamdi", "Afolabi", "Yusuf", "Obi",
    "Olawale", "Ibe", "Akinola", "Suleiman", "Uche", "Oyelaran",
];

const ETHIOPIAN_FIRST_NAMES: &[&str] = &[
    "Abebe",
    "Almaz",
    "Dawit",
    "Hirut",
    "Tesfaye",
    "Meseret",
    "Yohannes",
    "Selamawit",
    "Getachew",
    "Tigist",
    "Mulugeta",
    "Bethlehem",
    "Haile",
    "Meron",
    "Solomon",
    "Rahel",
    "Bekele",
    "Liya",
    "Girma",
    "Saba",
    "Kebede",
    "Hana",
    "Tewodros",
    "Eden",
];

/// Ethiopians carry their father's given name rather than a family name, so the "last names"
/// are given names too.
const ETHIOPIAN_LAST_NAMES: &[&str] = &[
    "Tadesse",
    "Alemu",
    "Mengistu",
    "Gebremedhin",
    "Wolde",
    "Assefa",
    "Bekele",
    "Haile",
    "Desta",
    "Tesfaye",
    "Girma",
    "Negash",
    "Abate",
    "Demissie",
    "Kassa",
    "Worku",
    "Ayele",
    "Mekonnen",
    "Lemma",
    "Berhane",
    "Tekle",
    "Getahun",
    "Shiferaw",
    "Woldemariam",
];

/// FNV-1a, 64-bit. Chosen over std's hashers because account names are shown to integrators
/// and must not change when the toolchain does.
fn fnv1a_64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

/// MurmurHash3's 64-bit finalizer: every input bit affects every output bit.
fn fmix64(mut hash: u64) -> u64 {
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

fn pick<'a>(names: &[&'a str], bits: u64) -> &'a str {
    // The lists are far shorter than u32::MAX, so the cast back cannot truncate.
    names[(bits % names.len() as u64) as usize]
}

/// The account holder name the sandbox reports in name enquiry for `account_number`.
pub fn sandbox_account_name(currency: Currency, account_number: &str) -> String {
    let (first_names, last_names) = match currency {
        Currency::Ngn => (NIGERIAN_FIRST_NAMES, NIGERIAN_LAST_NAMES),
        Currency::Etb => (ETHIOPIAN_FIRST_NAMES, ETHIOPIAN_LAST_NAMES),
    };
    // FNV-1a's low bits barely change between accounts that differ only in their last digits,
    // which is how integrators number test accounts, so mix before reducing modulo a list size.
    let hash = fmix64(fnv1a_64(account_number.as_bytes()));
    // Separate halves of the hash, so first and last name vary independently.
    let first = pick(first_names, hash & 0xffff_ffff);
    let last = pick(last_names, hash >> 32);
    format!("{first} {last}")
}

/// The two-digit suffixes that do not trigger a [`SandboxBehaviour`]: 01..=90 and 94..=99.
const NORMAL_SUFFIX_COUNT: u8 = 96;

fn normal_suffix<R: rand::Rng>(rng: &mut R) -> u8 {
    // Mapping a uniform index onto the allowed values avoids a retry loop.
    let index = rng.gen_range(0..NORMAL_SUFFIX_COUNT);
    if index < 90 {
        index + 1
    } else {
        index + 4
    }
}

fn push_random_digits<R: rand::Rng>(out: &mut String, count: usize, rng: &mut R) {
    for _ in 0..count {
        out.push(char::from(b'0' + rng.gen_range(0..10u8)));
    }
}

/// A fresh account at `institution` that validates there and behaves normally in the sandbox,
/// for opening sandbox funding and checkout accounts.
pub fn generate_account_number<R: rand::Rng>(institution: &Institution, rng: &mut R) -> String {
    let (prefix, length) = match institution.account_pattern {
        AccountPattern::Digits => ("", usize::from(institution.account_length)),
        AccountPattern::EthiopianMobile => ("2519", ETHIOPIAN_MOBILE_LENGTH),
    };
    let mut account = String::with_capacity(length);
    account.push_str(prefix);
    match (length - prefix.len()).checked_sub(2) {
        Some(body) => {
            push_random_digits(&mut account, body, rng);
            account.push_str(&format!("{:02}", normal_suffix(rng)));
        }
        // Too short for a two-digit suffix, hence too short to be magic.
        None => push_random_digits(&mut account, length - prefix.len(), rng),
    }
    account
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::collections::HashSet;

    /// A matcher for the regex subset `regex()` emits: `^`, `$`, literal ASCII characters,
    /// bracket classes of single characters and ranges, and `{n}` repetition. It panics on
    /// anything else, so a new regex shape forces this checker to be extended deliberately.
    fn regex_matches(regex: &str, text: &str) -> bool {
        let body = regex
            .strip_prefix('^')
            .and_then(|r| r.strip_suffix('$'))
            .unwrap_or_else(|| panic!("regex {regex:?} must be anchored"));
        let chars: Vec<char> = body.chars().collect();
        let mut atoms: Vec<Vec<(char, char)>> = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '[' => {
                    let close = chars[i..]
                        .iter()
                        .position(|&c| c == ']')
                        .map(|p| i + p)
                        .expect("unclosed class");
                    let class = &chars[i + 1..close];
                    assert!(!class.is_empty() && class[0] != '^', "unsupported class");
                    let mut ranges = Vec::new();
                    let mut j = 0;
                    while j < class.len() {
                        if j + 2 < class.len() && class[j + 1] == '-' {
                            ranges.push((class[j], class[j + 2]));
                            j += 3;
                        } else {
                            ranges.push((class[j], class[j]));
                            j += 1;
                        }
                    }
                    atoms.push(ranges);
                    i = close + 1;
                }
                '{' => {
                    let close = chars[i..]
                        .iter()
                        .position(|&c| c == '}')
                        .map(|p| i + p)
                        .expect("unclosed repetition");
                    let count: usize = chars[i + 1..close]
                        .iter()
                        .collect::<String>()
                        .parse()
                        .expect("only {n} repetition is supported");
                    let atom = atoms.pop().expect("repetition needs an atom");
                    atoms.extend(std::iter::repeat_n(atom, count));
                    i = close + 1;
                }
                c if c.is_ascii_alphanumeric() => {
                    atoms.push(vec![(c, c)]);
                    i += 1;
                }
                c => panic!("unsupported regex syntax {c:?} in {regex:?}"),
            }
        }
        let text: Vec<char> = text.chars().collect();
        text.len() == atoms.len()
            && text
                .iter()
                .zip(&atoms)
                .all(|(c, ranges)| ranges.iter().any(|&(lo, hi)| lo <= *c && *c <= hi))
    }

    fn all_institutions() -> impl Iterator<Item = &'static Institution> {
        Currency::ALL.into_iter().flat_map(institutions)
    }

    fn invalid_samples(institution: &Institution, valid: &str) -> Vec<String> {
        let mut samples = vec![
            String::new(),
            format!("{valid}0"),
            valid[..valid.len() - 1].to_owned(),
            format!("{}a", &valid[..valid.len() - 1]),
            format!(" {}", &valid[1..]),
            format!("{}\u{0661}", &valid[..valid.len() - 1]),
            format!("+{valid}"),
        ];
        match institution.account_pattern {
            AccountPattern::Digits => {}
            AccountPattern::EthiopianMobile => {
                samples.push(format!("2518{}", &valid[4..]));
                samples.push(format!("2619{}", &valid[4..]));
                samples.push(format!("09{}", &valid[4..]));
            }
        }
        samples
    }

    #[test]
    fn codes_are_unique_within_each_currency() {
        for currency in Currency::ALL {
            let mut seen = HashSet::new();
            for institution in institutions(currency) {
                assert!(
                    seen.insert(institution.code),
                    "duplicate code {} in {currency:?}",
                    institution.code
                );
            }
        }
    }

    #[test]
    fn directory_entries_are_consistent() {
        for currency in Currency::ALL {
            assert!(institutions(currency).len() >= 20);
            for institution in institutions(currency) {
                assert_eq!(institution.currency, currency, "{}", institution.name);
                assert_eq!(
                    institution.logo,
                    format!("/static/banks/{}.svg", institution.code)
                );
                assert!(
                    !institution.code.is_empty()
                        && institution.code.bytes().all(|b| b.is_ascii_digit())
                );
                match currency {
                    Currency::Ngn => {
                        assert_eq!(institution.account_length, 10);
                        assert_eq!(institution.account_pattern, AccountPattern::Digits);
                        assert_eq!(institution.authorization_method, AuthorizationMethod::Otp);
                    }
                    Currency::Etb => {
                        assert_eq!(institution.code.len(), 6, "{}", institution.name);
                        assert!((8..=16).contains(&institution.account_length));
                    }
                }
                match institution.account_pattern {
                    AccountPattern::Digits => {}
                    AccountPattern::EthiopianMobile => {
                        assert_eq!(institution.account_length, 12);
                        assert_eq!(institution.kind, InstitutionKind::Wallet);
                    }
                }
            }
        }
    }

    #[test]
    fn known_regexes() {
        assert_eq!(
            find_institution(Currency::Ngn, "058").unwrap().regex(),
            "^[0-9]{10}$"
        );
        assert_eq!(
            house_bank(Currency::Etb).regex(),
            "^[0-9]{13}$",
            "Commercial Bank of Ethiopia"
        );
        assert_eq!(
            find_institution(Currency::Etb, "404050").unwrap().regex(),
            "^251[79][0-9]{8}$"
        );
    }

    #[test]
    fn regex_agrees_with_validate_account() {
        let mut rng = StdRng::seed_from_u64(7);
        for institution in all_institutions() {
            for _ in 0..20 {
                let valid = generate_account_number(institution, &mut rng);
                let mut samples = invalid_samples(institution, &valid);
                samples.push(valid.clone());
                if institution.account_pattern == AccountPattern::EthiopianMobile {
                    samples.push(format!("2517{}", &valid[4..]));
                }
                for sample in samples {
                    assert_eq!(
                        regex_matches(&institution.regex(), &sample),
                        institution.validate_account(&sample).is_ok(),
                        "{} disagrees on {sample:?}",
                        institution.name
                    );
                }
            }
        }
    }

    #[test]
    fn regex_checker_is_not_trivially_true() {
        assert!(regex_matches("^251[79][0-9]{8}$", "251712345678"));
        assert!(!regex_matches("^251[79][0-9]{8}$", "251812345678"));
        assert!(regex_matches("^[0-9]{3}$", "007"));
        assert!(!regex_matches("^[0-9]{3}$", "07"));
    }

    #[test]
    fn validation_errors_describe_the_format() {
        let cbe = house_bank(Currency::Etb);
        let err = cbe.validate_account("12345").unwrap_err();
        assert_eq!(err, AccountFormatError::ExpectedDigits { length: 13 });
        assert_eq!(err.to_string(), "must be 13 digits");

        let kacha = find_institution(Currency::Etb, "404050").unwrap();
        let err = kacha.validate_account("0911234567").unwrap_err();
        assert_eq!(err, AccountFormatError::ExpectedEthiopianMobile);
        assert!(err.to_string().contains("2519XXXXXXXX"));
        assert_eq!(kacha.validate_account("251911234567"), Ok(()));
        assert_eq!(kacha.validate_account("251711234567"), Ok(()));
    }

    #[test]
    fn generated_accounts_validate_and_behave_normally() {
        let mut rng = StdRng::seed_from_u64(42);
        for institution in all_institutions() {
            for _ in 0..1000 {
                let account = generate_account_number(institution, &mut rng);
                assert_eq!(
                    institution.validate_account(&account),
                    Ok(()),
                    "{} generated {account:?}",
                    institution.name
                );
                assert_eq!(sandbox_behaviour(&account), SandboxBehaviour::Normal);
                if institution.account_pattern == AccountPattern::EthiopianMobile {
                    assert!(account.starts_with("2519"));
                }
            }
        }
    }

    #[test]
    fn generated_suffixes_cover_every_normal_value() {
        let mut rng = StdRng::seed_from_u64(1);
        let seen: HashSet<u8> = (0..10_000).map(|_| normal_suffix(&mut rng)).collect();
        let expected: HashSet<u8> = (1..=90).chain(94..=99).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn sandbox_behaviour_by_suffix() {
        assert_eq!(
            sandbox_behaviour("0123456700"),
            SandboxBehaviour::UnknownAccount
        );
        assert_eq!(sandbox_behaviour("0123456791"), SandboxBehaviour::Decline);
        assert_eq!(
            sandbox_behaviour("0123456792"),
            SandboxBehaviour::TimeoutThenSuccess
        );
        assert_eq!(
            sandbox_behaviour("251912345693"),
            SandboxBehaviour::TimeoutThenFailure
        );
        for normal in [
            "0123456701",
            "0123456790",
            "0123456794",
            "0123456799",
            "0",
            "",
        ] {
            assert_eq!(
                sandbox_behaviour(normal),
                SandboxBehaviour::Normal,
                "{normal}"
            );
        }
    }

    #[test]
    fn fnv1a_matches_reference_vectors() {
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn account_names_are_deterministic_and_varied() {
        for currency in Currency::ALL {
            assert_eq!(
                sandbox_account_name(currency, "0123456789"),
                sandbox_account_name(currency, "0123456789")
            );
            let names: HashSet<String> = (0..1000)
                .map(|n| sandbox_account_name(currency, &format!("01234{n:05}")))
                .collect();
            assert!(names.len() > 200, "{currency:?}: only {}", names.len());
            for name in &names {
                let parts: Vec<&str> = name.split(' ').collect();
                assert_eq!(parts.len(), 2, "{name}");
                assert!(parts
                    .iter()
                    .all(|p| p.chars().next().is_some_and(|c| c.is_ascii_uppercase())));
            }
        }
        assert!(NIGERIAN_FIRST_NAMES.contains(
            &sandbox_account_name(Currency::Ngn, "0123456789")
                .split(' ')
                .next()
                .unwrap()
        ));
        assert!(ETHIOPIAN_LAST_NAMES.contains(
            &sandbox_account_name(Currency::Etb, "1000123456789")
                .split(' ')
                .nth(1)
                .unwrap()
        ));
    }

    /// Integrators may assert on these names, so changing the lists or the hash is a
    /// breaking change that this test makes deliberate.
    #[test]
    fn account_names_are_pinned() {
        assert_eq!(
            sandbox_account_name(Currency::Ngn, "0123456789"),
            "Chiamaka Okonkwo"
        );
        assert_eq!(
            sandbox_account_name(Currency::Etb, "1000123456789"),
            "Kebede Ayele"
        );
        assert_eq!(
            sandbox_account_name(Currency::Etb, "251911234567"),
            "Hana Demissie"
        );
    }

    #[test]
    fn name_lists_are_large_enough() {
        for list in [
            NIGERIAN_FIRST_NAMES,
            NIGERIAN_LAST_NAMES,
            ETHIOPIAN_FIRST_NAMES,
            ETHIOPIAN_LAST_NAMES,
        ] {
            assert!(list.len() >= 20);
        }
    }

    #[test]
    fn kacha_lookup() {
        let kacha = find_institution(Currency::Etb, "404050").expect("Kacha DFS is listed");
        assert_eq!(kacha.name, "Kacha DFS");
        assert_eq!(kacha.kind, InstitutionKind::Wallet);
        assert_eq!(kacha.account_pattern, AccountPattern::EthiopianMobile);
        assert_eq!(kacha.authorization_method, AuthorizationMethod::Otp);
        assert_eq!(kacha.logo, "/static/banks/404050.svg");
        assert!(find_institution(Currency::Ngn, "404050").is_none());
    }

    #[test]
    fn ethiopian_wallet_authorization() {
        let push: Vec<&str> = institutions(Currency::Etb)
            .iter()
            .filter(|i| i.authorization_method == AuthorizationMethod::PushUssd)
            .map(|i| i.name)
            .collect();
        assert_eq!(push, ["telebirr", "M-Pesa Ethiopia"]);
    }

    #[test]
    fn house_banks_are_in_their_directories() {
        let wema = house_bank(Currency::Ngn);
        assert_eq!((wema.code, wema.name), ("035", "Wema Bank"));
        let cbe = house_bank(Currency::Etb);
        assert_eq!(cbe.name, "Commercial Bank of Ethiopia");
        for currency in Currency::ALL {
            let house = house_bank(currency);
            assert_eq!(house.currency, currency);
            assert_eq!(house.kind, InstitutionKind::Bank);
            assert_eq!(find_institution(currency, house.code), Some(house));
        }
    }

    #[test]
    fn enums_serialize_as_their_wire_names() {
        for kind in [InstitutionKind::Bank, InstitutionKind::Wallet] {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
        }
        for method in [AuthorizationMethod::Otp, AuthorizationMethod::PushUssd] {
            assert_eq!(
                serde_json::to_value(method).unwrap(),
                serde_json::Value::from(method.as_str())
            );
        }
    }
}
