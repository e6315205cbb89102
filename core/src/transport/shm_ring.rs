//! The shared memory of one `shm://` connection (layout version 1, `docs/wire.md`): a header and
//! two single-producer/single-consumer byte rings, client→server and server→client, that carry
//! the same frames as a `unix://` socket.
//!
//! The peer is untrusted: it can write anything anywhere in the region at any time. So each side
//! keeps its own position (a consumer its head, a producer its tail) in private memory and only
//! publishes it; the peer's position is read once per operation, into a local, and checked
//! (`0 ≤ tail − head ≤ capacity`) before any byte is copied. Bytes are copied out of the ring
//! once, and everything above (frame headers, lengths) is parsed from that private copy, so a
//! value the peer changes after it was read changes nothing. A bad position is a
//! [`RingError`]: the connection ends, the process goes on.
//!
//! Wake-ups: a side about to sleep sets its ring's `waiting` word, re-checks, then sleeps on an
//! eventfd; the other side, after publishing a position, sends a wake-up only when that word
//! was set (so a side that keeps up costs no system call at all).

use std::mem::MaybeUninit;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

/// `"HMSSHM"`, then the layout version in the last two bytes.
pub const MAGIC: u64 = u64::from_le_bytes(*b"HMSSHM\0\x01");
/// The layout version this build speaks.
pub const VERSION: u32 = 1;
/// Where the rings' bytes start; the control words live before it.
pub const DATA_OFFSET: usize = 4096;
/// The smallest and largest ring capacities a side accepts.
pub const MIN_CAPACITY: u32 = 4096;
/// See [`MIN_CAPACITY`].
pub const MAX_CAPACITY: u32 = 64 << 20;
/// Ring 0 carries client→server bytes, ring 1 server→client.
const CONTROL: [usize; 2] = [128, 256];
/// Within a ring's control block: the producer's tail, the consumer's `data_waiting` word, the
/// consumer's head and the producer's `space_waiting` word (tail and head on separate lines).
const TAIL: usize = 0;
const DATA_WAITING: usize = 8;
const HEAD: usize = 64;
const SPACE_WAITING: usize = 72;

/// A position read from shared memory that no honest peer writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingError(pub String);

impl std::fmt::Display for RingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "shared memory ring: {}", self.0)
    }
}

/// The region's total size for rings of `capacity` bytes.
pub fn region_len(capacity: u32) -> usize {
    DATA_OFFSET + 2 * capacity as usize
}

/// A mapped region, as raw memory another process may write at any time.
#[derive(Debug, Clone, Copy)]
pub struct Region {
    base: *mut u8,
    len: usize,
}

// SAFETY: the region is plain shared memory, read and written only through atomics and byte
// copies; which thread holds the pointer does not matter.
unsafe impl Send for Region {}
// SAFETY: as above.
unsafe impl Sync for Region {}

impl Region {
    /// # Safety
    /// `base` must point to `len` bytes (at least [`DATA_OFFSET`]), aligned to 8, that stay
    /// mapped (and not shrunk) for as
    /// long as the region and every ring made from it are used.
    pub unsafe fn new(base: *mut u8, len: usize) -> Region {
        Region { base, len }
    }

    /// The region's first byte (for a test playing a hostile peer).
    pub fn as_ptr(&self) -> *mut u8 {
        self.base
    }

    fn u64_at(&self, off: usize) -> &AtomicU64 {
        debug_assert!(off % 8 == 0 && off + 8 <= DATA_OFFSET && DATA_OFFSET <= self.len);
        // SAFETY: `off` is one of this module's constant offsets inside the control page, which
        // every region has (checked by `init`/`check`), and aligned to 8 as the base is.
        unsafe { &*(self.base.add(off) as *const AtomicU64) }
    }

    fn u32_at(&self, off: usize) -> &AtomicU32 {
        debug_assert!(off % 4 == 0 && off + 4 <= DATA_OFFSET && DATA_OFFSET <= self.len);
        // SAFETY: as in `u64_at`.
        unsafe { &*(self.base.add(off) as *const AtomicU32) }
    }

