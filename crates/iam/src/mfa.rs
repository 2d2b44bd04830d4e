//! Virtual MFA devices: TOTP (RFC 6238: HMAC-SHA1, 30-second steps, six digits), their seeds
//! sealed at rest, enabled for an IAM user with two consecutive codes, and checked when STS
//! is given `SerialNumber` + `TokenCode`.
//!
//! The serial number is the device's ARN, `arn:aws:iam::<account>:mfa<path><name>`.
//! `CreateVirtualMFADevice` answers the seed in base32 and a QR code PNG of
//! `otpauth://totp/<device name>@<account name>?secret=<seed>` (API reference,
//! `VirtualMFADevice.QRCodePNG`: the account name is the user's name once assigned, the
//! account ID otherwise; at creation no user is assigned).
//!
//! | space      | key                                     | value        |
//! |------------|-----------------------------------------|--------------|
//! | `iam.mfa`  | `<account>/<lower name>`                | [`MfaRec`]   |
//! | `iam.umfa` | `<account>/<lower user>/<lower name>`   | empty (a user's devices) |

use crate::common::{
    Ctx, api_tags_opt, delete_conflict, fail, merge_tags, paginate, path_or_root, remove_tags,
    tag_page, ts,
};
use crate::records::{self, FORMAT};
use crate::seal::Sealer;
use crate::users::{caller_user_name, require_user, user_api};
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_store::{StoreError, Tx};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};

const MFA: &str = "iam.mfa";
const USER_MFA: &str = "iam.umfa";

/// AWS: up to eight MFA devices per user (IAM User Guide, "AWS Multi-factor authentication
/// in IAM").
const DEVICES_PER_USER: usize = 8;
/// TOTP step (seconds) and how many steps either side of now a code may be from.
const STEP_S: i64 = 30;
const WINDOW: i64 = 1;
/// `ResyncMFADevice` looks this many steps either side for the two codes.
const RESYNC_WINDOW: i64 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MfaRec {
    pub v: u32,
    pub name: String,
    pub path: String,
    pub created_ms: i64,
    /// The base32 seed, sealed under the master key.
    pub seed: String,
    /// The user it is enabled for (name as created) and since when.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub enabled_ms: Option<i64>,
    /// Steps the device's clock is off by (set by `ResyncMFADevice`).
    #[serde(default)]
    pub drift: i64,
    /// The last step a code was accepted for (a code is accepted once).
    #[serde(default)]
    pub last_step: Option<i64>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

impl MfaRec {
    fn serial(&self, account: &str) -> String {
        format!("arn:aws:iam::{account}:mfa{}{}", self.path, self.name)
    }
}

// -------------------------------------------------------------------------------- TOTP

pub use cairn_core::base32::{decode as base32_decode, encode as base32_encode};

/// The six-digit TOTP code of `seed` for time step `step` (RFC 6238 with RFC 4226's dynamic
/// truncation).
pub fn totp_code(seed: &[u8], step: i64) -> String {
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(seed) else {
        return String::new();
    };
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h.get(19).copied().unwrap_or(0) & 0x0f);
    let word = h
        .get(offset..offset + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, |b| u32::from_be_bytes(b) & 0x7fff_ffff);
    format!("{:06}", word % 1_000_000)
}

/// The TOTP step of `now_ms`.
pub fn step_of(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000 * STEP_S)
}

// ----------------------------------------------------------------------------- QR / PNG

