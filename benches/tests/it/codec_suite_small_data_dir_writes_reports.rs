//! The codec suite on a tiny data directory laid out like shared/data: present files are
//! measured, absent ones are skipped with a notice, and both report files are written.

use crate::common::{scratch_dir, write_gz};
use strata_benches::codec::CodecSuite;
use strata_benches::{BenchContext, Suite, run_and_write};

#[test]
fn codec_suite_small_data_dir_writes_reports() {
    let data = scratch_dir("data");
    let out = scratch_dir("out");

    let series = data.join("float-series");
    std::fs::create_dir_all(&series).unwrap();
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!("{}\n", 20.0 + f64::from(i % 50) / 10.0));
    }
    text.push_str("\"\"\n");
    write_gz(&series.join("Tiny-temp.csv.gz"), &text);

    let beijing = data.join("beijing-multisite-air-quality");
    std::fs::create_dir_all(&beijing).unwrap();
    let mut csv = String::from(
        "\"No\",\"year\",\"month\",\"day\",\"hour\",\"PM2.5\",\"PM10\",\"SO2\",\"NO2\",\"CO\",\
         \"O3\",\"TEMP\",\"PRES\",\"DEWP\",\"RAIN\",\"wd\",\"WSPM\",\"station\"\r\n",
    );
    for i in 0..2000 {
        let (day, hour) = (1 + i / 24, i % 24);
        let pm = if i % 7 == 0 {
            "NA".to_string()
        } else {
            (i % 90).to_string()
        };
        csv.push_str(&format!(
            "{},2013,3,{day},{hour},{pm},4,4,7,300,77,-0.7,1023.{},-18.8,0,\"NNW\",4.4,\"Test\"\r\n",
            i + 1,
            i % 10
        ));
    }
    std::fs::write(beijing.join("PRSA_Data_Test_20130301-20170228.csv"), csv).unwrap();

    let ctx = BenchContext {
        data_dir: data.clone(),
        out_dir: out.clone(),
        quick: true,
        store: None,
    };
    let output = run_and_write(&CodecSuite, &ctx).unwrap();

    let json = &output.json;
    let names: Vec<&str> = json["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"float-series/Tiny-temp"), "{names:?}");
    assert!(names.contains(&"beijing/timestamp"), "{names:?}");
    assert!(names.contains(&"beijing/PM2.5"), "{names:?}");
    assert_eq!(
        json["errors"].as_array().unwrap().len(),
        0,
        "{}",
        json["errors"]
    );
    let notices = json["notices"].to_string();
    assert!(notices.contains("flights"), "{notices}");
    assert!(notices.contains("1 empty"), "{notices}");

    let tiny = json["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "float-series/Tiny-temp")
        .unwrap();
    assert_eq!(tiny["n"], 3000);
    assert_eq!(
        tiny["blocks"],
        3000usize.div_ceil(strata_benches::peers::strata_block())
    );
    assert!(tiny["strata"]["bytes"].as_u64().unwrap() > 0);
    assert!(!json["kernels"].as_array().unwrap().is_empty());

    let md = std::fs::read_to_string(out.join(format!("{}.md", CodecSuite.name()))).unwrap();
    assert_eq!(md, output.markdown);
    assert!(md.contains("| float-series/Tiny-temp | 3000 |"), "{md}");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("codec.json")).unwrap()).unwrap();
    // Same report (floats may differ in the last digit after a JSON round trip).
    assert_eq!(written["inputs"].as_array().unwrap().len(), names.len());
    assert_eq!(written["notices"], json["notices"]);

    std::fs::remove_dir_all(&data).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
}