    /// Writes a fresh header for rings of `capacity` bytes (the server, before sharing it).
    pub fn init(&self, capacity: u32) {
        self.u64_at(0).store(MAGIC, Ordering::Relaxed);
        self.u32_at(8).store(VERSION, Ordering::Relaxed);
        self.u32_at(12).store(capacity, Ordering::Release);
    }

    /// The ring capacity the header announces, if it is one this region can hold (the client,
    /// once, before it uses the region; read once, so a later change of the header is ignored).
    pub fn check(&self) -> Result<u32, RingError> {
        if self.len < DATA_OFFSET {
            return Err(RingError(format!("region of {} bytes", self.len)));
        }
        if self.u64_at(0).load(Ordering::Acquire) != MAGIC {
            return Err(RingError("bad magic".into()));
        }
        let version = self.u32_at(8).load(Ordering::Relaxed);
        if version != VERSION {
            return Err(RingError(format!(
                "layout version {version}, expected {VERSION}"
            )));
        }
        let cap = self.u32_at(12).load(Ordering::Relaxed);
        if !cap.is_power_of_two() || !(MIN_CAPACITY..=MAX_CAPACITY).contains(&cap) {
            return Err(RingError(format!("ring capacity {cap}")));
        }
        if region_len(cap) > self.len {
            return Err(RingError(format!(
                "rings of {cap} bytes in {} bytes",
                self.len
            )));
        }
        Ok(cap)
    }

    fn ring(&self, index: usize, capacity: u32) -> Result<Ring, RingError> {
        let data_off = DATA_OFFSET + index.min(1) * capacity as usize;
        if !capacity.is_power_of_two() || data_off + capacity as usize > self.len {
            return Err(RingError(format!(
                "no ring {index} of {capacity} bytes here"
            )));
        }
        Ok(Ring {
            region: *self,
            control: CONTROL[index.min(1)],
            // SAFETY: inside the region, by the check above.
            data: unsafe { self.base.add(data_off) },
            cap: u64::from(capacity),
        })
    }

    /// The consumer of ring `index` (0: client→server, 1: server→client); `capacity` from
    /// [`Region::check`] or the server's own choice.
    pub fn consumer(&self, index: usize, capacity: u32) -> Result<Consumer, RingError> {
        Ok(Consumer {
            ring: self.ring(index, capacity)?,
            head: 0,
        })
    }

    /// The producer of ring `index`.
    pub fn producer(&self, index: usize, capacity: u32) -> Result<Producer, RingError> {
        Ok(Producer {
            ring: self.ring(index, capacity)?,
            tail: 0,
        })
    }
}

#[derive(Debug)]
struct Ring {
    region: Region,
    control: usize,
    data: *mut u8,
    cap: u64,
}

// SAFETY: see `Region`.
unsafe impl Send for Ring {}

impl Ring {
    fn word(&self, off: usize) -> &AtomicU64 {
        self.region.u64_at(self.control + off)
    }

    fn flag(&self, off: usize) -> &AtomicU32 {
        self.region.u32_at(self.control + off)
    }

