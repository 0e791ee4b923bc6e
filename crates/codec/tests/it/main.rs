//! The codec's integration tests, one module per scenario, linked into one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod bitpacked_miniblocks_chosen_round_trip_and_corrupt_fields_return_err;
mod cascade_choice_entropy_on;
mod cascade_choice_snapshots;
mod cascade_depth_within_max_depth;
mod decode_ans_corrupt_fields_return_err;
mod decode_header_errors_are_typed;
mod decode_random_bytes_never_panics;
mod decode_single_byte_flip_never_panics;
mod decode_string_dictionary_expansion_bounded;
mod decode_truncated_buffer_errors;
mod packed_lz4_periodic_values_chosen_and_corrupt_fields_return_err;
mod roundtrip_bools_as_bitmaps;
mod roundtrip_bytes_every_scheme;
mod roundtrip_bytes_following_any_cascade;
mod roundtrip_floats_every_scheme;
mod roundtrip_floats_following_any_cascade;
mod roundtrip_ints_ans_against_plain_oracle;
mod roundtrip_ints_every_scheme;
mod roundtrip_ints_following_any_cascade;
mod scheme_not_applicable_invalid_request;
