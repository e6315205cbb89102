//! The system calls under `shm://`: a sealed memfd mapped shared, eventfds, and passing them
//! over the connection's unix socket with `SCM_RIGHTS`. Nothing here has a name in the file
//! system: when both processes are gone, so is the memory.
//!
//! Public (hidden from the docs) only for the tests that play a hostile peer.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::shm_ring::{region_len, Region};

/// How many fds the server passes: the memfd, then the eventfds of ring 0 (data, space) and
/// ring 1 (data, space).
pub const FDS: usize = 5;

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A shared mapping of a whole memfd, unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    region: Region,
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is process memory shared by address; see `Region`.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `fd` read-write and shared.
    fn map(fd: &OwnedFd, len: usize) -> io::Result<Mapping> {
        // SAFETY: a fresh mapping chosen by the kernel; nothing else refers to it yet.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `len` bytes mapped at `ptr`, page aligned, until `Drop`; the memfd is sealed
        // against shrinking, so no access can fault.
        let region = unsafe { Region::new(ptr.cast(), len) };
        Ok(Mapping { region, ptr, len })
    }

    /// The mapped memory as a region of rings.
    pub fn region(&self) -> Region {
        self.region
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `map` mapped; the rings made from it are owned by the
        // same connection and gone before it (see `shm_io::Link`).
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// A new memfd of `capacity`-byte rings, sealed against resizing, and its mapping.
pub fn create(capacity: u32) -> io::Result<(OwnedFd, Mapping)> {
    let len = region_len(capacity);
    let name = c"hms-ffi-shm";
    // SAFETY: a NUL-terminated name; the result is checked.
    let fd = check(unsafe {
        libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
    })?;
    // SAFETY: a fresh fd this function owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: plain calls on an fd we own.
    check(unsafe { libc::ftruncate(fd.as_raw_fd(), len as libc::off_t) })?;
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) })?;
    let map = Mapping::map(&fd, len)?;
    Ok((fd, map))
}

/// Maps a memfd the peer sent, after checking that it cannot shrink under us (a shrunk mapping
/// would fault on access) and taking its size from the kernel, not from the peer.
pub fn open(fd: &OwnedFd) -> io::Result<Mapping> {
    let bad = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
    // SAFETY: a query on an fd we own.
    let seals = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) })
        .map_err(|e| bad(format!("the shared memory is not a sealable memfd: {e}")))?;
    if seals & libc::F_SEAL_SHRINK == 0 {
        return Err(bad(
            "the shared memory is not sealed against shrinking".into()
        ));
    }
    // SAFETY: `st` is written by fstat before it is read.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    check(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    let len = usize::try_from(st.st_size).map_err(|_| bad("negative size".into()))?;
    if len > region_len(super::shm_ring::MAX_CAPACITY) || len < region_len(0) {
        return Err(bad(format!("shared memory of {len} bytes")));
    }
    Mapping::map(fd, len)
}

/// A non-blocking eventfd.
pub fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: creates an fd; the result is checked.
    let fd = check(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
    // SAFETY: a fresh fd this function owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds one to an eventfd (wakes its reader); a full counter already wakes it.
pub fn signal(fd: RawFd) {
    let one = 1u64.to_ne_bytes();
    // SAFETY: writes 8 bytes from a live buffer.
    let _ = unsafe { libc::write(fd, one.as_ptr().cast(), 8) };
}

/// Resets an eventfd's counter (non-blocking; nothing to read is fine).
pub fn drain(fd: RawFd) {
    let mut buf = [0u8; 8];
    // SAFETY: reads at most 8 bytes into a live buffer.
    let _ = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), 8) };
}

/// Sends one byte with `fds` attached.
pub fn send_fds(sock: RawFd, fds: &[RawFd; FDS]) -> io::Result<()> {
    let mut byte = [1u8];
    let payload = (FDS * std::mem::size_of::<RawFd>()) as u32;
    let msg = Message::new(&mut byte, payload);
    // SAFETY: the control buffer holds one header with room for `payload` bytes (CMSG_FIRSTHDR
    // is not null); the fds are copied into its data, `payload` bytes.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg.hdr);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(payload) as _;
        std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(cmsg).cast(), FDS);
    }
    // SAFETY: `msg` describes live buffers.
    let n = check(unsafe { libc::sendmsg(sock, &msg.hdr, libc::MSG_NOSIGNAL) } as libc::c_int)?;
    if n != 1 {
        return Err(io::Error::new(io::ErrorKind::WriteZero, "fds not sent"));
    }
    Ok(())
}

/// A one-byte message header with a control buffer for `payload` bytes of fds. The header
/// points into the iovec and buffer it owns (boxed, so moving the message moves no target).
struct Message {
    hdr: libc::msghdr,
    _iov: Box<libc::iovec>,
    _control: Vec<u64>,
}

impl Message {
    fn new(byte: &mut [u8; 1], payload: u32) -> Message {
        let mut iov = Box::new(libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        });
        // SAFETY: a pure size computation.
        let space = unsafe { libc::CMSG_SPACE(payload) } as usize;
        let mut control = vec![0u64; space.div_ceil(8)];
        // SAFETY: an all-zero msghdr is valid; it is then pointed at the buffers above.
        let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
        hdr.msg_iov = &mut *iov;
        hdr.msg_iovlen = 1;
        hdr.msg_control = control.as_mut_ptr().cast();
        hdr.msg_controllen = space as _;
        Message {
            hdr,
            _iov: iov,
            _control: control,
        }
    }
}

/// Receives the byte and the fds [`send_fds`] sent (blocking socket). Every fd received is
/// owned (closed on error); anything but exactly [`FDS`] of them is an error.
pub fn recv_fds(sock: RawFd) -> io::Result<Vec<OwnedFd>> {
    let mut byte = [0u8];
    let payload = (2 * FDS * std::mem::size_of::<RawFd>()) as u32;
    let mut m = Message::new(&mut byte, payload);
    // SAFETY: `m` describes live buffers; received fds are close-on-exec.
    let n =
        check(unsafe { libc::recvmsg(sock, &mut m.hdr, libc::MSG_CMSG_CLOEXEC) } as libc::c_int)?;
    let msg = m.hdr;
    let mut fds = Vec::new();
    // SAFETY: walks the headers the kernel wrote inside `control` (CMSG_NXTHDR stops at its
    // end); each SCM_RIGHTS data holds `(len - CMSG_LEN(0)) / 4` fds, now ours.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let bytes = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let data = libc::CMSG_DATA(cmsg) as *const RawFd;
                for i in 0..bytes / std::mem::size_of::<RawFd>() {
                    fds.push(OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i))));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    if n != 1 || fds.len() != FDS || msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "expected {FDS} fds and one byte, got {} fds and {n} bytes",
                fds.len()
            ),
        ));
    }
    Ok(fds)
}