    /// Sets a waiting word, then re-reads what the sleeper waits for (the fence orders the
    /// two against the other side's publish-then-check).
    fn arm(&self, off: usize) {
        self.flag(off).store(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// After a publish: whether the other side asked to be woken (the word is cleared).
    fn wanted(&self, off: usize) -> bool {
        fence(Ordering::SeqCst);
        self.flag(off).load(Ordering::Relaxed) != 0 && self.flag(off).swap(0, Ordering::AcqRel) != 0
    }

    /// The offset in the ring of position `pos` and how many bytes follow it before the end.
    fn at(&self, pos: u64) -> (usize, usize) {
        let off = (pos & (self.cap - 1)) as usize;
        (off, self.cap as usize - off)
    }
}

/// The reading side of a ring.
#[derive(Debug)]
pub struct Consumer {
    ring: Ring,
    head: u64,
}

impl Consumer {
    /// How many bytes the producer has published and this side has not read.
    pub fn available(&self) -> Result<usize, RingError> {
        let tail = self.ring.word(TAIL).load(Ordering::Acquire);
        let avail = tail.wrapping_sub(self.head);
        if avail > self.ring.cap {
            return Err(RingError(format!(
                "tail {tail} is not within {} bytes after head {}",
                self.ring.cap, self.head
            )));
        }
        Ok(avail as usize)
    }

    /// Copies up to `out.len()` bytes out of the ring; also says whether the producer waits for
    /// space (then wake it).
    pub fn read(&mut self, out: &mut [u8]) -> Result<(usize, bool), RingError> {
        // SAFETY: `read_uninit` only writes initialized bytes into the slice.
        self.read_uninit(unsafe { &mut *(out as *mut [u8] as *mut [MaybeUninit<u8>]) })
    }

    /// [`Consumer::read`] into memory not yet initialized (a buffer's spare capacity, so a
    /// reader copies the ring's bytes once, straight where they stay); the first `n` bytes of
    /// `out` are initialized when it returns `n`.
    pub fn read_uninit(&mut self, out: &mut [MaybeUninit<u8>]) -> Result<(usize, bool), RingError> {
        let n = self.available()?.min(out.len());
        if n == 0 {
            return Ok((0, false));
        }
        let (off, to_end) = self.ring.at(self.head);
        let first = n.min(to_end);
        // SAFETY: `off + first ≤ cap` and `n - first ≤ cap`, inside this ring's bytes; `out`
        // is private memory of at least `n` bytes. The peer may write the ring meanwhile: then
        // the copy holds garbage, which the frame parser above rejects.
        unsafe {
            let out = out.as_mut_ptr().cast::<u8>();
            std::ptr::copy_nonoverlapping(self.ring.data.add(off), out, first);
            std::ptr::copy_nonoverlapping(self.ring.data, out.add(first), n - first);
        }
        self.head = self.head.wrapping_add(n as u64);
        self.ring.word(HEAD).store(self.head, Ordering::Release);
        Ok((n, self.ring.wanted(SPACE_WAITING)))
    }

    /// Asks to be woken at the next publish; the caller re-checks [`available`] before sleeping.
    pub fn arm(&self) {
        self.ring.arm(DATA_WAITING);
    }
}

/// The writing side of a ring.
#[derive(Debug)]
pub struct Producer {
    ring: Ring,
    tail: u64,
}

impl Producer {
    /// How many bytes can be written now.
    pub fn free(&self) -> Result<usize, RingError> {
        let head = self.ring.word(HEAD).load(Ordering::Acquire);
        let used = self.tail.wrapping_sub(head);
        if used > self.ring.cap {
            return Err(RingError(format!(
                "head {head} is not within {} bytes before tail {}",
                self.ring.cap, self.tail
            )));
        }
        Ok((self.ring.cap - used) as usize)
    }

    /// Copies as much of `src` as fits; also says whether the consumer waits for data.
    pub fn write(&mut self, src: &[u8]) -> Result<(usize, bool), RingError> {
        let n = self.free()?.min(src.len());
        if n == 0 {
            return Ok((0, false));
        }
        let (off, to_end) = self.ring.at(self.tail);
        let first = n.min(to_end);
        // SAFETY: as in `Consumer::read`, with the roles of the buffers swapped.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.ring.data.add(off), first);
            std::ptr::copy_nonoverlapping(src.as_ptr().add(first), self.ring.data, n - first);
        }
        self.tail = self.tail.wrapping_add(n as u64);
        self.ring.word(TAIL).store(self.tail, Ordering::Release);
        Ok((n, self.ring.wanted(DATA_WAITING)))
    }

    /// Asks to be woken when the consumer frees space; the caller re-checks [`free`].
    pub fn arm(&self) {
        self.ring.arm(SPACE_WAITING);
    }
}
