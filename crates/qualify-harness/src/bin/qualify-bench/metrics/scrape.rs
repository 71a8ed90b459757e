//! Reading a server's scrapes, strictly, and a series' value or change between two.

use anyhow::ensure;
use prom_text_format_parser::{Scrape, Type, ValueType};
use reqwest::StatusCode;

/// One scrape in Prometheus's text format, parsed.
pub(super) async fn scrape(http: &reqwest::Client, url: &str) -> anyhow::Result<Scrape> {
    Ok(scrape_text(http, url).await?.1)
}

/// A scrape of every node, their families together.
pub(super) async fn scrape_all(http: &reqwest::Client, urls: &[String]) -> anyhow::Result<Scrape> {
    let mut all = scrape(http, &urls[0]).await?;
    for url in &urls[1..] {
        all.metrics.extend(scrape(http, url).await?.metrics);
    }
    Ok(all)
}

/// One scrape, as text and parsed (strictly: a line that does not parse fails the run).
pub(super) async fn scrape_text(
    http: &reqwest::Client,
    url: &str,
) -> anyhow::Result<(String, Scrape)> {
    let response = http.get(url).send().await?;
    ensure!(
        response.status() == StatusCode::OK,
        "scraping: {}",
        response.status()
    );
    let text = response.text().await?;
    let parsed = Scrape::parse(&text)
        .map_err(|error| anyhow::anyhow!("the scrape does not parse: {error:?}"))?;
    Ok((text, parsed))
}

/// The sum of the samples of the series `name` whose labels include `labels`; a histogram's
/// `_count` and `_sum` are named as in the exposition.
pub(super) fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let (family, kind) = match (name.strip_suffix("_count"), name.strip_suffix("_sum")) {
        (Some(base), _) => (base, ValueType::Count),
        (_, Some(base)) => (base, ValueType::Sum),
        _ => (name, ValueType::Sample),
    };
    scrape
        .metrics
        .iter()
        .filter(|m| m.name == name || (m.name == family && m.kind == Type::Histogram))
        .flat_map(|m| &m.samples)
        .filter(|s| s.value.value_type == kind)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.iter().any(|l| l.key == *k && l.value == *v))
        })
        .map(|s| s.value.value.as_f64())
        .sum()
}

/// How much `name` (with `labels`) grew from `before` to `after`.
pub(super) fn delta(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(after, name, labels) - value(before, name, labels)
}