/// A PNG (1-bit greyscale, 4 pixels per module, a 4-module quiet zone) of `text` as a QR
/// code.
pub fn qr_png(text: &str) -> Option<Vec<u8>> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let (scale, quiet) = (4usize, 4usize);
    let side = (width + 2 * quiet) * scale;
    let row_bytes = side.div_ceil(8);
    let mut raw = Vec::with_capacity((row_bytes + 1) * side);
    for y in 0..side {
        raw.push(0u8); // filter: none
        let my = (y / scale).checked_sub(quiet);
        let mut row = vec![0xffu8; row_bytes];
        for x in 0..side {
            let mx = (x / scale).checked_sub(quiet);
            let dark = match (mx, my) {
                (Some(mx), Some(my)) if mx < width && my < width => {
                    colors.get(my * width + mx) == Some(&qrcode::Color::Dark)
                }
                _ => false,
            };
            if dark && let Some(b) = row.get_mut(x / 8) {
                *b &= !(0x80 >> (x % 8));
            }
        }
        raw.extend_from_slice(&row);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, &raw).ok()?;
    let idat = z.finish().ok()?;
    let side32 = u32::try_from(side).ok()?;
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&side32.to_be_bytes());
    ihdr.extend_from_slice(&side32.to_be_bytes());
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]); // bit depth 1, greyscale
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", &ihdr), (b"IDAT", &idat), (b"IEND", &Vec::new())] {
        png.extend_from_slice(&u32::try_from(data.len()).ok()?.to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    }
    Some(png)
}

// ------------------------------------------------------------------------------ records

fn key(account: &str, name: &str) -> String {
    format!("{account}/{}", name.to_lowercase())
}

fn user_key(account: &str, user: &str, name: &str) -> String {
    format!("{account}/{}/{}", user.to_lowercase(), name.to_lowercase())
}

/// The device name a serial number of the account names.
fn name_of<'a>(account: &str, serial: &'a str) -> Option<&'a str> {
    let rest = serial.strip_prefix("arn:aws:iam::")?;
    let (acct, resource) = rest.split_once(':')?;
    let path_name = resource.strip_prefix("mfa/")?;
    (acct == account).then(|| path_name.rsplit('/').next().unwrap_or(path_name))
}

fn no_device(serial: &str) -> Failure {
    // [M]: the text.
    fail(
        Error::NoSuchEntityException,
        format!("MFA Device with serial number {serial} does not exist."),
    )
}

fn load(tx: &mut dyn Tx, account: &str, serial: &str) -> Result<Option<MfaRec>, StoreError> {
    match name_of(account, serial) {
        Some(name) => records::load(tx, MFA, &key(account, name)),
        None => Ok(None),
    }
}

fn require(tx: &mut dyn Tx, account: &str, serial: &str) -> Result<MfaRec, Failure> {
    load(tx, account, serial)?
        .filter(|r| r.serial(account) == serial)
        .ok_or_else(|| no_device(serial))
}

fn save(tx: &mut dyn Tx, account: &str, r: &MfaRec) -> Result<(), StoreError> {
    records::save(tx, MFA, &key(account, &r.name), r)
}

fn seed_of(sealer: Option<&Sealer>, r: &MfaRec) -> Result<Vec<u8>, Failure> {
    sealer
        .and_then(|s| s.open(&r.seed))
        .and_then(|b32| base32_decode(&b32))
        .ok_or_else(|| {
            tracing::error!("an MFA seed could not be opened with this master key");
            Failure(cairn_wire::ApiError::internal())
        })
}

/// The step `code` is valid for within `window` steps of `center`, if any.
fn match_step(seed: &[u8], code: &str, center: i64, window: i64) -> Option<i64> {
    (center - window..=center + window).find(|s| totp_code(seed, *s) == code)
}

fn invalid_code() -> Failure {
    // [M]: the text.
    fail(
        Error::InvalidAuthenticationCodeException,
        "Authentication code for device is not valid.",
    )
}

// ---------------------------------------------------------------------------- handlers

