//! libjpeg-turbo's accurate integer inverse DCT (`jidctint.c`, `JDCT_ISLOW`), reproduced
//! operation for operation so that decoded samples are bit-identical.

const CONST_BITS: i32 = 13;
const PASS1_BITS: i32 = 2;
const FIX_0_298631336: i32 = 2446;
const FIX_0_390180644: i32 = 3196;
const FIX_0_541196100: i32 = 4433;
const FIX_0_765366865: i32 = 6270;
const FIX_0_899976223: i32 = 7373;
const FIX_1_175875602: i32 = 9633;
const FIX_1_501321110: i32 = 12299;
const FIX_1_847759065: i32 = 15137;
const FIX_1_961570560: i32 = 16069;
const FIX_2_053119869: i32 = 16819;
const FIX_2_562915447: i32 = 20995;
const FIX_3_072711026: i32 = 25172;

fn descale(x: i32, n: i32) -> i32 {
    (x.wrapping_add(1 << (n - 1))) >> n
}

/// One 1-D pass over 8 values `v` (stride-free), returning the 8 results before descaling
/// as (`tmp10 + tmp3`, ...) pairs in output order.
#[allow(clippy::too_many_arguments)]
fn butterfly(v: [i32; 8]) -> [i32; 8] {
    // Even part.
    let (z2, z3) = (v[2], v[6]);
    let z1 = z2.wrapping_add(z3).wrapping_mul(FIX_0_541196100);
    let tmp2 = z1.wrapping_add(z3.wrapping_mul(-FIX_1_847759065));
    let tmp3 = z1.wrapping_add(z2.wrapping_mul(FIX_0_765366865));
    let tmp0 = (v[0].wrapping_add(v[4])) << CONST_BITS;
    let tmp1 = (v[0].wrapping_sub(v[4])) << CONST_BITS;
    let tmp10 = tmp0.wrapping_add(tmp3);
    let tmp13 = tmp0.wrapping_sub(tmp3);
    let tmp11 = tmp1.wrapping_add(tmp2);
    let tmp12 = tmp1.wrapping_sub(tmp2);
    // Odd part.
    let (mut t0, mut t1, mut t2, mut t3) = (v[7], v[5], v[3], v[1]);
    let mut z1 = t0.wrapping_add(t3);
    let mut z2 = t1.wrapping_add(t2);
    let mut z3 = t0.wrapping_add(t2);
    let mut z4 = t1.wrapping_add(t3);
    let z5 = z3.wrapping_add(z4).wrapping_mul(FIX_1_175875602);
    t0 = t0.wrapping_mul(FIX_0_298631336);
    t1 = t1.wrapping_mul(FIX_2_053119869);
    t2 = t2.wrapping_mul(FIX_3_072711026);
    t3 = t3.wrapping_mul(FIX_1_501321110);
    z1 = z1.wrapping_mul(-FIX_0_899976223);
    z2 = z2.wrapping_mul(-FIX_2_562915447);
    z3 = z3.wrapping_mul(-FIX_1_961570560).wrapping_add(z5);
    z4 = z4.wrapping_mul(-FIX_0_390180644).wrapping_add(z5);
    t0 = t0.wrapping_add(z1).wrapping_add(z3);
    t1 = t1.wrapping_add(z2).wrapping_add(z4);
    t2 = t2.wrapping_add(z2).wrapping_add(z3);
    t3 = t3.wrapping_add(z1).wrapping_add(z4);
    [
        tmp10.wrapping_add(t3),
        tmp11.wrapping_add(t2),
        tmp12.wrapping_add(t1),
        tmp13.wrapping_add(t0),
        tmp13.wrapping_sub(t0),
        tmp12.wrapping_sub(t1),
        tmp11.wrapping_sub(t2),
        tmp10.wrapping_sub(t3),
    ]
}

/// Inverse DCT of dequantised coefficients (natural order) into 8×8 samples.
pub fn idct_islow(coefficients: &[i32; 64], out: &mut [u8; 64]) {
    let mut workspace = [0i32; 64];
    for column in 0..8 {
        let v: [i32; 8] = std::array::from_fn(|row| coefficients[row * 8 + column]);
        if v[1..].iter().all(|&c| c == 0) {
            let dc = v[0] << PASS1_BITS;
            for row in 0..8 {
                workspace[row * 8 + column] = dc;
            }
            continue;
        }
        let r = butterfly(v);
        for row in 0..8 {
            workspace[row * 8 + column] = descale(r[row], CONST_BITS - PASS1_BITS);
        }
    }
    for row in 0..8 {
        let v: [i32; 8] = std::array::from_fn(|column| workspace[row * 8 + column]);
        let r = butterfly(v);
        for column in 0..8 {
            let sample = descale(r[column], CONST_BITS + PASS1_BITS + 3) + 128;
            out[row * 8 + column] = range_limit(sample);
        }
    }
}

/// libjpeg's `range_limit` table with `RANGE_MASK` wrapping (centre already added).
fn range_limit(sample: i32) -> u8 {
    // The table maps (x - 128) & 1023 → x for 0..=255, 255 above, 0 below (after wrap).
    let index = (sample - 128) & 1023;
    match index {
        0..=127 => (index + 128) as u8,
        128..=511 => 255,
        512..=895 => 0,
        _ => (index - 896) as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dc_only_block_is_flat() {
        let mut coefficients = [0i32; 64];
        coefficients[0] = 80; // DC 80 → +10 over mid-grey.
        let mut out = [0u8; 64];
        idct_islow(&coefficients, &mut out);
        assert!(out.iter().all(|&v| v == 138));
        assert_eq!(range_limit(300), 255);
        assert_eq!(range_limit(-20), 0);
    }
}
