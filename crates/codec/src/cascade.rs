//! Names of the schemes and the description of a chosen cascade.

use std::fmt;
use std::sync::Arc;

/// One encoding scheme. A cascade is a tree of these: a scheme's outputs (deltas, run lengths,
/// dictionary codes, ALP digits, string lengths) are themselves encoded by child schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// Every value is the same.
    Constant,
    /// Values stored as they are (8 bytes each, or raw bytes for strings).
    Plain,
    /// Frame of reference + bit-packing in the 1024-value transposed layout: one frame (minimum
    /// and width) for the node, or one per 1024-value miniblock where that is smaller (shown as
    /// `w=lo..hi/1024`).
    BitPacked,
    /// Bit-packing at a width below the maximum, with outliers patched in from exception lists.
    Patched,
    /// First value + deltas (children: deltas).
    Delta,
    /// First value + first delta + deltas of deltas (children: second differences).
    DeltaOfDelta,
    /// Run-length encoding (children: run values, run lengths).
    Rle,
    /// Dictionary (children: distinct values, codes).
    Dictionary,
    /// LZ4 block compression of the plain bytes.
    Lz4,
    /// ALP: decimal floats as integers times a power of ten (children: digits, exception
    /// positions, exception values).
    Alp,
    /// ALP for real doubles: dictionary-coded high bits + bit-packed low bits.
    AlpRd,
    /// Gorilla XOR compression of consecutive floats.
    Gorilla,
    /// FSST: strings as codes into a table of up to 255 symbols of 1 to 8 bytes.
    Fsst,
    /// Entropy coding of integers: each value is a bin index, rANS-coded under the node's
    /// quantised bin frequencies, plus a bit-packed offset within its bin.
    Ans,
    /// Frame of reference + sequential (not transposed) bit-packing, LZ4-compressed: for value
    /// sequences that repeat with a period, which bit-packing alone cannot exploit.
    PackedLz4,
    /// A node of more than 1024 values stored as runs of 1024 (the last may be shorter), each a
    /// node with its own cascade: a block keeps the per-1024 adaptivity of short blocks (ALP
    /// exponents, cascades, dictionaries per run) where that is smaller than one cascade for
    /// the whole node. Written only at the top of a buffer.
    Parts,
}

impl Scheme {
    /// Short, stable lower-case name, as shown by `inspect`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Constant => "constant",
            Scheme::Plain => "plain",
            Scheme::BitPacked => "bitpacked",
            Scheme::Patched => "patched",
            Scheme::Delta => "delta",
            Scheme::DeltaOfDelta => "delta2",
            Scheme::Rle => "rle",
            Scheme::Dictionary => "dict",
            Scheme::Lz4 => "lz4",
            Scheme::Alp => "alp",
            Scheme::AlpRd => "alprd",
            Scheme::Gorilla => "gorilla",
            Scheme::Fsst => "fsst",
            Scheme::Ans => "ans",
            Scheme::PackedLz4 => "packedlz4",
            Scheme::Parts => "parts",
        }
    }

    /// Every scheme, in the order it was introduced.
    pub const ALL: [Scheme; 16] = [
        Scheme::Constant,
        Scheme::Plain,
        Scheme::BitPacked,
        Scheme::Patched,
        Scheme::Delta,
        Scheme::DeltaOfDelta,
        Scheme::Rle,
        Scheme::Dictionary,
        Scheme::Lz4,
        Scheme::Alp,
        Scheme::AlpRd,
        Scheme::Gorilla,
        Scheme::Fsst,
        Scheme::Ans,
        Scheme::PackedLz4,
        Scheme::Parts,
    ];

    /// Parses a name produced by [`Scheme::name`].
    pub fn from_name(name: &str) -> Option<Scheme> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The cascade an encoder chose: a scheme, its parameters, and the cascades of its children.
