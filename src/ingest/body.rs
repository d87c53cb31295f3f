//! Request bodies: read with a size cap, then decompressed with a cap on the output.
//!
//! ```text
//! Content-Encoding: gzip | x-gzip | deflate (zlib, or raw) | br | zstd | identity | "" | UTF-8
//! no Content-Encoding but gzip magic bytes → gzip
//! /store/ only: base64(zlib(json)) or base64(json) when the body does not start with '{'
//! ```
//! Decompression stops one byte past the limit, so a bomb costs at most `limit` bytes of memory,
//! and every byte read or inflated is charged to the ingest budget before it is stored.

use std::io::Read;

use actix_web::HttpRequest;
use actix_web::http::header::{CONTENT_ENCODING, CONTENT_LENGTH};
use actix_web::web;
use base64::Engine;
use futures_util::StreamExt;

use super::budget::{Budget, ChargedBuf, FillError};
use crate::config::Limits;
use crate::ingest::error::IngestError;

/// Bytes reserved for a body before they arrive.
const RESERVE_AHEAD: usize = 1024 * 1024;

/// Reads the whole request body, charging it to `budget` as it grows; more than `limit` bytes
/// answers 413 (as soon as `Content-Length` says so, before reading), a body still arriving
/// after `timeout` answers 408.
pub async fn read(
    req: &HttpRequest,
    payload: web::Payload,
    limits: &Limits,
    kind: &'static str,
    budget: &Budget,
) -> Result<ChargedBuf, IngestError> {
    let timeout = limits.body_timeout;
    tokio::time::timeout(
        timeout,
        read_all(req, payload, limits.max_envelope_size, kind, budget),
    )
    .await
    .map_err(|_| IngestError::BodyTimeout(timeout.as_secs()))?
}

async fn read_all(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
    kind: &'static str,
    budget: &Budget,
) -> Result<ChargedBuf, IngestError> {
    let mut body = ChargedBuf::new(budget);
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(length) = announced {
        if length > limit {
            return Err(IngestError::TooLarge(kind));
        }
        // Room for what is announced, up to a megabyte: past that the buffer grows (and is
        // charged) as bytes arrive, so a sender that announces much and sends little holds
        // little.
        body.reserve_total(length.min(RESERVE_AHEAD))?;
    }
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| IngestError::BadRequest(format!("failed to read request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(IngestError::TooLarge(kind));
        }
        body.extend(&chunk, limit)?;
    }
    Ok(body)
}

/// A body's compression, from its `Content-Encoding` header (or its first bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

/// The encoding `Content-Encoding` names; `None` means "look at the body" (see [`decode`]).
pub fn encoding(req: &HttpRequest) -> Result<Option<Encoding>, IngestError> {
    let Some(header) = req.headers().get(CONTENT_ENCODING) else {
        return Ok(None);
    };
    let header = header.to_str().unwrap_or("?").trim().to_ascii_lowercase();
    Ok(match header.as_str() {
        // sentry-ruby sends "", old Android SDKs "UTF-8": both mean none.
        "" | "identity" | "utf-8" => None,
        "gzip" | "x-gzip" => Some(Encoding::Gzip),
        "deflate" => Some(Encoding::Deflate),
        "br" => Some(Encoding::Brotli),
        "zstd" => Some(Encoding::Zstd),
        other => {
            let other: String = other.chars().take(64).collect();
            return Err(IngestError::BadRequest(format!(
                "unsupported content encoding {other:?}"
            )));
        }
    })
}

/// Decompresses `body` as [`encoding`] said; output above `limit` answers 413, and every
/// byte of output is charged to `budget` before it is written.
pub fn decode(
    encoding: Option<Encoding>,
    body: ChargedBuf,
    limit: usize,
    kind: &'static str,
    budget: &Budget,
) -> Result<ChargedBuf, IngestError> {
    let encoding = encoding.unwrap_or_else(|| sniff(&body));
    decompress(encoding, body, limit, kind, budget)
}

