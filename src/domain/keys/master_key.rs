//! The master key: 32 random bytes that seal (AES-256-GCM) every signing key's private half
//! in the database, so that all instances sharing the database can sign while the
//! database alone does not give the keys away. Read from `keys.master_key` (base64) or
//! `{keys.dir}/master.key`, which is created with mode 0600 on a first start.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};

use super::KeyError;
use crate::config::KeySettings;

const FILE_NAME: &str = "master.key";

pub struct MasterKey {
    key: LessSafeKey,
    /// HMAC-SHA256 keyed with the master key: the root from which purpose keys derive.
    mac_root: aws_lc_rs::hmac::Key,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<hidden>)")
    }
}

impl MasterKey {
    /// Loads the master key. A new one is made only when there is none anywhere and no
    /// sealed key exists yet: otherwise a missing key file is an error, never a silent
    /// regeneration that would orphan the keys in the database.
    pub fn load_or_create(settings: &KeySettings, sealed_keys_exist: bool) -> Result<MasterKey, KeyError> {
        if let Some(encoded) = &settings.master_key {
            return MasterKey::decode(encoded.expose_secret(), "keys.master_key");
        }
        let path = settings.dir.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(encoded) => MasterKey::decode(&encoded, &path.display().to_string()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                if sealed_keys_exist {
                    return Err(KeyError::MissingMasterKey(path));
                }
                MasterKey::create(&settings.dir, &path)
            }
            Err(error) => {
                Err(KeyError::Unexpected(anyhow::Error::new(error).context(format!("cannot read {}", path.display()))))
            }
        }
    }

    fn create(dir: &Path, path: &PathBuf) -> Result<MasterKey, KeyError> {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        let encoded = STANDARD.encode(bytes);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path)?;
            file.write_all(format!("{encoded}\n").as_bytes())?;
            file.sync_all()
        };
        write().map_err(|e| {
            KeyError::Unexpected(anyhow::Error::new(e).context(format!("cannot create {}", path.display())))
        })?;
        tracing::info!(path = %path.display(), "created a new master key; back it up, and give every instance the same one");
        MasterKey::decode(&encoded, &path.display().to_string())
    }

    fn decode(encoded: &str, source: &str) -> Result<MasterKey, KeyError> {
        let bytes = SecretString::from(encoded.trim().to_string());
        let bytes = STANDARD
            .decode(bytes.expose_secret())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| KeyError::MalformedMasterKey(source.to_string()))?;
        let key =
            UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| KeyError::MalformedMasterKey(source.to_string()))?;
        let mac_root = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &bytes);
        Ok(MasterKey { key: LessSafeKey::new(key), mac_root })
    }

    /// A MAC key for one purpose, derived from the master key, so every instance sharing
    /// the master key derives the same one and nothing else is stored.
    pub fn derive_mac_key(&self, purpose: &str) -> aws_lc_rs::hmac::Key {
        let derived = aws_lc_rs::hmac::sign(&self.mac_root, purpose.as_bytes());
        aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, derived.as_ref())
    }

    /// Encrypts `plaintext`, binding it to `kid`: nonce || ciphertext || tag.
    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(kid.as_bytes()), &mut sealed)
            .map_err(|_| KeyError::Unexpected(anyhow::anyhow!("AES-GCM sealing failed")))?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    /// Decrypts what [`MasterKey::seal`] made for `kid`; fails with the wrong master key.
    pub fn open(&self, kid: &str, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        let wrong = || KeyError::WrongMasterKey(kid.to_string());
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN).ok_or_else(wrong)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| wrong())?;
        let mut buffer = ciphertext.to_vec();
        let plaintext = self.key.open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buffer).map_err(|_| wrong())?;
        Ok(plaintext.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path) -> KeySettings {
        KeySettings { dir: dir.to_path_buf(), ..KeySettings::default() }
    }

    #[test]
    fn sealed_data_opens_with_the_same_key_and_kid_only() {
        let dir = tempfile::tempdir().unwrap();
        let key = MasterKey::load_or_create(&settings(dir.path()), false).unwrap();
        let sealed = key.seal("kid-1", b"private").unwrap();
        assert_eq!(key.open("kid-1", &sealed).unwrap(), b"private");
        assert!(matches!(key.open("kid-2", &sealed), Err(KeyError::WrongMasterKey(_))));

        let other = tempfile::tempdir().unwrap();
        let other_key = MasterKey::load_or_create(&settings(other.path()), false).unwrap();
        assert!(matches!(other_key.open("kid-1", &sealed), Err(KeyError::WrongMasterKey(_))));
    }

    #[test]
    fn the_key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = MasterKey::load_or_create(&settings(dir.path()), false).unwrap();
        let sealed = first.seal("k", b"x").unwrap();
        let again = MasterKey::load_or_create(&settings(dir.path()), true).unwrap();
        assert_eq!(again.open("k", &sealed).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE_NAME)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_missing_key_file_is_an_error_once_keys_exist() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(MasterKey::load_or_create(&settings(dir.path()), true), Err(KeyError::MissingMasterKey(_))));
        assert!(!dir.path().join(FILE_NAME).exists());
    }
}
