//! A readable dump of the footer of a small segment.

use crate::common::{small_batch, small_options};
use bytes::Bytes;
use strata_format::{Segment, write_segment_bytes};

#[test]
fn footer_of_small_segment_dumps_stably() {
    let (schema, batch) = small_batch();
    let seg = Segment::from_bytes(Bytes::from(
        write_segment_bytes(schema, &[batch], small_options()).unwrap(),
    ))
    .unwrap();
    insta::assert_snapshot!(seg.footer().dump());
}
