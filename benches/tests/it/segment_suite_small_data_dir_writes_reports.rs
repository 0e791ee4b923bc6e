//! The segment suite on a tiny data directory laid out like shared/data: present tables are
//! ingested with no flags, written by both formats and read back (the suite checks the round
//! trips itself), absent ones are skipped with a notice, and both report files are written.

use crate::common::{scratch_dir, write_gz};
use strata_benches::segment::SegmentSuite;
use strata_benches::{BenchContext, run_and_write};

#[test]
fn segment_suite_small_data_dir_writes_reports() {
    let data = scratch_dir("seg-data");
    let out = scratch_dir("seg-out");

    // Weather: written in reverse time order; the ingest picks time_hour as the time column and
    // sort key, so the table holds it in time order.
    let mut weather = String::from("\"origin\",\"year\",\"temp\",\"wind_gust\",\"time_hour\"\n");
    for i in (0..3000).rev() {
        let origin = ["EWR", "JFK", "LGA"][i % 3];
        let gust = if i % 5 == 0 {
            "NA".to_string()
        } else {
            format!("{}.5", i % 30)
        };
        let (day, hour) = (1 + (i / 3) / 24 % 28, (i / 3) % 24);
        weather.push_str(&format!(
            "\"{origin}\",2013,{}.{},{gust},2013-01-{day:02}T{hour:02}:00:00Z\n",
            30 + i % 20,
            i % 10
        ));
    }
    write_gz(&data.join("nycflights13/weather.csv.gz"), &weather);

    // Zip codes with leading zeros must stay strings; city is unique (so Utf8), state repeats.
    let mut zips = String::from("zip_code,latitude,longitude,city,state,county\r\n");
    for i in 0..2000 {
        zips.push_str(&format!(
            "{i:05},40.{i:06},-73.{:06},City {i},\"{}\",County {}\r\n",
            i * 7 % 1_000_000,
            ["NY", "NJ", "CT"][i % 3],
            i % 20
        ));
    }
    write_gz(&data.join("geonames-us-zipcodes/zipcodes.csv.gz"), &zips);

    let ctx = BenchContext {
        data_dir: data.clone(),
        out_dir: out.clone(),
        quick: true,
        store: None,
    };
    let output = run_and_write(&SegmentSuite, &ctx).unwrap();
    let json = &output.json;
    assert_eq!(json["errors"].as_array().unwrap().len(), 0, "{json}");

    let tables = json["tables"].as_array().unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t["name"].as_str().unwrap()).collect();
    // The two tables of the directory, then the generated demo workload (always there).
    assert_eq!(
        names,
        [
            "nycflights13/weather",
            "geonames-us-zipcodes",
            "strata-demo-metrics"
        ]
    );
    let weather = &tables[0];
    assert_eq!(weather["rows"], 3000);
    assert_eq!(weather["profile"], "General");
    assert_eq!(weather["sort_key"][0], "time_hour");
    assert_eq!(weather["ingested"]["rows"], 3000);
    assert_eq!(weather["ingested"]["time_column"], "time_hour");
    assert!(weather["ingested"]["segments"].as_u64().unwrap() >= 1);
    // Whole tables: the size compared is the ingested table's.
    assert_eq!(
        weather["strata_size_bytes"],
        weather["ingested"]["table_bytes"]
    );
    let zips = &tables[1];
    assert!(zips["ingested"]["time_column"].is_null());
    assert!(zips["sort_key"].as_array().unwrap().is_empty());
    let strings = zips["strings"].as_array().unwrap();
    let kind = |name: &str| {
        strings
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["symbol"].as_bool().unwrap())
    };
    assert_eq!(kind("zip_code"), Some(false));
    assert_eq!(kind("city"), Some(false));
    assert_eq!(kind("state"), Some(true));
    assert_eq!(kind("county"), Some(true));
    for t in tables {
        for f in ["strata", "parquet_zstd", "parquet_snappy", "strata_entropy"] {
            assert!(t[f]["bytes"].as_u64().unwrap() > 0, "{t}");
        }
        // The entropy variant is timed in the same runs; the size target compares with the
        // smaller Parquet+zstd file.
        assert!(
            t["strata_entropy"]["read_rows_s"].as_f64().unwrap() > 0.0,
            "{t}"
        );
        let best = t["parquet_best_bytes"].as_u64().unwrap();
        let tuned = t["parquet_zstd_tuned_bytes"].as_u64().unwrap();
        assert_eq!(
            best,
            tuned.min(t["parquet_zstd"]["bytes"].as_u64().unwrap())
        );
        let size = t["strata_size_bytes"].as_f64().unwrap() / best as f64;
        assert!(
            (t["size_vs_parquet_zstd"].as_f64().unwrap() - size).abs() < 1e-9,
            "{t}"
        );
        let cols = t["column_bytes"].as_array().unwrap();
        assert_eq!(cols.len() as u64, t["columns"].as_u64().unwrap());
        assert!(
            cols.iter()
                .all(|c| !c["top_cascade"].as_str().unwrap().is_empty())
        );
    }
    // Only the demo table (200,000 rows under the quick cap) is large enough to be cut into
    // many small segments; their bytes hold the same rows (the read is checked against the
    // table before it is timed) in more files than one segment's.
    for t in &tables[..2] {
        assert!(t["partitioned"].is_null(), "{t}");
    }
    let demo = &tables[2];
    let cut = &demo["partitioned"];
    assert_eq!(cut["segments"], 720, "{demo}");
    assert_eq!(cut["rows_per_segment"], 200_000_u64.div_ceil(720), "{demo}");
    assert!(cut["bytes_vs_one"].as_f64().unwrap() > 1.0, "{demo}");
    let (many, one) = (
        cut["read_secs"].as_f64().unwrap(),
        cut["one_read_secs"].as_f64().unwrap(),
    );
    assert!(many > 0.0 && one > 0.0, "{demo}");
    assert!((cut["time_vs_one"].as_f64().unwrap() - many / one).abs() < 1e-9);
    // Five targets per table, and the small segments' for the demo table.
    let targets = json["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 16);
    assert_eq!(
        targets
            .iter()
            .filter(|t| t["target"]
                .as_str()
                .unwrap()
                .starts_with("many small segments"))
            .map(|t| t["subject"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["strata-demo-metrics"]
    );
    for t in tables {
        assert!(
            t["strata_all_cores_read_rows_s"].as_f64().unwrap() > 0.0,
            "{t}"
        );
        assert!(t["cores"].as_u64().unwrap() >= 1, "{t}");
    }
    // The four absent tables are notices, not errors.
    assert_eq!(json["notices"].as_array().unwrap().len(), 4);

    assert!(out.join("segment.md").is_file());
    assert!(out.join("segment.json").is_file());
    assert!(output.markdown.contains("nycflights13/weather"));
    assert!(output.markdown.contains("with entropy"));
    assert!(output.markdown.contains("### Many small segments"));

    std::fs::remove_dir_all(&data).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
}