/// gzip bodies sent without a `Content-Encoding` header are recognised by their magic bytes.
fn sniff(body: &[u8]) -> Encoding {
    if body.starts_with(&[0x1f, 0x8b]) {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

fn decompress(
    encoding: Encoding,
    body: ChargedBuf,
    limit: usize,
    kind: &'static str,
    budget: &Budget,
) -> Result<ChargedBuf, IngestError> {
    let corrupt = |name: &str, e: std::io::Error| {
        IngestError::BadRequest(format!("invalid {name} body: {e}"))
    };
    let out = match encoding {
        Encoding::Identity => {
            if body.len() > limit {
                return Err(IngestError::TooLarge(kind));
            }
            return Ok(body);
        }
        Encoding::Gzip => capped(
            flate2::read::MultiGzDecoder::new(body.as_slice()),
            limit,
            output_hint(&body, limit),
            budget,
        )
        .map_err(|e| e.or_corrupt(|e| corrupt("gzip", e)))?,
        Encoding::Deflate => {
            // JSON deflates about 8:1; `capped` bounds the guess by the limit.
            let hint = body.len().saturating_mul(8);
            match capped(
                flate2::read::ZlibDecoder::new(body.as_slice()),
                limit,
                hint,
                budget,
            ) {
                Ok(out) => out,
                Err(FillError::Refused(e)) => return Err(e),
                // Some clients send raw deflate under the same name.
                Err(FillError::Read(_)) => capped(
                    flate2::read::DeflateDecoder::new(body.as_slice()),
                    limit,
                    hint,
                    budget,
                )
                .map_err(|e| e.or_corrupt(|e| corrupt("deflate", e)))?,
            }
        }
        Encoding::Brotli => capped(
            brotli_decompressor::Decompressor::new(body.as_slice(), 8192),
            limit,
            0,
            budget,
        )
        .map_err(|e| e.or_corrupt(|e| corrupt("br", e)))?,
        Encoding::Zstd => {
            let decoder = zstd::stream::read::Decoder::new(body.as_slice())
                .map_err(|e| corrupt("zstd", e))?;
            // A frame that declares its size is held to it by the decoder: reserve it once.
            let declared = zstd::zstd_safe::get_frame_content_size(&body)
                .ok()
                .flatten()
                .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
            capped(decoder, limit, declared, budget)
                .map_err(|e| e.or_corrupt(|e| corrupt("zstd", e)))?
        }
    };
    if out.len() > limit {
        return Err(IngestError::TooLarge(kind));
    }
    Ok(out)
}

impl FillError {
    fn or_corrupt(self, corrupt: impl FnOnce(std::io::Error) -> IngestError) -> IngestError {
        match self {
            FillError::Read(e) => corrupt(e),
            FillError::Refused(e) => e,
        }
    }
}

/// Reads at most `limit + 1` bytes, enough to tell "too large" without inflating a bomb,
/// charging the output to the budget as it grows. `capacity` is a guess of the output size,
/// so that the output is not copied as it grows.
fn capped(
    mut reader: impl Read,
    limit: usize,
    capacity: usize,
    budget: &Budget,
) -> Result<ChargedBuf, FillError> {
    let mut out = ChargedBuf::new(budget);
    out.reserve_total(capacity.min(limit + 1))
        .map_err(FillError::Refused)?;
    out.fill_from(&mut reader, limit + 1)?;
    Ok(out)
}

/// The output size a gzip body announces in its last member's trailer (ISIZE), trusted only
/// up to 16 times the body: the sender writes it, and memory is reserved from it.
fn output_hint(gzip: &[u8], limit: usize) -> usize {
    let announced = gzip
        .last_chunk::<4>()
        .map_or(0, |size| u32::from_le_bytes(*size) as usize);
    // Multi-member bodies (a small header member, then the event) announce only the last.
    (announced + 1024)
        .min(gzip.len().saturating_mul(16))
        .min(limit)
}

/// The legacy `/store/` body: JSON, or base64 of JSON or of zlib-compressed JSON.
pub fn legacy_store_body(
    body: ChargedBuf,
    limit: usize,
    budget: &Budget,
) -> Result<ChargedBuf, IngestError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(body);
    }
    let trimmed: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&trimmed)
        .map_err(|_| IngestError::BadRequest("body is neither JSON nor base64".into()))?;
    drop(trimmed);
    let decoded = ChargedBuf::from_vec(budget, decoded)?;
    if decoded.first() == Some(&b'{') {
        return Ok(decoded);
    }
    decompress(Encoding::Deflate, decoded, limit, "event", budget)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn budget() -> Budget {
        Budget::new(64 << 20)
    }

    /// `decompress` of a plain buffer, for the tests.
    fn inflate(
        encoding: Encoding,
        data: Vec<u8>,
        limit: usize,
        kind: &'static str,
    ) -> Result<Vec<u8>, IngestError> {
        let budget = budget();
        let body = ChargedBuf::from_vec(&budget, data)?;
        decompress(encoding, body, limit, kind, &budget).map(|b| b.to_vec())
    }

    fn legacy(data: Vec<u8>) -> Result<Vec<u8>, IngestError> {
        let budget = budget();
        let body = ChargedBuf::from_vec(&budget, data)?;
        legacy_store_body(body, 1 << 20, &budget).map(|b| b.to_vec())
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn every_encoding_round_trips() {
        let data = b"{\"message\":\"hello\"}".repeat(50);
        assert_eq!(
            inflate(Encoding::Gzip, gzip(&data), 1 << 20, "event").unwrap(),
            data
        );
        assert_eq!(
            inflate(Encoding::Deflate, zlib(&data), 1 << 20, "event").unwrap(),
            data
        );
        let mut raw =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(&data).unwrap();
        assert_eq!(
            inflate(Encoding::Deflate, raw.finish().unwrap(), 1 << 20, "event").unwrap(),
            data
        );
        let zstd = zstd::bulk::compress(&data, 3).unwrap();
        assert_eq!(
            inflate(Encoding::Zstd, zstd, 1 << 20, "event").unwrap(),
            data
        );
        assert_eq!(sniff(&gzip(&data)), Encoding::Gzip);
    }

    #[test]
    fn bombs_stop_at_the_limit() {
        let bomb = gzip(&vec![b'a'; 10 << 20]);
        assert!(bomb.len() < 100_000);
        assert!(matches!(
            inflate(Encoding::Gzip, bomb, 1 << 20, "event"),
            Err(IngestError::TooLarge("event"))
        ));
    }

    #[test]
    fn inflating_past_the_budget_is_refused_not_stored() {
        let budget = Budget::new(1 << 20);
        let bomb = ChargedBuf::from_vec(&budget, gzip(&vec![0u8; 8 << 20])).unwrap();
        let r = decompress(Encoding::Gzip, bomb, 16 << 20, "envelope", &budget);
        assert!(
            matches!(r, Err(IngestError::Overloaded | IngestError::TooLarge(_))),
            "{r:?}"
        );
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn garbage_is_a_bad_request() {
        for enc in [
            Encoding::Gzip,
            Encoding::Deflate,
            Encoding::Brotli,
            Encoding::Zstd,
        ] {
            let r = inflate(enc, b"definitely not compressed".to_vec(), 1 << 20, "event");
            assert!(
                matches!(r, Err(IngestError::BadRequest(_))),
                "{enc:?}: {r:?}"
            );
        }
        let truncated = gzip(b"{\"message\":\"hello world, hello world\"}");
        let r = inflate(
            Encoding::Gzip,
            truncated[..truncated.len() / 2].to_vec(),
            1 << 20,
            "event",
        );
        assert!(matches!(r, Err(IngestError::BadRequest(_))), "{r:?}");
    }

    #[test]
    fn legacy_store_bodies() {
        let json = b"{\"message\":\"hi\"}".to_vec();
        let b64 = |d: &[u8]| {
            base64::engine::general_purpose::STANDARD
                .encode(d)
                .into_bytes()
        };
        assert_eq!(legacy(json.clone()).unwrap(), json);
        assert_eq!(legacy(b64(&json)).unwrap(), json);
        assert_eq!(legacy(b64(&zlib(&json))).unwrap(), json);
        assert!(legacy(b"%%%".to_vec()).is_err());
    }
}