pub(crate) fn create_virtual_mfa_device(
    tx: &mut dyn Tx,
    c: &Ctx,
    sealer: Option<&Sealer>,
    input: &types::CreateVirtualMFADeviceRequest,
) -> Result<types::CreateVirtualMFADeviceResponse, Failure> {
    let name = &input.virtual_mfa_device_name;
    if records::load::<MfaRec>(tx, MFA, &key(&c.account, name))?.is_some() {
        return Err(fail(
            Error::EntityAlreadyExistsException,
            "MFADevice entity at the same path and name already exists.",
        ));
    }
    let Some(sealer) = sealer else {
        tracing::error!("no master key to seal an MFA seed with");
        return Err(Failure(cairn_wire::ApiError::internal()));
    };
    // A 160-bit seed (RFC 4226's recommended length), 32 base32 characters.
    let mut seed = [0u8; 20];
    c.ids.fill(&mut seed);
    let b32 = base32_encode(&seed);
    let mut nonce = [0u8; 12];
    c.ids.fill(&mut nonce);
    let sealed = sealer
        .seal(&b32, nonce)
        .ok_or_else(|| Failure(cairn_wire::ApiError::internal()))?;
    let mut tags = Vec::new();
    merge_tags(&mut tags, input.tags.as_deref().unwrap_or_default())?;
    let rec = MfaRec {
        v: FORMAT,
        name: name.clone(),
        path: path_or_root(input.path.as_deref()),
        created_ms: c.now_ms,
        seed: sealed,
        user: None,
        enabled_ms: None,
        drift: 0,
        last_step: None,
        tags,
    };
    save(tx, &c.account, &rec)?;
    let uri = format!("otpauth://totp/{name}@{}?secret={b32}", c.account);
    Ok(types::CreateVirtualMFADeviceResponse {
        virtual_mfa_device: types::VirtualMFADevice {
            serial_number: rec.serial(&c.account),
            base32_string_seed: Some(cairn_wire::Blob(b32.into_bytes())),
            qr_code_png: qr_png(&uri).map(cairn_wire::Blob),
            tags: api_tags_opt(&rec.tags),
            ..Default::default()
        },
    })
}

pub(crate) fn enable_mfa_device(
    tx: &mut dyn Tx,
    c: &Ctx,
    sealer: Option<&Sealer>,
    input: &types::EnableMFADeviceRequest,
) -> Result<(), Failure> {
    let user = require_user(tx, &c.account, &input.user_name)?;
    let mut rec = require(tx, &c.account, &input.serial_number)?;
    if rec.user.is_some() {
        return Err(fail(
            Error::EntityAlreadyExistsException,
            "MFA Device is already in use.",
        ));
    }
    let prefix = format!("{}/{}/", c.account, user.name.to_lowercase());
    if tx.count(USER_MFA, prefix.as_bytes())? >= DEVICES_PER_USER as u64 {
        return Err(fail(
            Error::LimitExceededException,
            format!("Cannot exceed quota for MFADevicesPerUser: {DEVICES_PER_USER}"),
        ));
    }
    let seed = seed_of(sealer, &rec)?;
    // Two consecutive codes, the second current (or one step either side).
    let now = step_of(c.now_ms);
    let second = match_step(&seed, &input.authentication_code2, now, WINDOW)
        .filter(|s| totp_code(&seed, s - 1) == input.authentication_code1)
        .ok_or_else(invalid_code)?;
    rec.user = Some(user.name.clone());
    rec.enabled_ms = Some(c.now_ms);
    rec.drift = 0;
    rec.last_step = Some(second);
    save(tx, &c.account, &rec)?;
    tx.put(
        USER_MFA,
        user_key(&c.account, &user.name, &rec.name).as_bytes(),
        b"",
    )?;
    Ok(())
}

pub(crate) fn resync_mfa_device(
    tx: &mut dyn Tx,
    c: &Ctx,
    sealer: Option<&Sealer>,
    input: &types::ResyncMFADeviceRequest,
) -> Result<(), Failure> {
    let user = require_user(tx, &c.account, &input.user_name)?;
    let mut rec = require(tx, &c.account, &input.serial_number)?;
    if !rec
        .user
        .as_deref()
        .is_some_and(|u| u.eq_ignore_ascii_case(&user.name))
    {
        return Err(no_device(&input.serial_number));
    }
    let seed = seed_of(sealer, &rec)?;
    let now = step_of(c.now_ms);
    let second = match_step(&seed, &input.authentication_code2, now, RESYNC_WINDOW)
        .filter(|s| totp_code(&seed, s - 1) == input.authentication_code1)
        .ok_or_else(invalid_code)?;
    rec.drift = second - now;
    rec.last_step = Some(second);
    save(tx, &c.account, &rec)?;
    Ok(())
}