///
/// Displays as `delta2(bitpacked[w=3])`.
#[derive(Clone)]
pub struct Cascade {
    /// The scheme at this node.
    pub scheme: Scheme,
    /// Parameters worth showing (bit width, ALP exponents), empty when none.
    pub detail: String,
    /// Child cascades, in the order the node stores them.
    pub children: Vec<Cascade>,
    /// The symbol table an FSST node was encoded with, so that a later block following this
    /// cascade (`encode_bytes_following`) reuses it instead of training a table again. Not
    /// part of the cascade's identity: equality and `Debug` ignore it.
    pub(crate) fsst: Option<Arc<fsst::Compressor>>,
    /// The bins' lower bounds an entropy-coded node was encoded with, so that a later block
    /// following this cascade fits only its weights to them. Ignored like `fsst`.
    pub(crate) ans_lowers: Option<Arc<[u64]>>,
    /// Of a `parts` node the encoder chose over one cascade for the buffer: that cascade, which
    /// a later block following this one follows (and tries in parts again), so that blocks
    /// follow a cascade fitted to a whole block, not each run's. Ignored like `fsst`.
    pub(crate) whole: Option<Arc<Cascade>>,
}

impl PartialEq for Cascade {
    fn eq(&self, other: &Self) -> bool {
        self.scheme == other.scheme
            && self.detail == other.detail
            && self.children == other.children
    }
}

impl Eq for Cascade {}

impl fmt::Debug for Cascade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cascade")
            .field("scheme", &self.scheme)
            .field("detail", &self.detail)
            .field("children", &self.children)
            .finish_non_exhaustive()
    }
}

impl Cascade {
    pub(crate) fn leaf(scheme: Scheme) -> Self {
        Self::node(scheme, Vec::new())
    }

    pub(crate) fn node(scheme: Scheme, children: Vec<Cascade>) -> Self {
        Self {
            scheme,
            detail: String::new(),
            children,
            fsst: None,
            ans_lowers: None,
            whole: None,
        }
    }

    pub(crate) fn with_detail(mut self, detail: String) -> Self {
        self.detail = detail;
        self
    }

    /// The cascade a later block encoded along this one follows (`encode_*_following`): this
    /// one, or for a `parts` node the encoder chose over one cascade for the whole buffer,
    /// that cascade (each block is then tried in parts again). A caller comparing a followed
    /// block's cascade with the one it followed compares these.
    pub fn followed(&self) -> &Cascade {
        self.whole.as_deref().unwrap_or(self)
    }

    /// Levels in the deepest path of this cascade.
    pub fn depth(&self) -> usize {
        1 + self.children.iter().map(Cascade::depth).max().unwrap_or(0)
    }

    /// The cascade's schemes without their parameters, as in `alp(delta(bitpacked))`: what a
    /// segment footer names for a block. The parameters (bit widths, exponents, run counts)
    /// make nearly every block's full name distinct, and the footer names each distinct
    /// cascade once: on small tables the full names were a quarter to two fifths of the footer.
    /// A `parts` node names only the distinct top schemes of its parts, in the order they
    /// first appear (`parts(alp, dict)`), for the same reason: naming each part's shape made
    /// nearly every block's name distinct again (Beijing's footer grew from 48 to 108 KB).
    pub fn shape(&self) -> String {
        let mut s = String::from(self.scheme.name());
        if self.scheme == Scheme::Parts {
            let mut seen: Vec<&str> = Vec::new();
            for c in &self.children {
                if !seen.contains(&c.scheme.name()) {
                    seen.push(c.scheme.name());
                }
            }
            if !seen.is_empty() {
                s.push('(');
                s.push_str(&seen.join(", "));
                s.push(')');
            }
            return s;
        }
        if !self.children.is_empty() {
            s.push('(');
            for (i, c) in self.children.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str(&c.shape());
            }
            s.push(')');
        }
        s
    }
}

impl fmt::Display for Cascade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme.name())?;
        if !self.detail.is_empty() {
            write!(f, "[{}]", self.detail)?;
        }
        if !self.children.is_empty() {
            f.write_str("(")?;
            for (i, c) in self.children.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_drops_parameters_and_keeps_the_tree() {
        let c = Cascade::node(
            Scheme::Alp,
            vec![Cascade::node(
                Scheme::Rle,
                vec![
                    Cascade::leaf(Scheme::BitPacked).with_detail("w=1,x1000".into()),
                    Cascade::leaf(Scheme::BitPacked).with_detail("w=8".into()),
                ],
            )],
        )
        .with_detail("e=2,f=0".into());
        assert_eq!(
            c.to_string(),
            "alp[e=2,f=0](rle(bitpacked[w=1,x1000], bitpacked[w=8]))"
        );
        assert_eq!(c.shape(), "alp(rle(bitpacked, bitpacked))");
        assert_eq!(Cascade::leaf(Scheme::Plain).shape(), "plain");
    }
}
