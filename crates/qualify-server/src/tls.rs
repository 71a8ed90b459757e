//! HTTPS: with a certificate the operator gives, or with a local development certificate
//! Qualify makes on request (a small certificate authority of its own, and a server certificate
//! it signs for the names asked, such as `api.partnercenter.microsoft.com`). Trusting that
//! authority, plus a hosts-file entry, lets a client with Partner Center's URL hard-coded talk to
//! Qualify unchanged. The authority is made to be safe to trust: its name constraints limit it
//! to the names it was made for, it lasts three years, and its key is readable by its owner only.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub use qualify_app::settings::TlsSettings;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CidrSubnet, DnType, GeneralSubtree, IsCa,
    KeyPair, KeyUsagePurpose, NameConstraints,
};

/// A failure to prepare HTTPS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing a file.
    #[error("{0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    /// Making a certificate.
    #[error("generating a development certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A certificate or key file that can't be served with.
    #[error("{0}: {1}")]
    Unusable(PathBuf, String),
}

fn write(path: &Path, contents: &str) -> Result<(), TlsError> {
    std::fs::write(path, contents).map_err(|e| TlsError::Io(path.to_owned(), e))
}

fn read(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|e| TlsError::Io(path.to_owned(), e))
}

/// The TLS configuration serving the certificate and key that `settings` name (made first,
/// for development certificates), over HTTP/1.1.
pub(crate) fn server_config(
    settings: &TlsSettings,
) -> Result<std::sync::Arc<rustls::ServerConfig>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let (cert, key) = files(settings)?;
    let unusable = |path: &Path, why: String| TlsError::Unusable(path.to_owned(), why);
    let chain = CertificateDer::pem_file_iter(&cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| unusable(&cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(unusable(&cert, "no certificate in the file".into()));
    }
    let private_key =
        PrivateKeyDer::from_pem_file(&key).map_err(|e| unusable(&key, e.to_string()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| unusable(&cert, e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(chain, private_key)
    .map_err(|e| unusable(&key, e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(std::sync::Arc::new(config))
}

/// The certificate and key files to serve with, making the development ones if needed.
fn files(settings: &TlsSettings) -> Result<(PathBuf, PathBuf), TlsError> {
    match settings {
        TlsSettings::Files { cert, key } => Ok((cert.clone(), key.clone())),
        TlsSettings::Generated { dir, names } => generate(dir, names),
    }
}

/// How long the local authority is valid: a project's life, not a millennium, so that a copy
/// of its key found later has long stopped mattering.
const AUTHORITY_VALIDITY: Duration = Duration::from_secs(3 * 365 * 24 * 3600);
/// How long a server certificate is valid: the most any browser accepts (397 days).
const CERTIFICATE_VALIDITY: Duration = Duration::from_secs(397 * 24 * 3600);
/// Either is made again when less than this is left of it.
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);

/// What was made, and until when: `not_after=SECONDS` (Unix time), then a name per line.
#[derive(Debug, PartialEq, Eq)]
struct Made {
    not_after: u64,
    names: Vec<String>,
}

impl Made {
    fn read(path: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut lines = text.lines();
        let not_after = lines.next()?.strip_prefix("not_after=")?.parse().ok()?;
        Some(Self {
            not_after,
            names: lines.map(str::to_owned).collect(),
        })
    }

    fn write(&self, path: &Path) -> Result<(), TlsError> {
        let mut text = format!("not_after={}\n", self.not_after);
        for name in &self.names {
            text.push_str(name);
            text.push('\n');
        }
        write(path, &text)
    }

    /// Still good at `now` for a while, and made for every one of `names`.
    fn serves(&self, names: &[String], now: SystemTime) -> bool {
        let left = self.not_after.saturating_sub(unix_seconds(now));
        left > RENEW_BEFORE.as_secs() && names.iter().all(|name| self.names.contains(name))
    }
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// `params` valid from now for `validity`; the moment it ends, in Unix seconds.
fn valid_for(params: &mut CertificateParams, now: SystemTime, validity: Duration) -> u64 {
    // A minute's slack before now, for clients whose clocks run a little behind.
    let from = now.checked_sub(Duration::from_secs(60)).unwrap_or(now);
    let until = now + validity;
    params.not_before = time::OffsetDateTime::from(from);
    params.not_after = time::OffsetDateTime::from(until);
    unix_seconds(until)
}

/// The names a certificate may hold, as name constraints: each host name (and its subdomains),
/// each address alone.
fn permitted(names: &[String]) -> NameConstraints {
    let permitted_subtrees = names
        .iter()
        .map(|name| match name.parse::<std::net::IpAddr>() {
            // The address alone: a prefix as long as the address.
            Ok(address) => {
                let bits = if address.is_ipv4() { 32 } else { 128 };
                GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(address, bits))
            }
            Err(_) => GeneralSubtree::DnsName(name.clone()),
        })
        .collect();
    NameConstraints {
        permitted_subtrees,
        excluded_subtrees: Vec::new(),
    }
}

/// The authority's certificate parameters, for the names it may vouch for.
fn authority_params(names: &[String]) -> Result<CertificateParams, TlsError> {
    let mut authority = CertificateParams::new(Vec::<String>::new())?;
    authority
        .distinguished_name
        .push(DnType::CommonName, "Qualify local development CA");
    // It signs server certificates and nothing else: no intermediate under it, only the names
    // it was made for.
    authority.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    authority.name_constraints = Some(permitted(names));
    authority.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(authority)
}

/// Makes (or reuses) the local authority in `dir`, and a server certificate for `names` signed
/// by it. The authority is kept while it covers the names and has a month left, so a client
/// trusts it once; the certificate is made again when the names change or its end nears.
fn generate(dir: &Path, names: &[String]) -> Result<(PathBuf, PathBuf), TlsError> {
    create_private_dir(dir)?;
    let [ca_cert, ca_key, ca_made, cert, key, cert_made] = [
        "ca.pem",
        "ca-key.pem",
        "ca-names.txt",
        "cert.pem",
        "key.pem",
        "names.txt",
    ]
    .map(|name| dir.join(name));
    let now = SystemTime::from(qualify_app::wall_now().as_datetime());
    let authority_serves = ca_cert.exists()
        && ca_key.exists()
        && Made::read(&ca_made).is_some_and(|made| made.serves(names, now));
    let certificate_serves = cert.exists()
        && key.exists()
        && Made::read(&cert_made)
            .is_some_and(|made| made.serves(names, now) && made.names == names);
    if authority_serves && certificate_serves {
        return Ok((cert, key));
    }
    let authority = if authority_serves {
        // The name and key of the certificate clients trust: what a signature names.
        let made = Made::read(&ca_made).map_or_else(|| names.to_vec(), |made| made.names);
        CertifiedIssuer::self_signed(
            authority_params(&made)?,
            KeyPair::from_pem(&read(&ca_key)?)?,
        )?
    } else {
        let key = KeyPair::generate()?;
        let key_pem = key.serialize_pem();
        let mut params = authority_params(names)?;
        let not_after = valid_for(&mut params, now, AUTHORITY_VALIDITY);
        let authority = CertifiedIssuer::self_signed(params, key)?;
        write_private(&ca_key, &key_pem)?;
        write(&ca_cert, &authority.pem())?;
        Made {
            not_after,
            names: names.to_vec(),
        }
        .write(&ca_made)?;
        tracing::warn!(ca = %ca_cert.display(), "made a new local development authority: clients must trust it (again) to reach the server over HTTPS");
        authority
    };
    let server_key = KeyPair::generate()?;
    let mut server = CertificateParams::new(names.to_vec())?;
    server.distinguished_name.push(
        DnType::CommonName,
        names.first().map_or("localhost", String::as_str),
    );
    let not_after = valid_for(&mut server, now, CERTIFICATE_VALIDITY);
    let certificate = server.signed_by(&server_key, &authority)?;
    write_private(&key, &server_key.serialize_pem())?;
    write(&cert, &certificate.pem())?;
    Made {
        not_after,
        names: names.to_vec(),
    }
    .write(&cert_made)?;
    tracing::info!(ca = %ca_cert.display(), "made a development certificate, signed by the local authority");
    Ok((cert, key))
}

/// `dir`, made if missing, readable by this user only (it holds the authority's key).
fn create_private_dir(dir: &Path) -> Result<(), TlsError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let failed = |e| TlsError::Io(dir.to_owned(), e);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(failed)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(failed)
}

/// Writes a private key, readable and writable by this user only, from the moment it exists.
fn write_private(path: &Path, contents: &str) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let failed = |e| TlsError::Io(path.to_owned(), e);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    // A file that existed keeps its mode through `open`: narrow it too.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(failed)?;
    file.write_all(contents.as_bytes()).map_err(failed)
}

/// The authority certificate of the development certificates in `dir`.
pub fn development_ca(dir: &Path) -> PathBuf {
    dir.join("ca.pem")
}
