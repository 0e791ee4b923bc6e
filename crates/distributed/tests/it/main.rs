//! Integration tests of strata-distributed, one binary (DataFusion and gRPC are large to
//! link): each module is one scenario.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cluster;
mod scan_codec_round_trips_and_refuses_buffered_rows;
mod tpch_queries_distributed_match_single_node;
