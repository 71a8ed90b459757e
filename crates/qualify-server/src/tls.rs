//! HTTPS: with a certificate the operator gives, or with a local development certificate
//! Qualify makes on request (a small certificate authority of its own, and a server certificate
//! it signs for the names asked, such as `api.partnercenter.microsoft.com`). Trusting that
//! authority, plus a hosts-file entry, lets a client with Partner Center's URL hard-coded talk to
//! Qualify unchanged.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

/// Where the HTTPS certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSettings {
    /// PEM files the operator provides.
    Files {
        /// The certificate chain.
        cert: PathBuf,
        /// Its private key.
        key: PathBuf,
    },
    /// A development certificate for `names`, made (once) in `dir` and signed by a local
    /// authority whose certificate is `dir/ca.pem`.
    Generated {
        /// Where the authority and the certificate are kept.
        dir: PathBuf,
        /// The host names (and IP addresses) the certificate is for.
        names: Vec<String>,
    },
}

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

/// Makes (or reuses) the local authority in `dir`, and a server certificate for `names` signed
/// by it (made again when the names change).
fn generate(dir: &Path, names: &[String]) -> Result<(PathBuf, PathBuf), TlsError> {
    std::fs::create_dir_all(dir).map_err(|e| TlsError::Io(dir.to_owned(), e))?;
    let [ca_cert, ca_key, cert, key, names_file] =
        ["ca.pem", "ca-key.pem", "cert.pem", "key.pem", "names.txt"].map(|name| dir.join(name));
    let wanted = names.join("\n");
    if cert.exists()
        && key.exists()
        && ca_cert.exists()
        && read(&names_file).ok().as_deref() == Some(wanted.as_str())
    {
        return Ok((cert, key));
    }
    // The authority is kept across changes of names, so a client trusts it once.
    let fresh_authority = !(ca_cert.exists() && ca_key.exists());
    let authority_key = if fresh_authority {
        let key = KeyPair::generate()?;
        write(&ca_key, &key.serialize_pem())?;
        key
    } else {
        KeyPair::from_pem(&read(&ca_key)?)?
    };
    let mut authority = CertificateParams::new(Vec::<String>::new())?;
    authority
        .distinguished_name
        .push(DnType::CommonName, "Qualify local development CA");
    authority.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    authority.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let authority = CertifiedIssuer::self_signed(authority, authority_key)?;
    if fresh_authority {
        write(&ca_cert, &authority.pem())?;
    }
    let server_key = KeyPair::generate()?;
    let mut server = CertificateParams::new(names.to_vec())?;
    server.distinguished_name.push(
        DnType::CommonName,
        names.first().map_or("localhost", String::as_str),
    );
    let certificate = server.signed_by(&server_key, &authority)?;
    write(&cert, &certificate.pem())?;
    write(&key, &server_key.serialize_pem())?;
    write(&names_file, &wanted)?;
    tracing::info!(ca = %ca_cert.display(), "made a development certificate; trust this authority to reach the server over HTTPS");
    Ok((cert, key))
}

/// The authority certificate of the development certificates in `dir`.
pub fn development_ca(dir: &Path) -> PathBuf {
    dir.join("ca.pem")
}
