//! Published reference figures. Reference data, not results of this harness.

/// PUBLISHED REFERENCE, NOT A MEASUREMENT: ALP's bits per value on the *full* data sets, from
/// the ALP paper (Afroozeh, Kuffó, Boncz, SIGMOD 2024), table 4, as quoted in
/// `shared/data/README.md`. `None` where the paper lists ALP-RD rather than an ALP figure
/// (POI-lat, POI-lon). Our `float-series/` files hold only the first ~100k values of each set,
/// so the comparison is indicative. Data sets missing here have no published figure.
pub const ALP_PAPER_BITS_PER_VALUE: &[(&str, Option<f64>)] = &[
    ("Air-pressure", Some(16.43)),
    ("Basel-temp", Some(30.72)),
    ("IR-bio-temp", Some(10.75)),
    ("Bitcoin-price", Some(26.37)),
    ("Blockchain-tr", Some(36.49)),
    ("City-temp", Some(10.74)),
    ("Dew-point-temp", Some(13.4)),
    ("PM10-dust", Some(8.56)),
    ("POI-lat", None),
    ("POI-lon", None),
    ("SSD-bench", Some(16.21)),
    ("Stocks-DE", Some(11.01)),
    ("Stocks-USA", Some(7.9)),
];

/// What the reference table says for a `float-series/` data set: `None` when the set is not
/// in the table, `Some(None)` when the paper gives ALP-RD instead of a figure.
pub fn alp_paper_bits(data_set: &str) -> Option<Option<f64>> {
    ALP_PAPER_BITS_PER_VALUE
        .iter()
        .find(|(name, _)| *name == data_set)
        .map(|(_, bits)| *bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_distinguishes_missing_from_alp_rd() {
        assert_eq!(alp_paper_bits("Air-pressure"), Some(Some(16.43)));
        assert_eq!(alp_paper_bits("POI-lat"), Some(None));
        assert_eq!(alp_paper_bits("Wind-Speed"), None);
    }
}
