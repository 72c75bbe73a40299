//! Secret material: the master key and what is derived from it, API keys in their plain and
//! hashed forms, encryption of stored secrets, and dashboard passwords.
//!
//! None of these types implement `Debug` in a way that prints the secret, so a stray
//! `{:?}` in a log line cannot leak one.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use std::fmt;
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of the concatenated parts.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The root of every server-side key. Generated once into a file for the embedded default;
/// given to every node (`DUCAT_MASTER_KEY`) when several share one database.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the master key must be 64 hexadecimal characters")]
    MalformedMasterKey,
    #[error("cannot use master key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("a stored secret could not be decrypted with this master key")]
    Undecryptable,
}

impl MasterKey {
    pub fn from_hex(text: &str) -> Result<MasterKey, SecretError> {
        let bytes = hex::decode(text.trim()).map_err(|_| SecretError::MalformedMasterKey)?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| SecretError::MalformedMasterKey)?;
        Ok(MasterKey(key))
    }

    pub fn generate() -> MasterKey {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        MasterKey(key)
    }

    /// Reads the key file, creating it (readable by its owner only) when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, SecretError> {
        let io = |source| SecretError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => MasterKey::from_hex(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = MasterKey::generate();
                write_private(path, &hex::encode(key.0)).map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }

    fn derive(&self, purpose: &str) -> [u8; 32] {
        hmac_sha256(&self.0, &[b"ducat/", purpose.as_bytes()])
    }

    pub fn keys(&self) -> ServerKeys {
        ServerKeys {
            credential_hash: self.derive("credential-hash"),
            otp_hash: self.derive("otp-hash"),
            encryption: self.derive("secret-encryption"),
            dashboard_token_hash: self.derive("dashboard-token-hash"),
        }
    }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// Keys derived from the master key, one per purpose, so no key is used for two jobs.
#[derive(Clone)]
pub struct ServerKeys {
    credential_hash: [u8; 32],
    otp_hash: [u8; 32],
    encryption: [u8; 32],
    dashboard_token_hash: [u8; 32],
}

impl fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKeys(…)")
    }
}

impl ServerKeys {
    pub fn hash_credential(&self, key: &PlainApiKey) -> HashedApiKey {
        HashedApiKey(hex::encode(hmac_sha256(
            &self.credential_hash,
            &[key.0.as_bytes()],
        )))
    }

    /// The keyed hash of an OTP bound to the transaction it was issued for, so a code issued
    /// for one transaction is worthless for any other.
    pub fn hash_otp(&self, transaction: &str, otp: &str) -> String {
        hex::encode(hmac_sha256(
            &self.otp_hash,
            &[transaction.as_bytes(), b"\x00", otp.as_bytes()],
        ))
    }

    /// The stored form of a dashboard session or invitation token: a database dump alone
    /// lets nobody sign in. `kind` keeps a session token from ever matching an invitation.
    pub fn hash_dashboard_token(&self, kind: &str, token: &str) -> String {
        hex::encode(hmac_sha256(
            &self.dashboard_token_hash,
            &[kind.as_bytes(), b"\x00", token.as_bytes()],
        ))
    }

    pub fn encrypt(&self, plaintext: &str) -> String {
        let cipher = XChaCha20Poly1305::new((&self.encryption).into());
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        BASE64.encode(out)
    }

    pub fn decrypt(&self, stored: &str) -> Result<String, SecretError> {
        let bytes = BASE64
            .decode(stored)
            .map_err(|_| SecretError::Undecryptable)?;
        if bytes.len() < 24 {
            return Err(SecretError::Undecryptable);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let cipher = XChaCha20Poly1305::new((&self.encryption).into());
        let plaintext = cipher
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .map_err(|_| SecretError::Undecryptable)?;
        String::from_utf8(plaintext).map_err(|_| SecretError::Undecryptable)
    }
}

/// An API key as the client presents it. Shown once at creation, never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainApiKey(String);

impl fmt::Debug for PlainApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlainApiKey({}…)", self.prefix())
    }
}

impl PlainApiKey {
    /// `prefix` + 32 letters and digits: about 190 bits from the OS CSPRNG.
    pub fn generate(prefix: &str) -> PlainApiKey {
        PlainApiKey(format!(
            "{prefix}{}",
            ducat_core::ids::random_token(&mut OsRng, 32)
        ))
    }

    pub fn from_presented(text: &str) -> PlainApiKey {
        PlainApiKey(text.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The first characters, enough for a person to tell keys apart and no help to a guesser.
    pub fn prefix(&self) -> String {
        self.0.chars().take(12).collect()
    }
}

/// The stored form of an API key: its keyed hash, hex encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedApiKey(pub String);

/// A webhook signing secret in the Standard Webhooks form: `whsec_` + base64 of 24 random bytes.
pub fn generate_webhook_secret() -> String {
    let mut bytes = [0u8; 24];
    OsRng.fill_bytes(&mut bytes);
    format!("whsec_{}", BASE64.encode(bytes))
}

/// A readable random secret (letters and digits) of `len` characters from the OS CSPRNG.
pub fn random_secret(len: usize) -> String {
    ducat_core::ids::random_token(&mut OsRng, len)
}

pub fn hash_password(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2id with default parameters accepts any password")
        .to_string()
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(stored)
        .map(|hash| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_secrets_round_trip_and_resist_another_key() {
        let keys = MasterKey::generate().keys();
        let stored = keys.encrypt("whsec_abc");
        assert_eq!(keys.decrypt(&stored).unwrap(), "whsec_abc");
        assert!(MasterKey::generate().keys().decrypt(&stored).is_err());
    }

    #[test]
    fn credential_hashes_are_keyed() {
        let key = PlainApiKey::generate("dp_test_");
        let a = MasterKey::generate().keys();
        let b = MasterKey::generate().keys();
        assert_eq!(a.hash_credential(&key), a.hash_credential(&key));
        assert_ne!(a.hash_credential(&key), b.hash_credential(&key));
        assert!(!format!("{key:?}").contains(&key.expose()[12..]));
    }

    #[test]
    fn otp_hashes_are_bound_to_their_transaction() {
        let keys = MasterKey::generate().keys();
        assert_ne!(
            keys.hash_otp("tran_a", "123456"),
            keys.hash_otp("tran_b", "123456")
        );
    }

    #[test]
    fn passwords_verify() {
        let stored = hash_password("correct horse");
        assert!(verify_password("correct horse", &stored));
        assert!(!verify_password("wrong", &stored));
    }

    #[test]
    fn the_key_file_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ducat.key");
        let first = MasterKey::load_or_create(&path).unwrap();
        let second = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(first.0, second.0);
    }
}
