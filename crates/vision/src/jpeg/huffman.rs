//! Huffman tables and the entropy-coded bit reader of baseline JPEG (ITU T.81 Annex F).

/// A decoding table built from a DHT segment.
#[derive(Debug, Clone, Default)]
pub struct HuffmanTable {
    /// Largest code of each length 1..=16 (-1 when none).
    max_code: [i32; 18],
    /// Offset into `values` of the first code of each length.
    value_offset: [i32; 17],
    /// Symbols in code order.
    values: Vec<u8>,
}

impl HuffmanTable {
    /// Builds a table from the 16 code-length counts and the symbols.
    pub fn new(counts: &[u8; 16], values: Vec<u8>) -> Option<Self> {
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if total != values.len() || total > 256 {
            return None;
        }
        let mut table = Self {
            max_code: [-1; 18],
            value_offset: [0; 17],
            values,
        };
        let mut code = 0i32;
        let mut k = 0i32;
        for length in 1..=16 {
            let count = i32::from(counts[length - 1]);
            if count > 0 {
                table.value_offset[length] = k - code;
                code += count;
                k += count;
                table.max_code[length] = code - 1;
            }
            if code > 1 << length {
                return None;
            }
            code <<= 1;
        }
        table.max_code[17] = i32::MAX;
        Some(table)
    }
}

/// Reads bits from entropy-coded data, removing byte stuffing; at a marker it returns zero
/// bits, as libjpeg does.
#[derive(Debug)]
pub struct BitReader<'a> {
    data: &'a [u8],
    pub position: usize,
    buffer: u64,
    bits: u32,
    at_marker: bool,
    /// Set when the data ended without a marker: the file is truncated.
    pub past_end: bool,
}

impl<'a> BitReader<'a> {
    /// Starts reading at `position`.
    pub fn new(data: &'a [u8], position: usize) -> Self {
        Self {
            data,
            position,
            buffer: 0,
            bits: 0,
            at_marker: false,
            past_end: false,
        }
    }

    fn fill(&mut self) {
        while self.bits <= 56 {
            let mut byte = 0u8;
            if !self.at_marker && self.position >= self.data.len() {
                self.past_end = true;
            }
            if !self.at_marker && self.position < self.data.len() {
                byte = self.data[self.position];
                if byte == 0xff {
                    let next = self.data.get(self.position + 1).copied().unwrap_or(0xd9);
                    if next == 0x00 {
                        self.position += 2;
                    } else {
                        self.at_marker = true;
                        byte = 0;
                    }
                } else {
                    self.position += 1;
                }
            }
            self.buffer |= u64::from(byte) << (56 - self.bits);
            self.bits += 8;
        }
    }

    /// Reads `count` (≤ 16) bits.
    pub fn bits(&mut self, count: u32) -> i32 {
        if count == 0 {
            return 0;
        }
        if self.bits < count {
            self.fill();
        }
        let value = (self.buffer >> (64 - count)) as i32;
        self.buffer <<= count;
        self.bits -= count;
        value
    }

    /// Decodes one Huffman symbol.
    pub fn symbol(&mut self, table: &HuffmanTable) -> Option<u8> {
        let mut code = 0i32;
        for length in 1..=16 {
            code = (code << 1) | self.bits(1);
            if code <= table.max_code[length] {
                let index = (code + table.value_offset[length]) as usize;
                return table.values.get(index).copied();
            }
        }
        None
    }

    /// Reads an `s`-bit magnitude and sign-extends it (T.81 `EXTEND`).
    pub fn receive_extend(&mut self, s: u32) -> i32 {
        if s == 0 || s > 16 {
            return 0;
        }
        let value = self.bits(s);
        if value < 1 << (s - 1) {
            value - (1 << s) + 1
        } else {
            value
        }
    }

    /// Skips to after the next RSTn marker and clears the bit buffer.
    pub fn restart(&mut self) {
        self.buffer = 0;
        self.bits = 0;
        self.at_marker = false;
        while self.position + 1 < self.data.len() {
            if self.data[self.position] == 0xff
                && (0xd0..=0xd7).contains(&self.data[self.position + 1])
            {
                self.position += 2;
                return;
            }
            if self.data[self.position] == 0xff
                && self.data[self.position + 1] != 0
                && self.data[self.position + 1] != 0xff
            {
                return; // another marker: let the caller run out of data
            }
            self.position += 1;
        }
    }
}
