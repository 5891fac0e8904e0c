//! Checking a DKIM signature (RFC 6376) as a receiving server would, written from the RFC
//! for the tests and apart from OpenDKIM, which signs: what the platform uses only
//! (`rsa-sha256`, relaxed header and body canonicalisation).

use std::collections::BTreeMap;

use base64::Engine;
use rsa::{Pkcs1v15Sign, RsaPublicKey, pkcs8::DecodePublicKey};
use sha2::{Digest, Sha256};

/// What a good signature vouches for.
#[derive(Debug)]
pub struct Verified {
    /// The signing domain (`d=`).
    pub domain: String,
    /// The selector (`s=`).
    pub selector: String,
    /// The signed header fields (`h=`), in lower case.
    pub headers: Vec<String>,
}

/// Checks the first `DKIM-Signature` of `message` (CRLF line ends) with the public key of
/// the DNS record `record` (`v=DKIM1; k=rsa; p=…`).
pub fn verify(message: &str, record: &str) -> Result<Verified, String> {
    let (head, body) = message.split_once("\r\n\r\n").ok_or("the message has no body")?;
    let fields = header_fields(head);
    let signature = fields
        .iter()
        .find(|f| name_of(f).eq_ignore_ascii_case("DKIM-Signature"))
        .ok_or("the message has no DKIM-Signature")?;
    let signature_tags = tags(signature.split_once(':').map_or("", |(_, v)| v));
    let tag = |name: &str| signature_tags.get(name).cloned().ok_or(format!("the signature has no {name}="));
    if tag("a")? != "rsa-sha256" || tag("c")? != "relaxed/relaxed" {
        return Err(format!("not rsa-sha256 with relaxed/relaxed: {signature_tags:?}"));
    }
    let body_hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(relaxed_body(body)));
    if body_hash != tag("bh")? {
        return Err(format!("the body hash differs: the body changed after signing ({body_hash} != {})", tag("bh")?));
    }
    let headers: Vec<String> = tag("h")?.split(':').map(|h| h.to_ascii_lowercase()).collect();
    let mut signed = String::new();
    let mut taken = vec![false; fields.len()];
    for name in &headers {
        // The last instance not yet used; a name signed more often than it occurs adds nothing.
        if let Some(i) = (0..fields.len()).rev().find(|&i| !taken[i] && name_of(&fields[i]).eq_ignore_ascii_case(name))
        {
            taken[i] = true;
            signed.push_str(&relaxed_header(&fields[i]));
            signed.push_str("\r\n");
        }
    }
    signed.push_str(&relaxed_header(&without_b(signature)));
    let record_tags = tags(record);
    let der = base64::engine::general_purpose::STANDARD
        .decode(record_tags.get("p").ok_or("the record has no p=")?)
        .map_err(|e| format!("the record's p=: {e}"))?;
    let key = RsaPublicKey::from_public_key_der(&der).map_err(|e| format!("the record's key: {e}"))?;
    let b = base64::engine::general_purpose::STANDARD.decode(tag("b")?).map_err(|e| format!("b=: {e}"))?;
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(signed.as_bytes()), &b)
        .map_err(|e| format!("the signature does not verify: {e}"))?;
    Ok(Verified { domain: tag("d")?, selector: tag("s")?, headers })
}

/// The header fields, each with its continuation lines.
fn header_fields(head: &str) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        match (line.starts_with([' ', '\t']), fields.last_mut()) {
            (true, Some(field)) => {
                field.push_str("\r\n");
                field.push_str(line);
            }
            _ => fields.push(line.to_owned()),
        }
    }
    fields
}

fn name_of(field: &str) -> &str {
    field.split_once(':').map_or(field, |(name, _)| name.trim_end())
}

/// A tag list (`a=b; c=d`), whitespace removed from the values.
fn tags(list: &str) -> BTreeMap<String, String> {
    list.split(';')
        .filter_map(|tag| tag.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.chars().filter(|c| !c.is_whitespace()).collect()))
        .collect()
}

/// Runs of spaces and tabs as one space.
fn collapse(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for c in text.chars() {
        if c == ' ' || c == '\t' {
            blank = true;
        } else {
            if blank {
                out.push(' ');
            }
            blank = false;
            out.push(c);
        }
    }
    if blank {
        out.push(' ');
    }
    out
}

/// Relaxed header canonicalisation (RFC 6376, 3.4.2), without the line end.
fn relaxed_header(field: &str) -> String {
    let (name, value) = field.split_once(':').unwrap_or((field, ""));
    format!("{}:{}", name.trim().to_ascii_lowercase(), collapse(&value.replace("\r\n", "")).trim())
}

/// Relaxed body canonicalisation (RFC 6376, 3.4.4).
fn relaxed_body(body: &str) -> String {
    let mut lines: Vec<String> = body.split("\r\n").map(|line| collapse(line).trim_end().to_owned()).collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines.iter().map(|line| format!("{line}\r\n")).collect()
}

/// The signature field with the value of its `b=` tag emptied.
fn without_b(field: &str) -> String {
    field
        .split(';')
        .map(|tag| match tag.split_once('=') {
            Some((name, _)) if name.trim() == "b" => format!("{name}="),
            _ => tag.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(";")
}
