//! The ingest's memory budget: every byte a request holds (its body as read, the body
//! decompressed, the rows waiting for the writer) is charged to one budget before it is
//! allocated, and given back when the request ends. When the budget is spent the request is
//! answered 429 with `Retry-After` (SDKs back off), so memory stays bounded whatever mix of
//! requests arrives. The last quarter of the budget is kept for small requests (up to 1 MiB
//! each): a flood of large envelopes cannot keep ordinary events out. A request that needs
//! more than the other three quarters could never be served: it is answered 413.
//!
//! ```text
//! request ──read──▶ ChargedBuf (raw)  ──decompress──▶ ChargedBuf (body) ──prepare──▶ Charge (rows)
//!                   ≤ max_envelope_size              ≤ max_envelope_size             held until COMMIT
//! ```

use std::io::Read;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ingest::error::IngestError;

/// What a request may hold and still count as small (ordinary events are a few KB).
const SMALL_REQUEST: usize = 1024 * 1024;

/// Bytes that requests in flight may hold together.
#[derive(Debug, Clone)]
pub struct Budget {
    bytes: Arc<Semaphore>,
    total: usize,
}

impl Budget {
    pub fn new(total: usize) -> Budget {
        let total = total.min(Semaphore::MAX_PERMITS);
        Budget {
            bytes: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// An empty charge, to grow with [`Charge::add`].
    pub fn start(&self) -> Charge {
        Charge {
            budget: self.clone(),
            permit: None,
            bytes: 0,
        }
    }

    /// Bytes charged right now (for `/metrics`).
    pub fn in_use(&self) -> usize {
        self.total - self.bytes.available_permits()
    }

    pub fn total(&self) -> usize {
        self.total
    }
}

/// Bytes taken from the budget; given back on drop.
#[derive(Debug)]
pub struct Charge {
    budget: Budget,
    permit: Option<OwnedSemaphorePermit>,
    bytes: usize,
}

impl Charge {
    /// Takes `bytes` more, or answers [`IngestError::Overloaded`] when the budget cannot.
    pub fn add(&mut self, bytes: usize) -> Result<(), IngestError> {
        if bytes == 0 {
            return Ok(());
        }
        let reserve = self.budget.total / 4;
        // More than the budget could ever grant a large request: waiting will not help.
        if self.bytes + bytes > self.budget.total - reserve {
            return Err(IngestError::TooLarge("envelope"));
        }
        let n = u32::try_from(bytes).map_err(|_| IngestError::TooLarge("envelope"))?;
        if self.bytes + bytes > SMALL_REQUEST
            && self.budget.bytes.available_permits() < bytes + reserve
        {
            return Err(IngestError::Overloaded);
        }
        let permit = self
            .budget
            .bytes
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| IngestError::Overloaded)?;
        match &mut self.permit {
            Some(held) => held.merge(permit),
            None => self.permit = Some(permit),
        }
        self.bytes += bytes;
        Ok(())
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Why [`ChargedBuf::fill_from`] stopped early.
#[derive(Debug)]
pub enum FillError {
    /// The reader failed (for a decoder: the input is not valid in its encoding).
    Read(std::io::Error),
    /// The budget is spent.
    Refused(IngestError),
}

/// A byte buffer whose capacity is charged to the budget before it grows.
#[derive(Debug)]
pub struct ChargedBuf {
    bytes: Vec<u8>,
    charge: Charge,
}

impl ChargedBuf {
    pub fn new(budget: &Budget) -> ChargedBuf {
        ChargedBuf {
            bytes: Vec::new(),
            charge: budget.start(),
        }
    }

    /// Appends `data`, charging any growth of the capacity first (doubling, as `Vec` does, but
    /// never past `max` unless `data` needs it).
    pub fn extend(&mut self, data: &[u8], max: usize) -> Result<(), IngestError> {
        let needed = self.bytes.len() + data.len();
        if needed > self.bytes.capacity() {
            let capacity = (self.bytes.capacity() * 2)
                .max(8 * 1024)
                .min(max)
                .max(needed);
            self.reserve_total(capacity)?;
        }
        self.bytes.extend_from_slice(data);
        Ok(())
    }

    /// Makes room for `capacity` bytes in all (a size announced by the sender, already checked
    /// against the limit), charging it first.
    pub fn reserve_total(&mut self, capacity: usize) -> Result<(), IngestError> {
        let more = capacity.saturating_sub(self.charge.bytes());
        self.charge.add(more)?;
        self.bytes.reserve_exact(capacity - self.bytes.len());
        Ok(())
    }

    /// Reads from `reader` into the buffer, straight into its (charged) spare room, until
    /// `reader` ends or the buffer holds `max` bytes; returns whether `reader` ended.
    pub fn fill_from(&mut self, reader: &mut impl Read, max: usize) -> Result<bool, FillError> {
        loop {
            let room = max.saturating_sub(self.bytes.len());
            if room == 0 {
                return Ok(false);
            }
            if self.bytes.len() == self.bytes.capacity() {
                let capacity = (self.bytes.capacity() * 2).max(16 * 1024).min(max);
                self.reserve_total(capacity).map_err(FillError::Refused)?;
            }
            let spare = (self.bytes.capacity() - self.bytes.len()).min(room);
            let read = (&mut *reader)
                .take(spare as u64)
                .read_to_end(&mut self.bytes)
                .map_err(FillError::Read)?;
            if read < spare {
                return Ok(true);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    /// A buffer holding `bytes` already, charged by their capacity.
    pub fn from_vec(budget: &Budget, bytes: Vec<u8>) -> Result<ChargedBuf, IngestError> {
        let mut charge = budget.start();
        charge.add(bytes.capacity())?;
        Ok(ChargedBuf { bytes, charge })
    }
}

impl std::ops::Deref for ChargedBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_are_given_back_on_drop() {
        let budget = Budget::new(100_000);
        let mut a = budget.start();
        a.add(60_000).unwrap();
        let mut b = budget.start();
        assert!(matches!(b.add(50_000), Err(IngestError::Overloaded)));
        b.add(40_000).unwrap();
        assert_eq!(budget.in_use(), 100_000);
        drop(a);
        assert_eq!(budget.in_use(), 40_000);
        drop(b);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn large_requests_leave_the_last_quarter_to_small_ones() {
        let budget = Budget::new(16 * SMALL_REQUEST);
        let mut large = budget.start();
        large.add(12 * SMALL_REQUEST).unwrap();
        let mut another = budget.start();
        assert!(matches!(
            another.add(2 * SMALL_REQUEST),
            Err(IngestError::Overloaded)
        ));
        let mut huge = budget.start();
        assert!(matches!(
            huge.add(13 * SMALL_REQUEST),
            Err(IngestError::TooLarge(_))
        ));
        let mut small = budget.start();
        small.add(SMALL_REQUEST).unwrap();
        let mut growing = budget.start();
        growing.add(SMALL_REQUEST / 2).unwrap();
        assert!(growing.add(SMALL_REQUEST).is_err());
    }

    #[test]
    fn buffers_charge_their_capacity_before_growing() {
        let budget = Budget::new(64 * 1024);
        let mut buf = ChargedBuf::new(&budget);
        buf.extend(&[1; 1000], usize::MAX).unwrap();
        assert!(budget.in_use() >= buf.len());
        assert!(budget.in_use() >= buf.bytes.capacity());
        let mut grew = true;
        for _ in 0..100 {
            if buf.extend(&[2; 1000], usize::MAX).is_err() {
                grew = false;
                break;
            }
            assert!(budget.in_use() >= buf.bytes.capacity());
        }
        assert!(!grew, "a 64 KiB budget must stop a buffer growing past it");
        assert!(budget.in_use() <= 64 * 1024);
        drop(buf);
        assert_eq!(budget.in_use(), 0);
    }
}
