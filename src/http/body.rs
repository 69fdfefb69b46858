//! The response body type both bindings send large answers in: [`Chunks`], a body of the
//! pieces it was rendered in (a REST collection page: one piece per render slice; a LIS
//! response: the XML writer's ~60 KiB pieces), with its total size known up front.

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;

/// A response body sent in the pieces it was rendered in, so a large body is never copied into
/// one buffer; each piece's buffer goes back to [`crate::buffers`] once sent.
pub(crate) struct Chunks {
    parts: std::collections::VecDeque<Bytes>,
    len: u64,
}

impl Chunks {
    pub(crate) fn new(parts: Vec<Vec<u8>>) -> Chunks {
        let len = parts.iter().map(|p| p.len() as u64).sum();
        Chunks {
            parts: parts
                .into_iter()
                .map(|p| Bytes::from_owner(crate::buffers::Piece(p)))
                .collect(),
            len,
        }
    }
}

impl MessageBody for Chunks {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.len)
    }

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Bytes, Self::Error>>> {
        std::task::Poll::Ready(self.parts.pop_front().map(Ok))
    }
}
