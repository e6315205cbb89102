//! The `shm://` ring reader against a hostile peer: the shared region's header and control words
//! start as arbitrary bytes, and between reads (and writes) the "peer" overwrites any control word
//! or ring byte again. Reads must stay inside the region, take at most what was asked and at most
//! a ring's capacity, and every position the peer wrote is either accepted or a `RingError`;
//! what was read goes through the frame parser as the connection would.
#![no_main]

use hms_ffi_core::transport::frame;
use hms_ffi_core::transport::shm_ring::{region_len, Region, DATA_OFFSET, MIN_CAPACITY};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let cap = MIN_CAPACITY << (pick % 2);
    let len = region_len(cap);
    let mut words = vec![0u64; len / 8];
    // SAFETY: `words` is `len` bytes, aligned to 8, alive and never resized while `region` is used.
    let base = words.as_mut_ptr().cast::<u8>();
    let region = unsafe { Region::new(base, len) };
    // Up to 64 operations first (so short inputs exercise them), then the region's first bytes.
    let (ops, init) = rest.split_at(rest.len().min(9 * 64));
    let init = &init[..init.len().min(DATA_OFFSET + 64)];
    // SAFETY: `init` fits in the region (at most DATA_OFFSET + 64 bytes of `len`).
    unsafe { std::ptr::copy_nonoverlapping(init.as_ptr(), base, init.len()) };
    if let Ok(announced) = region.check() {
        assert!(announced.is_power_of_two() && region_len(announced) <= len);
    }
    let (Ok(mut consumer), Ok(mut producer)) = (region.consumer(0, cap), region.producer(0, cap))
    else {
        return;
    };
    let mut out = vec![0u8; 3 * cap as usize / 2];
    let mut stream = Vec::new();
    for op in ops.chunks(9) {
        let (&kind, arg) = op.split_first().unwrap_or((&0, &[]));
        let mut v = [0u8; 8];
        v[..arg.len()].copy_from_slice(arg);
        let value = u64::from_le_bytes(v);
        match kind % 4 {
            // The peer writes a control word (a position, a waiting word, the header).
            0 => {
                let at = (kind as usize * 8) % DATA_OFFSET;
                // SAFETY: an aligned u64 inside the control page.
                unsafe { base.add(at).cast::<u64>().write_volatile(value) };
            }
            // The peer writes ring bytes.
            1 => {
                let at = DATA_OFFSET + (value as usize % (2 * cap as usize - 8));
                // SAFETY: 8 bytes inside the rings.
                unsafe { base.add(at).cast::<[u8; 8]>().write_unaligned(v) };
            }
            2 => {
                let want = (value as usize % out.len()).max(1);
                match consumer.read(&mut out[..want]) {
                    Ok((n, _)) => {
                        assert!(n <= want && n <= cap as usize);
                        stream.extend_from_slice(&out[..n]);
                        let _ = frame::parse_frames(&stream, 1 << 20);
                        if stream.len() > 1 << 16 {
                            stream.clear();
                        }
                    }
                    Err(_) => return,
                }
            }
            _ => {
                let n = (value as usize % out.len()).max(1);
                match producer.write(&out[..n]) {
                    Ok((wrote, _)) => assert!(wrote <= n && wrote <= cap as usize),
                    Err(_) => return,
                }
            }
        }
    }
});
