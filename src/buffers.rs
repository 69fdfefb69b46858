//! Reusable response buffers. The pieces REST pages and LIS responses are written into (tens
//! to hundreds of kilobytes each) come from a small process-wide pool and go back to it once
//! the HTTP layer has copied them out, instead of being allocated fresh for every response:
//! the allocator hands freed memory back to the OS after 10 ms ([`crate::native`]), so at a
//! few thousand responses a second each new piece was mapped, faulted in page by page and
//! unmapped again (TLB shootdowns across threads included), which was a third of the kernel
//! time of a SOAP batch read (docs/PERFORMANCE.md).

use std::sync::Mutex;

/// Buffers kept at most: with [`MAX_CAPACITY`], at most 16 MiB held idle.
const KEEP: usize = 64;
/// Larger buffers (10,000-record extraction pages) are neither kept nor handed out.
const MAX_CAPACITY: usize = 256 * 1024;
/// Smaller ones are not worth keeping.
const MIN_CAPACITY: usize = 16 * 1024;

static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// An empty buffer of at least `capacity` bytes: a kept one when one is large enough.
pub fn take(capacity: usize) -> Vec<u8> {
    if (MIN_CAPACITY..=MAX_CAPACITY).contains(&capacity) {
        if let Ok(mut pool) = POOL.lock() {
            if let Some(i) = pool.iter().rposition(|b| b.capacity() >= capacity) {
                return pool.swap_remove(i);
            }
        }
    }
    Vec::with_capacity(capacity)
}

/// Give a buffer back (dropped when the pool is full, or the buffer too small or too large).
pub fn give(mut buf: Vec<u8>) {
    if (MIN_CAPACITY..=MAX_CAPACITY).contains(&buf.capacity()) {
        buf.clear();
        if let Ok(mut pool) = POOL.lock() {
            if pool.len() < KEEP {
                pool.push(buf);
            }
        }
    }
}

/// A finished piece of a response body that returns its buffer to the pool when dropped (the
/// owner behind the piece's `Bytes`).
pub struct Piece(pub Vec<u8>);

impl AsRef<[u8]> for Piece {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Piece {
    fn drop(&mut self) {
        give(std::mem::take(&mut self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_back_buffer_is_handed_out_again_empty_and_oversized_ones_are_not_kept() {
        let mut b = take(100 * 1024);
        b.extend_from_slice(b"left over");
        let ptr = b.as_ptr();
        drop(Piece(b));
        // Other tests may use the pool concurrently: look for our buffer among a few takes.
        let taken: Vec<Vec<u8>> = (0..KEEP).map(|_| take(100 * 1024)).collect();
        let ours = taken
            .iter()
            .find(|t| t.as_ptr() == ptr)
            .expect("buffer reused");
        assert!(ours.is_empty() && ours.capacity() >= 100 * 1024);
        for t in taken {
            give(t);
        }
        let big = take(MAX_CAPACITY + 1);
        let big_ptr = big.as_ptr();
        give(big);
        let again: Vec<Vec<u8>> = (0..KEEP).map(|_| take(MAX_CAPACITY)).collect();
        assert!(again.iter().all(|t| t.as_ptr() != big_ptr));
        for t in again {
            give(t);
        }
    }
}
