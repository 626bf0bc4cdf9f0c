//! Doris's hash functions, bit for bit, so checksums the syncer computes in SQL come out as
//! on a real cluster.
//!
//! `murmur_hash3_64(s1, s2, ...)` (BE `function_hash.cpp`): each argument's bytes are hashed
//! with the previous argument's hash as seed, the first with seed 0; any NULL argument makes
//! the result NULL (the default NULL handling of Doris functions); no argument at all gives a
//! fixed constant. The 64-bit variant Doris 2.1 uses is its own single-lane MurmurHash3
//! (`murmur_hash3_x64_64`: 8-byte blocks, the x64 constants and mixing of MurmurHash3_x64_128
//! applied to one lane, `h ^= len`, then fmix64) — not the first half of x64_128, which only
//! `murmur_hash3_64_v2` of later releases returns. The result is that u64 read as a signed
//! BIGINT.

const C1: u64 = 0x87c3_7b91_1142_53d5;
const C2: u64 = 0x4cf5_ad43_2745_937f;
/// What Doris returns for a call without arguments.
const NO_ARGUMENT_HASH: u64 = 0xe28d_bde7_fe22_e41c;

fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

fn mix_block(k: u64) -> u64 {
    k.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2)
}

/// Doris's `murmur_hash3_x64_64` of `data` under `seed`.
pub(crate) fn murmur_hash3_x64_64(data: &[u8], seed: u64) -> u64 {
    let mut h = seed;
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let k = u64::from_le_bytes(block.try_into().expect("8-byte block"));
        h ^= mix_block(k);
        h = h.rotate_left(27).wrapping_mul(5).wrapping_add(0x52dc_e729);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let k = tail
            .iter()
            .rev()
            .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
        h ^= mix_block(k);
    }
    h ^= data.len() as u64;
    fmix64(h)
}

/// `murmur_hash3_64(args...)` over the arguments' bytes; `None` stands for a NULL argument.
pub(crate) fn murmur_hash3_64(args: &[Option<&[u8]>]) -> Option<i64> {
    if args.is_empty() {
        return Some(NO_ARGUMENT_HASH as i64);
    }
    let mut hash = 0u64;
    for arg in args {
        hash = murmur_hash3_x64_64((*arg)?, hash);
    }
    Some(hash as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur_hash3_64_matches_the_values_doris_documents() {
        // The examples of Doris's murmur_hash3_64 reference page.
        assert_eq!(
            murmur_hash3_64(&[Some(b"hello")]),
            Some(-3215607508166160593)
        );
        assert_eq!(
            murmur_hash3_64(&[Some(b"hello"), Some(b"world")]),
            Some(3583109472027628045)
        );
        assert_eq!(murmur_hash3_64(&[None]), None);
        assert_eq!(murmur_hash3_64(&[Some(b"hello"), None]), None);
    }

    #[test]
    fn arguments_chain_their_seeds() {
        let first = murmur_hash3_x64_64(b"hello", 0);
        assert_eq!(
            murmur_hash3_64(&[Some(b"hello"), Some(b"world")]),
            Some(murmur_hash3_x64_64(b"world", first) as i64)
        );
        // Two arguments are not their concatenation: no ambiguity at the boundary.
        assert_ne!(
            murmur_hash3_64(&[Some(b"ab"), Some(b"c")]),
            murmur_hash3_64(&[Some(b"a"), Some(b"bc")])
        );
    }

    #[test]
    fn blocks_and_tails_of_every_length_hash_differently() {
        // 0..=17 bytes covers the empty input, every tail length and two full blocks.
        let data: Vec<u8> = (1..=17).collect();
        let hashes: std::collections::HashSet<u64> = (0..=data.len())
            .map(|n| murmur_hash3_x64_64(&data[..n], 0))
            .collect();
        assert_eq!(hashes.len(), data.len() + 1);
        // The empty input under seed 0: fmix64(0) is 0.
        assert_eq!(murmur_hash3_x64_64(b"", 0), 0);
    }
}