pub(crate) fn deactivate_mfa_device(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::DeactivateMFADeviceRequest,
) -> Result<(), Failure> {
    let user = match &input.user_name {
        Some(u) => u.clone(),
        None => caller_user_name(&c.principal)?.ok_or_else(|| no_device(&input.serial_number))?,
    };
    let user = require_user(tx, &c.account, &user)?;
    let mut rec = require(tx, &c.account, &input.serial_number)?;
    if !rec
        .user
        .as_deref()
        .is_some_and(|u| u.eq_ignore_ascii_case(&user.name))
    {
        return Err(no_device(&input.serial_number));
    }
    rec.user = None;
    rec.enabled_ms = None;
    save(tx, &c.account, &rec)?;
    tx.delete(
        USER_MFA,
        user_key(&c.account, &user.name, &rec.name).as_bytes(),
    )?;
    Ok(())
}

pub(crate) fn delete_virtual_mfa_device(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::DeleteVirtualMFADeviceRequest,
) -> Result<(), Failure> {
    let rec = require(tx, &c.account, &input.serial_number)?;
    if rec.user.is_some() {
        return Err(delete_conflict("deactivate the MFA device"));
    }
    tx.delete(MFA, key(&c.account, &rec.name).as_bytes())?;
    Ok(())
}

fn device_api(account: &str, user: &str, r: &MfaRec) -> types::MFADevice {
    types::MFADevice {
        enable_date: ts(r.enabled_ms.unwrap_or(r.created_ms)),
        serial_number: r.serial(account),
        user_name: user.to_owned(),
    }
}

/// The devices enabled for a user, by name.
fn devices_of(tx: &mut dyn Tx, account: &str, user: &str) -> Result<Vec<MfaRec>, StoreError> {
    let prefix = format!("{account}/{}/", user.to_lowercase());
    let mut out = Vec::new();
    for name in records::suffixes(tx, USER_MFA, &prefix)? {
        if let Some(r) = records::load::<MfaRec>(tx, MFA, &key(account, &name))? {
            out.push(r);
        }
    }
    Ok(out)
}

/// Whether the user has an MFA device enabled (`DeleteUser` refuses while it does).
pub(crate) fn has_devices(tx: &mut dyn Tx, account: &str, user: &str) -> Result<bool, StoreError> {
    let prefix = format!("{account}/{}/", user.to_lowercase());
    Ok(tx.count(USER_MFA, prefix.as_bytes())? > 0)
}

pub(crate) fn list_mfa_devices(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListMFADevicesRequest,
) -> Result<types::ListMFADevicesResponse, Failure> {
    let Some(name) = (match &input.user_name {
        Some(u) => Some(u.clone()),
        None => caller_user_name(&c.principal)?,
    }) else {
        // The root user: Cairn enables MFA for IAM users only.
        return Ok(types::ListMFADevicesResponse {
            is_truncated: Some(false),
            ..Default::default()
        });
    };
    let user = require_user(tx, &c.account, &name)?;
    let items = devices_of(tx, &c.account, &user.name)?
        .into_iter()
        .map(|r| {
            (
                r.name.to_lowercase(),
                device_api(&c.account, &user.name, &r),
            )
        })
        .collect();
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListMFADevicesResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        mfa_devices: page.items,
    })
}

