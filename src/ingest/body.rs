//! Request bodies: read with a size cap, then decompressed with a cap on the output.
//!
//! ```text
//! Content-Encoding: gzip | x-gzip | deflate (zlib, or raw) | br | zstd | identity | "" | UTF-8
//! no Content-Encoding but gzip magic bytes → gzip
//! /store/ only: base64(zlib(json)) or base64(json) when the body does not start with '{'
//! ```
//! Decompression stops one byte past the limit, so a bomb costs at most `limit` bytes of memory.

use std::io::Read;

use actix_web::HttpRequest;
use actix_web::http::header::CONTENT_ENCODING;
use actix_web::web;
use base64::Engine;
use futures_util::StreamExt;

use crate::error::IngestError;

/// Reads the whole request body; more than `limit` bytes answers 413.
pub async fn read(
    mut payload: web::Payload,
    limit: usize,
    kind: &'static str,
) -> Result<Vec<u8>, IngestError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| IngestError::BadRequest(format!("failed to read request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(IngestError::TooLarge(kind));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

/// Decompresses `body` as its `Content-Encoding` says; output above `limit` answers 413.
pub fn decode(
    req: &HttpRequest,
    body: Vec<u8>,
    limit: usize,
    kind: &'static str,
) -> Result<Vec<u8>, IngestError> {
    let header = req
        .headers()
        .get(CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?"));
    let encoding = match header.map(|h| h.trim().to_ascii_lowercase()) {
        None => sniff(&body),
        Some(h) => match h.as_str() {
            // sentry-ruby sends "", old Android SDKs "UTF-8": both mean none.
            "" | "identity" | "utf-8" => sniff(&body),
            "gzip" | "x-gzip" => Encoding::Gzip,
            "deflate" => Encoding::Deflate,
            "br" => Encoding::Brotli,
            "zstd" => Encoding::Zstd,
            other => {
                return Err(IngestError::BadRequest(format!(
                    "unsupported content encoding {other:?}"
                )));
            }
        },
    };
    decompress(encoding, body, limit, kind)
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
    body: Vec<u8>,
    limit: usize,
    kind: &'static str,
) -> Result<Vec<u8>, IngestError> {
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
        )
        .map_err(|e| corrupt("gzip", e))?,
        Encoding::Deflate => {
            // JSON deflates about 8:1; `capped` bounds the guess by the limit.
            let hint = body.len().saturating_mul(8);
            match capped(flate2::read::ZlibDecoder::new(body.as_slice()), limit, hint) {
                Ok(out) => out,
                // Some clients send raw deflate under the same name.
                Err(_) => capped(
                    flate2::read::DeflateDecoder::new(body.as_slice()),
                    limit,
                    hint,
                )
                .map_err(|e| corrupt("deflate", e))?,
            }
        }
        Encoding::Brotli => capped(
            brotli_decompressor::Decompressor::new(body.as_slice(), 8192),
            limit,
            0,
        )
        .map_err(|e| corrupt("br", e))?,
        Encoding::Zstd => {
            let decoder = zstd::stream::read::Decoder::new(body.as_slice())
                .map_err(|e| corrupt("zstd", e))?;
            capped(decoder, limit, 0).map_err(|e| corrupt("zstd", e))?
        }
    };
    if out.len() > limit {
        return Err(IngestError::TooLarge(kind));
    }
    Ok(out)
}

/// Reads at most `limit + 1` bytes, enough to tell "too large" without inflating a bomb.
/// `capacity` is a guess of the output size, so that the output is not copied as it grows.
fn capped(reader: impl Read, limit: usize, capacity: usize) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(capacity.min(limit + 1));
    reader.take(limit as u64 + 1).read_to_end(&mut out)?;
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
pub fn legacy_store_body(body: Vec<u8>, limit: usize) -> Result<Vec<u8>, IngestError> {
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
    if decoded.first() == Some(&b'{') {
        return Ok(decoded);
    }
    decompress(Encoding::Deflate, decoded, limit, "event")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

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
            decompress(Encoding::Gzip, gzip(&data), 1 << 20, "event").unwrap(),
            data
        );
        assert_eq!(
            decompress(Encoding::Deflate, zlib(&data), 1 << 20, "event").unwrap(),
            data
        );
        let mut raw =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(&data).unwrap();
        assert_eq!(
            decompress(Encoding::Deflate, raw.finish().unwrap(), 1 << 20, "event").unwrap(),
            data
        );
        let zstd = zstd::bulk::compress(&data, 3).unwrap();
        assert_eq!(
            decompress(Encoding::Zstd, zstd, 1 << 20, "event").unwrap(),
            data
        );
        assert_eq!(sniff(&gzip(&data)), Encoding::Gzip);
    }

    #[test]
    fn bombs_stop_at_the_limit() {
        let bomb = gzip(&vec![b'a'; 10 << 20]);
        assert!(bomb.len() < 100_000);
        assert!(matches!(
            decompress(Encoding::Gzip, bomb, 1 << 20, "event"),
            Err(IngestError::TooLarge("event"))
        ));
    }

    #[test]
    fn garbage_is_a_bad_request() {
        for enc in [
            Encoding::Gzip,
            Encoding::Deflate,
            Encoding::Brotli,
            Encoding::Zstd,
        ] {
            let r = decompress(enc, b"definitely not compressed".to_vec(), 1 << 20, "event");
            assert!(
                matches!(r, Err(IngestError::BadRequest(_))),
                "{enc:?}: {r:?}"
            );
        }
        let truncated = gzip(b"{\"message\":\"hello world, hello world\"}");
        let r = decompress(
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
        assert_eq!(legacy_store_body(json.clone(), 1 << 20).unwrap(), json);
        assert_eq!(legacy_store_body(b64(&json), 1 << 20).unwrap(), json);
        assert_eq!(legacy_store_body(b64(&zlib(&json)), 1 << 20).unwrap(), json);
        assert!(legacy_store_body(b"%%%".to_vec(), 1 << 20).is_err());
    }
}