pub(crate) fn list_virtual_mfa_devices(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListVirtualMFADevicesRequest,
) -> Result<types::ListVirtualMFADevicesResponse, Failure> {
    use types::AssignmentStatusType as S;
    let status = input.assignment_status.unwrap_or(S::Any);
    let all: Vec<(String, MfaRec)> = records::load_all(tx, MFA, &format!("{}/", c.account))?;
    let mut items = Vec::new();
    for (k, r) in all {
        let keep = match status {
            S::Assigned => r.user.is_some(),
            S::Unassigned => r.user.is_none(),
            _ => true,
        };
        if !keep {
            continue;
        }
        let user = match &r.user {
            Some(u) => records::user(tx, &c.account, u)?.map(|u| user_api(&c.account, &u, false)),
            None => None,
        };
        items.push((
            k,
            types::VirtualMFADevice {
                serial_number: r.serial(&c.account),
                enable_date: r.enabled_ms.map(ts),
                user,
                tags: api_tags_opt(&r.tags),
                ..Default::default()
            },
        ));
    }
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListVirtualMFADevicesResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        virtual_mfa_devices: page.items,
    })
}

pub(crate) fn get_mfa_device(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::GetMFADeviceRequest,
) -> Result<types::GetMFADeviceResponse, Failure> {
    let rec = require(tx, &c.account, &input.serial_number)?;
    if let Some(u) = &input.user_name
        && !rec
            .user
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(u))
    {
        return Err(no_device(&input.serial_number));
    }
    Ok(types::GetMFADeviceResponse {
        serial_number: rec.serial(&c.account),
        user_name: rec.user.clone(),
        enable_date: rec.enabled_ms.map(ts),
        certifications: None,
    })
}

pub(crate) fn tag_mfa_device(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::TagMFADeviceRequest,
) -> Result<(), Failure> {
    let mut rec = require(tx, &c.account, &input.serial_number)?;
    merge_tags(&mut rec.tags, &input.tags)?;
    save(tx, &c.account, &rec)?;
    Ok(())
}

pub(crate) fn untag_mfa_device(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UntagMFADeviceRequest,
) -> Result<(), Failure> {
    let mut rec = require(tx, &c.account, &input.serial_number)?;
    remove_tags(&mut rec.tags, &input.tag_keys);
    save(tx, &c.account, &rec)?;
    Ok(())
}

pub(crate) fn list_mfa_device_tags(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListMFADeviceTagsRequest,
) -> Result<types::ListMFADeviceTagsResponse, Failure> {
    let rec = require(tx, &c.account, &input.serial_number)?;
    let page = tag_page(&rec.tags, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListMFADeviceTagsResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        tags: page.items,
    })
}

/// STS's check of `SerialNumber` + `TokenCode`: the device must be enabled for `user` in
/// `account`, and the code current (within one step of now, after the device's drift) and
/// newer than the one that enabled or resynchronized it. (STS reads only: a code stays
/// usable for the rest of its step.)
pub fn verify_token(
    tx: &mut dyn Tx,
    sealer: Option<&Sealer>,
    account: &str,
    user: &str,
    serial: &str,
    code: &str,
    now_ms: i64,
) -> Result<bool, Failure> {
    let Some(rec) = load(tx, account, serial)?.filter(|r| r.serial(account) == serial) else {
        return Ok(false);
    };
    if !rec
        .user
        .as_deref()
        .is_some_and(|u| u.eq_ignore_ascii_case(user))
    {
        return Ok(false);
    }
    let seed = seed_of(sealer, &rec)?;
    let Some(step) = match_step(&seed, code, step_of(now_ms) + rec.drift, WINDOW) else {
        return Ok(false);
    };
    Ok(rec.last_step.is_none_or(|last| step > last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_rfc_6238s_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", 8 digits there; the last
        // six digits are the six-digit code.
        let seed = b"12345678901234567890";
        for (t, eight) in [
            (59i64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(totp_code(seed, t / 30), eight[2..], "t={t}");
        }
    }

    #[test]
    fn the_qr_code_is_a_png() {
        let png = qr_png("otpauth://totp/dev@123456789012?secret=ABC").unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(png.ends_with(&[0xae, 0x42, 0x60, 0x82]), "IEND's CRC");
    }
}
